"""The loop around a trainer's ``step``: budget, commands between steps, snapshots, evaluation, checkpoints.

``LoopControl`` drives anything that satisfies ``LoopTarget`` (``nerf.trainer.Trainer`` does; a test can pass
a small fake) and never imports the trainer. ``LoopSettings`` holds its fixed rates and the preview camera.

Commands (pause, resume, stop, request_render) may come from any thread; they only set state
under a lock, and the loop acts on them between two steps. Render requests coalesce: a newer
pending request replaces an older one (a ``LatestSlot``), so a moving camera never builds a backlog.

Time: ``elapsed_s`` is wall-clock time inside ``run()`` minus the time spent paused (steps,
snapshots, evaluations, served renders and checkpoints all count), so a 3-minute budget ends about
3 minutes after the start however busy the machine is. ``clock`` can be replaced (tests).
"""

from __future__ import annotations

import collections
import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from nerf import run_dir as rd
from nerf.latest import LatestSlot
from nerf.run_state import RunState
from nerf.types import Camera, RenderResult, StepStats, TrainSnapshot

__all__ = ["LoopControl", "LoopSettings", "LoopTarget", "RenderRequest"]

RenderRequest = tuple[Camera, Callable[[RenderResult], None], Callable[[Exception], None] | None]
"""A preview request: the camera, where the result goes, where a failure goes (None: logged only)."""


class LoopTarget(Protocol):
    """What ``LoopControl`` needs from a trainer."""

    @property
    def step_count(self) -> int: ...
    @property
    def skipped_steps(self) -> int: ...
    @property
    def max_steps(self) -> int | None: ...
    @property
    def budget_s(self) -> float | None: ...
    @property
    def run_dir(self) -> Path | None: ...

    def step(self) -> StepStats: ...
    def render(self, camera: Camera) -> RenderResult: ...
    def heldout_psnr(self) -> float | None: ...
    def save_checkpoint(self) -> Path: ...


@dataclass(frozen=True)
class LoopSettings:
    """How often the loop reports (seconds of wall time) and what its preview shows.

    Attributes:
        snapshot_interval_s: at most one snapshot per this interval.
        eval_every_s: re-measure the held-out PSNR at most this often (and at the end).
        preview_every_s: re-render the preview at most this often.
        checkpoint_every_s: save a checkpoint this often (training seconds; with a run folder).
        preview_camera: the small camera of the snapshot's preview image (None: no preview).
    """

    snapshot_interval_s: float = 0.5
    eval_every_s: float = 15.0
    preview_every_s: float = 5.0
    checkpoint_every_s: float = 120.0
    preview_camera: Camera | None = None


class LoopControl:
    """State machine and timers of a training loop (IDLE -> RUNNING <-> PAUSED -> STOPPED | FINISHED).

    The commands (``run``, ``pause``, ``resume``, ``stop``, ``request_render``), ``state`` and ``snapshot`` are
    what a driver (CLI, studio, cluster actor) talks to; ``trainer.control`` of a ``nerf.trainer.Trainer``.
    """

    def __init__(self, trainer: LoopTarget, settings: LoopSettings):
        self.trainer = trainer
        self.settings = settings
        self.state = RunState.IDLE
        self.snapshot: TrainSnapshot | None = None
        self.elapsed_s = 0.0
        self._cond = threading.Condition()
        self._stop = False
        self._paused = False
        self._in_loop = False
        self._render_request: LatestSlot[RenderRequest] = LatestSlot()
        """The newest pending preview request (a newer one replaces it: a moving camera builds no backlog)."""
        self._last: StepStats | None = None
        self._test_psnr: float | None = None
        self._preview: RenderResult | None = None
        self._t_snapshot = self._t_eval = self._t_preview = -math.inf
        self._t_ckpt = 0.0
        self._messages: list[str] = []
        self.clock: Callable[[], float] = time.monotonic
        """Wall clock of the budget (seconds; monotonic)."""
        self.step_lock: contextlib.AbstractContextManager = contextlib.nullcontext()
        """Held around each step: a UI gives the lock its export renders hold, so no step runs during one."""
        self.last_record: dict | None = None
        """The last metrics record of the run (set when resuming): a loop that ends before any step reports it."""
        self._t0: float | None = None
        self._elapsed0 = 0.0
        self._paused_s = 0.0
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

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

    def request_render(self, camera: Camera, callback: Callable[[RenderResult], None],
                       on_error: Callable[[Exception], None] | None = None) -> None:
        """Render between steps (or now when no loop runs); an exception goes to ``on_error`` (else raised
        here when rendering now; logged into the snapshot's messages when served by the loop)."""
        with self._cond:
            if self._in_loop:
                self._render_request.put((camera, callback, on_error))
                self._cond.notify_all()
                return
        try:
            result = self.trainer.render(camera)
        except Exception as exc:
            if on_error is None:
                raise
            on_error(exc)
            return
        callback(result)

    def _serve_render(self) -> None:
        req = self._render_request.take()
        if req is not None:
            camera, callback, on_error = req
            try:
                result = self.trainer.render(camera)
            except Exception as exc:  # noqa: BLE001 - a failed preview must not end the training
                self._messages.append(f"preview render failed: {type(exc).__name__}: {exc}")
                if on_error is not None:
                    on_error(exc)
                return
            callback(result)

    # --------------------------------------------------------------------------- time
    def _tick(self) -> float:
        """Update ``elapsed_s`` from the wall clock (while the loop runs); returns it."""
        if self._t0 is not None:
            self.elapsed_s = self._elapsed0 + (self.clock() - self._t0) - self._paused_s
        return self.elapsed_s

    def add_step_time(self, seconds: float) -> None:
        """A step done outside ``run()`` (a script calling ``Trainer.step``) counts its own duration."""
        if self._t0 is None:
            self.elapsed_s += seconds

    def eta_s(self) -> float | None:
        """Seconds left: the time budget's remainder, or the remaining steps at the recent step rate
        (over the last half of this run so far, so a slower later phase shows); None before it is known."""
        t = self.trainer
        left: list[float] = []
        if t.budget_s is not None:
            left.append(max(0.0, t.budget_s - self.elapsed_s))
        if t.max_steps is not None and len(self._samples) >= 2:
            (e0, s0), (e1, s1) = self._samples[0], self._samples[-1]
            if s1 > s0 and e1 > e0:
                left.append(max(0, t.max_steps - s1) * (e1 - e0) / (s1 - s0))
        return min(left) if left else None

    def _sample(self) -> None:
        """Record (elapsed, step) for the ETA; keep only the most recent half of this run."""
        self._samples.append((self.elapsed_s, self.trainer.step_count))
        cut = self._elapsed0 + 0.5 * (self.elapsed_s - self._elapsed0)
        while len(self._samples) > 2 and self._samples[1][0] <= cut:
            self._samples.popleft()

    # --------------------------------------------------------------------------- the loop
    def _budget_done(self) -> bool:
        t = self.trainer
        self._tick()
        return (t.max_steps is not None and t.step_count >= t.max_steps) or (
            t.budget_s is not None and self.elapsed_s >= t.budget_s
        )

    def _wait_while_paused(self) -> None:
        """Block while paused, still serving render requests; returns when resumed or stopped.
        The time spent here does not count towards the budget."""
        with self._cond:
            if not self._paused or self._stop:
                return
            self.state = RunState.PAUSED
        self._emit(force=True)
        t_pause = self.clock()
        while True:
            self._serve_render()
            with self._cond:
                if not self._paused or self._stop:
                    break
                self._cond.wait(timeout=0.2)
        self._paused_s += self.clock() - t_pause
        with self._cond:
            self.state = RunState.RUNNING

    def run(self, on_snapshot: Callable[[TrainSnapshot], None] | None = None) -> TrainSnapshot:
        """Train until the budget or ``stop()``, sending snapshots to ``on_snapshot``; returns the last one.
        On the way out (finished, stopped or failed) the checkpoint is saved when there is a run folder."""
        self._on_snapshot = on_snapshot
        with self._cond:
            self._in_loop, self._stop, self.state = True, False, RunState.RUNNING
        self._elapsed0, self._paused_s, self._t0 = self.elapsed_s, 0.0, self.clock()
        self._samples.clear()
        self._sample()
        try:
            while not self._budget_done():
                self._wait_while_paused()
                self._serve_render()
                if self._stop:
                    break
                with self.step_lock:
                    self._last = self.trainer.step()
                self._tick()
                self._sample()
                if self._last.skipped:
                    self._messages.append(f"step {self._last.step}: loss not finite, step skipped")
                self._periodic()
        finally:
            with self._cond:
                self._in_loop = False
                self.state = RunState.STOPPED if self._stop else RunState.FINISHED
            self._serve_render()
            if self.trainer.run_dir is not None:
                self.trainer.save_checkpoint()
            self._tick()
            self._t0 = None
        return self._emit(force=True, evaluate=True)

    def _periodic(self) -> None:
        cfg = self.settings
        now = time.monotonic()
        if self.trainer.run_dir is not None and self.elapsed_s - self._t_ckpt >= cfg.checkpoint_every_s:
            self._t_ckpt = self.elapsed_s
            self.trainer.save_checkpoint()
        if now - self._t_snapshot >= cfg.snapshot_interval_s:
            self._emit()

    # --------------------------------------------------------------------------- snapshots
    def _emit(self, *, force: bool = False, evaluate: bool = False) -> TrainSnapshot:
        """Build (and send) a snapshot; evaluation and the preview refresh at their own bounded rates."""
        t, cfg, now = self.trainer, self.settings, time.monotonic()
        if evaluate or now - self._t_eval >= cfg.eval_every_s:
            self._t_eval = now
            self._test_psnr = t.heldout_psnr()
        if cfg.preview_camera is not None and (
                now - self._t_preview >= cfg.preview_every_s or (force and self._preview is None)):
            self._t_preview = now
            self._preview = t.render(cfg.preview_camera)
        last, prev = self._last, self.last_record or {}
        losses = dict(last.losses) if last else dict(prev.get("losses") or {})  # no step yet: the run's last numbers
        train_psnr = last.train_psnr if last else float(prev.get("train_psnr", math.nan))
        snap = TrainSnapshot(
            step=t.step_count, max_steps=t.max_steps, elapsed_s=self.elapsed_s, budget_s=t.budget_s,
            losses=losses, train_psnr=train_psnr,
            test_psnr=self._test_psnr, skipped_steps=t.skipped_steps, preview=self._preview,
            state=self.state, messages=tuple(self._messages[-5:]), eta_s=self.eta_s(),
        )
        self.snapshot, self._t_snapshot = snap, now
        if t.run_dir is not None and (snap.step, snap.state) != (prev.get("step"), prev.get("state")):
            # one line per new step or state: a loop that ends before its first step adds nothing
            record = {k: v for k, v in vars(replace(snap, preview=None)).items()
                      if k not in ("preview", "messages", "eta_s")}
            rd.append_metrics(t.run_dir, record)
            self.last_record = record
        if getattr(self, "_on_snapshot", None) is not None:
            self._on_snapshot(snap)
        return snap
