"""Readers for the files Open3D's RGB-D examples ship: .log trajectories, intrinsic JSON, colour/depth folders."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from devices.errors import InputError
from devices.frame import DepthKind, Frame


def read_trajectory_log(path: str | Path) -> list[np.ndarray]:
    """Poses of an Open3D / Redwood ``.log`` trajectory: per frame a line "i j n", then a 4x4 matrix.

    Returns:
        float64 [4, 4] camera-to-world matrices, in file order.
    """
    path = Path(path)
    try:
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    if len(rows) % 5:
        raise InputError(path, f"has {len(rows)} non-empty lines; a .log trajectory has 5 per frame")
    poses = []
    for k in range(0, len(rows), 5):
        try:
            m = np.array([[float(v) for v in rows[k + r]] for r in range(1, 5)], dtype=np.float64)
        except ValueError:
            raise InputError(path, f"line {k + 2}: matrix entries are not numbers") from None
        if m.shape != (4, 4):
            raise InputError(path, f"the matrix starting at line {k + 2} is not 4x4")
        poses.append(m)
    return poses


def read_intrinsic_json(path: str | Path) -> tuple[np.ndarray, int, int]:
    """Open3D ``PinholeCameraIntrinsic`` JSON -> (K float64 [3, 3], width, height).

    The file's ``intrinsic_matrix`` lists the 9 entries column by column.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        K = np.asarray(doc["intrinsic_matrix"], dtype=np.float64).reshape(3, 3).T
        width, height = int(doc["width"]), int(doc["height"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(path, f"is not an Open3D intrinsic JSON ({exc.__class__.__name__}: {exc})") from None
    return K, width, height


def read_rgbd_folder(
    root: str | Path, K: np.ndarray, *, depth_scale: float = 0.001, color: str = "color", depth: str = "depth"
) -> list[Frame]:
    """Frames from ``root/color/*`` and ``root/depth/*.png`` (uint16), paired by sorted file name.

    Args:
        root: folder with the two sub-folders.
        K: float [3, 3] intrinsics of the colour images.
        depth_scale: stored value times this = metres (0.001 for millimetres).
    """
    root = Path(root)
    colors = sorted(p for p in (root / color).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    depths = sorted((root / depth).glob("*.png"))
    if not colors or len(colors) != len(depths):
        raise InputError(root, f"needs as many depth PNGs as colour images, found {len(depths)} and {len(colors)}")
    frames = []
    for i, (cp, dp) in enumerate(zip(colors, depths)):
        bgr = cv2.imread(str(cp), cv2.IMREAD_COLOR)
        raw = cv2.imread(str(dp), cv2.IMREAD_UNCHANGED)
        if bgr is None:
            raise InputError(cp, "cannot be decoded as an image")
        if raw is None or raw.dtype != np.uint16 or raw.ndim != 2:
            raise InputError(dp, "is not a single-channel 16-bit PNG")
        frames.append(Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), depth=raw.astype(np.float32) * np.float32(depth_scale),
                            K=np.asarray(K, dtype=np.float64), depth_kind=DepthKind.METRIC, index=i))
    return frames
