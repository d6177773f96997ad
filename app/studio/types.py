"""Typed payloads between the studio's models, workers and widgets: plain frozen dataclasses, no Qt, no threads.

Widgets never import workers (an import-linter contract in pyproject.toml): what both name lives here,
and every signal that carries one of these declares it (``pyqtSignal(SceneData)``, not ``object``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devices.scene_folder import SceneFolder
from nerf import Camera, CameraPath, GeometrySettings, RenderResult


@dataclass(frozen=True)
class SceneData:
    """A scene folder plus what the scene panel shows of it.

    Attributes:
        folder: the scene folder's metadata.
        thumbnails: uint8 [h, THUMB_WIDTH, 3] per frame.
        points: float32 [P, 3] world points from the depth (OpenCV world frame), P may be 0.
        colors: uint8 [P, 3] their colours.
        reasons / dataset: below.
    """

    folder: SceneFolder
    thumbnails: list[np.ndarray]
    points: np.ndarray
    colors: np.ndarray
    reasons: dict[int, str] = field(default_factory=dict)
    """Why a frame has its role (train / test / unused), from transforms.json's optional
    ``sparsenerf.split_reasons`` (frame file_path -> one line); frames without one get a generic reason."""
    dataset: str | None = None
    """None for a scene folder; "dtu" (or another loader's layout) for a benchmark scene opened as it is,
    whose split is fixed by its protocol."""


@dataclass(frozen=True)
class SplitResult:
    """An automatic few-shot split of the scene at ``root`` (frame indices), with why each view was picked."""

    root: Path
    train: list[int]
    test: list[int]
    reasons: dict[int, str] = field(default_factory=dict)


PATH_KINDS = {"spiral": "spiral around the training views", "interp": "through the training views",
              "orbit": "orbit around the scene", "designed": "designed path (the keyframes below)"}
"""Camera paths of nerf.paths, and the one designed in the path editor, with their labels."""


@dataclass(frozen=True)
class VideoSettings:
    """A video export."""

    path: str = "spiral"
    """Camera path: a key of PATH_KINDS."""
    frames: int = 60
    """Number of video frames."""
    scale: float = 0.5
    """Resolution relative to the scene's images."""
    fps: int = 24
    """Frames per second of the MP4."""
    designed: CameraPath | None = None
    """The path of "designed" (its fps x duration frames; ``frames`` is unused)."""


GEOMETRY_KINDS = {"mesh": "mesh (.ply, TSDF fusion)", "pointcloud": "point cloud (.ply)",
                  "depth": "depth maps (folder)"}
"""What the geometry section exports, with its labels."""


@dataclass(frozen=True)
class GeometryRequest:
    """One geometry export: ``kind`` in GEOMETRY_KINDS, and what to render."""

    kind: str = "mesh"
    settings: GeometrySettings = GeometrySettings()


@dataclass(frozen=True)
class RenderRequest:
    """One preview render: ``camera`` (already at the asked scale), numbered in the order asked."""

    camera: Camera
    request_id: int
    asked_at: float
    """time.monotonic() when it was asked (the preview paces its refreshes by how long renders take)."""


@dataclass(frozen=True)
class RenderedFrame:
    """What the render worker hands back: the ``request`` and its ``result``."""

    request: RenderRequest
    result: RenderResult


@dataclass(frozen=True)
class RenderFailure:
    """A preview render that raised: the ``request`` and the one-line ``message``."""

    request: RenderRequest
    message: str


@dataclass(frozen=True)
class PreviewFrame:
    """A preview render to show: the ``result`` and the captured view nearest its camera (None: none)."""

    result: RenderResult
    nearest: int | None
