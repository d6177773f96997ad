"""The automatic few-shot split of the scene on screen, chosen on a worker thread (it reads every depth map)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QObject, pyqtSignal

from app.studio.types import SplitResult
from app.studio.workers.base import WorkerThread
from app.studio.workers.scene_io import SplitWorker

if TYPE_CHECKING:
    from app.studio.models.scene_model import SceneModel


class AutoSplit(QObject):
    """Chooses K training views that together cover the most of the fused depth (workers.scene_io.
    automatic_split) for ``scene`` (whose ``auto_split`` it is), then saves them as
    ``SceneModel.set_split(automatic=True)`` does.

    Signal busyChanged(bool) around each choice; a failure goes to the scene's ``error``.
    """

    busyChanged = pyqtSignal(bool)

    def __init__(self, scene: SceneModel) -> None:
        super().__init__()
        self.scene = scene
        self._job: WorkerThread | None = None

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def can_start(self) -> bool:
        """An editable scene with poses is loaded and no split is being chosen."""
        data = self.scene.data
        return data is not None and self.scene.editable and data.folder.has_poses and self._job is None

    def start(self, k: int) -> bool:
        """Choose ``k`` views in the background; False when there is nothing to split (no editable scene with
        poses) or a split is being chosen already."""
        if not self.can_start:
            return False
        worker = SplitWorker(self.scene.data.folder, k)
        worker.finished.connect(self._on_result)
        worker.failed.connect(self.scene.error)
        worker.done.connect(self._on_done)  # a bound method: runs on the UI thread
        self._job = WorkerThread(worker, "auto-split").start()
        self.busyChanged.emit(True)
        return True

    def _on_result(self, result: SplitResult) -> None:
        root = self.scene.root
        if root is not None and Path(result.root) == Path(root):  # else: another scene was opened since
            self.scene.set_split(result.train, result.test, automatic=True, reasons=result.reasons)

    def _on_done(self) -> None:
        job = self._job
        if job is not None and job.worker is self.sender():
            job.wait()
            self._job = None
            self.busyChanged.emit(False)

    def shutdown(self) -> None:
        if self._job is not None:
            self._job.stop()
            self._job = None
            self.busyChanged.emit(False)
