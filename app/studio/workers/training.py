"""Training and rendering workers around nerf.trainer.Trainer (which has no Qt in it)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal

from PyQt6.QtCore import pyqtSignal

from app.studio.types import RenderedFrame, RenderFailure, RenderRequest
from app.studio.workers.base import Worker
from nerf import LatestSlot, LivePreview, RunState, TrainSnapshot, limit_this_thread, side_threads

log = logging.getLogger(__name__)

WorkerPhase = Literal["building", "looping", "ending"]
"""Where a TrainingWorker's thread is: building the trainer, in its loop, or past it."""


class TrainingWorker(Worker):
    """Builds a Trainer on its own thread (loading the scene can take seconds) and runs its loop.

    ``trainerReady()`` is emitted once ``trainer`` holds the built trainer, before the loop starts (no
    payload: a local Trainer and an app.cluster RemoteTrainer share an interface but no base class, which
    a typed signal needs); ``snapshot(TrainSnapshot)`` at the trainer's bounded rate. ``phase`` says where
    the thread is: "building" (until the loop starts), "looping" (in ``trainer.run``), "ending". When the loop ends (finished or stopped) the trainer saves
    its checkpoint. ``run_loop=False`` only builds the trainer (opening a finished run for preview and export).
    """

    trainerReady = pyqtSignal()
    snapshot = pyqtSignal(TrainSnapshot)

    def __init__(self, make_trainer: Callable[[], Any], run_loop: bool = True, trainer: Any = None,
                 step_lock: Any = None) -> None:
        super().__init__()
        self.make_trainer = make_trainer
        self.run_loop = run_loop
        self.trainer = trainer
        self.step_lock = step_lock
        self.phase: WorkerPhase = "building"
        self._trainer_lock = threading.Lock()

    def request_stop(self) -> None:
        super().request_stop()
        with self._trainer_lock:
            if self.trainer is not None:
                self.trainer.control.stop()

    def work(self) -> Any:
        if self.trainer is None:
            trainer = self.make_trainer()
            with self._trainer_lock:
                self.trainer = trainer
            self.trainerReady.emit()
        if not self.run_loop or self.stop_requested:
            return self.trainer
        if self.step_lock is not None:  # no step while another thread renders with the model (an export)
            self.trainer.control.step_lock = self.step_lock
        self.phase = "looping"
        try:
            self.trainer.control.run(self.snapshot.emit)  # saves the checkpoint on its way out
        finally:
            self.phase = "ending"
        return self.trainer


class RenderWorker(Worker):
    """Serves preview render requests, newest first: ``requests`` is a latest-wins slot.

    ``submit`` replaces any request not yet started, so a moving camera never builds a backlog. A local
    trainer's request renders right here, beside the training: under ``render_lock`` (which the training
    loop holds around each step, and the export thread around its renders) the field is copied into a
    ``nerf.LivePreview`` when it changed, then the copy renders through the fast preview path while the
    training goes on, with the torch threads the training's budget leaves free (``nerf.side_threads``). A
    remote trainer's request goes to ``trainer.control.request_render`` (served between its steps).
    ``rendered(RenderedFrame)`` carries each result, ``renderFailed(RenderFailure)`` a render
    that raised (the worker goes on serving later requests).
    """

    rendered = pyqtSignal(RenderedFrame)
    renderFailed = pyqtSignal(RenderFailure)

    def __init__(self, render_lock: Any) -> None:
        super().__init__()
        self.render_lock = render_lock
        self.requests: LatestSlot[tuple[Any, RenderRequest]] = LatestSlot()
        self.live = LivePreview()
        self._wake = threading.Event()

    def submit(self, trainer: Any, request: RenderRequest) -> None:
        """Thread-safe: render ``request`` with ``trainer`` next, dropping any older pending request."""
        self.requests.put((trainer, request))
        self._wake.set()

    def request_stop(self) -> None:
        super().request_stop()
        self._wake.set()

    def work(self) -> None:
        while not self.stop_requested:
            self._wake.wait(timeout=0.5)
            self._wake.clear()  # a submit after this line sets it again: no request is left waiting
            pending = self.requests.take()
            if pending is not None and not self.stop_requested:
                self._serve(*pending)

    def _serve(self, trainer: Any, request: RenderRequest) -> None:
        def failed(exc: Exception) -> None:
            log.error("preview render %d failed: %s: %s", request.request_id, type(exc).__name__, exc)
            self.renderFailed.emit(RenderFailure(request, f"{type(exc).__name__}: {exc}"))

        try:
            with self.render_lock:
                if not self.live.supports(trainer):
                    trainer.control.request_render(
                        request.camera, lambda result: self.rendered.emit(RenderedFrame(request, result)), failed)
                    return
                self.live.sync(trainer)  # no step runs while the lock is held
            # torch gives this thread a thread team of its own: only the cores the training leaves free
            limit_this_thread(side_threads(training=trainer.control.state == RunState.RUNNING))
            result = self.live.render(request.camera)  # the copy: the training steps on meanwhile
        except Exception as exc:  # noqa: BLE001 - one bad request must not end the preview thread
            failed(exc)
            return
        self.rendered.emit(RenderedFrame(request, result))
