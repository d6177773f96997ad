"""Camera path editor (Export tab): keyframes from the preview camera or any view, reorder, delete, time and
field of view per keyframe, loop, a timeline that moves the preview camera, play, save / load camera_path.json."""

from __future__ import annotations

from dataclasses import replace
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

from app.studio.models.preview_session import PreviewSession
from devices.errors import InputError
from nerf.camera_path import CameraPath, Keyframe, keyframe_from_camera

SLIDER_STEPS = 1000
PLAY_FPS = 12
"""Timeline steps per second while playing (the preview renders small while its camera moves)."""


class PathEditor(QWidget):
    """Edits ``keyframes`` (sorted by time); ``path()`` is the CameraPath they make. Signal ``changed``."""

    changed = pyqtSignal()

    def __init__(self, preview: PreviewSession, parent=None) -> None:
        super().__init__(parent)
        self.preview = preview
        self.keyframes: list[Keyframe] = []
        self.closing_gap = 1.0
        """Seconds from the last keyframe back to the first when the path loops."""
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
        self.timeline = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=SLIDER_STEPS)
        self.play_button = QPushButton("▶ Play")
        self.save_button, self.load_button = QPushButton("Save path…"), QPushButton("Load path…")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self._player = QTimer(self, interval=round(1000 / PLAY_FPS))
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
        play = QHBoxLayout()
        play.addWidget(self.play_button)
        play.addWidget(self.timeline, 1)
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
        col.addLayout(play)
        col.addLayout(files)
        col.addWidget(self.status)

    def _wire(self) -> None:
        self.add_preview_button.clicked.connect(self.add_preview_camera)
        self.add_view_button.clicked.connect(self.add_view)
        self.up_button.clicked.connect(lambda: self.move(-1))
        self.down_button.clicked.connect(lambda: self.move(1))
        self.delete_button.clicked.connect(self.delete)
        self.list.currentRowChanged.connect(self._on_row)
        self.time.valueChanged.connect(self._on_time)
        self.fov.valueChanged.connect(self._on_fov)
        self.loop.toggled.connect(lambda _on: self._refresh())
        self.timeline.valueChanged.connect(self._on_scrub)
        self.play_button.clicked.connect(self.toggle_play)
        self._player.timeout.connect(self._play_step)
        self.save_button.clicked.connect(self.save_dialog)
        self.load_button.clicked.connect(self.load_dialog)

    # ------------------------------------------------------------------ the model
    def path(self) -> CameraPath | None:
        """The CameraPath of the keyframes at the scene's image size (None without keyframes)."""
        if not self.keyframes:
            return None
        trainer = self.preview.trainer
        w, h = (trainer.scene.width, trainer.scene.height) if trainer is not None else (640, 480)
        keys = self.keyframes
        duration = keys[-1].time - keys[0].time + (self.closing_gap if self.loop.isChecked() else 0.0)
        return CameraPath(tuple(keys), loop=self.loop.isChecked() and len(keys) > 1, duration=max(duration, 1e-3),
                          width=w, height=h)

    def _insert(self, key: Keyframe) -> None:
        self.keyframes = sorted([*self.keyframes, key], key=lambda k: k.time)
        self._refresh(select=self.keyframes.index(key))

    def _next_time(self) -> float:
        return self.keyframes[-1].time + 1.0 if self.keyframes else 0.0

    def add_preview_camera(self) -> None:
        cam = self.preview.camera.camera
        if cam is None:
            self.status.setText("No preview camera yet: train a scene or open a run first.")
            return
        self._insert(keyframe_from_camera(cam, self._next_time()))

    def add_view(self) -> None:
        trainer, view = self.preview.trainer, self.view_combo.currentData()
        if trainer is None or view is None:
            return
        self._insert(keyframe_from_camera(trainer.view_camera(int(view)), self._next_time()))

    def move(self, step: int) -> None:
        """Swap the selected keyframe's pose and field of view with its neighbour's; the times stay in place."""
        i = self.list.currentRow()
        j = i + step
        if i < 0 or not 0 <= j < len(self.keyframes):
            return
        a, b = self.keyframes[i], self.keyframes[j]
        self.keyframes[i], self.keyframes[j] = replace(b, time=a.time), replace(a, time=b.time)
        self._refresh(select=j)

    def delete(self) -> None:
        i = self.list.currentRow()
        if 0 <= i < len(self.keyframes):
            del self.keyframes[i]
            self._refresh(select=min(i, len(self.keyframes) - 1))

    def _on_row(self, row: int) -> None:
        has = 0 <= row < len(self.keyframes)
        for w in (self.time, self.fov, self.up_button, self.down_button, self.delete_button):
            w.setEnabled(has)
        if has:
            for spin, value in ((self.time, self.keyframes[row].time), (self.fov, self.keyframes[row].fov_deg)):
                spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(False)

    def _on_time(self, value: float) -> None:
        i = self.list.currentRow()
        if not 0 <= i < len(self.keyframes):
            return
        if any(abs(k.time - value) < 1e-6 for j, k in enumerate(self.keyframes) if j != i):
            self.status.setText(f"Another keyframe is at {value:g} s; pick another time.")
            return
        key = replace(self.keyframes[i], time=float(value))
        self.keyframes[i] = key
        self.keyframes.sort(key=lambda k: k.time)
        self._refresh(select=self.keyframes.index(key))

    def _on_fov(self, value: float) -> None:
        i = self.list.currentRow()
        if 0 <= i < len(self.keyframes):
            self.keyframes[i] = replace(self.keyframes[i], fov_deg=float(value))
            self._refresh(select=i)

    def _refresh(self, select: int | None = None) -> None:
        row = self.list.currentRow() if select is None else select
        self.list.blockSignals(True)
        self.list.clear()
        for n, k in enumerate(self.keyframes):
            x, y, z = k.c2w[:3, 3]
            self.list.addItem(f"{n + 1}.  {k.time:6.2f} s   fov {k.fov_deg:5.1f}°   at ({x:.2f}, {y:.2f}, {z:.2f})")
        self.list.blockSignals(False)
        self.list.setCurrentRow(row if 0 <= row < len(self.keyframes) else -1)
        self._on_row(self.list.currentRow())
        path = self.path()
        for w in (self.timeline, self.play_button, self.save_button):
            w.setEnabled(path is not None)
        self.status.setText(f"{len(self.keyframes)} keyframes, {path.duration:.2f} s" if path else
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

    # ------------------------------------------------------------------ timeline and playback
    def time_at_slider(self) -> float:
        path = self.path()
        return 0.0 if path is None else path.start + path.duration * self.timeline.value() / SLIDER_STEPS

    def _on_scrub(self, _value: int) -> None:
        path = self.path()
        if path is None or self.preview.trainer is None:
            return
        self.preview.camera.reset(path.camera_at(self.time_at_slider()))  # the preview follows

    def toggle_play(self) -> None:
        if self._player.isActive():
            self._player.stop()
            self.play_button.setText("▶ Play")
        elif self.path() is not None:
            self._player.start()
            self.play_button.setText("■ Stop")

    def _play_step(self) -> None:
        path = self.path()
        if path is None:
            self.toggle_play()
            return
        step = max(1, round(SLIDER_STEPS / (path.duration * PLAY_FPS)))
        self.timeline.setValue((self.timeline.value() + step) % (SLIDER_STEPS + 1))

    def stop_playing(self) -> None:
        if self._player.isActive():
            self.toggle_play()

    # ------------------------------------------------------------------ files
    def save(self, out: Path, fps: float) -> Path:
        from nerf.camera_path_json import save_camera_path

        path = self.path()
        if path is None:
            raise InputError(out, "no keyframes to save")
        return save_camera_path(replace(path, fps=float(fps)), out)

    def load(self, file: Path) -> CameraPath:
        from nerf.camera_path_json import load_camera_path

        path = load_camera_path(file).path
        if path is None:
            raise InputError(file, "has no keyframes to edit (only rendered frames)")
        self.keyframes = list(path.keyframes)
        span = path.keyframes[-1].time - path.keyframes[0].time
        self.closing_gap = path.duration - span if path.loop else 1.0
        self.loop.setChecked(path.loop)
        self._refresh(select=0)
        return path

    def save_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save camera path", "camera_path.json", "camera path (*.json)")
        if name:
            try:
                out = self.save(Path(name), self.window_fps())
                self.status.setText(f"Saved {out.name}")
            except InputError as exc:
                self.status.setText(f"⚠ {exc}")

    def load_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Load camera path", "", "camera path (*.json)")
        if name:
            try:
                path = self.load(Path(name))
                self.status.setText(f"Loaded {Path(name).name}: {len(path.keyframes)} keyframes")
            except InputError as exc:
                self.status.setText(f"⚠ {exc}")

    def window_fps(self) -> float:
        """The video's frame rate (the export panel sets ``fps_source``)."""
        source = getattr(self, "fps_source", None)
        return float(source.value()) if source is not None else 24.0

    def showEvent(self, ev) -> None:  # noqa: N802 - Qt override
        self.preview.set_enabled(True, viewer=self)
        super().showEvent(ev)

    def hideEvent(self, ev) -> None:  # noqa: N802
        self.stop_playing()
        self.preview.set_enabled(False, viewer=self)
        super().hideEvent(ev)
