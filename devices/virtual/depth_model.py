"""A time-of-flight-like depth sensor model applied to exact depth.

Measured depth = exact depth + noise whose standard deviation grows with distance, rounded to the
sensor's resolution, with 0 (no measurement) at depth edges (flying pixels), on dark surfaces,
and outside the working range.
"""

from __future__ import annotations

import numpy as np

from devices.virtual.config import VirtualSensorConfig


def noise_std(depth: np.ndarray, cfg: VirtualSensorConfig) -> np.ndarray:
    """Depth noise standard deviation (metres) at exact depth ``depth`` (metres), same shape."""
    return cfg.depth_noise_base_m + cfg.depth_noise_quadratic * np.square(depth)


def edge_mask(depth: np.ndarray, cfg: VirtualSensorConfig) -> np.ndarray:
    """bool [H, W]: pixels on either side of a depth jump larger than ``edge_abs_m + edge_rel * depth``.

    A real ToF pixel straddling an edge mixes two returns and reports a depth between them (a
    "flying pixel"); sensors reject those, which is what this marks.
    """
    d = np.where(np.isfinite(depth), depth, 1e6)
    thr = cfg.edge_abs_m + cfg.edge_rel * np.minimum(d, 1e3)
    mask = np.zeros(d.shape, dtype=bool)
    dy = np.abs(np.diff(d, axis=0))
    dx = np.abs(np.diff(d, axis=1))
    jump_y = dy > np.minimum(thr[1:], thr[:-1])
    jump_x = dx > np.minimum(thr[:, 1:], thr[:, :-1])
    mask[1:] |= jump_y
    mask[:-1] |= jump_y
    mask[:, 1:] |= jump_x
    mask[:, :-1] |= jump_x
    return mask


def invalid_mask(depth: np.ndarray, albedo_luminance: np.ndarray, cfg: VirtualSensorConfig) -> np.ndarray:
    """bool [H, W]: where the sensor reports no depth (edges, dark surfaces, out of range, no surface)."""
    out_of_range = ~np.isfinite(depth) | (depth < cfg.min_range_m) | (depth > cfg.max_range_m)
    return out_of_range | (albedo_luminance < cfg.dark_albedo) | edge_mask(depth, cfg)


def measure(
    depth: np.ndarray,  # [H, W] exact depth along the optical axis, metres (inf: no surface)
    albedo_luminance: np.ndarray,  # [H, W] surface albedo luminance in [0, 1]
    cfg: VirtualSensorConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """float32 [H, W] measured depth in metres, 0 = no measurement."""
    finite = np.where(np.isfinite(depth), depth, 0.0)
    noisy = finite + rng.standard_normal(depth.shape) * noise_std(finite, cfg)
    if cfg.depth_quantum_m > 0:
        noisy = np.round(noisy / cfg.depth_quantum_m) * cfg.depth_quantum_m
    noisy[invalid_mask(depth, albedo_luminance, cfg)] = 0.0
    noisy[(noisy > cfg.max_range_m) | (noisy < cfg.min_range_m)] = 0.0  # noise never pushes a reading out of range
    return np.maximum(noisy, 0.0).astype(np.float32)
