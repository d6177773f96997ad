"""One SparseNeRF optimisation step at a time, with no Qt: ``Trainer`` and how to build one.

Build a trainer with ``Trainer.create(scene, config, run_dir=None)`` (a new run: the config's preset is
applied, and with a ``run_dir`` the folder is started, run.json written) or ``Trainer.from_run_dir(run_dir)``
(the run there at its last checkpoint). The constructor itself only builds: it writes nothing.

``Trainer`` owns the field, the optimizer, the pair sampler and all random state; ``step()`` trains one
batch. The loop around it (budget, pause/resume/stop, preview requests, snapshots, checkpoints) is
``trainer.control``, a ``nerf.train_loop.LoopControl``: drivers (CLI, studio, cluster actor) call
``trainer.control.run(on_snapshot)`` from a worker thread and send it commands from any thread.

The parts are small and apart: the learning-rate schedule (``nerf.lr_schedule``), the depth-smoothness
term (``nerf.smoothness``), Adam over the field's groups (``nerf.optim``), metric depth
(``nerf.metric_depth``), whole-image rendering and held-out PSNR (``nerf.inference``).

Field plug-ins: ``config.field`` names a field of ``nerf.fields.factory.build_field``. The config is resolved
for the scene first (``nerf.profiles.resolve``: the preset applied, the data set's weights filled in), so
run.json and every part below hold final values: the constructor takes resolved configs only.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch

from devices.errors import InputError
from nerf import inference
from nerf import run_dir as rd
from nerf.fields.factory import build_field
from nerf.losses import LossConfig, LossTerms, QuadIndices, sparsenerf_loss
from nerf.lr_schedule import LRSchedule, budget_progress
from nerf.metric_depth import depth_window, metric_depth_loss, seed_from_metric_depth
from nerf.metrics import MSE_FLOOR, psnr_from_mse
from nerf.optim import FieldOptimizer
from nerf.pairs import PairBatch, PairSampler, PairSamplerConfig
from nerf.profiles import check_resolved, resolve
from nerf.scene import Scene
from nerf.scene_rays import SceneRays
from nerf.smoothness import SmoothnessConfig, SmoothnessTerm
from nerf.threads import apply_threads
from nerf.train_config import TrainConfig
from nerf.train_loop import LoopControl, LoopSettings
from nerf.types import Camera, RenderResult, StepStats

__all__ = ["StepStats", "TrainConfig", "Trainer", "resolve_device"]

def resolve_device(name: str) -> torch.device:
    """"auto" -> CUDA when available, else CPU; anything else is passed to torch.device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Trains a field on a scene; see the module docstring. Attributes: ``scene``, ``config``, ``device``,
    ``field``, ``step_count``, ``skipped_steps``, ``control`` (the loop), ``run_dir`` and ``run_id`` (None
    without a run folder)."""

    def __init__(self, scene: Scene, config: TrainConfig):
        """Build the parts for training ``scene`` with ``config`` (resolved for it: ``nerf.profiles.resolve``).
        Writes nothing; use ``Trainer.create`` or ``Trainer.from_run_dir``."""
        self.scene, self.config = scene, check_resolved(config)
        self.device = resolve_device(config.device)
        if config.threads and self.device.type == "cpu":
            apply_threads(config.threads)
        torch.manual_seed(config.seed)
        self.field = build_field(scene, config).to(self.device)
        if hasattr(self.field, "restrict_to_views") and not scene.ndc:
            ids = scene.train_ids
            to = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=self.device)  # noqa: E731
            self.field.restrict_to_views(to(scene.K[ids]), to(np.linalg.inv(scene.c2w[ids])), scene.width, scene.height, scene.near)
        self.rays = SceneRays(scene, self.device)
        self.images = torch.as_tensor(scene.images, device=self.device)  # [N, H, W, 3]
        self.metric_depths = seed_from_metric_depth(self.field, scene, self.images, self.device)
        self._depth_window = depth_window(self.field)
        losses, sampling, optim, report = config.losses, config.sampler, config.optim, config.reporting
        self.use_prior = bool(losses.depth_prior and scene.depths is not None)
        self.loss_config = LossConfig(
            rank_weight=losses.rank_weight, cont_weight=losses.cont_weight, rank_margin=losses.rank_margin,
            cont_margin=losses.cont_margin, coarse_weight=losses.coarse_weight,
        )
        self.smoothness = SmoothnessTerm(scene, SmoothnessConfig(
            losses.smooth_weight, losses.smooth_patches, losses.smooth_patch_size, losses.smooth_max_angle_deg),
            seed=config.seed + 1)
        pair_config = PairSamplerConfig(
            window=tuple(sampling.ranking_window), min_valid=sampling.min_valid, neighbour_size=sampling.neighbour_size,
            neighbour_fraction=sampling.neighbour_fraction, max_redraws=sampling.max_redraws)
        try:
            self.sampler = PairSampler(
                scene.depths if self.use_prior else None, scene.depth_kind, scene.train_ids,
                pair_config, image_size=(scene.height, scene.width), seed=config.seed,
            )
        except ValueError as exc:
            where = (scene.extra.get("load_args") or {}).get("path", scene.name)
            raise InputError(where, f"{exc} (train without the prior: --no-depth-prior)") from None
        self.step_count = self.skipped_steps = 0
        self.schedule = LRSchedule(optim.lr_final_ratio, optim.lr_warmup_steps, optim.lr_warmup_start)
        self.optimizer = FieldOptimizer(self.field, optim.lr, optim.lr_scale, 1e-15 if config.field == "fast" else 1e-8,
                                        optim.grad_clip_value, optim.grad_clip_norm)
        preview = self.view_camera((scene.test_ids or scene.train_ids)[0])
        self.control = LoopControl(self, LoopSettings(
            snapshot_interval_s=report.snapshot_interval_s, eval_every_s=report.eval_every_s,
            preview_every_s=report.preview_every_s, checkpoint_every_s=report.checkpoint_every_s,
            preview_camera=preview.scaled(report.preview_width / preview.width) if report.preview_width else None))
        self.run_dir: Path | None = None
        self.run_id: str | None = None

    # ------------------------------------------------------------------------------ building
    @classmethod
    def create(cls, scene: Scene, config: TrainConfig, run_dir: Path | None = None) -> Trainer:
        """A new run of ``scene`` with ``config`` (resolved here: its preset applied, the data set's settings
        filled in, ``nerf.profiles.resolve``). With ``run_dir``, the folder is started as an explicit step once the
        trainer is built: whatever ran there before (checkpoint, curves) goes, then run.json with the resolved
        config and a new run id is written."""
        config = resolve(config, scene)
        trainer = cls(scene, config)
        if run_dir is not None:
            run_dir = Path(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            src = scene.extra.get("load_args")
            trainer.run_id = rd.start_run(run_dir, None if src is None else rd.SceneSource(**src), config)
            trainer.run_dir = run_dir
        return trainer

    @classmethod
    def from_run_dir(cls, run_dir: Path, scene: Scene | None = None) -> Trainer:
        """The run in ``run_dir`` as it was at its last checkpoint (same step, optimizer, sampler, RNG), ready to
        train on, render or evaluate. ``scene`` replaces reloading the scene from run.json (needed for scenes
        built in memory). Curves logged after the checkpoint (a crash) are dropped: they will be trained again."""
        run_dir = Path(run_dir)
        source, config, run_id = rd.read_run_doc(run_dir)
        if scene is None:
            if source is None:
                raise ValueError(f"{run_dir}: run.json does not say where the scene is; pass scene=")
            from nerf.loaders import load_scene

            scene = load_scene(source.path, split=source.split, downscale=source.downscale)
        config.preset = None  # already applied when the run started: run.json holds the final config
        # A run.json from before resolved configs (flat, nulls for the data set's settings) is resolved now with
        # nerf.profiles, which gives the values that run trained with; a newer one is already resolved.
        trainer = cls(scene, resolve(config, scene))
        trainer.load_state_dict(rd.load_checkpoint(run_dir, trainer.device, run_id))
        trainer.run_dir, trainer.run_id = run_dir, run_id
        records = rd.read_metrics(run_dir)
        kept = [r for r in records if r.get("step", 0) <= trainer.step_count]
        if len(kept) != len(records):
            rd.write_metrics(run_dir, kept)
        trainer.control.last_record = kept[-1] if kept else None
        return trainer

    # ------------------------------------------------------------------------------ budget
    @property
    def max_steps(self) -> int | None:
        c = self.config.budget
        if c.steps is not None:
            return c.steps
        return None if c.minutes is not None else c.default_steps

    @property
    def budget_s(self) -> float | None:
        return None if self.config.budget.minutes is None else 60.0 * self.config.budget.minutes

    # ------------------------------------------------------------------------------ optimisation
    def step(self) -> StepStats:
        """One optimisation step. A non-finite loss skips the update (counted in ``skipped_steps``)."""
        t0 = time.perf_counter()
        self.field.train()
        self.field.before_step(self.step_count)
        self.optimizer.refresh()  # the field may have replaced its parameters (coarse to fine)
        progress = budget_progress(self.step_count, self.control.elapsed_s, self.max_steps, self.budget_s)
        self.optimizer.set_lr(self.schedule.factor(progress, self.step_count))
        b = self.config.sampler.batch_rays
        batch = self.sampler.ranking(b) if self.use_prior else self.sampler.uniform(b)
        terms = self._loss_terms(batch)
        self.optimizer.zero_grad()
        skipped = not bool(torch.isfinite(terms.total))
        if skipped:
            self.skipped_steps += 1
        else:
            self.optimizer.step(terms.total)
        self.step_count += 1
        losses = terms.as_floats()
        seconds = time.perf_counter() - t0
        self.control.add_step_time(seconds)  # only outside run(), which counts wall-clock time itself
        return StepStats(self.step_count, losses, psnr_from_mse(losses["rgb"], MSE_FLOOR) if math.isfinite(losses["rgb"]) else float("nan"),
                         skipped, len(batch), seconds)

    def _loss_terms(self, batch: PairBatch) -> LossTerms:
        """Render the batch's rays in training mode and combine every loss term of this run."""
        dev = self.device
        to = lambda a: torch.as_tensor(a, device=dev)  # noqa: E731
        ys, xs = to(batch.ys), to(batch.xs)
        target = self.images[batch.view, ys, xs]
        out = self.field(self.rays.view(batch.view, batch.ys, batch.xs), train=True)
        quads = None
        if batch.num_quads:
            quads = QuadIndices(to(batch.near_idx), to(batch.far_idx), to(batch.nb_near_idx), to(batch.nb_far_idx))
        reg = dict(out.regularisers)  # unweighted terms: sparsenerf_loss applies every weight
        if self.metric_depths is not None:
            reg["metric_depth"] = metric_depth_loss(out, self.metric_depths[batch.view, ys, xs], self._depth_window)
        if self.smoothness.active:
            reg["smooth"] = self.smoothness(lambda cam, ys, xs: self.field(self.rays.camera(cam, ys, xs), train=True).depth)
        weights = {**self.field.regulariser_weights(), "smooth": self.smoothness.config.weight}
        return sparsenerf_loss(out.rgb, target, out.depth, self.loss_config, rgb_coarse=out.rgb_coarse, quads=quads,
                               regularisers=reg, weights=weights)

    # ------------------------------------------------------------------------------ rendering
    def view_camera(self, i: int) -> Camera:
        """The pinhole camera of scene view ``i`` at the scene's resolution."""
        return inference.view_camera(self.scene, i)

    def render(self, camera: Camera, chunk: int | None = None) -> RenderResult:
        """Render ``camera`` (any size) synchronously, without gradients; the field's mode is kept."""
        return inference.render_image(self.field, self.rays, camera, chunk or self.config.reporting.render_chunk, self.step_count)

    def heldout_psnr(self, view: int | None = None, rays: int | None = None) -> float | None:
        """PSNR on a fixed random subsample of a held-out view (the first test view), or None without one;
        the field's mode is kept."""
        return inference.heldout_psnr(self.field, self.rays, self.images, view, rays or self.config.reporting.eval_rays)

    # ------------------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Everything needed to continue this run exactly."""
        return {
            "run_id": self.run_id,
            "step": self.step_count,
            "skipped": self.skipped_steps,
            "elapsed_s": self.control.elapsed_s,
            "field": self.field.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "sampler": self.sampler.state_dict(),
            "smooth_rng": self.smoothness.rng_state,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.field.load_state_dict(state["field"])
        self.field.to(self.device)
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler.load_state_dict(state["sampler"])
        if "smooth_rng" in state:
            self.smoothness.rng_state = state["smooth_rng"]
        torch.set_rng_state(state["torch_rng"].cpu())
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.step_count, self.skipped_steps = int(state["step"]), int(state["skipped"])
        self.control.elapsed_s = float(state["elapsed_s"])

    def save_checkpoint(self) -> Path:
        """Write RUN/checkpoints/latest.pt atomically (needs a run_dir)."""
        if self.run_dir is None:
            raise ValueError("this Trainer has no run_dir to save checkpoints in")
        return rd.save_checkpoint(self.run_dir, self.state_dict())
