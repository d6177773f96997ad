"""Per-data-set settings in one table, and ``resolve(config, scene)``, which fills a TrainConfig from it.

"What weights does DTU use?" is ``PROFILES["dtu"]``. Every number that depends on the data set lives
here: the SparseNeRF loss weights (sparsenerf.md, the authors' gin files), RegNeRF's depth smoothness,
the fast field's colour smoothing and distortion weights (measured, docs/fast_field.md), the ranking
windows and image downsampling of the original, and the faithful preset's schedule.

``resolve`` runs before a run starts (the Trainer calls it before writing run.json), so a run's
run.json holds the values it trained with and a later change of this table does not change it. An
old run.json with nulls is resolved with this table when it is loaded, which gives the values it was
trained with as long as the table keeps them.

The capture side (``devices``, which never imports ``nerf``) writes the sensors' ranking windows into
scene folders from ``devices.nvs_rgbd.sensors``; tests/test_profiles.py checks the two agree.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from devices.frame import DepthKind
from nerf.fields.config import FAST_FILLED
from nerf.scene import Scene
from nerf.train_config import TrainConfig

Window = tuple[int, int]


@dataclass(frozen=True)
class DatasetProfile:
    """The settings one data set (``Scene.dataset``) trains with.

    Attributes:
        dataset: the Scene.dataset key.
        rank_weight: lambda, the weight of L_depth = L_rank + c L_cont.
        cont_weight: c, the continuity weight inside L_depth.
        smooth_weight: RegNeRF's depth smoothness on unseen-pose patches (SparseNeRF keeps it on DTU only).
        tv_density: the fast field's density-grid total variation.
        tv_color: the fast field's colour-grid total variation.
        distortion: the fast field's distortion-loss weight.
        resolution_schedule: the fast field's coarse-to-fine grid schedule, (step, voxels per side) pairs.
        min_views: the fast field's view mask: density only inside at least this many training frusta.
        ranking_window: the authors' ranking window (height, width) in pixels; None: the whole image.
        own_window: the scene's own window instead (our captures write theirs into the scene folder).
        scene_windows: scenes whose window differs, by lower-case scene name ("scanN" for DTU); None: the
            whole image. DTU's apply to the faithful preset only (its loaders keep the whole image).
        downscale: the authors' image downsampling of the raw data.
        faithful_steps / faithful_batch_rays: the original's schedule.
        ray_shape: Mip-NeRF sample shape of the original's config ("cone" or "cylinder").
        near_far_anneal: RegNeRF's near/far annealing (steps, start fraction, mid fraction).
        depth_tv: the original applies RegNeRF's depth TV term (nerf.presets.DepthTV).
    """

    dataset: str
    rank_weight: float
    cont_weight: float
    smooth_weight: float = 0.0
    tv_density: float = 0.1
    tv_color: float = 1e-3
    distortion: float = 0.01
    resolution_schedule: tuple[tuple[int, int], ...] = ((0, 24), (300, 32), (1200, 48))
    min_views: int = 2
    ranking_window: Window | None = (30, 30)
    own_window: bool = False
    scene_windows: Mapping[str, Window | None] = field(default_factory=dict)
    downscale: int = 1
    faithful_steps: int = 60_000
    faithful_batch_rays: int = 512
    ray_shape: str = "cylinder"
    near_far_anneal: tuple[int, float, float] = (0, 1.0, 0.5)
    depth_tv: bool = False

    def window_for(self, name: str, image_size: Window) -> Window | None:
        """The authors' ranking window of scene ``name`` ((height, width); None: the scene's own)."""
        key = name.lower()
        m = re.search(r"scan(\d+)", key)
        key = f"scan{int(m.group(1))}" if m else key
        if key in self.scene_windows:
            return self.scene_windows[key] or image_size
        return None if self.own_window else (self.ranking_window or image_size)


KINECT_WINDOW: Window = (5, 5)
"""The NVS-RGBD Azure Kinect's ranking window (its depth is fine-grained metric depth); also 7-Scenes' Kinect v1."""

DTU_SCHEDULE = ((0, 32), (300, 48), (800, 64), (1400, 96))
"""The fast field's grid schedule on DTU: finer than elsewhere (96^3 from step 1,400). 3 CPU-min on scan24 3-view:
masked PSNR 16.31 dB against 15.95 for the 48^3 default, training views 19.86 against 18.59 masked (RESULTS.md)."""

PROFILES: dict[str, DatasetProfile] = {
    "dtu": DatasetProfile(
        "dtu", rank_weight=0.2, cont_weight=1.0, smooth_weight=0.1, tv_density=0.03, tv_color=0.03, distortion=0.03,
        resolution_schedule=DTU_SCHEDULE, min_views=1,
        ranking_window=None, scene_windows={"scan34": (100, 100), "scan38": (100, 100), "scan82": (100, 100)},
        downscale=4, faithful_steps=90_000, faithful_batch_rays=256, ray_shape="cone",
        near_far_anneal=(256, 0.5, 0.5), depth_tv=True),
    "llff": DatasetProfile(
        "llff", rank_weight=0.5, cont_weight=0.01, ranking_window=(30, 30),
        scene_windows={"leaves": (180, 180), "horns": (60, 60), "room": None, "fortress": None},
        downscale=8, faithful_steps=90_000, near_far_anneal=(512, 1e-4, 1.0)),
    "nvs_kinect": DatasetProfile("nvs_kinect", rank_weight=0.5, cont_weight=0.1, ranking_window=KINECT_WINDOW,
                                 downscale=2),
    "nvs_zed2": DatasetProfile("nvs_zed2", rank_weight=0.5, cont_weight=0.1, ranking_window=(30, 30), downscale=2),
    "nvs_iphone": DatasetProfile("nvs_iphone", rank_weight=0.5, cont_weight=0.1, ranking_window=(30, 30),
                                 downscale=8),
    "custom": DatasetProfile("custom", rank_weight=0.5, cont_weight=0.1, own_window=True),
}
"""Profiles by Scene.dataset. Our own captures ("custom") use the NVS-RGBD sensor weights and their own window.
The fast field's tv_color / distortion (DTU 0.03 / 0.03, else 1e-3 / 0.01): DTU's held-out views see sides no
training view shaded, where smoother colour and emptier rays pay; elsewhere they cost sharpness. Its grid schedule
(DTU_SCHEDULE: to 96^3; else to 48^3): DTU's training views were fitted to only ~18.6 dB masked at 48^3. Its view
mask (DTU: density inside any training frustum, else inside two): on DTU the sides only one of the three views saw
hold surfaces the held-out views see (+1.0 dB masked at 180 CPU s, benchmarks/RESULTS.md). Its density TV (DTU 0.03,
else 0.1): on that 96^3 grid 0.1 smoothed the surfaces more than the held-out views pay for (+0.7 dB masked at 120 CPU s)."""


def profile_for(dataset: str | None) -> DatasetProfile:
    """The profile of ``dataset``; unknown data sets (and None) get "custom"'s."""
    return PROFILES.get(dataset or "custom", PROFILES["custom"])


def resolve(config: TrainConfig, scene: Scene) -> TrainConfig:
    """``config`` for ``scene`` with its preset applied and every data-set setting left at None filled in.

    Idempotent (resolving a resolved config changes nothing), and never changes a value that was set.
    Raises ValueError for a setting that cannot work (``TrainConfig.check``).
    """
    config.check()
    if config.preset:
        from nerf.presets import apply_preset

        config = apply_preset(config.preset, scene, config)
    prof = profile_for(scene.dataset)
    c = config.replace()  # a copy: the caller's config stays as it was
    if c.field == "auto":
        c.field = default_field(scene)
    losses = c.losses
    losses.rank_weight = prof.rank_weight if losses.rank_weight is None else losses.rank_weight
    losses.cont_weight = prof.cont_weight if losses.cont_weight is None else losses.cont_weight
    losses.smooth_weight = prof.smooth_weight if losses.smooth_weight is None else losses.smooth_weight
    if c.sampler.ranking_window is None:
        c.sampler.ranking_window = tuple(scene.ranking_window)
    fast = {k: getattr(prof, k) for k in FAST_FILLED if getattr(c.fast, k) is None}
    c.fast = dataclasses.replace(c.fast, **fast)
    return c


def default_field(scene: Scene) -> str:
    """The field "auto" means: "sensor" for a metric (non-NDC) scene with metric depth maps (captures, 7-Scenes),
    else "fast" (DTU, LLFF, NVS-RGBD's forward-facing scenes). On the virtual room, 3 CPU-minutes each, the
    sensor field scored 23.6 dB / SSIM 0.77 / depth abs-rel 0.018 held-out against the fast field's
    18.5 / 0.51 / 0.58 (benchmarks/RESULTS.md, "Sensor scenes")."""
    metric = scene.depths is not None and scene.depth_kind is DepthKind.METRIC and bool(scene.to_metres)
    return "sensor" if metric and not scene.ndc else "fast"


UNRESOLVED = ("losses.rank_weight", "losses.cont_weight", "losses.smooth_weight", "sampler.ranking_window",
              *(f"fast.{name}" for name in FAST_FILLED))
"""The settings ``resolve`` fills (None before it)."""


def check_resolved(config: TrainConfig) -> TrainConfig:
    """``config`` itself; ValueError naming the first setting still None (the trainer takes resolved configs only)."""
    for path in UNRESOLVED:
        group, name = path.split(".")
        if getattr(getattr(config, group), name) is None:
            raise ValueError(f"TrainConfig.{path} is None: resolve the config first (nerf.profiles.resolve)")
    if config.field == "auto":
        raise ValueError("TrainConfig.field is 'auto': resolve the config first (nerf.profiles.resolve)")
    return config
