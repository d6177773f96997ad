"""The ``faithful`` preset: the SparseNeRF authors' configuration for each data set.

Values are those of sparsenerf.md, checked against the authors' gin files (configs/llff3.gin,
dtu3.gin, nvs_rgbd_*.gin) and RegNeRF's Config defaults they build on (batch 512 rays); the per-data-set
ones live in ``nerf.profiles.PROFILES`` with every other data-set setting.
``faithful_config(scene)`` returns a ``FaithfulPreset``; ``apply(config)`` turns a TrainConfig into
the faithful one (field "mipnerf", the original schedule, weights and window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nerf.profiles import profile_for
from nerf.scene import Scene


@dataclass(frozen=True)
class NearFarAnneal:
    """RegNeRF's near/far annealing: the sampled interval grows from around a mid point to [near, far].

    Attributes:
        steps: steps over which the interval opens (0 = off).
        start_fraction: the interval at step 0 is this fraction of the full one, around the mid point.
        mid_fraction: where the mid point sits: near + mid_fraction * (far - near).
    """

    steps: int = 0
    start_fraction: float = 1.0
    mid_fraction: float = 0.5


def anneal_near_far(near: float, far: float, step: int, anneal: NearFarAnneal) -> tuple[float, float]:
    """(near, far) to sample at ``step``: linear from the shrunk interval at step 0 to the full one."""
    if anneal.steps <= 0:
        return near, far
    mid = near + anneal.mid_fraction * (far - near)
    near_0 = mid + anneal.start_fraction * (near - mid)
    far_0 = mid + anneal.start_fraction * (far - mid)
    w = min(max(step / anneal.steps, 0.0), 1.0)
    return near_0 + w * (near - near_0), far_0 + w * (far - far_0)


@dataclass(frozen=True)
class DepthTV:
    """RegNeRF's depth-smoothness (total variation) term on patches rendered from random poses.

    Attributes:
        patch: patch side in pixels.
        weight_start / weight_end: the weight decays log-linearly from start to end over ``decay_steps``.
        decay_steps: steps of the decay.
    """

    patch: int = 8
    weight_start: float = 400.0
    weight_end: float = 0.1
    decay_steps: int = 512

    def weight(self, step: int) -> float:
        w = min(max(step / self.decay_steps, 0.0), 1.0) if self.decay_steps > 0 else 1.0
        return math.exp((1 - w) * math.log(self.weight_start) + w * math.log(self.weight_end))


@dataclass(frozen=True)
class FaithfulPreset:
    """The authors' settings for one scene.

    Attributes:
        dataset: the Scene.dataset key it was chosen for.
        batch_rays: rays per step. steps: optimisation steps.
        rank_weight: lambda. cont_weight: c.
        ranking_window: (height, width) in pixels at the authors' resolution.
        downscale: the authors' image downsampling of the raw data (LLFF 8, DTU 4, Kinect/ZED 2, iPhone 8).
        ray_shape: Mip-NeRF sample shape ("cylinder" in the LLFF / NVS-RGBD configs, "cone" for DTU).
        lr, lr_final_ratio, lr_warmup_steps, lr_warmup_start: 2e-3 -> 2e-5 log-linear, 512-step warm-up from 0.01x.
        grad_clip_value, grad_clip_norm: 0.1 and 0.1.
        coarse_weight: 0.1.
        near_far: the near/far annealing.
        depth_tv: RegNeRF's depth TV term (DTU), or None.
        notes: what of the original this preset does not reproduce.
    """

    dataset: str
    batch_rays: int
    steps: int
    rank_weight: float
    cont_weight: float
    ranking_window: tuple[int, int]
    downscale: int
    ray_shape: str
    lr: float = 2e-3
    lr_final_ratio: float = 0.01
    lr_warmup_steps: int = 512
    lr_warmup_start: float = 0.01
    grad_clip_value: float = 0.1
    grad_clip_norm: float = 0.1
    coarse_weight: float = 0.1
    near_far: NearFarAnneal = NearFarAnneal()
    depth_tv: DepthTV | None = None
    notes: tuple[str, ...] = ()

    def apply(self, config):  # config: nerf.train_config.TrainConfig -> TrainConfig
        """A copy of ``config`` with this preset's settings (field "mipnerf"; the authors' step count unless
        the config already has a step or time budget). Applying it twice changes nothing."""
        explicit_budget = config.budget.minutes is not None or config.budget.steps is not None
        return config.replace(
            field="mipnerf", preset="faithful", steps=config.budget.steps if explicit_budget else self.steps,
            batch_rays=self.batch_rays, lr=self.lr, lr_final_ratio=self.lr_final_ratio,
            lr_warmup_steps=self.lr_warmup_steps, lr_warmup_start=self.lr_warmup_start,
            grad_clip_value=self.grad_clip_value, grad_clip_norm=self.grad_clip_norm, rank_weight=self.rank_weight,
            cont_weight=self.cont_weight, coarse_weight=self.coarse_weight, ranking_window=self.ranking_window,
        )


def faithful_config(scene: Scene) -> FaithfulPreset:
    """The authors' configuration for ``scene`` (by Scene.dataset, ``nerf.profiles``; our own captures use the
    NVS-RGBD sensor values and their own ranking window)."""
    prof = profile_for(scene.dataset)
    window = prof.window_for(scene.name, (scene.height, scene.width)) or tuple(scene.ranking_window)
    notes = _TV_NOTE if prof.depth_tv else ()
    if prof.dataset == "custom":
        notes = ("custom scene: NVS-RGBD sensor weights (lambda 0.5, c 0.1), the scene's own ranking window",)
    return FaithfulPreset(
        scene.dataset, prof.faithful_batch_rays, prof.faithful_steps, prof.rank_weight, prof.cont_weight, window,
        prof.downscale, prof.ray_shape, near_far=NearFarAnneal(*prof.near_far_anneal),
        depth_tv=DepthTV() if prof.depth_tv else None, notes=notes)


def mipnerf_config(scene: Scene):  # -> nerf.fields.mipnerf.MipNeRFConfig
    """The Mip-NeRF field as the authors configured it for ``scene``'s data set (ray shape, near/far annealing)."""
    from nerf.fields.mipnerf import MipNeRFConfig

    preset = faithful_config(scene)
    return MipNeRFConfig(ray_shape=preset.ray_shape, near_far=preset.near_far)


PRESETS = ("faithful",)
"""Names ``TrainConfig.preset`` accepts."""


def apply_preset(name: str, scene: Scene, config):  # config: TrainConfig -> TrainConfig
    """``config`` with the named preset for ``scene`` applied (the Trainer calls this)."""
    if name != "faithful":
        raise ValueError(f"unknown preset {name!r} (expected one of {', '.join(PRESETS)})")
    return faithful_config(scene).apply(config)


_TV_NOTE = ("RegNeRF's depth TV term on 8x8 patches from random poses is defined (nerf.regnerf_tv) but "
            "applied only where the trainer renders random-pose patches",)
