"""Camera path editor (Export tab): keyframes from the preview camera or any view, reorder, delete, time and
field of view per keyframe, loop, a timeline that moves the preview camera, play, save / load camera_path.json.

The keyframes and their edits are a model (app.studio.models.keyframes.KeyframeList); this is its view.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.studio.models.keyframes import KeyframeList
from app.studio.models.preview_session import PreviewSession
from devices.errors import InputError
from nerf import CameraPath

SLIDER_STEPS = 1000
PLAY_FPS = 12
"""Timeline steps per second while playing (the preview renders small while its camera moves)."""


class PathTimeline(QWidget):
    """▶ Play and a slider over the path's duration; ``scrubbed(float seconds)`` when the slider moves."""

    scrubbed = pyqtSignal(float)

    def __init__(self, path: Callable[[], CameraPath | None], parent=None) -> None:
        super().__init__(parent)
        self.path = path
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=SLIDER_STEPS)
        self.play_button = QPushButton("▶ Play")
        self.player = QTimer(self, interval=round(1000 / PLAY_FPS))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.play_button)
        row.addWidget(self.slider, 1)
        self.slider.valueChanged.connect(lambda _v: self._scrub())
        self.play_button.clicked.connect(self.toggle_play)
        self.player.timeout.connect(self._play_step)

    def time_at_slider(self) -> float:
        path = self.path()
        return 0.0 if path is None else path.start + path.duration * self.slider.value() / SLIDER_STEPS

    def _scrub(self) -> None:
        if self.path() is not None:
            self.scrubbed.emit(self.time_at_slider())

    def toggle_play(self) -> None:
        if self.player.isActive():
            self.player.stop()
            self.play_button.setText("▶ Play")
        elif self.path() is not None:
            self.player.start()
            self.play_button.setText("■ Stop")

    def _play_step(self) -> None:
        path = self.path()
        if path is None:
            self.toggle_play()
            return
        step = max(1, round(SLIDER_STEPS / (path.duration * PLAY_FPS)))
        self.slider.setValue((self.slider.value() + step) % (SLIDER_STEPS + 1))

    def stop_playing(self) -> None:
        if self.player.isActive():
            self.toggle_play()


class PathEditor(QWidget):
    """View of a KeyframeList (``keys``); ``path()`` is the CameraPath they make. Signal ``changed``."""

    changed = pyqtSignal()

    def __init__(self, preview: PreviewSession, parent=None) -> None:
        super().__init__(parent)
        self.preview = preview
        self.keys = KeyframeList()
        self.fps_source = None
        """The spin box of the video's frame rate (the export panel sets it): saved paths carry it."""
        self.list = QListWidget()
        self.list.setMaximumHeight(110)
        self.add_preview_button = QPushButton("+ preview camera")
        self.view_combo = QComboBox()
        self.add_view_button = QPushButton("+ view")
        self.up_button, self.down_button = QPushButton("▲"), QPushButton("▼")
        self.delete_button = QPushButton("Delete")
        self.time = QDoubleSpinBox(minimum=0.0, maximum=3600.0, decimals=2, singleStep=0.5, suffix=" s")
        self.fov = QDoubleSpinBox(minimum=5.0, maximum=150.0, decimals=1, singleStep=1.0, suffix=" °")
        self.loop = QCheckBox("loop back to the first keyframe")
        self.player = PathTimeline(self.path)
        self.timeline, self.play_button = self.player.slider, self.player.play_button
        self.save_button, self.load_button = QPushButton("Save path…"), QPushButton("Load path…")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self._layout()
        self._wire()
        preview.training.trainerChanged.connect(self._on_trainer)
        self._refresh()

    def _layout(self) -> None:
        grid = QGridLayout()
        for col, w in enumerate((self.add_preview_button, self.view_combo, self.add_view_button)):
            grid.addWidget(w, 0, col)
        for col, w in enumerate((self.up_button, self.down_button, self.delete_button)):
            grid.addWidget(w, 1, col)
        edit = QHBoxLayout()
        for label, w in (("time", self.time), ("field of view", self.fov)):
            edit.addWidget(QLabel(label))
            edit.addWidget(w)
        files = QHBoxLayout()
        files.addWidget(self.save_button)
        files.addWidget(self.load_button)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        title = QLabel("<b>Camera path</b> (keyframes; choose “designed path” above to export it)")
        title.setWordWrap(True)  # else its one line sets the Export tab's column width
        col.addWidget(title)
        col.addWidget(self.list)
        col.addLayout(grid)
        col.addLayout(edit)
        col.addWidget(self.loop)
        col.addWidget(self.player)
        col.addLayout(files)
        col.addWidget(self.status)

    def _wire(self) -> None:
        keys = self.keys
        self.add_preview_button.clicked.connect(self.add_preview_camera)
        self.add_view_button.clicked.connect(self.add_view)
        self.up_button.clicked.connect(lambda: self._edit(lambda i: keys.move(i, -1)))
        self.down_button.clicked.connect(lambda: self._edit(lambda i: keys.move(i, 1)))
        self.delete_button.clicked.connect(lambda: self._edit(keys.delete))
        self.time.valueChanged.connect(lambda v: self._edit(lambda i: keys.set_time(i, v)))
        self.fov.valueChanged.connect(lambda v: self._edit(lambda i: keys.set_fov(i, v)))
        self.list.currentRowChanged.connect(self._on_row)
        self.loop.toggled.connect(lambda on: (setattr(keys, "loop", on), self._refresh()))
        self.player.scrubbed.connect(self._on_scrub)
        self.save_button.clicked.connect(self.save_dialog)
        self.load_button.clicked.connect(self.load_dialog)

    def path(self) -> CameraPath | None:
        """The CameraPath of the keyframes at the scene's image size (None without keyframes)."""
        trainer = self.preview.trainer
        return self.keys.path(*((trainer.scene.width, trainer.scene.height) if trainer is not None else (640, 480)))

    def add_preview_camera(self) -> None:
        cam = self.preview.camera.camera
        if cam is None:
            self.status.setText("No preview camera yet: train a scene or open a run first.")
            return
        self._refresh(select=self.keys.add(cam))

    def add_view(self) -> None:
        trainer, view = self.preview.trainer, self.view_combo.currentData()
        if trainer is not None and view is not None:
            self._refresh(select=self.keys.add(trainer.view_camera(int(view))))

    def _edit(self, edit: Callable[[int], int]) -> None:
        """Apply ``edit`` (a KeyframeList edit of the selected keyframe, returning its new index) and show it."""
        row = self.list.currentRow()
        if not 0 <= row < len(self.keys.keyframes):
            return
        try:
            self._refresh(select=edit(row))
        except ValueError as exc:
            self.status.setText(str(exc))

    def _on_row(self, row: int) -> None:
        keys = self.keys.keyframes
        has = 0 <= row < len(keys)
        for w in (self.time, self.fov, self.up_button, self.down_button, self.delete_button):
            w.setEnabled(has)
        for spin, value in ((self.time, keys[row].time if has else None), (self.fov, keys[row].fov_deg if has else None)):
            spin.blockSignals(True)
            spin.setSpecialValueText("" if has else "—")  # no keyframe: "—", not a value of none
            spin.setValue(spin.minimum() if value is None else value)
            spin.blockSignals(False)

    def _refresh(self, select: int | None = None) -> None:
        row = self.list.currentRow() if select is None else select
        keys = self.keys.keyframes
        self.list.blockSignals(True)
        self.list.clear()
        for n, k in enumerate(keys):
            x, y, z = k.c2w[:3, 3]
            self.list.addItem(f"{n + 1}.  {k.time:6.2f} s   fov {k.fov_deg:5.1f}°   at ({x:.2f}, {y:.2f}, {z:.2f})")
        self.list.blockSignals(False)
        self.list.setCurrentRow(row if 0 <= row < len(keys) else -1)
        self._on_row(self.list.currentRow())
        path = self.path()
        for w in (self.player, self.save_button):
            w.setEnabled(path is not None)
        self.status.setText(f"{len(keys)} keyframes, {path.duration:.2f} s" if path else
                            "Add keyframes from the preview camera or from a view.")
        self.changed.emit()

    def _on_trainer(self) -> None:
        trainer = self.preview.trainer
        self.view_combo.clear()
        if trainer is None:
            return
        s = trainer.scene
        for i in range(s.num_views):
            role = "training" if i in s.train_ids else "test" if i in s.test_ids else "unused"
            self.view_combo.addItem(f"{role} view {i}", i)

    def _on_scrub(self, seconds: float) -> None:
        path = self.path()
        if path is not None and self.preview.trainer is not None:
            self.preview.camera.reset(path.camera_at(seconds))  # the preview follows

    def save_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save camera path", "camera_path.json", "camera path (*.json)")
        path = self.path()
        if name and path is not None:
            fps = float(self.fps_source.value()) if self.fps_source is not None else 24.0
            try:
                out = self.keys.save(Path(name), fps, path.width, path.height)
                self.status.setText(f"Saved {out.name}")
            except InputError as exc:
                self.status.setText(f"⚠ {exc}")

    def load_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Load camera path", "", "camera path (*.json)")
        if name:
            try:
                path = self.keys.load(Path(name))
            except InputError as exc:
                self.status.setText(f"⚠ {exc}")
                return
            self.loop.setChecked(path.loop)
            self._refresh(select=0)
            self.status.setText(f"Loaded {Path(name).name}: {len(path.keyframes)} keyframes")

    def showEvent(self, ev) -> None:  # noqa: N802 - Qt override
        self.preview.set_enabled(True, viewer=self)
        super().showEvent(ev)

    def hideEvent(self, ev) -> None:  # noqa: N802
        self.player.stop_playing()
        self.preview.set_enabled(False, viewer=self)
        super().hideEvent(ev)
