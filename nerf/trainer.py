"""The training loop: one SparseNeRF optimisation step at a time, with no Qt.

``Trainer`` owns the field, the optimizer, the pair sampler and all random state. A GUI or the CLI
drives it either step by step (``step()``) or with ``run()`` from a worker thread, and talks to a
running loop only through thread-safe commands (``pause``, ``resume``, ``stop``,
``request_render``) that take effect between steps. Progress goes out as small immutable
``TrainSnapshot``s at a bounded rate.

Field plug-ins: ``config.field == "mipnerf"`` builds ``nerf.fields.mipnerf.MipNeRFField`` and a
``config.preset`` is applied by ``nerf.presets.apply_preset(name, scene, config) -> TrainConfig``
(both imported lazily). A field may define ``param_groups()`` (Adam groups with base learning
rates) and a ``param_version`` counter it bumps when it replaces parameters (coarse-to-fine), in
which case the optimizer is rebuilt.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from devices.errors import InputError
from devices.frame import DepthKind
from nerf import run_dir as rd
from nerf.fields.factory import build_field
from nerf.losses import DEPTH_WEIGHTS, LossConfig, QuadIndices, psnr, sparsenerf_loss
from nerf.pairs import PairBatch, PairSampler, PairSamplerConfig
from nerf.regnerf_tv import depth_tv_loss
from nerf.run_state import RunState
from nerf.scene import Scene
from nerf.scene_rays import SceneRays
from nerf.threads import apply_threads
from nerf.train_config import TrainConfig
from nerf.train_loop import LoopControl
from nerf.types import Camera, RenderResult, TrainSnapshot
from nerf.unseen_patches import patch_pixels, unseen_pose

__all__ = ["StepStats", "TrainConfig", "Trainer", "load_run", "resolve_device"]


@dataclass(frozen=True)
class StepStats:
    """What one ``Trainer.step()`` did.

    Attributes:
        step: steps done after this one (skipped steps count too).
        losses: loss terms by name (floats; NaN/inf when skipped).
        train_psnr: PSNR of the batch's fine colour (dB).
        skipped: True when the loss was not finite and no update was made.
        rays: rays in the batch.
        seconds: wall time of the step.
    """

    step: int
    losses: dict[str, float]
    train_psnr: float
    skipped: bool
    rays: int
    seconds: float


HELDOUT_SEED = 1234
"""Seed of the fixed pixel subsample the held-out PSNR is measured on."""
SMOOTH_WEIGHTS = {"dtu": 0.1}
"""Weight of the depth-smoothness term per data set (SparseNeRF keeps RegNeRF's term on DTU only)."""


def scene_centre(scene: Scene) -> np.ndarray:
    """The point the training cameras look at: the least-squares closest point to their optical axes. [3]."""
    a, b = np.zeros((3, 3)), np.zeros(3)
    for i in scene.train_ids:
        o, d = scene.c2w[i, :3, 3], scene.c2w[i, :3, 2]
        p = np.eye(3) - np.outer(d, d)
        a, b = a + p, b + p @ o
    return np.linalg.lstsq(a, b, rcond=None)[0]


def resolve_device(name: str) -> torch.device:
    """"auto" -> CUDA when available, else CPU; anything else is passed to torch.device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Trains a field on ``scene``; see the module docstring. ``run_dir`` (optional) gets run.json,
    checkpoints and metrics."""

    def __init__(self, scene: Scene, config: TrainConfig, run_dir: Path | None = None):
        if config.preset:
            from nerf.presets import apply_preset

            config = apply_preset(config.preset, scene, config)
        self._scene, self._config = scene, config
        self.run_dir = None if run_dir is None else Path(run_dir)
        self._device = resolve_device(config.device)
        if config.threads and self._device.type == "cpu":
            apply_threads(config.threads)
        torch.manual_seed(config.seed)
        self.field = build_field(scene, config).to(self._device)
        if hasattr(self.field, "restrict_to_views") and not scene.ndc:
            ids = scene.train_ids
            to = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=self._device)  # noqa: E731
            self.field.restrict_to_views(to(scene.K[ids]), to(np.linalg.inv(scene.c2w[ids])), scene.width, scene.height, scene.near)
        self.rays = SceneRays(scene, self._device)
        self.images = torch.as_tensor(scene.images, device=self._device)  # [N, H, W, 3]
        self.metric_depths = self._seed_from_metric_depth()
        self.use_prior = bool(config.depth_prior and scene.depths is not None)
        lam, c = DEPTH_WEIGHTS.get(scene.dataset, DEPTH_WEIGHTS["custom"])
        self.loss_config = LossConfig(
            rank_weight=lam if config.rank_weight is None else config.rank_weight,
            cont_weight=c if config.cont_weight is None else config.cont_weight,
            rank_margin=config.rank_margin, cont_margin=config.cont_margin, coarse_weight=config.coarse_weight,
        )
        self.smooth_weight = config.smooth_weight if config.smooth_weight is not None else SMOOTH_WEIGHTS.get(scene.dataset, 0.0)
        self._smooth_rng = np.random.default_rng(config.seed + 1)
        self._smooth_centre = scene_centre(scene) if self.smooth_weight > 0 else None  # fixed: computed once
        window = config.ranking_window or scene.ranking_window
        try:
            self.sampler = PairSampler(
                scene.depths if self.use_prior else None, scene.depth_kind, scene.train_ids,
                PairSamplerConfig(window=tuple(window)), image_size=(scene.height, scene.width), seed=config.seed,
            )
        except ValueError as exc:
            where = (scene.extra.get("load_args") or {}).get("path", scene.name)
            raise InputError(where, f"{exc} (train without the prior: --no-depth-prior)") from None
        self._step = 0
        self._skipped = 0
        self._param_version = -1
        self.control = LoopControl(self)
        self._build_optimizer()
        self.run_id: str | None = None
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            src = scene.extra.get("load_args")
            # A new run: the checkpoint and curves of whatever ran here before go at once, before run.json.
            self.run_id = rd.start_run(self.run_dir, None if src is None else rd.SceneSource(**src), config)

    # ------------------------------------------------------------------------------ properties
    @property
    def scene(self) -> Scene:
        return self._scene

    @property
    def config(self) -> TrainConfig:
        return self._config

    @property
    def step_count(self) -> int:
        return self._step

    @property
    def skipped_steps(self) -> int:
        return self._skipped

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def snapshot(self) -> TrainSnapshot | None:
        """The latest snapshot (None before the first one)."""
        return self.control.snapshot

    @property
    def state(self) -> RunState:
        """IDLE, RUNNING, PAUSED, STOPPED or FINISHED (see nerf.run_state)."""
        return self.control.state

    def view_camera(self, i: int) -> Camera:
        """The pinhole camera of scene view ``i`` at the scene's resolution."""
        s = self._scene
        return Camera(K=s.K[i].copy(), c2w=s.c2w[i].copy(), width=s.width, height=s.height)

    # ------------------------------------------------------------------------------ budget
    @property
    def max_steps(self) -> int | None:
        c = self._config
        if c.steps is not None:
            return c.steps
        return None if c.minutes is not None else c.default_steps

    @property
    def budget_s(self) -> float | None:
        return None if self._config.minutes is None else 60.0 * self._config.minutes

    def progress(self) -> float:
        """Fraction of the budget used, in [0, 1] (the larger of steps and time)."""
        frac = 0.0
        if self.max_steps:
            frac = self._step / self.max_steps
        if self.budget_s:
            frac = max(frac, self.control.elapsed_s / self.budget_s)
        return min(1.0, frac)

    # ------------------------------------------------------------------------------ optimisation
    def _build_optimizer(self) -> None:
        """(Re)build Adam from the field's parameter groups, keeping the state of unchanged parameters."""
        groups = self.field.param_groups() if hasattr(self.field, "param_groups") else [
            {"params": list(self.field.parameters()), "lr": self._config.lr, "name": "all"}
        ]
        for g in groups:
            g["base_lr"] = g["lr"] * self._config.lr_scale
            g["lr"] = g["base_lr"]
        old = getattr(self, "optimizer", None)
        self.optimizer = torch.optim.Adam(groups, eps=1e-15 if self._config.field == "fast" else 1e-8)
        if old is not None:
            for p in (p for g in groups for p in g["params"]):
                if p in old.state:
                    self.optimizer.state[p] = old.state[p]
        self._param_version = getattr(self.field, "param_version", 0)
        self._set_lr()

    def lr_factor(self) -> float:
        """Multiplier of the base learning rates now: warm-up, then log-linear decay over the budget."""
        c = self._config
        t = self.progress()
        decay = math.exp(math.log(max(c.lr_final_ratio, 1e-12)) * t)
        if c.lr_warmup_steps > 0:
            w = min(1.0, self._step / c.lr_warmup_steps)
            decay *= c.lr_warmup_start + (1 - c.lr_warmup_start) * math.sin(0.5 * math.pi * w)
        return decay

    def _set_lr(self) -> None:
        f = self.lr_factor()
        for g in self.optimizer.param_groups:
            g["lr"] = g["base_lr"] * f

    def next_batch(self) -> PairBatch:
        """The sampler's next batch (ranking quadruples with the prior, else uniform pixels)."""
        b = self._config.batch_rays
        return self.sampler.ranking(b) if self.use_prior else self.sampler.uniform(b)

    def step(self) -> StepStats:
        """One optimisation step. A non-finite loss skips the update (counted in ``skipped_steps``)."""
        t0 = time.perf_counter()
        self.field.train()
        self.field.before_step(self._step)
        if getattr(self.field, "param_version", 0) != self._param_version:
            self._build_optimizer()
        self._set_lr()
        batch = self.next_batch()
        rays = self.rays.view(batch.view, batch.ys, batch.xs)
        target = self.images[batch.view, torch.as_tensor(batch.ys, device=self._device), torch.as_tensor(batch.xs, device=self._device)]
        out = self.field(rays, train=True)
        quads = None
        if batch.num_quads:
            to = lambda a: torch.as_tensor(a, device=self._device)  # noqa: E731
            quads = QuadIndices(to(batch.near_idx), to(batch.far_idx), to(batch.nb_near_idx), to(batch.nb_far_idx))
        aux = dict(out.aux_losses)
        if self.metric_depths is not None:
            aux["metric_depth"] = self._metric_depth_loss(out.depth, batch)
        if self.smooth_weight > 0 and not self._scene.ndc:
            aux["smooth"] = self.smooth_weight * self._smoothness()
        terms = sparsenerf_loss(
            out.rgb, target, out.depth, self.loss_config, rgb_coarse=out.rgb_coarse, quads=quads, aux=aux
        )
        self.optimizer.zero_grad(set_to_none=True)
        skipped = not bool(torch.isfinite(terms.total))
        if skipped:
            self._skipped += 1
        else:
            terms.total.backward()
            self._clip_gradients()
            self.optimizer.step()
        self._step += 1
        losses = terms.as_floats()
        seconds = time.perf_counter() - t0
        self.control.add_step_time(seconds)  # only outside run(), which counts wall-clock time itself
        return StepStats(self._step, losses, psnr(losses["rgb"]) if math.isfinite(losses["rgb"]) else float("nan"),
                         skipped, len(batch), seconds)

    def _seed_from_metric_depth(self) -> torch.Tensor | None:
        """Seed a field that takes metric depth (``seed_from_depth``) from the training views; returns the depth
        maps [N, H, W] in scene units for the metric depth loss, or None (no metric depth, or a field without it)."""
        s = self._scene
        metric = s.depths is not None and s.depth_kind is DepthKind.METRIC and s.to_metres and not s.ndc
        if not (metric and hasattr(self.field, "seed_from_depth")):
            return None
        from nerf.occupancy import DepthViews

        ids = s.train_ids
        depths = torch.as_tensor(s.depths / s.to_metres, dtype=torch.float32, device=self._device)
        to = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=self._device)  # noqa: E731
        views = DepthViews(K=to(s.K[ids]), w2c=to(np.linalg.inv(s.c2w[ids])), depth=depths[ids])
        mean_rgb = self.images[ids].reshape(-1, 3).mean(0)
        self.field.seed_from_depth(views, s.near, s.far, mean_rgb)
        return depths if self.field.config.metric_depth_weight > 0 else None

    def _metric_depth_loss(self, depth: torch.Tensor, batch: PairBatch) -> torch.Tensor:
        """metric_depth_weight x mean |depth - sensor| / sensor over the batch's pixels with sensor depth."""
        ys, xs = (torch.as_tensor(a, device=self._device) for a in (batch.ys, batch.xs))
        target = self.metric_depths[batch.view, ys, xs]
        ok = target > 0
        if not bool(ok.any()):
            return depth.sum() * 0.0
        return self.field.config.metric_depth_weight * ((depth[ok] - target[ok]).abs() / target[ok]).mean()

    def _smoothness(self) -> torch.Tensor:
        """RegNeRF depth smoothness on random patches seen from random unseen poses (nerf.unseen_patches)."""
        c, s = self._config, self._scene
        view = int(s.train_ids[self._smooth_rng.integers(len(s.train_ids))])
        pose = unseen_pose(s.c2w[view], self._smooth_centre, self._smooth_rng, c.smooth_max_angle_deg)
        ys, xs = patch_pixels(s.height, s.width, c.smooth_patch_size, c.smooth_patches, self._smooth_rng)
        cam = Camera(K=s.K[view], c2w=pose, width=s.width, height=s.height)
        out = self.field(self.rays.camera(cam, ys, xs), train=True)
        span = (s.far - s.near) if not s.ndc else 1.0
        return depth_tv_loss((out.depth / span).reshape(-1, c.smooth_patch_size, c.smooth_patch_size))

    def _clip_gradients(self) -> None:
        c = self._config
        params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
        if c.grad_clip_value is not None:
            torch.nn.utils.clip_grad_value_(params, c.grad_clip_value)
        if c.grad_clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, c.grad_clip_norm)

    # ------------------------------------------------------------------------------ rendering
    @torch.no_grad()
    def render(self, camera: Camera, chunk: int | None = None) -> RenderResult:
        """Render ``camera`` (any size) synchronously, without gradients."""
        was_training = self.field.training
        self.field.eval()
        rays = self.rays.camera(camera)
        chunk = chunk or self._config.render_chunk
        rgb, depth, acc = [], [], []
        for s in range(0, len(rays), chunk):
            out = self.field(rays.index(slice(s, s + chunk)), train=False)
            rgb.append(out.rgb), depth.append(out.depth), acc.append(out.acc)
        self.field.train(was_training)
        h, w = camera.height, camera.width
        rgb_u8 = (torch.cat(rgb).clamp(0, 1) * 255 + 0.5).to(torch.uint8).reshape(h, w, 3).cpu().numpy()
        return RenderResult(
            rgb=rgb_u8,
            depth=torch.cat(depth).reshape(h, w).float().cpu().numpy(),
            acc=torch.cat(acc).reshape(h, w).float().cpu().numpy(),
            camera=camera, step=self._step, depth_is_ndc=self._scene.ndc,
        )

    @torch.no_grad()
    def heldout_psnr(self, view: int | None = None, rays: int | None = None) -> float | None:
        """PSNR on a fixed random subsample of a held-out view (the first test view), or None without one."""
        s = self._scene
        if view is None:
            if not s.test_ids:
                return None
            view = s.test_ids[0]
        n = rays or self._config.eval_rays
        rng = np.random.default_rng(HELDOUT_SEED)  # the same pixels every time, independent of the training RNG
        ys, xs = rng.integers(s.height, size=n), rng.integers(s.width, size=n)
        self.field.eval()
        out = self.field(self.rays.view(view, ys, xs), train=False)
        self.field.train()
        target = self.images[view, torch.as_tensor(ys, device=self._device), torch.as_tensor(xs, device=self._device)]
        return psnr(float(torch.mean((out.rgb.clamp(0, 1) - target) ** 2)))

    # ------------------------------------------------------------------------------ loop & commands
    def run(self, on_snapshot: Callable[[TrainSnapshot], None] | None = None) -> TrainSnapshot:
        """Train until the budget or ``stop()``; returns the last snapshot. See ``LoopControl.run``."""
        return self.control.run(on_snapshot)

    def pause(self) -> None:
        self.control.pause()

    def stop(self) -> None:
        self.control.stop()

    def request_render(self, camera: Camera, callback: Callable[[RenderResult], None],
                       on_error: Callable[[Exception], None] | None = None) -> None:
        """Render ``camera`` between steps (a newer request replaces a pending one), or now if not running;
        a failed render goes to ``on_error`` (see LoopControl.request_render)."""
        self.control.request_render(camera, callback, on_error)

    # ------------------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Everything needed to continue this run exactly."""
        return {
            "run_id": self.run_id,
            "step": self._step,
            "skipped": self._skipped,
            "elapsed_s": self.control.elapsed_s,
            "field": self.field.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "sampler": self.sampler.state_dict(),
            "smooth_rng": self._smooth_rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.field.load_state_dict(state["field"])
        self.field.to(self._device)
        self._build_optimizer()
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler.load_state_dict(state["sampler"])
        if "smooth_rng" in state:
            self._smooth_rng.bit_generator.state = state["smooth_rng"]
        torch.set_rng_state(state["torch_rng"].cpu())
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self._step, self._skipped = int(state["step"]), int(state["skipped"])
        self.control.elapsed_s = float(state["elapsed_s"])

    def save_checkpoint(self) -> Path:
        """Write RUN/checkpoints/latest.pt atomically (needs a run_dir)."""
        if self.run_dir is None:
            raise ValueError("this Trainer has no run_dir to save checkpoints in")
        return rd.save_checkpoint(self.run_dir, self.state_dict())

    @classmethod
    def resume(cls, run_dir: Path, scene: Scene | None = None) -> Trainer:  # type: ignore[override]
        """The run in ``run_dir`` as it was at its last checkpoint (same step, optimizer, sampler, RNG).

        ``scene`` replaces reloading the scene from run.json (needed for scenes built in memory).
        """
        run_dir = Path(run_dir)
        source, config, run_id = rd.read_run_doc(run_dir)
        if scene is None:
            if source is None:
                raise ValueError(f"{run_dir}: run.json does not say where the scene is; pass scene=")
            from nerf.loaders import load_scene

            scene = load_scene(source.path, split=source.split, downscale=source.downscale)
        config.preset = None  # already applied when the run started: run.json holds the final config
        trainer = cls(scene, config)  # no run_dir yet: the constructor would start the folder anew
        trainer.load_state_dict(rd.load_checkpoint(run_dir, trainer.device, run_id))
        trainer.run_dir, trainer.run_id = run_dir, run_id
        # Keep the curves up to the checkpoint; what was logged after it (a crash) will be trained again.
        records = rd.read_metrics(run_dir)
        kept = [r for r in records if r.get("step", 0) <= trainer.step_count]
        if len(kept) != len(records):
            rd.write_metrics(run_dir, kept)
        trainer.control.last_record = kept[-1] if kept else None
        return trainer


class _ResumeDescriptor:
    """``Trainer.resume(run_dir)`` on the class; ``trainer.resume()`` (un-pause) on an instance."""

    def __init__(self, classmethod_fn, instance_fn):
        self.cls_fn, self.inst_fn = classmethod_fn, instance_fn

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self.cls_fn.__get__(objtype, objtype)
        return self.inst_fn.__get__(obj, objtype)


def _unpause(self: Trainer) -> None:
    """Continue a paused run() loop."""
    self.control.resume()


Trainer.resume = _ResumeDescriptor(Trainer.__dict__["resume"], _unpause)  # type: ignore[method-assign]


def load_run(run_dir: Path, scene: Scene | None = None) -> Trainer:
    """The trained run in ``run_dir`` ready to render/evaluate (its latest checkpoint)."""
    return Trainer.resume(run_dir, scene)
