"""Random unseen poses and pixel patches for RegNeRF's depth-smoothness term (``nerf.regnerf_tv``).

SparseNeRF keeps this term on DTU (sparsenerf.md): each step renders a few ``size`` x ``size``
pixel patches from poses near the training views; ``nerf.regnerf_tv.depth_tv_loss`` penalises the
squared difference between neighbouring expected depths. Poses are the training cameras rotated about the scene centre by a
random angle up to ``max_angle_deg`` around a random axis, so they look at the same content from
where no photo was taken.
"""

from __future__ import annotations

import math

import numpy as np


def random_rotation(rng: np.random.Generator, max_angle: float) -> np.ndarray:
    """A rotation [3, 3] about a uniformly random axis by an angle uniform in [0, max_angle] radians."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = rng.uniform(0.0, max_angle)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)


def unseen_pose(c2w: np.ndarray, centre: np.ndarray, rng: np.random.Generator, max_angle_deg: float) -> np.ndarray:
    """``c2w`` [4, 4] rotated rigidly about the point ``centre`` [3] by a random rotation."""
    rot = random_rotation(rng, math.radians(max_angle_deg))
    out = np.eye(4)
    out[:3, :3] = rot @ c2w[:3, :3]
    out[:3, 3] = rot @ (c2w[:3, 3] - centre) + centre
    return out


def patch_pixels(
    height: int, width: int, size: int, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns int64 [count * size * size] of ``count`` random size x size patches, patch-major."""
    y0 = rng.integers(0, height - size + 1, size=count)
    x0 = rng.integers(0, width - size + 1, size=count)
    dy, dx = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    ys = (y0[:, None] + dy.ravel()[None]).ravel()
    xs = (x0[:, None] + dx.ravel()[None]).ravel()
    return ys.astype(np.int64), xs.astype(np.int64)
