"""``TrainConfig``: every setting of a training run, composed of small configs (the CLI and run.json follow it).

    TrainConfig
      field, preset, seed, device, threads
      budget     Budget      steps / minutes
      optim      Optimiser   learning rates, schedule, gradient clipping
      losses     Losses      the ranking prior's weights and margins, depth smoothness
      sampler    Sampler     rays per step, the ranking window and the pair sampler's settings
      reporting  Reporting   snapshots, previews, held-out evaluation, checkpoints
      fast       FastFieldConfig     (nerf.fields.config)
      sensor     SensorFieldConfig   (nerf.fields.config)

Settings left at None in ``losses``, ``sampler.ranking_window`` and ``fast`` mean "the data set's":
``nerf.profiles.resolve(config, scene)`` fills them before a run starts, so run.json never holds a null
weight. ``from_json`` reads this nested layout and the flat one of run.json files written before it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from nerf.choices import check_choices
from nerf.fields.config import FastFieldConfig, SensorFieldConfig

FieldName = Literal["auto", "fast", "sensor", "mipnerf"]


@dataclass
class Budget:
    """When training stops: whichever of the step and time budgets comes first."""

    steps: int | None = None
    """Step budget; with neither steps nor minutes, ``default_steps``."""
    minutes: float | None = None
    """Wall-clock budget in minutes (pauses excluded)."""
    default_steps: int = 3000
    """Step budget used when neither steps nor minutes is given."""


@dataclass
class Optimiser:
    """Adam's learning rates, their schedule and gradient clipping."""

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


@dataclass
class Losses:
    """L = L_rgb + coarse_weight L_rgb_coarse + rank_weight (L_rank + cont_weight L_cont) + smoothness + field terms."""

    depth_prior: bool = True
    """Use the SparseNeRF depth-ranking prior (needs coarse depth in the scene)."""
    rank_weight: float | None = None
    """lambda, the weight of L_depth = L_rank + c L_cont; None: the data set's (nerf.profiles)."""
    cont_weight: float | None = None
    """c, the continuity weight; None: the data set's (nerf.profiles)."""
    rank_margin: float = 1e-4
    """m1 of the ranking hinge."""
    cont_margin: float = 1e-4
    """m2 of the continuity hinge."""
    coarse_weight: float = 0.1
    """Weight of the coarse level's colour loss (two-level fields)."""
    smooth_weight: float | None = None
    """Weight of RegNeRF's depth smoothness on patches from unseen poses; None: the data set's (nerf.profiles)."""
    smooth_patches: int = 4
    """Patches per step for the depth-smoothness term."""
    smooth_patch_size: int = 8
    """Side in pixels of those patches."""
    smooth_max_angle_deg: float = 15.0
    """Unseen poses are training poses rotated about the scene centre by up to this angle."""


@dataclass
class Sampler:
    """Which pixels a step trains on (nerf.pairs: defaults are the original's)."""

    batch_rays: int = 4096
    """Rays per optimisation step (all from one training image)."""
    ranking_window: tuple[int, int] | None = None
    """(height, width) of the ranking window in pixels; None: the scene's."""
    min_valid: int = 10
    """A ranking window must hold more than this many pixels with depth, else it is redrawn."""
    neighbour_size: int = 6
    """Side of the square a point's continuity neighbour is drawn from."""
    neighbour_fraction: float = 0.3
    """The neighbour is drawn among the closest int(fraction * count) pixels of that square by coarse depth."""
    max_redraws: int = 1000
    """Give up redrawing windows / pixels after this many rounds."""


@dataclass
class Reporting:
    """How often a run reports, evaluates and saves."""

    snapshot_interval_s: float = 0.5
    """At most one TrainSnapshot per this many seconds."""
    preview_every_s: float = 5.0
    """Re-render the snapshot's preview image at most this often."""
    # 0 by default: neither the studio nor the CLI shows it, and a full render on the training thread every
    # preview_every_s cost 2-8 % of the steps (benchmarks/RESULTS.md, "Studio training throughput").
    preview_width: int = 0
    """Width in pixels of the snapshot's preview image (0: none)."""
    eval_every_s: float = 15.0
    """Held-out PSNR at most this often (a subsample of one test view)."""
    eval_rays: int = 4096
    """Rays of the held-out subsample."""
    checkpoint_every_s: float = 120.0
    """Save checkpoints/latest.pt this often during run() (and always at the end)."""
    render_chunk: int = 16384
    """Rays per chunk when rendering whole images."""


GROUPS: dict[str, type] = {"budget": Budget, "optim": Optimiser, "losses": Losses, "sampler": Sampler,
                           "reporting": Reporting, "fast": FastFieldConfig, "sensor": SensorFieldConfig}
"""The TrainConfig fields that are configs of their own, by name."""


@dataclass
class TrainConfig:
    """How to train one scene (see the module docstring)."""

    field: FieldName = "auto"
    """Radiance field: "auto" (the default: "sensor" for a scene with metric depth, else "fast";
    ``nerf.profiles.resolve`` decides), "fast" (dense grids: DTU, LLFF, forward-facing scenes), "sensor"
    (depth-seeded grids + VM texture, for scenes with metric depth) or "mipnerf" (the faithful original)."""
    preset: Literal["faithful"] | None = None
    """A named configuration applied on top ("faithful": the authors' settings for the scene's data set)."""
    seed: int = 0
    """Seed of the pair sampler and of torch's generators."""
    device: str = "auto"
    """"auto" (CUDA when present, else CPU), "cpu", "cuda" or "cuda:N"."""
    threads: int | None = None
    """CPU threads for torch (None: leave the process's budget as it is; the CLI and the studio set it, see nerf.threads)."""
    budget: Budget = dataclasses.field(default_factory=Budget)
    optim: Optimiser = dataclasses.field(default_factory=Optimiser)
    losses: Losses = dataclasses.field(default_factory=Losses)
    sampler: Sampler = dataclasses.field(default_factory=Sampler)
    reporting: Reporting = dataclasses.field(default_factory=Reporting)
    fast: FastFieldConfig = dataclasses.field(default_factory=FastFieldConfig)
    """Settings of the fast field."""
    sensor: SensorFieldConfig = dataclasses.field(default_factory=SensorFieldConfig)
    """Settings of the sensor field."""

    def __post_init__(self) -> None:
        check_choices(self)  # a bad ``field`` or ``preset`` fails here, with the values it takes

    def check(self) -> TrainConfig:
        """``self``; ValueError (one line, naming the setting as "group.name") for a value that cannot work."""
        for path, low, inclusive in _RANGES:
            group, name = path.split(".")
            value = getattr(getattr(self, group), name)
            if value is not None and (value < low if inclusive else value <= low):
                raise ValueError(f"{path} must be {'at least' if inclusive else 'more than'} {low}, got {value}")
        if self.sampler.neighbour_fraction > 1:
            raise ValueError(f"sampler.neighbour_fraction must be at most 1, got {self.sampler.neighbour_fraction}")
        window = self.sampler.ranking_window
        if window is not None and (len(window) != 2 or min(window) < 1):
            raise ValueError(f"sampler.ranking_window must be two positive sizes (height, width), got {window}")
        return self

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict of every field, nested by group."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TrainConfig:
        """Inverse of ``to_json``; also reads the flat layout of older run.json files (``"steps": 300`` rather
        than ``"budget": {"steps": 300}``). Lists become tuples; unknown keys are ignored."""
        return cls.from_flat(**_nest(doc, strict=False))

    @classmethod
    def from_flat(cls, **settings: Any) -> TrainConfig:
        """A config from setting names, flat or grouped: ``TrainConfig.from_flat(steps=300, batch_rays=256,
        fast={"tv_color": 0.01})``; a group may also be given as its config object. TypeError on an unknown name."""
        return cls().replace(**settings)

    def replace(self, **settings: Any) -> TrainConfig:
        """A copy with the named settings changed; names as in ``from_flat`` (the groups are copied, not shared)."""
        nested = _nest(settings, strict=True)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            current = getattr(self, f.name)
            if f.name not in GROUPS:
                kwargs[f.name] = nested.get(f.name, current)
                continue
            value = nested.get(f.name, {})
            if isinstance(value, GROUPS[f.name]):
                kwargs[f.name] = dataclasses.replace(value)
            else:
                kwargs[f.name] = dataclasses.replace(current, **_tuples(GROUPS[f.name], value))
        return TrainConfig(**kwargs)


_RANGES = (
    *((f"budget.{n}", 0, False) for n in ("steps", "minutes", "default_steps")),
    *((f"optim.{n}", 0, False) for n in ("lr_scale", "lr", "lr_final_ratio", "lr_warmup_start")),
    *((f"optim.{n}", 0, True) for n in ("lr_warmup_steps", "grad_clip_value", "grad_clip_norm")),
    *((f"losses.{n}", 0, True) for n in ("rank_weight", "cont_weight", "rank_margin", "cont_margin", "coarse_weight",
                                         "smooth_weight", "smooth_max_angle_deg")),
    ("losses.smooth_patches", 1, True), ("losses.smooth_patch_size", 2, True),
    ("sampler.batch_rays", 0, False), ("sampler.min_valid", 0, True), ("sampler.neighbour_size", 1, True),
    ("sampler.neighbour_fraction", 0, False), ("sampler.max_redraws", 1, True),
    *((f"reporting.{n}", 0, True) for n in ("snapshot_interval_s", "preview_every_s", "eval_every_s",
                                            "checkpoint_every_s")),
    ("reporting.preview_width", 0, True),
    *((f"reporting.{n}", 0, False) for n in ("eval_rays", "render_chunk")),
)
"""(group.setting, lower bound, bound allowed) of the numeric settings ``TrainConfig.check`` checks."""

_FLAT = {f.name: group for group, gcls in GROUPS.items() if group not in ("fast", "sensor")
         for f in dataclasses.fields(gcls)}
"""Setting name -> its group, for the flat layout (names are unique across these groups)."""
_TOP = {"field", "preset", "seed", "device", "threads"}


def _nest(doc: dict[str, Any], *, strict: bool) -> dict[str, Any]:
    """Flat and nested settings -> {top-level name: value, group: {name: value} | config object}."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key in _TOP:
            out[key] = value
        elif key in GROUPS:
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key].update(value)
            elif isinstance(value, (dict, GROUPS[key])):
                out[key] = dict(value) if isinstance(value, dict) else value
            elif strict:
                raise TypeError(f"TrainConfig.{key} must be a {GROUPS[key].__name__} or a dict, not {value!r:.40}")
        elif key in _FLAT:
            out.setdefault(_FLAT[key], {})[key] = value
        elif strict:
            raise TypeError(f"TrainConfig has no setting {key!r}")
    if not strict:  # JSON from disk: drop names a group does not have (settings of other versions)
        for group, value in out.items():
            if isinstance(value, dict):
                names = {f.name for f in dataclasses.fields(GROUPS[group])}
                out[group] = {k: v for k, v in value.items() if k in names}
    return out


def _tuples(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with JSON lists turned back into (nested) tuples, and a TypeError for names ``cls`` lacks."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise TypeError(f"{cls.__name__} has no setting {sorted(unknown)[0]!r}")

    def tup(v: Any) -> Any:
        return tuple(tup(x) for x in v) if isinstance(v, list) else v

    return {k: tup(v) for k, v in values.items()}
