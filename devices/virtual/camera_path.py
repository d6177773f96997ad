"""The virtual sensor's camera path: a hand-held sweep around the scene centre.

Poses are camera-to-world float [4, 4] in OpenCV axes (x right, y down, z forward), world z up.
"""

from __future__ import annotations

import numpy as np

from devices.virtual.config import VirtualSensorConfig

_UP = np.array([0.0, 0.0, 1.0])


def look_at(eye: np.ndarray, target: np.ndarray, roll_rad: float = 0.0) -> np.ndarray:
    """OpenCV camera-to-world [4, 4] of a camera at ``eye`` [3] looking at ``target`` [3], world z up.

    The camera's x axis is horizontal (before ``roll_rad``, a turn about the optical axis), its y
    axis points down-ish and its z axis at the target.
    """
    forward = np.asarray(target, dtype=np.float64) - np.asarray(eye, dtype=np.float64)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, _UP)
    norm = np.linalg.norm(right)
    if norm < 1e-9:
        raise ValueError("look_at: the camera looks straight up or down; its roll is undefined")
    right /= norm
    down = np.cross(forward, right)
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    right, down = c * right + s * down, -s * right + c * down
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, down, forward, eye
    return c2w


def _wobble(t: float, phases: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """A smooth signal in roughly [-1, 1] per row: the mean of a few sines (rows: output channels)."""
    return np.sin(2 * np.pi * freqs[None, :] * t + phases).mean(axis=1) * np.sqrt(2.0)


class CameraPath:
    """Pose as a function of time: an arc around ``centre`` swept back and forth, plus wobble.

    The wobble is a sum of low-frequency sines (0.15-0.7 Hz) whose phases come from the seed, so a
    path is smooth, looks hand-held, and is identical for the same seed.
    """

    def __init__(self, cfg: VirtualSensorConfig, centre: tuple[float, float, float]):
        self.cfg = cfg
        self.centre = np.asarray(centre, dtype=np.float64)
        rng = np.random.default_rng([cfg.seed, 7])
        self._freqs = np.array([0.15, 0.31, 0.53, 0.7])
        self._phases = rng.uniform(0, 2 * np.pi, size=(7, len(self._freqs)))  # 3 eye + 3 target + roll

    def c2w(self, t: float) -> np.ndarray:
        """float64 [4, 4] OpenCV camera-to-world at time ``t`` seconds."""
        cfg = self.cfg
        angle = -np.deg2rad(cfg.path_arc_deg) * np.cos(2 * np.pi * t / cfg.path_period_s)
        w = _wobble(t, self._phases, self._freqs)
        eye = self.centre + np.array(
            [cfg.path_radius_m * np.sin(angle), -cfg.path_radius_m * np.cos(angle), 0.0]
        )
        eye[2] = cfg.path_height_m
        eye += cfg.wobble_m * w[0:3]
        target = self.centre + cfg.wobble_look_m * w[3:6]
        return look_at(eye, target, np.deg2rad(cfg.wobble_roll_deg) * w[6])
