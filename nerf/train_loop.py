"""The loop around ``Trainer.step``: budget, commands between steps, snapshots, evaluation, checkpoints.

Commands (pause, resume, stop, request_render) may come from any thread; they only set state
under a lock, and the loop acts on them between two steps. Render requests coalesce: a newer
pending request replaces an older one, so a moving camera never builds a backlog.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from nerf import run_dir as rd
from nerf.types import Camera, RenderResult, TrainSnapshot

if TYPE_CHECKING:
    from nerf.trainer import StepStats, Trainer


class LoopControl:
    """State machine and timers of ``Trainer.run`` (idle -> running <-> paused -> stopped | finished)."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer
        self.state = "idle"
        self.snapshot: TrainSnapshot | None = None
        self.elapsed_s = 0.0
        self._cond = threading.Condition()
        self._stop = False
        self._paused = False
        self._in_loop = False
        self._pending: tuple[Camera, Callable[[RenderResult], None]] | None = None
        self._last: StepStats | None = None
        self._test_psnr: float | None = None
        self._preview: RenderResult | None = None
        self._t_snapshot = self._t_eval = self._t_preview = -math.inf
        self._t_ckpt = 0.0
        self._messages: list[str] = []

    # --------------------------------------------------------------------------- commands
    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def request_render(self, camera: Camera, callback: Callable[[RenderResult], None]) -> None:
        with self._cond:
            if self._in_loop:
                self._pending = (camera, callback)
                self._cond.notify_all()
                return
        callback(self.trainer.render(camera))

    def _serve_render(self) -> None:
        with self._cond:
            req, self._pending = self._pending, None
        if req is not None:
            camera, callback = req
            callback(self.trainer.render(camera))

    # --------------------------------------------------------------------------- the loop
    def _budget_done(self) -> bool:
        t = self.trainer
        return (t.max_steps is not None and t.step_count >= t.max_steps) or (
            t.budget_s is not None and self.elapsed_s >= t.budget_s
        )

    def _wait_while_paused(self) -> None:
        """Block while paused, still serving render requests; returns when resumed or stopped."""
        with self._cond:
            if not self._paused or self._stop:
                return
            self.state = "paused"
        self._emit(force=True)
        while True:
            self._serve_render()
            with self._cond:
                if not self._paused or self._stop:
                    break
                self._cond.wait(timeout=0.2)
        with self._cond:
            self.state = "running"

    def run(self, on_snapshot: Callable[[TrainSnapshot], None] | None) -> TrainSnapshot:
        self._on_snapshot = on_snapshot
        with self._cond:
            self._in_loop, self._stop, self.state = True, False, "running"
        try:
            while not self._budget_done():
                self._wait_while_paused()
                self._serve_render()
                if self._stop:
                    break
                self._last = self.trainer.step()  # adds its own duration to elapsed_s
                if self._last.skipped:
                    self._messages.append(f"step {self._last.step}: loss not finite, step skipped")
                self._periodic()
        finally:
            with self._cond:
                self._in_loop = False
                self.state = "stopped" if self._stop else "finished"
            self._serve_render()
            if self.trainer.run_dir is not None:
                self.trainer.save_checkpoint()
        return self._emit(force=True, evaluate=True)

    def _periodic(self) -> None:
        cfg = self.trainer.config
        now = time.monotonic()
        if self.trainer.run_dir is not None and self.elapsed_s - self._t_ckpt >= cfg.checkpoint_every_s:
            self._t_ckpt = self.elapsed_s
            self.trainer.save_checkpoint()
        if now - self._t_snapshot >= cfg.snapshot_interval_s:
            self._emit()

    # --------------------------------------------------------------------------- snapshots
    def _emit(self, *, force: bool = False, evaluate: bool = False) -> TrainSnapshot:
        """Build (and send) a snapshot; evaluation and the preview refresh at their own bounded rates."""
        t, cfg, now = self.trainer, self.trainer.config, time.monotonic()
        if evaluate or now - self._t_eval >= cfg.eval_every_s:
            self._t_eval = now
            self._test_psnr = t.heldout_psnr()
        if now - self._t_preview >= cfg.preview_every_s or (force and self._preview is None):
            self._t_preview = now
            view = (t.scene.test_ids or t.scene.train_ids)[0]
            cam = t.view_camera(view)
            self._preview = t.render(cam.scaled(cfg.preview_width / cam.width))
        last = self._last
        snap = TrainSnapshot(
            step=t.step_count, max_steps=t.max_steps, elapsed_s=self.elapsed_s, budget_s=t.budget_s,
            losses=dict(last.losses) if last else {}, train_psnr=last.train_psnr if last else float("nan"),
            test_psnr=self._test_psnr, skipped_steps=t.skipped_steps, preview=self._preview,
            state=self.state, messages=tuple(self._messages[-5:]),
        )
        self.snapshot, self._t_snapshot = snap, now
        if t.run_dir is not None:
            record = {k: v for k, v in vars(replace(snap, preview=None)).items() if k not in ("preview", "messages")}
            rd.append_metrics(t.run_dir, record)
        if getattr(self, "_on_snapshot", None) is not None:
            self._on_snapshot(snap)
        return snap
