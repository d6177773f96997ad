"""The scene being worked on: its folder, thumbnails, point cloud and train/test split."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from app.studio.workers.base import WorkerThread
from app.studio.workers.scene_io import PoseWorker, SceneData, SceneLoadWorker
from devices.scene_writer import update_scene


class SceneModel(QObject):
    """Signals: loading(str path); sceneChanged(SceneData); splitChanged(list train, list test); error(str);
    posesProgress(done, total or -1) and posesEstimated(str summary) around a pose estimation."""

    loading = pyqtSignal(str)
    posesProgress = pyqtSignal(int, int)
    posesEstimated = pyqtSignal(str)
    sceneChanged = pyqtSignal(object)
    splitChanged = pyqtSignal(list, list)
    error = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.data: SceneData | None = None
        self._job: WorkerThread | None = None
        self._posing: Path | None = None

    @property
    def root(self) -> Path | None:
        return None if self.data is None else self.data.folder.root

    @property
    def busy(self) -> bool:
        return self._job is not None and self._job.is_running()

    def load(self, root: Path) -> None:
        """Read ``root`` in a worker; ``sceneChanged`` follows (or ``error``)."""
        self.shutdown()
        worker = SceneLoadWorker(root)
        worker.finished.connect(self._on_loaded)
        worker.failed.connect(self.error)
        self._job = WorkerThread(worker, "scene-load").start()
        self.loading.emit(str(root))

    def estimate_poses(self, root: Path | None = None, train_views: int = 3) -> None:
        """Estimate the poses of ``root`` (default: the current scene) in a worker, then load it again."""
        root = Path(root or self.root)
        self.shutdown()
        worker = PoseWorker(root, train_views)
        worker.progress.connect(self.posesProgress)
        worker.finished.connect(self._on_posed)
        worker.failed.connect(self.error)
        self._job = WorkerThread(worker, "poses").start()
        self._posing = root
        self.loading.emit(f"{root} (estimating camera poses by RGB-D odometry)")

    def _on_posed(self, summary: str) -> None:
        self.posesEstimated.emit(summary)
        if self._job is not None:
            self._job.wait()
        self.load(self._posing)

    def _on_loaded(self, data: SceneData) -> None:
        self.data = data
        self.sceneChanged.emit(data)
        self.splitChanged.emit(list(data.folder.train_ids), list(data.folder.test_ids))

    def set_training_view(self, index: int, train: bool) -> None:
        """Move view ``index`` into (``train``) or out of the training split; saved to transforms.json."""
        if self.data is None:
            return
        folder = self.data.folder
        train_ids = set(folder.train_ids)
        test_ids = set(folder.test_ids)
        if train:
            train_ids.add(index)
            test_ids.discard(index)
        else:
            if train_ids == {index}:
                self.error.emit("a scene needs at least one training view")
                self.splitChanged.emit(sorted(train_ids), sorted(test_ids))
                return
            train_ids.discard(index)
            test_ids.add(index)
        self.set_split(sorted(train_ids), sorted(test_ids))

    def set_split(self, train_ids: list[int], test_ids: list[int]) -> None:
        if self.data is None:
            return
        try:
            folder = update_scene(self.data.folder, train_ids=list(train_ids), test_ids=list(test_ids))
        except OSError as exc:
            self.error.emit(f"{self.data.folder.root}: could not save the split ({exc})")
            return
        self.data = SceneData(folder, self.data.thumbnails, self.data.points, self.data.colors)
        self.splitChanged.emit(list(folder.train_ids), list(folder.test_ids))

    def shutdown(self) -> None:
        if self._job is not None:
            self._job.stop()
            self._job = None
