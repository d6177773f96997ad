"""Depth-to-colour registration for RGB-D rigs whose depth is stored in the depth camera's own pixel
grid, and the one rig of 7-Scenes' Kinect v1 that the importer (``devices.sequences.seven_scenes``)
and the NeRF loader (``nerf.loaders.seven_scenes``) both use.

Every 2x2 block of depth pixels becomes a quad in the colour image, rasterised with the nearest depth
winning and depth edges never bridged (the Azure Kinect SDK's rule, ``devices.kinect.align``).

Frame convention: a registered depth map is the depth camera's points moved into the COLOUR camera,
so a pose estimated from it is the colour camera's, and a depth-camera pose (7-Scenes' ``pose.txt``,
KinectFusion's) maps to it by ``Rig.color_c2w`` (and back by ``Rig.depth_c2w``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.frame import check_shape
from devices.kinect.align import Vertices, build_quads, rasterize, zbuffer_min


@dataclass(frozen=True)
class Rig:
    """Pinhole depth and colour cameras and the rigid transform between them.

    Attributes:
        K_depth, K_color: float64 [3, 3] intrinsics.
        depth_to_color: float64 [4, 4] maps depth-camera points (metres) into the colour camera.
        color_size: (width, height) of the colour image.
    """

    K_depth: np.ndarray
    K_color: np.ndarray
    depth_to_color: np.ndarray
    color_size: tuple[int, int]

    def color_c2w(self, depth_c2w: np.ndarray) -> np.ndarray:
        """The colour camera's camera-to-world [4, 4] for the depth camera's ``depth_c2w`` [4, 4]."""
        return np.asarray(depth_c2w, np.float64) @ np.linalg.inv(self.depth_to_color)

    def depth_c2w(self, color_c2w: np.ndarray) -> np.ndarray:
        """The depth camera's camera-to-world [4, 4] for the colour camera's ``color_c2w`` [4, 4]."""
        return np.asarray(color_c2w, np.float64) @ self.depth_to_color


SEVEN_SCENES_DEPTH_K = np.array([[585.0, 0.0, 320.0], [0.0, 585.0, 240.0], [0.0, 0.0, 1.0]])
"""The depth camera's intrinsics the 7-Scenes page gives (used when ``camera-intrinsics.txt`` is absent)."""
SEVEN_SCENES_COLOR_K = np.array([[525.0, 0.0, 320.0], [0.0, 525.0, 240.0], [0.0, 0.0, 1.0]])
"""The colour camera's intrinsics at 640 x 480 (the nominal Kinect v1 colour focal length)."""
SEVEN_SCENES_COLOR_OFFSET_M = -0.0225
"""x of a depth-camera point once moved into the colour camera, minus its x in the depth camera (metres)."""


def seven_scenes_rig(K_depth: np.ndarray | None = None, color_size: tuple[int, int] = (640, 480)) -> Rig:
    """The Kinect v1 rig of 7-Scenes, which ships depth and colour unregistered and no calibration.

    The colour camera: fx = fy = 525 at the image centre, 22.5 mm along the depth camera's x axis,
    axes parallel. Source: measured on the redkitchen frames by aligning depth discontinuities with
    colour edges (``benchmarks/pose_accuracy.py --registration``: mean distance from a registered depth
    edge to the nearest colour edge, 2.5 px; the LIRIS Kinect calibration that DSAC* / ACE / SimpleRecon
    use for 7-Scenes, 25.6 mm and a 0.67 degree tilt, scores 4.1 px on the same frames; see
    ``benchmarks/RESULTS.md``).

    Args:
        K_depth: the depth camera's [3, 3] (``camera-intrinsics.txt``); the data set's default when None.
    """
    d2c = np.eye(4)
    d2c[0, 3] = SEVEN_SCENES_COLOR_OFFSET_M
    K = SEVEN_SCENES_DEPTH_K if K_depth is None else np.asarray(K_depth, np.float64)
    return Rig(K.copy(), SEVEN_SCENES_COLOR_K.copy(), d2c, color_size)


def register_depth(depth_mm: np.ndarray, rig: Rig) -> np.ndarray:
    """uint16 [Hd, Wd] depth in millimetres (0 = none) -> uint16 [Hc, Wc] in the colour camera's grid.

    The value written is the depth along the colour camera's optical axis; pixels no quad covers are 0.
    """
    check_shape("depth", depth_mm, (None, None))
    h, w = depth_mm.shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    z = depth_mm.astype(np.float32)
    Kd, Kc = rig.K_depth.astype(np.float32), rig.K_color.astype(np.float32)
    x = (u - Kd[0, 2]) / Kd[0, 0] * z
    y = (v - Kd[1, 2]) / Kd[1, 1] * z
    R, t = rig.depth_to_color[:3, :3].astype(np.float32), rig.depth_to_color[:3, 3].astype(np.float32) * 1000.0
    X = R[0, 0] * x + R[0, 1] * y + R[0, 2] * z + t[0]
    Y = R[1, 0] * x + R[1, 1] * y + R[1, 2] * z + t[1]
    Z = R[2, 0] * x + R[2, 1] * y + R[2, 2] * z + t[2]
    valid = (depth_mm > 0) & (Z > 0)
    Zs = np.where(valid, Z, np.float32(1))
    uc = Kc[0, 0] * X / Zs + Kc[0, 2]
    vc = Kc[1, 1] * Y / Zs + Kc[1, 2]
    full, keep, patched = build_quads(Vertices(u=uc, v=vc, z=Z, valid=valid))
    shape = (rig.color_size[1], rig.color_size[0])
    pix_a, val_a = rasterize(full, shape, keep)
    pix_b, val_b = rasterize(patched, shape)
    return zbuffer_min(np.concatenate([pix_a, pix_b]), np.concatenate([val_a, val_b]), shape)


def register_depth_m(depth_m: np.ndarray, rig: Rig) -> np.ndarray:
    """float [Hd, Wd] depth in metres (0 = none) -> float32 [Hc, Wc] metres in the colour camera's grid
    (``register_depth`` at millimetre resolution, the precision of the data sets' 16-bit PNGs)."""
    mm = np.round(np.clip(np.nan_to_num(np.asarray(depth_m, np.float64)), 0.0, 65.534) * 1000.0).astype(np.uint16)
    return register_depth(mm, rig).astype(np.float32) * np.float32(1e-3)
