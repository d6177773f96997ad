"""Live novel-view preview: coalesced render requests, small while moving and refined when still."""

from __future__ import annotations

import math
import time
from typing import Any

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from app.studio.models.preview_camera import PreviewCamera
from app.studio.models.training_session import TrainingSession
from app.studio.types import PreviewFrame, RenderedFrame, RenderFailure, RenderRequest
from app.studio.workers.base import WorkerThread
from app.studio.workers.training import RenderWorker
from nerf import ENDED_STATES, Camera, LivePreview, RunState

MOVING_PIXELS = 320 * 240
"""Pixels of a render while the camera moves: about 320x240 whatever the capture's size (never more than its
full resolution), so a moving frame costs the same on every capture (~0.3 CPU s for the sensor field,
benchmarks/RESULTS.md, "Live preview"); a 640x480 capture moves at half size, the virtual room (320x240) at
its own."""
SETTLE_MS = 250
"""The camera counts as still this long after the last move; then a full-resolution render is asked for."""
REFRESH_MS = 500
"""While training, re-render the (still) view at most this often so the preview follows the training."""
REFRESH_SHARE = 0.5
"""...and no more often than keeps those renders under this share of the render thread's time. A local
trainer's previews render on that thread beside the training (``RenderWorker``: a copy of the field), on
the core the training's thread budget leaves free (``nerf.threads``); a resting camera keeps that core
half free (for the UI, and for the training where no core is free: previews back to back cost it steps,
benchmarks/preview_fps.py). A moving camera renders as fast as it can."""
REMOTE_REFRESH_MS = 2000
REMOTE_REFRESH_SHARE = 0.05
"""The same for a remote trainer (app.cluster), which serves previews between its steps: a full-resolution
render takes a few tenths of a second on a CPU, which every 2 s would cost the run a fifth of its steps."""


def moving_scale(width: int, height: int) -> float:
    """Resolution factor of a moving camera's renders for a ``width`` x ``height`` view: MOVING_PIXELS at most."""
    return min(1.0, math.sqrt(MOVING_PIXELS / max(width * height, 1)))


class PreviewSession(QObject):
    """Turns camera moves into render requests; emits ``rendered(PreviewFrame)``, and ``failed(str)`` when a
    render raised (later requests are still served).

    Requests go to a RenderWorker thread (its latest-wins slot), which renders a local trainer's field
    there, from a copy taken between two steps, while the training goes on (a remote trainer serves them
    between its steps). Either way the UI thread never renders, and a result older than one already shown
    is dropped.
    """

    rendered = pyqtSignal(PreviewFrame)
    failed = pyqtSignal(str)

    def __init__(self, camera: PreviewCamera, training: TrainingSession) -> None:
        super().__init__()
        self.camera = camera
        self.training = training
        self.enabled = False
        """False while no view shows the preview (renders would only slow the training down)."""
        self._viewers: set = set()
        self.full_scale = 1.0
        self._next_id = 0
        self._shown_id = -1
        self._worker: WorkerThread | None = None
        self._closed = False
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(lambda: self.request(self.full_scale))
        self._refresh = QTimer(self, interval=REFRESH_MS)
        self._refresh.timeout.connect(self._on_refresh)
        camera.changed.connect(self._on_camera_moved)
        training.trainerChanged.connect(self._on_trainer)  # a bound method: Qt calls it with no argument
        training.stateChanged.connect(self._on_state)

    @property
    def trainer(self) -> Any:
        return self.training.trainer

    def _on_trainer(self) -> None:
        trainer = self.trainer
        if trainer is None:
            return
        scene = trainer.scene
        self.camera.set_views(scene.c2w)
        self.camera.reset(trainer.view_camera(scene.train_ids[0]))

    def _on_state(self, state: str) -> None:
        if state == RunState.RUNNING:
            self._refresh.start(REFRESH_MS if LivePreview.supports(self.trainer) else REMOTE_REFRESH_MS)
        else:
            self._refresh.stop()
        if state in ENDED_STATES:
            self.request(self.full_scale)  # the final model, through the render worker

    def set_enabled(self, enabled: bool, viewer: object = None) -> None:
        """Show (True) or hide the preview for ``viewer`` (the Train tab's view: None; the Export tab's path
        editor: itself); it renders while any viewer shows it, and showing it asks for a fresh render."""
        if enabled:
            self._viewers.add(viewer)
        else:
            self._viewers.discard(viewer)
        enabled = bool(self._viewers)
        if enabled != self.enabled:
            self.enabled = enabled
            if enabled:
                self.request(self.full_scale)

    def _on_camera_moved(self, camera: Camera) -> None:
        self.request(moving_scale(camera.width, camera.height) * self.full_scale)
        self._settle.start()

    def _on_refresh(self) -> None:
        if not self._settle.isActive():
            self.request(self.full_scale)

    def request(self, scale: float) -> int | None:
        """Ask for a render of the current camera at ``scale``; returns the request id (None if nothing to render)."""
        cam, trainer = self.camera.camera, self.trainer
        if cam is None or trainer is None or not self.enabled or self._closed:
            return None
        cam = cam.scaled(scale) if scale != 1.0 else cam
        self._next_id += 1
        self._render_worker().submit(trainer, RenderRequest(cam, self._next_id, time.monotonic()))
        return self._next_id

    def _render_worker(self) -> RenderWorker:
        if self._worker is None:
            worker = RenderWorker(self.training.render_lock)
            worker.rendered.connect(self._on_result)
            worker.renderFailed.connect(self._on_failed)
            worker.failed.connect(self.failed)  # the thread itself ended with an error: say so
            self._worker = WorkerThread(worker, "preview-render").start()
        return self._worker.worker  # type: ignore[return-value]

    def _on_result(self, frame: RenderedFrame) -> None:
        result, request = frame.result, frame.request
        cam = self.camera.camera
        if cam is not None and result.camera.width >= cam.width * self.full_scale * 0.99:
            took_ms = (time.monotonic() - request.asked_at) * 1000
            local = LivePreview.supports(self.trainer)
            floor, share = (REFRESH_MS, REFRESH_SHARE) if local else (REMOTE_REFRESH_MS, REMOTE_REFRESH_SHARE)
            self._refresh.setInterval(max(floor, int(took_ms / share)))
        if request.request_id < self._shown_id:
            return  # an older request finished late: keep the newer image
        self._shown_id = request.request_id
        self.rendered.emit(PreviewFrame(result, self.camera.nearest_view()))

    def _on_failed(self, failure: RenderFailure) -> None:
        if failure.request.request_id >= self._shown_id:
            self.failed.emit(failure.message)

    def shutdown(self) -> None:
        """Stop the render thread for good (later requests are ignored)."""
        self._closed = True
        self._settle.stop()
        self._refresh.stop()
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
