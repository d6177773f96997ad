"""Export panel: camera path (a preset or one designed in the path editor), resolution, fps, Export with a
progress bar, Cancel, Open the video; the geometry section (mesh, point cloud, depth maps) shares the bar."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt, QUrl
from PyQt6.QtGui import QDesktopServices
from PyQt6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.studio.models.export_job import ExportJob, ExportRequest
from app.studio.models.preview_session import PreviewSession
from app.studio.models.training_session import TrainingSession
from app.studio.types import PATH_KINDS, PreviewFrame, VideoSettings
from app.studio.widgets.geometry_section import GeometrySection
from app.studio.widgets.image_view import ImagePane
from app.studio.widgets.path_editor import PathEditor
from nerf import ACTIVE_STATES, RenderResult
from nerf.geometry_export import run_field

SCALES = (("full", 1.0), ("1/2", 0.5), ("1/4", 0.25))


class ExportPanel(QWidget):
    """View of an ExportJob."""

    def __init__(self, job: ExportJob, training: TrainingSession, preview: PreviewSession | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.job, self.training = job, training
        self.editor = PathEditor(preview) if preview is not None else None
        self.geometry = GeometrySection()
        self.path = QComboBox()
        for key, label in PATH_KINDS.items():
            self.path.addItem(label, key)
        self.scale = QComboBox()
        for label, value in SCALES:
            self.scale.addItem(label, value)
        self.scale.setCurrentIndex(0)  # the capture's full resolution
        self.frames = QSpinBox(minimum=2, maximum=3000, value=60)
        self.fps = QSpinBox(minimum=1, maximum=120, value=24)
        self.resolution = QLabel("")
        self.export_button = QPushButton("⤓ Export video")
        self.cancel_button = QPushButton("Cancel")
        self.open_button = QPushButton("Open video")
        self.bar = QProgressBar()
        self._depth_range: tuple[float, float] | None = None
        self.status = QLabel("")
        self._error = ""
        self.status.setWordWrap(True)
        self.frame_view = ImagePane("last exported frame (RGB | depth)")
        self._layout()
        if self.editor is not None:
            self.editor.fps_source = self.fps
            preview.rendered.connect(self._on_preview)
        self.geometry.export_button.clicked.connect(self.start_geometry)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(job.cancel)
        self.open_button.clicked.connect(self.open_video)
        self.scale.currentIndexChanged.connect(lambda _i: self._update_resolution())
        job.stateChanged.connect(self._on_state)
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.frame.connect(self._on_frame)
        job.error.connect(self._on_error)
        training.trainerChanged.connect(lambda: (self._update_resolution(), self._on_state(job.state),
                                                 self.geometry.show_field(run_field(training.trainer))))
        training.stateChanged.connect(lambda _s: self._on_state(job.state))
        training.snapshot.connect(lambda _s: self._on_state(job.state))  # the step it would export
        self._on_state(job.state)

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("camera path", self.path)
        form.addRow("resolution", self.scale)
        form.addRow("", self.resolution)
        form.addRow("frames", self.frames)
        form.addRow("frames per second", self.fps)
        buttons = QHBoxLayout()
        for b in (self.export_button, self.cancel_button, self.open_button):
            buttons.addWidget(b)
        left = QVBoxLayout()
        title = QLabel("<b>Video export</b><br>an MP4 of the trained scene along a camera path: rendered colour "
                       "(left) and depth (right, red = near) side by side")
        title.setWordWrap(True)
        left.addWidget(title)
        left.addLayout(form)
        left.addLayout(buttons)
        left.addWidget(self.bar)
        left.addWidget(self.status)
        if self.editor is not None:
            left.addWidget(self.editor)
        left.addWidget(self.geometry)
        left.addStretch(1)
        side = QWidget()
        side.setLayout(left)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        # as wide as its content plus the vertical scroll bar: it scrolls up and down, never sideways
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        width = max(440, side.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
                    + 2 * scroll.frameWidth())
        scroll.setFixedWidth(width)
        row = QHBoxLayout(self)
        row.addWidget(scroll)
        row.addWidget(self.frame_view, 1)

    def settings(self) -> VideoSettings:
        designed = self.editor.path() if self.editor is not None else None
        return VideoSettings(path=self.path.currentData(), frames=self.frames.value(),
                             scale=float(self.scale.currentData()), fps=self.fps.value(), designed=designed)

    def _update_resolution(self) -> None:
        trainer = self.training.trainer
        if trainer is not None:
            s = float(self.scale.currentData())
            self.resolution.setText(f"{round(trainer.scene.width * s)} x {round(trainer.scene.height * s)} px per half")

    def start(self) -> None:
        self._depth_range = None
        if self.editor is not None:
            self.editor.player.stop_playing()
        self.job.start(ExportRequest(self.settings()))

    def start_geometry(self) -> None:
        """Export the geometry section's choice at the resolution chosen above."""
        self._depth_range = None
        trainer = self.training.trainer
        width = None if trainer is None else max(8, round(trainer.scene.width * float(self.scale.currentData())))
        self.job.start(ExportRequest(self.settings(), geometry=self.geometry.request(width)))

    def _on_preview(self, frame: PreviewFrame) -> None:
        """The path editor's timeline moves the preview camera: show its renders here while no export runs."""
        result = frame.result
        if self.isVisible() and self.job.state not in ("waiting", "running"):
            from nerf import robust_range

            self.frame_view.show_rgb(self._side_by_side(result, robust_range(result.depth, result.acc > 0)))

    def open_video(self) -> None:
        if self.job.output is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.job.output)))

    def _on_state(self, state: str) -> None:
        """Buttons and the status line from the job's state and the training's (never left stale)."""
        busy = state in ("waiting", "running")
        self.export_button.setEnabled(not busy and self.training.trainer is not None)
        self.geometry.export_button.setEnabled(not busy and self.training.trainer is not None)
        self.cancel_button.setEnabled(busy)
        self.open_button.setEnabled(self.job.output is not None and not busy)
        if busy:
            self._error = ""
        if state == "cancelled":
            self.bar.setValue(0)
        self.status.setText(self._status_text(state))

    def _status_text(self, state: str) -> str:
        training, out = self.training, self.job.output
        if state == "waiting":
            return "Stopping the training first (its checkpoint is kept) …"
        if state == "running":
            what = "the video" if self.job.kind == "video" else self.geometry.kind.currentText()
            return f"Rendering {what} … (▶ Train waits until it is done or cancelled)"
        if state == "failed" and self._error:
            return f"⚠ Export failed: {self._error}"
        if state == "cancelled":
            return "Export cancelled; no file was left behind."
        if self._error:
            return f"⚠ {self._error}"
        if training.trainer is None:
            return "Train a scene (or open a run), then export a video of it: colour and depth side by side."
        name = training.run_dir.name if training.run_dir is not None else "the model"
        extra = " (Export stops the training first, keeping its checkpoint)" if training.state in ACTIVE_STATES else ""
        ready = f"Ready to export <b>{name}</b> at step {training.trainer.step_count}{extra}."
        if state == "done" and out is not None:
            return f"Saved <b>{out.name}</b><br>{out.parent}<br>{ready}"
        return ready

    def _on_error(self, message: str) -> None:
        self._error = message
        self.status.setText(self._status_text(self.job.state))

    def _on_progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, total)
        self.bar.setValue(done)
        self.bar.setFormat("frame %v / %m" if self.job.kind == "video" else "view %v / %m")

    def _on_frame(self, result: RenderResult) -> None:
        from nerf import MIN_ACC, robust_range

        if self._depth_range is None:  # fixed for the whole export, as in the video
            self._depth_range = robust_range(result.depth, result.acc > MIN_ACC)
        self.frame_view.show_rgb(self._side_by_side(result, self._depth_range))

    def _side_by_side(self, result: RenderResult, depth_range: tuple[float, float]):
        """The frame as the video draws it: the legend in metres on a metric scene (``nerf.legend_scale``)."""
        from nerf import legend_scale, side_by_side

        trainer = self.training.trainer
        scale = None if trainer is None else legend_scale(trainer.scene)
        return side_by_side(result, depth_range, metres_per_unit=scale)

    def _on_finished(self, _out: Path) -> None:
        self._on_state(self.job.state)

