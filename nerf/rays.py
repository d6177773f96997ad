"""Pixels -> rays for a pinhole camera with optional OpenCV lens distortion.

Conventions (see ``nerf.fields.base.RayBatch``): OpenCV camera axes (x right, y down, z forward);
the centre of pixel (row i, column j) is at image coordinates (j + 0.5, i + 0.5), as in NeRF and
Mip-NeRF; ray directions are NOT normalised: the camera-frame direction has z = 1, so the ray
parameter t is the depth along the optical axis, the quantity depth sensors report.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from devices.frame import check_shape
from nerf.fields.base import RayBatch

PIXEL_CENTRE = 0.5
"""Offset from a pixel's integer index to its centre in image coordinates."""
RADIUS_SCALE = 2.0 / math.sqrt(12.0)
"""Mip-NeRF: a cone whose footprint has the variance of the pixel square (side dx) has radius dx * 2/sqrt(12)."""


def camera_directions(
    K: np.ndarray,  # [3, 3]
    ys: np.ndarray,  # [R] pixel rows
    xs: np.ndarray,  # [R] pixel columns
    distortion: np.ndarray | None = None,  # [D] OpenCV coefficients (k1, k2, p1, p2[, k3..k6])
) -> np.ndarray:
    """Camera-frame directions with z = 1 through the centres of pixels (``ys``, ``xs``).

    With ``distortion``, the pixel coordinates are undistorted first (``cv2.undistortPoints``), so the
    ray goes where the lens actually imaged that pixel from.

    Returns:
        float64 [R, 3].
    """
    check_shape("K", np.asarray(K), (3, 3))
    check_shape("ys", np.asarray(ys), (None,))
    check_shape("xs", np.asarray(xs), np.shape(ys))
    u = np.asarray(xs, dtype=np.float64) + PIXEL_CENTRE
    v = np.asarray(ys, dtype=np.float64) + PIXEL_CENTRE
    if distortion is not None and np.any(np.asarray(distortion) != 0):
        import cv2

        pts = np.stack([u, v], axis=-1).reshape(-1, 1, 2)
        norm = cv2.undistortPoints(pts, np.asarray(K, np.float64), np.asarray(distortion, np.float64).ravel())
        x, y = norm[:, 0, 0], norm[:, 0, 1]
    else:
        x = (u - K[0, 2]) / K[0, 0]
        y = (v - K[1, 2]) / K[1, 1]
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def pixel_points(
    K: np.ndarray,  # [3, 3]
    c2w: np.ndarray,  # [4, 4] OpenCV camera-to-world
    ys: np.ndarray,  # [R] pixel rows
    xs: np.ndarray,  # [R] pixel columns
    depth: np.ndarray,  # [R] depth along the optical axis
) -> np.ndarray:
    """World points float64 [R, 3] at ``depth`` through the centres of pixels (``ys``, ``xs``): a depth map
    lifted to 3D (no lens distortion: the renders these come from are pinhole)."""
    local = camera_directions(K, ys, xs) * np.asarray(depth, np.float64)[:, None]
    return local @ c2w[:3, :3].T + c2w[:3, 3]


def pixel_rays(
    K: np.ndarray,  # [3, 3]
    c2w: np.ndarray,  # [4, 4] OpenCV camera-to-world
    ys: np.ndarray,  # [R]
    xs: np.ndarray,  # [R]
    near: float,
    far: float,
    *,
    distortion: np.ndarray | None = None,  # [D]
    device: torch.device | str = "cpu",
) -> RayBatch:
    """World-space rays through pixels (``ys``, ``xs``) of one camera, as float32 tensors on ``device``.

    ``radii`` follow Mip-NeRF: the width of one pixel at t = 1 (1 / fx with z = 1 directions) times
    2 / sqrt(12).
    """
    check_shape("c2w", np.asarray(c2w), (4, 4))
    d_cam = camera_directions(K, ys, xs, distortion)
    rot, origin = np.asarray(c2w[:3, :3]), np.asarray(c2w[:3, 3])
    dirs = d_cam @ rot.T  # [R, 3]
    n = dirs.shape[0]
    to = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=device)  # noqa: E731
    directions = to(dirs)
    return RayBatch(
        origins=to(np.broadcast_to(origin, (n, 3))),
        directions=directions,
        viewdirs=directions / directions.norm(dim=-1, keepdim=True),
        radii=torch.full((n, 1), RADIUS_SCALE / float(K[0, 0]), device=device),
        near=torch.full((n, 1), float(near), device=device),
        far=torch.full((n, 1), float(far), device=device),
    )


def image_rays(
    K: np.ndarray,  # [3, 3]
    c2w: np.ndarray,  # [4, 4]
    width: int,
    height: int,
    near: float,
    far: float,
    *,
    distortion: np.ndarray | None = None,
    device: torch.device | str = "cpu",
) -> RayBatch:
    """Rays of every pixel of a ``height`` x ``width`` image in row-major order ([H * W] rays)."""
    ys, xs = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return pixel_rays(K, c2w, ys.ravel(), xs.ravel(), near, far, distortion=distortion, device=device)


def points_at(rays: RayBatch, t: torch.Tensor) -> torch.Tensor:
    """Points origins + t * directions: t [R, S] -> [R, S, 3]."""
    check_shape("t", t, (len(rays), None))
    return rays.origins[:, None, :] + t[..., None] * rays.directions[:, None, :]
