"""An export in progress: a video of the trained scene along a camera path, or its geometry."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from app.studio.models.training_session import TrainingSession
from app.studio.types import GeometryRequest, VideoSettings
from app.studio.workers.base import WorkerThread
from app.studio.workers.export import ExportWorker
from app.studio.workers.geometry import GeometryWorker
from nerf import ACTIVE_STATES, RenderResult

GEOMETRY_SUFFIX = {"mesh": ".ply", "pointcloud": ".ply", "depth": ""}


@dataclass(frozen=True)
class ExportRequest:
    """What the export panel asks for: a video (``settings``) or, with ``geometry``, a mesh / point cloud /
    depth maps; ``out`` None picks a new name under the videos (geometry) folder."""

    settings: VideoSettings
    out: Path | None = None
    geometry: GeometryRequest | None = None


class ExportJob(QObject):
    """Signals: stateChanged(str: idle, waiting, running, done, cancelled, failed); progress(done, total);
    frame(RenderResult) of each rendered frame; finished(Path); error(str).

    Training and export share the model, so they exclude each other: an export asked for while training
    runs first stops the training (which saves its checkpoint) and starts when the training thread has
    ended; while the export renders, the training session is blocked (▶ Train disabled, with the reason)
    and its steps wait for the render lock each frame holds.
    """

    stateChanged = pyqtSignal(str)
    progress = pyqtSignal(int, int)
    frame = pyqtSignal(RenderResult)
    finished = pyqtSignal(Path)
    error = pyqtSignal(str)

    def __init__(self, videos_dir: Path, training: TrainingSession) -> None:
        super().__init__()
        self.videos_dir = Path(videos_dir)
        self.training = training
        self.state = "idle"
        self.output: Path | None = None
        self.kind = "video"
        """What the current or last export makes: "video", "mesh", "pointcloud" or "depth"."""
        self._pending: ExportRequest | None = None
        self._job: WorkerThread | None = None
        training.stateChanged.connect(self._on_training_state)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)

    def new_path(self, kind: str) -> Path:
        return unused(self.videos_dir, f"video-{kind}-{time.strftime('%Y%m%d-%H%M%S')}", ".mp4")

    def new_geometry_path(self, kind: str) -> Path:
        """A new name under the workspace's geometry folder (next to the videos folder)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return unused(self.videos_dir.parent / "geometry", f"{kind}-{stamp}", GEOMETRY_SUFFIX[kind])

    def start(self, request: ExportRequest) -> None:
        if self.training.trainer is None:
            self.error.emit("nothing to export yet: train a scene or open a run first")
            return
        if self.state in ("waiting", "running"):
            return
        if self.training.state in ACTIVE_STATES:
            self._pending = request
            self.training.set_blocked("an export waits for this training to stop, then renders the run")
            self._set_state("waiting")
            self.training.stop()
            return
        self._launch(request)

    def _on_training_state(self, state: str) -> None:
        if self._pending is not None and state not in ACTIVE_STATES:
            request, self._pending = self._pending, None
            self._launch(request)

    def _launch(self, request: ExportRequest) -> None:
        lock = self.training.render_lock
        if request.geometry is not None:
            out = request.out or self.new_geometry_path(request.geometry.kind)
            worker = GeometryWorker(self.training.trainer, request.geometry, out, lock)
        else:
            out = request.out or self.new_path(request.settings.path)
            worker = ExportWorker(self.training.trainer, request.settings, out, lock)
        self.kind = "video" if request.geometry is None else request.geometry.kind
        worker.progress.connect(self.progress)
        worker.frameRendered.connect(self.frame)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self._on_worker_done)  # a bound method: runs on the UI thread (a lambda would not)
        self.training.set_blocked("an export is rendering this run (cancel it on the Export tab, or wait)")
        self._job = WorkerThread(worker, "export").start()
        self.output = None
        self._set_state("running")

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending = None
            self._set_state("cancelled")
            self.training.set_blocked("")
        elif self._job is not None:
            self._job.worker.request_stop()

    def _on_finished(self, out: Path) -> None:
        self.output = Path(out)
        self._set_state("done")
        self.finished.emit(self.output)

    def _on_failed(self, message: str) -> None:
        cancelled = self._job is not None and self._job.worker.stop_requested
        self._set_state("cancelled" if cancelled else "failed")
        if not cancelled:
            self.error.emit(message)

    def _on_worker_done(self) -> None:
        if self._job is not None and self._job.worker is self.sender():
            self._on_done(self._job)

    def _on_done(self, job: WorkerThread) -> None:
        if job is self._job:
            job.wait()
            self._job = None
            self.training.set_blocked("")

    def shutdown(self) -> None:
        self._pending = None
        if self._job is not None:
            job = self._job
            job.stop()
            self._on_done(job)


def unused(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem+suffix``, or ``stem-2``, ``stem-3``... when that exists (two exports in the same second)."""
    out, n = folder / f"{stem}{suffix}", 1
    while out.exists():
        n += 1
        out = folder / f"{stem}-{n}{suffix}"
    return out
