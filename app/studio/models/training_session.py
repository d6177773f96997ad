"""The training session: one Trainer, its loop in a worker thread, and the history of its snapshots."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from app.studio.workers.base import WorkerThread
from app.studio.workers.training import TrainingWorker, WorkerPhase
from nerf import ACTIVE_STATES, ENDED_STATES, FairLock, RunState, TrainSnapshot

WATCH_MS = 100
"""While the training thread lives, look at the loop's state this often (pause and resume take effect between
two steps, on the training thread)."""


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
    if snap.state in ENDED_STATES:
        return None
    return snap.eta_s


def session_state(loop: str | None, *, phase: WorkerPhase | None, stop_requested: bool, failed: bool,
                  last: str | None = None) -> RunState:
    """The session's RunState, from the training loop's own RunState and the training thread's lifecycle.

    The loop (nerf.train_loop.LoopControl) alone says whether a run is running, paused, stopped or finished;
    the session adds only what happens around it: LOADING (the thread builds the trainer), STOPPING (a stop
    was asked, or the loop has ended and saves its checkpoint), FAILED (the thread raised).

    Args:
        loop: the trainer's loop state (``trainer.control.state``), None without a trainer.
        phase: where the training thread is (TrainingWorker.phase: building, looping, ending); None: no thread.
        stop_requested: the session asked that thread to stop; failed: the thread ended with an error.
        last: the state in the last snapshot of an opened run (its metrics.jsonl), whose loop never ran here.
    """
    if failed:
        return RunState.FAILED
    if phase is None:
        if loop is None:
            return RunState.IDLE
        if loop in ENDED_STATES:
            return RunState(loop)
        return RunState(last) if last in ENDED_STATES else RunState.STOPPED  # an opened run: as its log ended
    if phase == "ending" or (phase == "looping" and (stop_requested or loop in ENDED_STATES)):
        return RunState.STOPPING
    if phase != "looping" or loop in (None, RunState.IDLE):
        return RunState.LOADING
    return RunState(loop)


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
    """One Trainer, its loop on a worker thread, and the history of its snapshots.

    Signals: stateChanged(str: a RunState's value); trainerChanged() (read ``trainer``; no payload: a local Trainer and a
    RemoteTrainer share no base class); snapshot(TrainSnapshot); error(str); blockedChanged(str): why training
    cannot start now ("" when it can), e.g. an export renders the model.

    ``state`` (a nerf.run_state.RunState) is never set by the session on its own: it is ``session_state`` of
    the loop's own RunState and the thread's lifecycle, looked at again on every worker signal, every command
    and every WATCH_MS while the thread lives; stateChanged follows its changes.
    """

    stateChanged = pyqtSignal(str)
    blockedChanged = pyqtSignal(str)
    trainerChanged = pyqtSignal()
    snapshot = pyqtSignal(TrainSnapshot)
    error = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.state = RunState.IDLE
        """The last state announced by stateChanged (see the class docstring)."""
        self.trainer: Any = None
        self.history = TrainHistory()
        self.last: TrainSnapshot | None = None
        self.run_dir: Path | None = None
        self.render_lock = FairLock()
        """Held by any thread that renders with the trainer's model outside the training loop (fair: the
        training loop re-takes it after every step, and a waiting preview must get in at the next hand-over)."""
        self.remote_target: Any = None
        """An app.cluster.remote_trainer.ClusterTarget: new runs train on that Ray cluster; None: here."""
        self._job: WorkerThread | None = None
        self._failed = False
        self._loaded: tuple[TrainHistory, TrainSnapshot | None] | None = None
        self._watch = QTimer(self, interval=WATCH_MS)
        self._watch.timeout.connect(self._sync)
        self.blocked = ""
        """Why no training may start now ("" when it may): set by an export while it renders the model."""

    def set_blocked(self, reason: str) -> None:
        if reason != self.blocked:
            self.blocked = reason
            self.blockedChanged.emit(reason)

    def _may_start(self) -> bool:
        if self.state in ACTIVE_STATES:
            return False
        if self.blocked:
            self.error.emit(f"cannot train now: {self.blocked}")
            return False
        return True

    def _sync(self) -> None:
        """Announce the state if it changed (see ``session_state``)."""
        job, trainer = self._job, self.trainer
        worker = None if job is None else job.worker
        state = session_state(None if trainer is None else trainer.control.state,
                              phase=None if worker is None else worker.phase,
                              stop_requested=bool(worker is not None and worker.stop_requested),
                              failed=self._failed, last=None if self.last is None else self.last.state)
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)

    def start(self, scene_root: Path, config: Any, run_dir: Path) -> None:
        """Train the scene at ``scene_root`` with ``config`` (a nerf.trainer.TrainConfig) into ``run_dir``."""
        if not self._may_start():
            return
        target = self.remote_target

        def make() -> Any:
            from nerf import Trainer, load_scene

            if target is not None:  # the same interface, trained on a Ray cluster (app.cluster)
                from app.cluster.remote_trainer import RemoteTrainer

                return RemoteTrainer.start(load_scene(scene_root), config, run_dir, target)
            return Trainer.create(load_scene(scene_root), config, run_dir)

        self.history, self.last, self.run_dir = TrainHistory(), None, Path(run_dir)
        self._launch(TrainingWorker(make, step_lock=self.render_lock))

    def continue_training(self, minutes: float | None = None, steps: int | None = None) -> None:
        """Run the loop again on the current trainer (after a stop, or on an opened run); ``minutes`` or
        ``steps`` extend its budget by that much from where it is (saved into run.json, as `train --resume`)."""
        if self.trainer is None or not self._may_start():
            return
        if minutes is not None or steps is not None:
            extend_budget(self.trainer, minutes, steps)
        self._launch(TrainingWorker(lambda: self.trainer, trainer=self.trainer, step_lock=self.render_lock))

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
        self._failed = False
        self._job = WorkerThread(worker, "training").start()
        self._watch.start()
        self._sync()

    def pause(self) -> None:
        """Ask the loop to pause after the current step; ``state`` says paused once the loop does."""
        if self.trainer is not None and self.state == RunState.RUNNING:
            self.trainer.control.pause()
            self._sync()

    def resume(self) -> None:
        if self.trainer is not None and self.state == RunState.PAUSED:
            self.trainer.control.resume()
            self._sync()

    def stop(self) -> None:
        """Ask the loop to end after the current step (non-blocking; a paused loop wakes up to end); the
        checkpoint is saved on the way out."""
        if self._job is not None and self.state in ACTIVE_STATES:
            self._job.worker.request_stop()
            self._sync()

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
    def _on_trainer(self) -> None:
        job = self._job
        if job is None or job.worker is not self.sender():
            return
        self.trainer = job.worker.trainer
        self.trainerChanged.emit()
        if self._loaded is not None:  # an opened run: show its curves so far
            (self.history, self.last), self._loaded = self._loaded, None
            if self.last is not None:
                self.snapshot.emit(self.last)
        self._sync()

    def _on_snapshot(self, snap: TrainSnapshot) -> None:
        self.last = snap
        self.history.add(snap)
        self.snapshot.emit(snap)
        self._sync()

    def _on_failed(self, message: str) -> None:
        self._failed = True
        self._sync()
        self.error.emit(message)

    def _on_worker_done(self) -> None:
        if self._job is not None and self._job.worker is self.sender():
            self._on_done(self._job)

    def _on_done(self, job: WorkerThread) -> None:
        if job is not self._job:
            return
        job.wait()
        self._job = None
        self._watch.stop()
        self._sync()
