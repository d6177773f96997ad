"""The studio's main window: four tabs (Capture, Scene, Train, Export), File menu, drag and drop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QFileDialog, QMainWindow, QTabWidget

from app.studio.device_catalog import DeviceEntry, list_devices, virtual_entry
from app.studio.models.capture_session import CaptureSession
from app.studio.models.export_job import ExportJob
from app.studio.models.import_job import ImportJob
from app.studio.models.preview_camera import PreviewCamera
from app.studio.models.preview_session import PreviewSession
from app.studio.models.scene_model import SceneModel
from app.studio.models.training_session import TrainingSession
from app.studio.widgets.capture_panel import CapturePanel
from app.studio.widgets.export_panel import ExportPanel
from app.studio.widgets.import_progress import ImportProgress
from app.studio.widgets.scene_panel import ScenePanel
from app.studio.widgets.train_panel import TrainPanel
from app.studio.workers.scene_io import is_dataset_scene
from devices.scene_folder import TRANSFORMS
from nerf import ACTIVE_STATES


@dataclass(frozen=True)
class Workspace:
    """Where the studio writes: captures/, imports/, runs/ and videos/ under ``root``."""

    root: Path

    def sub(self, name: str) -> Path:
        return self.root / name


def run_scene(run_dir: Path) -> Path | None:
    """The scene folder a run was trained on (from its run.json), when it still exists."""
    from devices.errors import InputError
    from nerf.run_dir import read_run_json

    try:
        source, _ = read_run_json(run_dir)
    except (InputError, OSError, ValueError):
        return None
    path = None if source is None else Path(source.path)
    return path if path is not None and ((path / TRANSFORMS).is_file() or is_dataset_scene(path)) else None


def is_run_dir(path: Path) -> bool:
    """A training run folder (run.json or checkpoints/ inside), as opposed to a scene folder."""
    return path.is_dir() and ((path / "run.json").is_file() or (path / "checkpoints").is_dir())


class MainWindow(QMainWindow):
    """Owns the models and the panels; closing it stops every worker thread and keeps the latest checkpoint."""

    def __init__(self, workspace: Workspace, devices: list[DeviceEntry] | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.setWindowTitle("SparseNeRF Studio")
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.capture = CaptureSession(workspace.sub("captures"))
        self.scene = SceneModel()
        self.training = TrainingSession()
        self.camera = PreviewCamera()
        self.preview = PreviewSession(self.camera, self.training)
        self.export = ExportJob(workspace.sub("videos"), self.training)
        self.importer = ImportJob(workspace.sub("imports"))
        self.tabs = QTabWidget()
        self.capture_panel = CapturePanel(self.capture)
        self.scene_panel = ScenePanel(self.scene)
        self.train_panel = TrainPanel(self.training, self.scene, self.preview, workspace.sub("runs"))
        self.export_panel = ExportPanel(self.export, self.training, self.preview)
        for panel, name in ((self.capture_panel, "1 · Capture"), (self.scene_panel, "2 · Scene"),
                            (self.train_panel, "3 · Train && preview"), (self.export_panel, "4 · Export")):
            self.tabs.addTab(panel, name)
        self.setCentralWidget(self.tabs)
        self.progress = ImportProgress(self.importer, self.statusBar())
        self._menus()
        self._wire()
        self.capture.set_devices(devices if devices is not None else list_devices(virtual_entry()))

    def _menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        for text, key, slot in (("&Open scene or run…", QKeySequence.StandardKey.Open, self._open_dialog),
                                ("&Import recording file (.mkv, .r3d, .svo, …)…", "Ctrl+I",
                                 lambda: self._import_dialog(folder=False)),
                                ("Import capture &folder (Stray Scanner, Polycam, NVS-RGBD, …)…", "Ctrl+Shift+I",
                                 lambda: self._import_dialog(folder=True)),
                                ("&Quit", QKeySequence.StandardKey.Quit, self.close)):
            action = QAction(text, self)
            action.setShortcut(key)
            action.triggered.connect(slot)
            menu.addAction(action)

    def _wire(self) -> None:
        bar = self.statusBar()
        self.capture.recordingFinished.connect(self._on_recorded)
        self.capture.error.connect(lambda m: bar.showMessage(m, 10_000))
        self.scene.sceneChanged.connect(lambda d: len(d.folder) >= 2 and bar.showMessage(f"scene {d.folder.root} loaded",
                                                                                        5_000))
        self.scene.sceneChanged.connect(lambda d: self.setWindowTitle(f"SparseNeRF Studio — {d.folder.root.name}"))
        self.scene.error.connect(lambda m: bar.showMessage(m, 10_000))
        self.training.error.connect(lambda m: bar.showMessage(f"training: {m}", 10_000))
        self.importer.finished.connect(self._import_done)
        self.scene.sceneChanged.connect(self._warn_if_too_few_views)
        self.training.stateChanged.connect(self._live_view_while_training)
        self.train_panel.settings.keep_live.toggled.connect(lambda _k: self._live_view_while_training(self.training.state))
        self._live_paused_by_training = False

    # ------------------------------------------------------------------ the live view gives the CPU to training
    def _live_view_while_training(self, state: str) -> None:
        """Pause the sensor's live view while a run trains (unless the Train tab's setting keeps it), and
        start it again when the training ends; a recording in progress is never interrupted."""
        training = state in ACTIVE_STATES
        keep = self.train_panel.settings.keep_live.isChecked()
        cap = self.capture
        if training and not keep and cap.live and not cap.recording:
            cap.stop_live()
            self._live_paused_by_training = True
            self.capture_panel.status.setText("Live view paused while training, so the training gets the CPU "
                                              "(Train tab: live sensor view: 'keep it streaming while training' keeps it on).")
        elif (not training or keep) and self._live_paused_by_training:
            self._live_paused_by_training = False
            if 0 <= cap.current < len(cap.devices) and cap.devices[cap.current].available:
                cap.start_live()

    def _warn_if_too_few_views(self, data) -> None:
        if len(data.folder) < 2:
            self.statusBar().showMessage(f"⚠ {data.folder.root.name} has only {len(data.folder)} frame: SparseNeRF "
                                         "needs at least 2 views, ▶ Train would fail", 30_000)

    def _on_recorded(self, scene) -> None:
        """A new capture: show it; a sensor without tracking (Kinect) gets its poses estimated first."""
        if scene.has_poses or not scene.has_depth:
            self.scene.load(scene.root)
        else:
            self.scene.estimate_poses(scene.root, self.capture.train_views)

    # ------------------------------------------------------------------ opening and importing
    def open_path(self, path: Path) -> None:
        """A scene folder, a training run, or anything an importer recognises."""
        path = Path(path)
        if (path / TRANSFORMS).is_file() or is_dataset_scene(path):  # DTU: opened as `sparsenerf train` reads it
            self.scene.load(path)
            self.tabs.setCurrentWidget(self.scene_panel)
        elif is_run_dir(path):
            self.training.open_run(path)
            scene = run_scene(path)
            if scene is not None:  # the Scene tab shows what the run trains
                self.scene.load(scene)
            self.tabs.setCurrentWidget(self.train_panel)
        else:
            self.importer.start(path)

    def select_virtual(self) -> None:
        """Select the virtual sensor (the first device) and show the capture tab: the demo's starting point."""
        self.tabs.setCurrentWidget(self.capture_panel)
        self.capture.select(0)

    def _open_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a scene folder or a training run", str(self.workspace.root))
        if path:
            self.open_path(Path(path))

    def _import_dialog(self, folder: bool) -> None:
        """Import a recording file or a capture folder; a scene `sparsenerf train` reads as it is (DTU) opens
        directly (``open_path``)."""
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Import a capture folder", str(Path.home()))
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Import a recording", str(Path.home()))
        if path:
            self.open_path(Path(path))

    def _import_done(self, out: Path) -> None:
        self.statusBar().showMessage(f"imported into {out}", 10_000)
        self.scene.load(out)
        self.tabs.setCurrentWidget(self.scene_panel)

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, ev) -> None:  # noqa: N802 - Qt override
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:  # noqa: N802
        for url in ev.mimeData().urls():
            if url.isLocalFile():
                self.open_path(Path(url.toLocalFile()))
                break

    # ------------------------------------------------------------------ closing
    def shutdown(self) -> None:
        """Stop every worker thread; training stops between steps and saves its checkpoint first."""
        self.preview.shutdown()
        self.export.shutdown()
        self.capture.stop_live()
        self.training.shutdown()
        self.importer.shutdown()
        self.scene.shutdown()
        self.scene.auto_split.shutdown()

    def closeEvent(self, ev) -> None:  # noqa: N802
        self.statusBar().showMessage("stopping background work …")
        self.shutdown()
        ev.accept()


