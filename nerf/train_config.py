"""``TrainConfig``: every setting of a training run (the CLI and run.json are generated from it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from nerf.fields.fast import FastFieldConfig
from nerf.fields.sensor import SensorFieldConfig


@dataclass
class TrainConfig:
    """How to train one scene. Weights left at None come from the scene's data set (losses.DEPTH_WEIGHTS)."""

    field: str = "fast"
    """Radiance field: "fast" (dense grids, the default), "sensor" (depth-seeded grids + VM texture, for scenes
    with metric depth) or "mipnerf" (the faithful original)."""
    preset: str | None = None
    """A named configuration applied on top ("faithful": the authors' settings for the scene's data set)."""
    steps: int | None = None
    """Step budget; with neither steps nor minutes, ``default_steps``."""
    minutes: float | None = None
    """Wall-clock budget in minutes (pauses excluded); the run stops at whichever budget comes first."""
    default_steps: int = 3000
    """Step budget used when neither steps nor minutes is given."""
    batch_rays: int = 4096
    """Rays per optimisation step (all from one training image)."""
    lr_scale: float = 1.0
    """Multiplies every learning rate of the field's parameter groups."""
    lr: float = 2e-3
    """Learning rate for fields that do not define their own parameter groups (mipnerf: 2e-3)."""
    lr_final_ratio: float = 0.1
    """Learning rates decay log-linearly to this fraction of their start over the budget (mipnerf: 0.01)."""
    lr_warmup_steps: int = 0
    """Steps of the original's sine-eased warm-up from lr_warmup_start (mipnerf: 512)."""
    lr_warmup_start: float = 0.01
    """Learning-rate multiplier at step 0 of the warm-up."""
    grad_clip_value: float | None = None
    """Clip every gradient element to [-v, v] (the original: 0.1); None: no clipping."""
    grad_clip_norm: float | None = None
    """Clip the global gradient norm (the original: 0.1); None: no clipping."""
    depth_prior: bool = True
    """Use the SparseNeRF depth-ranking prior (needs coarse depth in the scene)."""
    rank_weight: float | None = None
    """lambda, the weight of L_depth = L_rank + c L_cont; None: the data set's (0.2 DTU, 0.5 otherwise)."""
    cont_weight: float | None = None
    """c, the continuity weight; None: the data set's (1.0 DTU, 0.01 LLFF, 0.1 sensors)."""
    rank_margin: float = 1e-4
    """m1 of the ranking hinge."""
    cont_margin: float = 1e-4
    """m2 of the continuity hinge."""
    smooth_weight: float | None = None
    """Weight of RegNeRF's depth smoothness on patches from unseen poses; None: the data set's (DTU 0.1, else 0)."""
    smooth_patches: int = 4
    """Patches per step for the depth-smoothness term."""
    smooth_patch_size: int = 8
    """Side in pixels of those patches."""
    smooth_max_angle_deg: float = 15.0
    """Unseen poses are training poses rotated about the scene centre by up to this angle."""
    coarse_weight: float = 0.1
    """Weight of the coarse level's colour loss (two-level fields)."""
    ranking_window: tuple[int, int] | None = None
    """(height, width) of the ranking window in pixels; None: the scene's."""
    seed: int = 0
    """Seed of the pair sampler and of torch's generators."""
    device: str = "auto"
    """"auto" (CUDA when present, else CPU), "cpu", "cuda" or "cuda:N"."""
    threads: int | None = None
    """CPU threads for torch (None: leave the process's budget as it is; the CLI and the studio set it, see nerf.threads)."""
    snapshot_interval_s: float = 0.5
    """At most one TrainSnapshot per this many seconds."""
    preview_every_s: float = 5.0
    """Re-render the snapshot's preview image at most this often."""
    preview_width: int = 96
    """Width in pixels of the snapshot's preview image."""
    eval_every_s: float = 15.0
    """Held-out PSNR at most this often (a subsample of one test view)."""
    eval_rays: int = 4096
    """Rays of the held-out subsample."""
    checkpoint_every_s: float = 120.0
    """Save checkpoints/latest.pt this often during run() (and always at the end)."""
    render_chunk: int = 16384
    """Rays per chunk when rendering whole images."""
    fast: FastFieldConfig = dataclasses.field(default_factory=FastFieldConfig)
    """Settings of the fast field."""
    sensor: SensorFieldConfig = dataclasses.field(default_factory=SensorFieldConfig)
    """Settings of the sensor field."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict of every field (nested configs included)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TrainConfig:
        """Inverse of ``to_json`` (lists back to tuples; unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in doc.items() if k in names}
        if isinstance(kwargs.get("fast"), dict):
            kwargs["fast"] = _from_dict(FastFieldConfig, kwargs["fast"])
        if isinstance(kwargs.get("sensor"), dict):
            kwargs["sensor"] = _from_dict(SensorFieldConfig, kwargs["sensor"])
        if kwargs.get("ranking_window") is not None:
            kwargs["ranking_window"] = tuple(kwargs["ranking_window"])
        return cls(**kwargs)


def _from_dict(cls: type, doc: dict[str, Any]) -> Any:
    """A frozen config dataclass from JSON, nested lists turned back into tuples."""
    names = {f.name for f in dataclasses.fields(cls)}

    def tup(v: Any) -> Any:
        return tuple(tup(x) for x in v) if isinstance(v, list) else v

    return cls(**{k: tup(v) for k, v in doc.items() if k in names})
