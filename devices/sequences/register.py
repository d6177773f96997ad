"""Depth-to-colour registration for rigs whose depth is stored in the depth camera's own pixel grid
(7-Scenes): every 2x2 block of depth pixels becomes a quad in the colour image, rasterised with the
nearest depth winning and depth edges never bridged (the Azure Kinect SDK's rule, ``devices.kinect.align``)."""

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
