"""The table of import formats and format detection from a path."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devices.errors import InputError
from devices.scene_folder import SceneFolder

ProgressFn = Callable[[int, int | None], None]
"""progress(done, total): called as frames are imported (total None when unknown)."""


@dataclass(frozen=True)
class ImportOptions:
    """Options every importer understands (importers ignore the ones that do not apply)."""

    every: int = 1
    """Keep one frame in ``every``."""
    keep_distortion: bool = False
    """Keep the colour camera's own (distorted) pixel grid and write its distortion coefficients."""
    overwrite: bool = False
    """Replace OUT if it exists."""
    train_views: int = 3
    """Size of the automatic few-shot training split when the source has no split of its own."""
    estimate_poses: bool = True
    """Estimate poses (RGB-D odometry) when the source has none."""
    pose_progress: ProgressFn | None = None
    """progress(done, total) of that pose estimation."""
    on_poses: Callable[[Any], None] | None = None
    """Called with its ``devices.poses.PoseResult`` (the per-frame report to show)."""


@dataclass(frozen=True)
class ImportFormat:
    """One importable format.

    Attributes:
        name: short machine name ("kinect-mkv", "record3d", ...).
        description: one line for users ("Azure Kinect recording (.mkv)").
        detect: cheap check on the path (extension, a marker file); must not raise.
        run: performs the import: (path, out, options, progress) -> the written scene.
        near_miss: for a path ``detect`` refused, what is missing when it looks like this format all the
            same (e.g. "has rgb.txt but no depth.txt"), else None; must not raise.
    """

    name: str
    description: str
    detect: Callable[[Path], bool]
    run: Callable[[Path, Path, ImportOptions, ProgressFn | None], SceneFolder]
    near_miss: Callable[[Path], str | None] | None = None


REGISTRY: dict[str, ImportFormat] = {}

# Modules that register a format when imported. They must import cheaply (heavy deps inside run()).
_FORMAT_MODULES: tuple[str, ...] = (
    "devices.iphone.record3d",
    "devices.iphone.stray",
    "devices.iphone.polycam",
    "devices.zed.importer",
    "devices.nvs_rgbd",
    "devices.kinect.importer",
    "devices.sequences.tum",
    "devices.sequences.seven_scenes",
)


def register(fmt: ImportFormat) -> ImportFormat:
    REGISTRY[fmt.name] = fmt
    return fmt


def load_formats() -> dict[str, ImportFormat]:
    """Import every format module so the registry is complete; returns it."""
    for mod in _FORMAT_MODULES:
        importlib.import_module(mod)
    return REGISTRY


def detect_format(path: str | Path) -> ImportFormat:
    """The format of ``path``; InputError saying what is missing when ``path`` is nearly one format's
    layout (a TUM folder without depth.txt), else listing the supported formats when none matches."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "does not exist")
    formats = load_formats()
    for fmt in formats.values():
        if fmt.detect(path):
            return fmt
    for fmt in formats.values():
        problem = fmt.near_miss(path) if fmt.near_miss is not None else None
        if problem:
            raise InputError(path, problem)
    supported = "; ".join(f"{f.name}: {f.description}" for f in formats.values())
    raise InputError(path, f"unknown format. Supported: {supported}")
