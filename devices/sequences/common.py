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


def _cut_short(data: bytes) -> bool:
    """A PNG without its IEND chunk or a JPEG without its end marker: the file was cut (libpng / libjpeg
    would print to stderr before failing or filling the rest grey)."""
    if data.startswith(b"\x89PNG"):
        return not data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")
    if data.startswith(b"\xff\xd8"):
        return b"\xff\xd9" not in data[-64:]
    return False


def _read_image(path: Path, flags: int, where: str | None) -> np.ndarray:
    """The decoded image at ``path``; InputError when it is absent, cut short or not an image."""
    import cv2

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "does not exist" + (f" (listed in {where})" if where else "")) from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    if _cut_short(data):
        raise InputError(path, "is cut short (the image file ends before its end marker)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags) if data else None
    if image is None:
        raise InputError(path, "cannot be decoded as an image (damaged or not an image)")
    return image


def read_pair(color: Path, depth: Path, listed_in: tuple[str, str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 [H, W, 3], raw depth uint16 [h, w]) of one colour image and its 16-bit depth PNG;
    InputError naming the file that is missing, cut short, unreadable or of the wrong kind
    (``listed_in``: the files, e.g. ("rgb.txt", "depth.txt"), that named the image and the depth map)."""
    import cv2

    where = listed_in or (None, None)
    bgr = _read_image(color, cv2.IMREAD_COLOR, where[0])
    raw = _read_image(depth, cv2.IMREAD_UNCHANGED, where[1])
    if raw.dtype != np.uint16 or raw.ndim != 2:
        kind = f"{raw.dtype.itemsize * 8}-bit with {1 if raw.ndim == 2 else raw.shape[2]} channel(s)"
        raise InputError(depth, f"is {kind}, not a single-channel 16-bit depth PNG")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), raw


def write_sequence(frames: Iterator[Frame], total: int, out: Path, options: ImportOptions,
                   progress: ProgressFn | None, *, sensor: str, extra: dict[str, Any]) -> SceneFolder:
    """Write ``frames`` into the scene folder ``out`` atomically (an error leaves no OUT behind);
    the few-shot split is chosen when every frame has a pose. A sequence without poses gets them by
    RGB-D odometry (``options.estimate_poses``) before OUT appears, as a Kinect import does."""
    from devices.poses.staging import poses_before_commit

    poser = (poses_before_commit(out, options.train_views, options.pose_progress, options.on_poses)
             if options.estimate_poses and total > 1 else None)

    def before_commit(staging: Path) -> None:
        if poser is not None and not writer.scene.has_poses:
            poser(staging)

    with SceneWriter(Path(out), sensor=sensor, depth_kind=DepthKind.METRIC, ranking_window=(5, 5),
                     extra=extra, overwrite=options.overwrite, before_commit=before_commit) as writer:
        for frame in frames:
            writer.add(frame)
            if progress is not None:
                progress(len(writer), total)
        return commit_with_split(writer, options.train_views, coverage=True)
