"""The scene being worked on: its folder, thumbnails, point cloud and train/test split."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from app.studio.models.auto_split import AutoSplit
from app.studio.types import SceneData
from app.studio.workers.base import WorkerThread
from app.studio.workers.scene_io import PoseWorker, SceneLoadWorker
from devices.scene_folder import TRANSFORMS
from devices.scene_writer import update_scene

POSES_BACKUP = "transforms.before-poses.json"
"""Copy of transforms.json kept by the last pose estimation (Undo restores it)."""


def poses_backup(root: Path | None) -> Path | None:
    """The transforms.json saved before the last pose estimation of ``root`` (None when there is none)."""
    path = None if root is None else Path(root) / POSES_BACKUP
    return path if path is not None and path.is_file() else None


class SceneModel(QObject):
    """Signals: loading(str path); sceneChanged(SceneData); splitChanged(list train, list test); error(str);
    posesProgress(done, total or -1) and posesEstimated(str summary) around a pose estimation."""

    loading = pyqtSignal(str)
    posesProgress = pyqtSignal(int, int)
    posesEstimated = pyqtSignal(str)
    sceneChanged = pyqtSignal(SceneData)
    splitChanged = pyqtSignal(list, list)
    error = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.data: SceneData | None = None
        self._job: WorkerThread | None = None
        self.auto_split = AutoSplit(self)
        """The automatic few-shot split of this scene (on its own thread)."""
        self._posing: Path | None = None
        self.manual: dict[int, str] = {}
        """Why the user changed a view's role this session (view -> reason), shown on its thumbnail."""

    @property
    def root(self) -> Path | None:
        return None if self.data is None else self.data.folder.root

    @property
    def busy(self) -> bool:
        return self._job is not None and self._job.is_running()

    @property
    def editable(self) -> bool:
        """False for a benchmark scene (DTU) whose split is fixed by its protocol."""
        return self.data is not None and self.data.dataset is None

    @property
    def has_poses(self) -> bool:
        """Some frame of the scene has a camera pose (estimating poses again replaces them: ask first)."""
        return self.data is not None and any(f.c2w is not None for f in self.data.folder.frames)

    def reason(self, index: int, role: str) -> str:
        """One line on why view ``index`` has ``role`` ("train", "test", "unused")."""
        data = self.data
        if index in self.manual:
            return self.manual[index]
        if data is not None and index in data.reasons:
            return data.reasons[index]
        if data is not None and data.dataset is not None:
            what = {"train": "a training view", "test": "a held-out test view",
                    "unused": "left out (neither trained on nor tested)"}[role]
            return f"{what} of the {data.dataset.upper()} benchmark protocol (the split `sparsenerf train` uses)"
        if role == "train":
            return "training view: one of the few-shot views the split spreads evenly along the camera path"
        if role == "test":
            return "held-out test view: never trained on; the held-out PSNR is measured on views like it"
        if data is not None and data.folder.frames[index].c2w is None:
            return "unused: it has no camera pose (estimate poses, or the odometry could not register it)"
        return "unused: the split neither trains on it nor holds it out for testing"

    def pose_note(self, index: int) -> str | None:
        """How frame ``index``'s pose was estimated (method, anchor, confidence; why it failed), from the
        per-frame report `sparsenerf poses` and Estimate poses store; None for poses that were not estimated."""
        data = self.data
        q = data.folder.frames[index].meta.get("pose") if data is not None else None
        if not isinstance(q, dict) or "method" not in q:
            return None
        if q.get("failed"):
            return f"no pose: {q.get('reason') or 'odometry failed'}"
        if q["method"] == "reference":
            return "pose: the reference the other frames are measured against"
        how = {"odometry": "odometry", "fallback": "odometry to a fallback keyframe",
               "relocalised": "relocalised (ORB features + PnP, then odometry)",
               "backtracked": "odometry backwards from a later frame that found the map again",
               }.get(q["method"], q["method"])
        return f"pose: {how} to frame {q.get('anchor')}, confidence {float(q.get('confidence', 0.0)):.2f}"

    # ------------------------------------------------------------------ poses and their undo
    def undo_poses(self) -> None:
        """Put back the poses (the whole transforms.json) from before the last estimation, and reload."""
        backup = poses_backup(self.root)
        if backup is None or self.root is None:
            self.error.emit("no earlier poses to restore")
            return
        root = self.root
        os.replace(backup, root / TRANSFORMS)  # atomic: the backup becomes transforms.json
        self.load(root)

    def load(self, root: Path) -> None:
        """Read ``root`` in a worker; ``sceneChanged`` follows (or ``error``)."""
        self.shutdown()
        self.manual = {}
        worker = SceneLoadWorker(root)
        worker.finished.connect(self._on_loaded)
        worker.failed.connect(self.error)
        self._job = WorkerThread(worker, "scene-load").start()
        self.loading.emit(str(root))

    def estimate_poses(self, root: Path | None = None, train_views: int = 3) -> None:
        """Estimate the poses of ``root`` (default: the current scene) in a worker, then load it again."""
        root = Path(root or self.root)
        self.shutdown()
        if (root / TRANSFORMS).is_file():  # keep the poses it has now, for Undo
            tmp = root / f".{POSES_BACKUP}.partial"
            shutil.copyfile(root / TRANSFORMS, tmp)
            os.replace(tmp, root / POSES_BACKUP)
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
        if not self.editable:
            self.error.emit(f"the split of this {self.data.dataset.upper()} scene is fixed by its benchmark protocol")
            self.splitChanged.emit(list(self.data.folder.train_ids), list(self.data.folder.test_ids))
            return
        folder = self.data.folder
        train_ids = set(folder.train_ids)
        test_ids = set(folder.test_ids)
        if train:
            train_ids.add(index)
            test_ids.discard(index)
            self.manual[index] = "training view: you clicked it into the training views"
        else:
            if train_ids == {index}:
                self.error.emit("a scene needs at least one training view")
                self.splitChanged.emit(sorted(train_ids), sorted(test_ids))
                return
            train_ids.discard(index)
            test_ids.add(index)
            self.manual[index] = "held-out test view: you clicked it out of the training views"
        self.set_split(sorted(train_ids), sorted(test_ids))

    def set_split(self, train_ids: list[int], test_ids: list[int], automatic: bool = False,
                  reasons: dict[int, str] | None = None) -> None:
        """Save a new split; ``automatic`` (the few-shot split button) clears the per-view manual reasons
        and saves ``reasons`` (frame index -> why it was picked) as the file's split_reasons."""
        if self.data is None or not self.editable:
            return
        if automatic:
            self.manual = {}
        try:
            changes: dict = {"train_ids": list(train_ids), "test_ids": list(test_ids)}
            if automatic:
                paths = [f.image_path for f in self.data.folder.frames]
                changes["split_reasons"] = {paths[i]: why for i, why in (reasons or {}).items()}
            folder = update_scene(self.data.folder, **changes)
        except OSError as exc:
            self.error.emit(f"{self.data.folder.root}: could not save the split ({exc})")
            return
        # the file's reasons described the split the automatic split replaces; a click changes one view only
        self.data = replace(self.data, folder=folder, reasons=dict(reasons or {}) if automatic else self.data.reasons)
        self.splitChanged.emit(list(folder.train_ids), list(folder.test_ids))

    def shutdown(self) -> None:
        """Stop a scene load or pose estimation (an automatic split of the scene before finishes unseen)."""
        if self._job is not None:
            self._job.stop()
            self._job = None
