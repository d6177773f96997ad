"""Orbit/pan/zoom of a pinhole camera (pure numpy). Poses are OpenCV camera-to-world [4, 4].

The scene-level geometry (look-at centre, mean up) is ``devices.camera_geometry``."""

from __future__ import annotations

import numpy as np


def axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """[3, 3] rotation by ``angle`` radians about unit ``axis`` [3] (right-handed, Rodrigues)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def orbit(c2w: np.ndarray, target: np.ndarray, up: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """Turn the camera about ``target``: ``yaw`` radians about ``up``, then ``pitch`` about the camera's x axis."""
    r = axis_rotation(c2w[:3, 0], pitch) @ axis_rotation(up, yaw)
    out = np.eye(4)
    out[:3, :3] = r @ c2w[:3, :3]
    out[:3, 3] = target + r @ (c2w[:3, 3] - target)
    return out


def pan(c2w: np.ndarray, target: np.ndarray, dx: float, dy: float) -> tuple[np.ndarray, np.ndarray]:
    """Move camera and target by ``dx`` along the camera's x axis and ``dy`` along its y axis (world units)."""
    shift = c2w[:3, 0] * dx + c2w[:3, 1] * dy
    out = c2w.copy()
    out[:3, 3] += shift
    return out, target + shift


def dolly(c2w: np.ndarray, target: np.ndarray, factor: float, min_distance: float = 1e-3) -> np.ndarray:
    """Scale the camera's distance to ``target`` by ``factor`` (< 1 moves closer), keeping its orientation."""
    offset = c2w[:3, 3] - target
    dist = np.linalg.norm(offset)
    out = c2w.copy()
    out[:3, 3] = target + offset * max(dist * factor, min_distance) / max(dist, 1e-12)
    return out


def nearest_view(c2w: np.ndarray, c2ws: np.ndarray, angle_weight: float = 1.0) -> int:
    """Index of the view in ``c2ws`` [N, 4, 4] closest to ``c2w``: position distance plus ``angle_weight`` x angle
    between optical axes (radians), with distances relative to the spread of the views."""
    scale = max(float(np.ptp(c2ws[:, :3, 3], axis=0).max()), 1e-6)
    dist = np.linalg.norm(c2ws[:, :3, 3] - c2w[:3, 3], axis=1) / scale
    cos = np.clip(c2ws[:, :3, 2] @ c2w[:3, 2], -1.0, 1.0)
    return int(np.argmin(dist + angle_weight * np.arccos(cos)))
