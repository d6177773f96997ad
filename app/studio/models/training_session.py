"""The training session: one Trainer, its loop in a worker thread, and the history of its snapshots."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from app.studio.workers.base import WorkerThread
from app.studio.workers.training import TrainingWorker
from nerf.types import TrainSnapshot

ACTIVE_STATES = ("loading", "running", "paused", "stopping")
"""States in which the training thread is alive."""


@dataclass
class TrainHistory:
    """Curves of one run, one entry per snapshot (test PSNR only when a new evaluation changed it)."""

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    train_psnr: list[float] = field(default_factory=list)
    test_steps: list[int] = field(default_factory=list)
    test_psnr: list[float] = field(default_factory=list)

    def add(self, snap: TrainSnapshot) -> None:
        if self.steps and snap.step <= self.steps[-1]:
            return  # a repeated snapshot (e.g. while paused) adds no point
        self.steps.append(snap.step)
        self.loss.append(float(snap.losses.get("total", math.nan)))
        self.train_psnr.append(float(snap.train_psnr))
        if snap.test_psnr is not None and (not self.test_psnr or self.test_psnr[-1] != snap.test_psnr):
            self.test_steps.append(snap.step)
            self.test_psnr.append(float(snap.test_psnr))


def read_history(run_dir: Path) -> tuple[TrainHistory, TrainSnapshot | None]:
    """The curves of a saved run from its RUN/metrics.jsonl (one snapshot per line; bad lines are skipped)."""
    history, last = TrainHistory(), None
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return history, None
    names = {f.name for f in fields(TrainSnapshot)}
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
            last = TrainSnapshot(**{k: v for k, v in record.items() if k in names})
        except (ValueError, TypeError):
            continue
        history.add(last)
    return history, last


def eta_seconds(snap: TrainSnapshot) -> float | None:
    """Seconds left (the trainer's own estimate, nerf.train_loop.LoopControl.eta_s); None while unknown or done."""
    if snap.state in ("stopped", "finished"):
        return None
    return snap.eta_s


def extend_budget(trainer: Any, minutes: float | None, steps: int | None) -> None:
    """Give ``trainer`` ``minutes`` more (wall-clock) or ``steps`` more steps from where it is now; run.json
    keeps the new total so a later resume (studio or `train --resume`) honours it."""
    cfg = trainer.config
    budget = cfg.budget
    if minutes is not None:
        budget.minutes, budget.steps = trainer.control.elapsed_s / 60.0 + minutes, None
    else:
        budget.minutes, budget.steps = None, trainer.step_count + int(steps)
    if trainer.run_dir is not None:
        from nerf import run_dir as rd

        rd.write_run_json(trainer.run_dir, rd.read_run_json(trainer.run_dir)[0], cfg, getattr(trainer, "run_id", None))


class TrainingSession(QObject):
    """Signals: stateChanged(str); trainerChanged(Trainer or None); snapshot(TrainSnapshot); error(str);
    blockedChanged(str): why training cannot start now ("" when it can), e.g. an export renders the model.

    States: idle, loading, running, paused, stopping, stopped, finished, failed.
    """

    stateChanged = pyqtSignal(str)
    blockedChanged = pyqtSignal(str)
    trainerChanged = pyqtSignal(object)
    snapshot = pyqtSignal(object)
    error = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.state = "idle"
        self.trainer: Any = None
        self.history = TrainHistory()
        self.last: TrainSnapshot | None = None
        self.run_dir: Path | None = None
        self.render_lock = threading.Lock()
        """Held by any thread that renders with the trainer's model outside the training loop."""
        self.remote_target: Any = None
        """An app.cluster.remote_trainer.ClusterTarget: new runs train on that Ray cluster; None: here."""
        self._job: WorkerThread | None = None
        self._loaded: tuple[TrainHistory, TrainSnapshot | None] | None = None
        self.blocked = ""
        """Why no training may start now ("" when it may): set by an export while it renders the model."""

    def set_blocked(self, reason: str) -> None:
        if reason != self.blocked:
            self.blocked = reason
            self.blockedChanged.emit(reason)

    def _refuse(self) -> bool:
        if self.blocked:
            self.error.emit(f"cannot train now: {self.blocked}")
            return True
        return False

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)

    def start(self, scene_root: Path, config: Any, run_dir: Path) -> None:
        """Train the scene at ``scene_root`` with ``config`` (a nerf.trainer.TrainConfig) into ``run_dir``."""
        if self.state in ACTIVE_STATES or self._refuse():
            return
        target = self.remote_target

        def make() -> Any:
            from nerf.loaders import load_scene
            from nerf.trainer import Trainer

            if target is not None:  # the same interface, trained on a Ray cluster (app.cluster)
                from app.cluster.remote_trainer import RemoteTrainer

                return RemoteTrainer.start(load_scene(scene_root), config, run_dir, target)
            return Trainer.create(load_scene(scene_root), config, run_dir)

        self.history, self.last, self.run_dir = TrainHistory(), None, Path(run_dir)
        self._launch(TrainingWorker(make, step_lock=self.render_lock))

    def continue_training(self, minutes: float | None = None, steps: int | None = None) -> None:
        """Run the loop again on the current trainer (after a stop, or on an opened run); ``minutes`` or
        ``steps`` extend its budget by that much from where it is (saved into run.json, as `train --resume`)."""
        if self.trainer is None or self.state in ACTIVE_STATES or self._refuse():
            return
        if minutes is not None or steps is not None:
            extend_budget(self.trainer, minutes, steps)
        self._launch(TrainingWorker(lambda: self.trainer, trainer=self.trainer, step_lock=self.render_lock))
        self._set_state("running")

    def open_run(self, run_dir: Path) -> None:
        """Load a saved run (its checkpoint) for preview, export or more training."""
        if self.state in ACTIVE_STATES:
            return

        def make() -> Any:
            from app.runs import load_run_checked

            trainer = load_run_checked(run_dir)
            self._loaded = read_history(run_dir)  # read here, off the UI thread; used in _on_trainer
            return trainer

        self.history, self.last, self.run_dir = TrainHistory(), None, Path(run_dir)
        self._launch(TrainingWorker(make, run_loop=False))

    def _launch(self, worker: TrainingWorker) -> None:
        worker.trainerReady.connect(self._on_trainer)
        worker.snapshot.connect(self._on_snapshot)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self._on_worker_done)  # a bound method: runs on the UI thread (a lambda would not)
        self._job = WorkerThread(worker, "training").start()
        if worker.trainer is None:
            self._set_state("loading")

    def pause(self) -> None:
        if self.trainer is not None and self.state == "running":
            self.trainer.control.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self.trainer is not None and self.state == "paused":
            self.trainer.control.resume()
            self._set_state("running")

    def stop(self) -> None:
        """Ask the loop to end after the current step (non-blocking); the checkpoint is saved on the way out."""
        if self._job is not None and self.state in ACTIVE_STATES:
            self._job.worker.request_stop()
            if self.state == "paused" and self.trainer is not None:
                self.trainer.control.resume()  # a paused loop must wake up to see the stop
            self._set_state("stopping")

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop and join the training thread (window closing). True when no thread is left."""
        job = self._job
        if job is None:
            return True
        self.stop()
        ok = job.stop(timeout_ms)
        self._on_done(job)
        return ok

    # ------------------------------------------------------------------ worker signals (UI thread)
    def _on_trainer(self, trainer: Any) -> None:
        self.trainer = trainer
        self.trainerChanged.emit(trainer)
        if self._loaded is not None:  # an opened run: show its curves so far
            (self.history, self.last), self._loaded = self._loaded, None
            if self.last is not None:
                self.snapshot.emit(self.last)
        job = self._job
        if job is not None and job.worker.run_loop and not job.worker.stop_requested:
            self._set_state("running")

    def _on_snapshot(self, snap: TrainSnapshot) -> None:
        self.last = snap
        self.history.add(snap)
        self.snapshot.emit(snap)

    def _on_failed(self, message: str) -> None:
        self._set_state("failed")
        self.error.emit(message)

    def _on_worker_done(self) -> None:
        if self._job is not None and self._job.worker is self.sender():
            self._on_done(self._job)

    def _on_done(self, job: WorkerThread) -> None:
        if job is not self._job:
            return
        job.wait()
        self._job = None
        if self.state == "failed":
            return
        finished = self.last is not None and self.last.state == "finished"
        self._set_state("finished" if finished else ("stopped" if self.trainer is not None else "idle"))
