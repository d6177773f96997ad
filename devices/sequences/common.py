"""What the sequence importers share: rigid poses from files, ground truth in the metadata, writing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from devices.axes import quat_to_matrix
from devices.capture import commit_with_split
from devices.errors import InputError
from devices.frame import DepthKind, Frame
from devices.importers.registry import ImportOptions, ProgressFn
from devices.poses.truth import GROUND_TRUTH_KEY
from devices.scene_folder import SceneFolder
from devices.scene_writer import SceneWriter

__all__ = ["GROUND_TRUTH_KEY", "nearest_rigid", "quat_to_matrix", "read_pair", "write_sequence"]

def nearest_rigid(m: np.ndarray, where: Path, what: str) -> np.ndarray:
    """``m`` [4, 4] with its rotation block made exactly orthonormal (files store ~7 digits).

    InputError naming ``where`` when ``m`` is not finite or not close to a rigid transform.
    """
    m = np.asarray(m, dtype=np.float64)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        raise InputError(where, f"{what} is not a finite 4x4 matrix")
    U, s, Vt = np.linalg.svd(m[:3, :3])
    if np.abs(s - 1).max() > 1e-2 or np.linalg.det(U @ Vt) < 0 or not np.allclose(m[3], [0, 0, 0, 1], atol=1e-3):
        raise InputError(where, f"{what} is not a rigid camera pose (rotation with det +1, last row 0 0 0 1)")
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = U @ Vt, m[:3, 3]
    return out


def read_pair(color: Path, depth: Path) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 [H, W, 3], raw depth uint16 [h, w]) of one colour image and its 16-bit depth PNG;
    InputError naming the file that is missing or of the wrong kind."""
    import cv2

    bgr = cv2.imread(str(color), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(color, "missing or not a readable image")
    raw = cv2.imread(str(depth), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16 or raw.ndim != 2:
        raise InputError(depth, "missing or not a single-channel 16-bit PNG")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), raw


def write_sequence(frames: Iterator[Frame], total: int, out: Path, options: ImportOptions,
                   progress: ProgressFn | None, *, sensor: str, extra: dict[str, Any]) -> SceneFolder:
    """Write ``frames`` into the scene folder ``out`` atomically (an error leaves no OUT behind);
    the few-shot split is chosen when every frame has a pose. Poses are then estimated when the
    sequence has none (``options.estimate_poses``)."""
    with SceneWriter(Path(out), sensor=sensor, depth_kind=DepthKind.METRIC, ranking_window=(5, 5),
                     extra=extra, overwrite=options.overwrite) as writer:
        for frame in frames:
            writer.add(frame)
            if progress is not None:
                progress(len(writer), total)
        scene = commit_with_split(writer, options.train_views, coverage=True)
    if options.estimate_poses and not scene.has_poses and len(scene) > 1:
        from devices.poses import estimate_scene_poses

        scene, _ = estimate_scene_poses(out, train_views=options.train_views)
    return scene
