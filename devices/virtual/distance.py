"""Exact distance from points to the virtual room's surfaces: the ground truth for exported geometry."""

from __future__ import annotations

import numpy as np

from devices.virtual.primitives import Box, Cylinder, Plane, Sphere
from devices.virtual.scene import Scene


def shape_distance(shape, points: np.ndarray) -> np.ndarray:
    """Unsigned distance float [N] from ``points`` [N, 3] to the surface of one shape."""
    p = np.asarray(points, dtype=np.float64)
    if isinstance(shape, Plane):
        return np.abs(p @ np.asarray(shape.normal, float) - shape.offset)
    if isinstance(shape, Sphere):
        return np.abs(np.linalg.norm(p - np.asarray(shape.centre), axis=1) - shape.radius)
    if isinstance(shape, Cylinder):
        q = np.stack([np.hypot(p[:, 0] - shape.x, p[:, 1] - shape.y) - shape.radius,
                      np.maximum(shape.z0 - p[:, 2], p[:, 2] - shape.z1)], axis=1)
        return _box_like(q)
    if isinstance(shape, Box):
        local = (p - np.asarray(shape.centre)) @ shape.rotation
        return _box_like(np.abs(local) - np.asarray(shape.half))
    raise TypeError(f"no distance for {type(shape).__name__}")


def _box_like(q: np.ndarray) -> np.ndarray:
    """Unsigned distance from per-axis signed gaps q [N, D] (negative inside along that axis)."""
    outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
    inside = -np.max(q, axis=1)
    return np.where(np.all(q <= 0, axis=1), inside, outside)


def surface_distance(scene: Scene, points: np.ndarray) -> np.ndarray:
    """Distance float [N] from each point [N, 3] (world metres) to the nearest surface of ``scene``."""
    return np.min(np.stack([shape_distance(s, points) for s in scene.shapes]), axis=0)
