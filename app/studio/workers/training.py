"""Training and rendering workers around nerf.trainer.Trainer (which has no Qt in it)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import pyqtSignal

from app.studio.workers.base import Worker
from nerf.types import Camera

log = logging.getLogger(__name__)


class TrainingWorker(Worker):
    """Builds a Trainer on its own thread (loading the scene can take seconds) and runs its loop.

    ``trainerReady(Trainer)`` is emitted before the loop starts, ``snapshot(TrainSnapshot)`` at the
    trainer's bounded rate. When the loop ends (finished or stopped) the trainer saves its checkpoint.
    ``run_loop=False`` only builds the trainer (opening a finished run for preview and export).
    """

    trainerReady = pyqtSignal(object)
    snapshot = pyqtSignal(object)

    def __init__(self, make_trainer: Callable[[], Any], run_loop: bool = True, trainer: Any = None,
                 step_lock: Any = None) -> None:
        super().__init__()
        self.make_trainer = make_trainer
        self.run_loop = run_loop
        self.trainer = trainer
        self.step_lock = step_lock
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
            self.trainerReady.emit(trainer)
        if not self.run_loop or self.stop_requested:
            return self.trainer
        if self.step_lock is not None:  # no step while another thread renders with the model (an export)
            self.trainer.control.step_lock = self.step_lock
        self.trainer.control.run(self.snapshot.emit)  # saves the checkpoint on its way out
        return self.trainer


class RenderWorker(Worker):
    """Serves preview render requests; only the newest pending request is kept.

    ``submit`` replaces any request not yet started, so a moving camera never builds a backlog. Each
    request goes to ``trainer.control.request_render``: served between steps on the training thread while
    its loop runs, else rendered right here. ``rendered(RenderResult, request_id)`` carries each
    result, ``renderFailed(str, request_id)`` a render that raised (the worker goes on serving later
    requests). ``render_lock`` serialises use of the model with the export thread.
    """

    rendered = pyqtSignal(object, int)
    renderFailed = pyqtSignal(str, int)

    def __init__(self, render_lock: threading.Lock) -> None:
        super().__init__()
        self.render_lock = render_lock
        self._cv = threading.Condition()
        self._request: tuple[Any, Camera, int] | None = None

    def submit(self, trainer: Any, camera: Camera, request_id: int) -> None:
        """Thread-safe: render ``camera`` with ``trainer`` next, dropping any older pending request."""
        with self._cv:
            self._request = (trainer, camera, request_id)
            self._cv.notify()

    def request_stop(self) -> None:
        super().request_stop()
        with self._cv:
            self._cv.notify()

    def work(self) -> None:
        while not self.stop_requested:
            with self._cv:
                self._cv.wait_for(lambda: self._request is not None or self.stop_requested, timeout=0.5)
                request, self._request = self._request, None
            if request is None or self.stop_requested:
                continue
            trainer, camera, rid = request

            def failed(exc: Exception, rid: int = rid) -> None:
                log.error("preview render %d failed: %s: %s", rid, type(exc).__name__, exc)
                self.renderFailed.emit(f"{type(exc).__name__}: {exc}", rid)

            try:
                with self.render_lock:
                    trainer.control.request_render(camera, lambda result, rid=rid: self.rendered.emit(result, rid), failed)
            except Exception as exc:  # noqa: BLE001 - one bad request must not end the preview thread
                failed(exc)
