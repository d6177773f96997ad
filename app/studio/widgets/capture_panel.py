"""Capture panel: device list, live colour + depth with a metre scale, Record/Stop, frame counter, keyframes."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.studio.device_catalog import DeviceEntry
from app.studio.models.capture_session import CaptureSession
from app.studio.widgets.image_view import DepthPane, ImagePane, nice_range
from devices.frame import DepthKind, Frame, SourceInfo
from devices.scene_folder import SceneFolder


class KeyframeStrip(pg.PlotWidget):
    """One tick per recorded frame; the keyframes (the automatic training views) as big orange dots."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFixedHeight(70)
        self.setMouseEnabled(False, False)
        self.hideAxis("left")
        self.setLabel("bottom", "recorded frame (orange: keyframes picked as training views)")
        self.frames = self.plot([], [], pen=None, symbol="|", symbolSize=10, symbolBrush="#999", symbolPen="#999")
        self.keys = self.plot([], [], pen=None, symbol="o", symbolSize=11, symbolBrush="#ff9900", symbolPen="w")
        self.setYRange(-1, 1)

    def show_frames(self, count: int, keyframes: list[int]) -> None:
        xs = np.arange(count)
        self.frames.setData(xs, np.zeros(count))
        self.keys.setData(np.asarray(keyframes, dtype=float), np.zeros(len(keyframes)))
        self.setXRange(-0.5, max(count, 10) - 0.5, padding=0.02)


class CapturePanel(QWidget):
    """View of a CaptureSession."""

    def __init__(self, session: CaptureSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.devices = QListWidget()
        self.devices.setMaximumWidth(300)
        self.status = QLabel("Choose a sensor.")
        self.status.setWordWrap(True)
        self.record_button = QPushButton("● Record")
        self.record_button.setEnabled(False)
        self.record_button.setToolTip("Start / stop recording (R)")
        # A QShortcut, not QPushButton.setShortcut: setText() ("■ Stop") clears a button's own shortcut.
        self.record_key = QShortcut(QKeySequence("R"), self)
        self.record_key.activated.connect(self._record_key)
        self.counter = QLabel("")
        self.counter.setWordWrap(True)
        # Fixed heights: the Record button must not move as these texts change length (a click meant for
        # Stop would miss it).
        lines = self.fontMetrics().lineSpacing()
        self.status.setFixedHeight(3 * lines + 6)
        self.counter.setFixedHeight(5 * lines + 6)
        self.counter.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.colour = ImagePane("colour")
        self.depth = DepthPane("depth")
        self.strip = KeyframeStrip()
        self._layout()
        self._fps_times: list[float] = []
        self._levels_set = False
        self.devices.currentRowChanged.connect(session.select)
        self.record_button.clicked.connect(self._toggle_record)
        session.devicesChanged.connect(self._show_devices)
        session.deviceSelected.connect(self.devices.setCurrentRow)
        session.sourceOpened.connect(self._on_opened)
        session.frameArrived.connect(self._on_frame)
        session.liveChanged.connect(self._on_live)
        session.recordingChanged.connect(self._on_recording)
        session.framesRecorded.connect(self._on_counted)
        session.recordingFinished.connect(self._on_finished)
        session.error.connect(lambda msg: self.status.setText(f"⚠ {msg}"))

    def _layout(self) -> None:
        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Sensors</b>"))
        left.addWidget(self.devices, 1)
        left.addWidget(self.status)
        left.addWidget(self.record_button)
        left.addWidget(self.counter)
        side = QWidget()
        side.setLayout(left)
        images = QSplitter(Qt.Orientation.Horizontal)
        images.addWidget(self.colour)
        images.addWidget(self.depth)
        right = QVBoxLayout()
        right.addWidget(images, 1)
        right.addWidget(self.strip)
        view = QWidget()
        view.setLayout(right)
        row = QHBoxLayout(self)
        row.addWidget(side)
        row.addWidget(view, 1)

    def _show_devices(self, devices: list[DeviceEntry]) -> None:
        self.devices.blockSignals(True)
        self.devices.clear()
        for d in devices:
            item = QListWidgetItem(d.label if d.available else f"{d.label}\n   unavailable: {d.reason}")
            item.setToolTip(d.reason or f"{d.label}: ready")
            if not d.available:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled & ~Qt.ItemFlag.ItemIsSelectable)
            self.devices.addItem(item)
        self.devices.setWordWrap(True)
        self.devices.blockSignals(False)

    def _on_opened(self, info: SourceInfo) -> None:
        self._levels_set = False
        unit = "m" if info.depth_kind is DepthKind.METRIC else info.depth_kind.value
        self.depth.set_unit(unit)
        self.status.setText(f"{info.name}: {info.width}x{info.height} at {info.fps:g} fps")

    def _on_frame(self, frame: Frame) -> None:
        if not self.isVisible():  # another tab is on top: drawing frames nobody sees only costs CPU
            return
        self.colour.show_rgb(frame.rgb)
        if frame.depth is not None:
            if not self._levels_set:
                self.depth.set_levels(*nice_range(np.where(frame.depth > 0, frame.depth, np.nan)))
                self._levels_set = True
            self.depth.show_depth(frame.depth)
        now = time.monotonic()
        self._fps_times = [t for t in self._fps_times if now - t < 1.0] + [now]
        self.colour.set_title(f"colour · frame {frame.index} · {len(self._fps_times)} fps")

    def _on_live(self, live: bool) -> None:
        self.record_button.setEnabled(live)
        if not live:
            self.colour.set_title("colour (sensor stopped)")

    def _record_key(self) -> None:
        if self.record_button.isEnabled():
            self.record_button.click()

    def _toggle_record(self) -> None:
        if self.session.recording:
            self.session.stop_recording()
        else:
            out = self.session.start_recording()
            if out is not None:
                self.counter.setText(f"Recording into {out}")

    def _on_recording(self, recording: bool) -> None:
        self.record_button.setText("■ Stop" if recording else "● Record")
        self.record_button.setStyleSheet("background:#c0392b;color:white" if recording else "")

    def _on_counted(self, count: int, keyframes: list[int]) -> None:
        self.strip.show_frames(count, keyframes)
        word = "Recording" if self.session.recording else "Recorded"
        st = self.session.stats
        rate = f"{st.fps:.1f} fps" if st.fps > 0 else "— fps"
        nominal = f" of {st.nominal_fps:g}" if st.nominal_fps > 0 else ""
        self.counter.setText(f"{word}: <b>{count}</b> frames · {rate}{nominal} · {st.dropped} dropped"
                             f"<br>keyframes (training views): {keyframes}")

    def _on_finished(self, scene: SceneFolder) -> None:
        warn = ("<br><b style='color:#e67e22'>⚠ only 1 frame: SparseNeRF needs at least 2 views "
                "(record longer)</b>" if len(scene) < 2 else "")
        self.counter.setText(f"Saved <b>{len(scene)}</b> frames to<br>{scene.root}<br>"
                             f"training views {scene.train_ids} · open the Scene tab{warn}")
