"""RegNeRF's depth-smoothness term on patches seen from random unseen poses, as a small object.

SparseNeRF keeps this term on DTU only (sparsenerf.md). Each call draws a training view, rotates its
camera about the scene centre (where the training views look, ``devices.camera_geometry.lookat_centre``;
``nerf.unseen_patches.unseen_pose``), draws ``patches`` square pixel
patches, renders them and penalises neighbouring depth differences (``nerf.regnerf_tv.depth_tv_loss``).
The term owns its random generator, so a checkpoint can save and restore it (``rng_state``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from devices.camera_geometry import lookat_centre
from nerf.regnerf_tv import depth_tv_loss
from nerf.scene import Scene
from nerf.types import Camera
from nerf.unseen_patches import patch_pixels, unseen_pose

__all__ = ["SmoothnessConfig", "SmoothnessTerm"]


@dataclass(frozen=True)
class SmoothnessConfig:
    """weight: of the term in the total loss (0: off); patches of patch_size x patch_size pixels per step;
    poses rotated by up to max_angle_deg about the scene centre."""

    weight: float = 0.0
    patches: int = 4
    patch_size: int = 8
    max_angle_deg: float = 15.0


class SmoothnessTerm:
    """``term(render_depth)`` -> the smoothness loss, unweighted (a scalar tensor); see the module docstring.
    ``config.weight`` only says whether the term is on: the caller applies it with the other weights.

    ``render_depth(camera, ys, xs)`` renders the pixels (``ys``, ``xs``) [P] of ``camera`` in training
    mode and returns their expected depths [P]; the term never sees the field itself.
    """

    def __init__(self, scene: Scene, config: SmoothnessConfig, seed: int):
        self.scene, self.config = scene, config
        self.rng = np.random.default_rng(seed)
        self.centre = lookat_centre(scene.c2w[scene.train_ids]) if config.weight > 0 else None  # fixed: computed once

    @property
    def active(self) -> bool:
        """Whether the term takes part (a positive weight, and a metric scene: NDC scenes have no centre)."""
        return self.config.weight > 0 and not self.scene.ndc

    def sample(self) -> tuple[Camera, np.ndarray, np.ndarray]:
        """The next unseen camera and its patch pixels (rows, columns) int64 [patches * size * size]."""
        c, s = self.config, self.scene
        view = int(s.train_ids[self.rng.integers(len(s.train_ids))])
        pose = unseen_pose(s.c2w[view], self.centre, self.rng, c.max_angle_deg)
        ys, xs = patch_pixels(s.height, s.width, c.patch_size, c.patches, self.rng)
        return Camera(K=s.K[view], c2w=pose, width=s.width, height=s.height), ys, xs

    def loss(self, depth: torch.Tensor) -> torch.Tensor:
        """Total variation of the patches' depths [patches * size * size], as a fraction of near-far (unweighted)."""
        s, size = self.scene, self.config.patch_size
        span = (s.far - s.near) if not s.ndc else 1.0
        return depth_tv_loss((depth / span).reshape(-1, size, size))

    def __call__(self, render_depth: Callable[[Camera, np.ndarray, np.ndarray], torch.Tensor]) -> torch.Tensor:
        camera, ys, xs = self.sample()
        return self.loss(render_depth(camera, ys, xs))

    @property
    def rng_state(self) -> dict:
        return self.rng.bit_generator.state

    @rng_state.setter
    def rng_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state
