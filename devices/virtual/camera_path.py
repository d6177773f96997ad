"""The virtual sensor's camera path: a hand-held sweep around the scene centre.

Poses are camera-to-world float [4, 4] in OpenCV axes (x right, y down, z forward), world z up.
"""

from __future__ import annotations

import numpy as np

from devices.camera_geometry import WORLD_UP, look_at
from devices.virtual.config import VirtualSensorConfig


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
        return look_at(eye, target, WORLD_UP, np.deg2rad(cfg.wobble_roll_deg) * w[6])
