"""The virtual RGB-D sensor: a FrameSource rendering the procedural room along a hand-held path."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from devices.frame import DepthKind, Frame, FrameSource, SourceInfo
from devices.virtual.camera_path import CameraPath
from devices.virtual.config import VirtualSensorConfig
from devices.virtual.depth_model import measure
from devices.virtual.primitives import matmul
from devices.virtual.scene import Scene, default_scene
from devices.virtual.textures import luminance


def intrinsics(cfg: VirtualSensorConfig) -> np.ndarray:
    """float64 [3, 3] pinhole K: square pixels, principal point at the image centre.

    Pixel (u, v) is the ray through image point (u, v): pixel centres at integer coordinates, as
    in OpenCV.
    """
    f = 0.5 * cfg.width / np.tan(0.5 * np.deg2rad(cfg.hfov_deg))
    return np.array([[f, 0.0, (cfg.width - 1) / 2], [0.0, f, (cfg.height - 1) / 2], [0.0, 0.0, 1.0]])


def camera_rays(K: np.ndarray, c2w: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Origin [3] and directions [H*W, 3] (row-major pixels) with camera-z component 1.

    With these directions a hit's ray parameter is its depth along the optical axis.
    """
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    cam = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], axis=-1)
    return c2w[:3, 3].copy(), matmul(cam.reshape(-1, 3), c2w[:3, :3].T)


def to_srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear RGB float [..., 3] -> uint8 sRGB-ish (gamma 2.2), clipped."""
    return (np.clip(linear, 0.0, 1.0) ** (1 / 2.2) * 255.0 + 0.5).astype(np.uint8)


class VirtualSensor(FrameSource):
    """A synthetic RGB-D camera: exact poses and intrinsics, ToF-like depth, reproducible from a seed.

    Frame ``i`` depends only on the config and ``i`` (never on which frames were read before), so
    ``frame(i)`` gives random access and two sensors with the same config yield identical frames.

    Example::

        with VirtualSensor(VirtualSensorConfig(num_frames=30)) as source:
            for frame in source:
                ...
    """

    def __init__(self, cfg: VirtualSensorConfig | None = None, **overrides: object):
        cfg = cfg or VirtualSensorConfig()
        if overrides:
            from dataclasses import replace

            cfg = replace(cfg, **overrides)  # type: ignore[arg-type]
        self.cfg = cfg
        self.scene: Scene = default_scene(cfg.seed)
        self.path = CameraPath(cfg, self.scene.centre)
        self.K = intrinsics(cfg)
        self._open = False

    @property
    def info(self) -> SourceInfo:
        c = self.cfg
        return SourceInfo(
            name="Virtual sensor", sensor="virtual", width=c.width, height=c.height, fps=c.fps,
            depth_kind=DepthKind.METRIC, frame_count=c.num_frames, has_poses=True,
            ranking_window=c.ranking_window,
            extra={"seed": c.seed, "max_range_m": c.max_range_m},
        )

    def open(self) -> None:
        self._open = True

    def close(self) -> None:
        self._open = False

    def c2w(self, i: int) -> np.ndarray:
        """float64 [4, 4] exact OpenCV camera-to-world of frame ``i``."""
        return self.path.c2w(i / self.cfg.fps)

    def _render(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(linear rgb [H, W, 3], exact depth [H, W] (inf: nothing), albedo luminance [H, W])."""
        c = self.cfg
        origin, dirs = camera_rays(self.K, self.c2w(i), c.width, c.height)
        hit = self.scene.raycast(origin, dirs)
        shape = (c.height, c.width)
        return (self.scene.shade(hit).reshape(*shape, 3), hit.t.reshape(shape),
                luminance(hit.albedo).reshape(shape))

    def render_exact(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free (rgb uint8 [H, W, 3], depth float64 [H, W]) of frame ``i``: the ground truth.

        ``depth`` is the exact distance along the optical axis to the first surface (inf where
        there is none), with no holes and no range limit.
        """
        linear, depth, _ = self._render(i)
        return to_srgb8(linear), depth

    def frame(self, i: int) -> Frame:
        """Frame ``i`` as the sensor reports it: noisy colour, ToF depth with holes, exact K and c2w."""
        c = self.cfg
        linear, depth, lum = self._render(i)
        rng = np.random.default_rng([c.seed, i, 1])
        measured = measure(depth, lum, c, rng)
        rgb = to_srgb8(linear)
        if c.rgb_noise_std > 0:
            noisy = rgb + rng.standard_normal(rgb.shape, dtype=np.float32) * np.float32(c.rgb_noise_std)
            rgb = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
        return Frame(rgb=rgb, depth=measured, K=self.K.copy(), c2w=self.c2w(i), timestamp=i / c.fps,
                     depth_kind=DepthKind.METRIC, index=i)

    def frames(self) -> Iterator[Frame]:
        i, start = 0, time.monotonic()
        while self.cfg.num_frames is None or i < self.cfg.num_frames:
            if self.cfg.realtime:
                delay = start + i / self.cfg.fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield self.frame(i)
            i += 1
