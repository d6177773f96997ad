"""The files of a Microsoft 7-Scenes sequence folder: a small, pure parser shared by the importer
(``devices.sequences.seven_scenes``) and the NeRF loader (``nerf.loaders.seven_scenes``), which may not import
``devices.sequences``.

Layout: ``frame-NNNNNN.color.png|jpg``, ``frame-NNNNNN.depth.png`` (uint16 mm, 0 and 65535 = none),
``frame-NNNNNN.pose.txt`` (4x4 camera-to-world of the depth camera, metres, OpenCV axes) and an optional
``camera-intrinsics.txt`` (the depth camera's 3x3 K).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from devices.errors import InputError
from devices.registration import SEVEN_SCENES_DEPTH_K


def read_intrinsics(root: Path) -> np.ndarray:
    """The depth camera's K float64 [3, 3] from ``root/camera-intrinsics.txt``, or the data set's default."""
    path = Path(root) / "camera-intrinsics.txt"
    if not path.is_file():
        return SEVEN_SCENES_DEPTH_K.copy()
    try:
        K = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise InputError(path, f"is not a 3x3 table of numbers ({exc})") from None
    if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise InputError(path, f"must hold a 3x3 camera matrix with positive focal lengths, got shape {K.shape}")
    return K


def read_pose_matrix(path: Path) -> np.ndarray:
    """The 4x4 float64 matrix of a ``.pose.txt`` file, as stored (7 digits: not exactly rigid)."""
    try:
        m = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"is not a 4x4 table of numbers ({exc})") from None
    if m.shape != (4, 4):
        raise InputError(path, f"must hold a 4x4 matrix, got shape {m.shape}")
    return m
