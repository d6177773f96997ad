"""Live preview: the novel view and its depth, beside the nearest captured frame; the mouse moves the camera.

Left drag orbits, right or middle drag pans, the wheel zooms. A combo box snaps to any training or test view.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PyQt6.QtCore import QPointF, Qt, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.studio.models.preview_camera import PreviewCamera
from app.studio.models.preview_session import PreviewSession
from app.studio.types import PreviewFrame
from app.studio.widgets.image_view import DepthPane, ImagePane
from nerf import MIN_ACC, RenderResult, legend_scale

MOUSE_HELP = "left-drag: orbit · right-drag: pan · wheel: zoom"
MOVED_TEXT = "— (moved by the mouse)"
"""What the snap-to-view box says once the mouse has moved the camera off the view it snapped to."""
FAILURE_SHOWN_S = 3.0
"""A failed render stays said this long, although the renders after it (the same drag) succeed at once."""


class MouseCameraPane(ImagePane):
    """The novel-view pane; mouse drags and the wheel drive a PreviewCamera (``moved`` after each such move)."""

    moved = pyqtSignal()

    def __init__(self, camera: PreviewCamera, title: str, parent=None) -> None:
        super().__init__(title, parent)
        self.camera = camera
        self._last: QPointF | None = None
        self._button = Qt.MouseButton.NoButton
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def mousePressEvent(self, ev) -> None:  # noqa: N802 - Qt override
        self._last, self._button = ev.position(), ev.button()
        ev.accept()

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        if self._last is None:
            return
        d = ev.position() - self._last
        self._last = ev.position()
        if self._button == Qt.MouseButton.LeftButton:
            self.camera.orbit(d.x(), d.y())
        else:
            self.camera.pan(d.x(), d.y())
        self.moved.emit()
        ev.accept()

    def mouseReleaseEvent(self, ev) -> None:  # noqa: N802
        self._last = None
        ev.accept()

    def wheelEvent(self, ev) -> None:  # noqa: N802
        self.camera.zoom(ev.angleDelta().y() / 120.0)
        self.moved.emit()
        ev.accept()


class PreviewView(QWidget):
    """View of a PreviewSession (and its PreviewCamera)."""

    def __init__(self, session: PreviewSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.novel = MouseCameraPane(session.camera, "novel view (drag me)")
        self.depth = DepthPane("rendered depth")
        self.nearest = ImagePane("nearest captured frame")
        self.snap = QComboBox()
        self.snap.setMinimumWidth(160)
        self.snap.setPlaceholderText(MOVED_TEXT)  # shown while no view is chosen (index -1)
        self.info = QLabel("Start training to see the novel view.")
        self.info.setToolTip(MOUSE_HELP)
        self.renders = 0
        self.last: RenderResult | None = None
        self._failure: tuple[float, str] | None = None  # (when, message) of the last failed render
        row = QHBoxLayout()
        for pane in (self.novel, self.depth, self.nearest):
            row.addWidget(pane, 1)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("snap to view:"))
        bar.addWidget(self.snap)
        bar.addWidget(self.info, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addLayout(row, 1)
        self.snap.activated.connect(self._snap)
        self.novel.moved.connect(lambda: self.snap.setCurrentIndex(-1))  # no longer at the view it names
        session.rendered.connect(self._on_rendered)
        session.failed.connect(self._on_failed)
        session.training.trainerChanged.connect(self._on_trainer)  # a bound method: called with no argument

    def showEvent(self, ev) -> None:  # noqa: N802 - Qt override
        self.session.set_enabled(True)
        super().showEvent(ev)

    def hideEvent(self, ev) -> None:  # noqa: N802
        self.session.set_enabled(False)  # another tab is on top: no renders for nobody
        super().hideEvent(ev)

    def _on_trainer(self) -> None:
        trainer = self.session.trainer
        self.snap.clear()
        if trainer is None:
            return
        scene = trainer.scene
        for i in scene.train_ids:
            self.snap.addItem(f"training view {i}", i)
        for i in scene.test_ids:
            self.snap.addItem(f"test view {i}", i)
        self.snap.setCurrentIndex(0)  # where the camera starts (with a placeholder set, Qt selects nothing itself)
        self.depth.set_unit("NDC" if scene.ndc else ("m" if legend_scale(scene) else "scene units"))

    def _snap(self, row: int) -> None:
        trainer = self.session.trainer
        if trainer is not None and row >= 0:
            self.session.camera.reset(trainer.view_camera(int(self.snap.itemData(row))))

    def _on_rendered(self, frame: PreviewFrame) -> None:
        result, nearest = frame.result, frame.nearest
        self.renders += 1
        self.last = result
        self.novel.show_rgb(result.rgb)
        self.depth.show_depth(display_depth(result, self.session.trainer), auto_range=True)
        text = f"step {result.step} · {result.camera.width}x{result.camera.height} px · {MOUSE_HELP}"
        if self._failure is not None and time.monotonic() - self._failure[0] < FAILURE_SHOWN_S:
            text = f"⚠ a preview render failed: {self._failure[1]} · {text}"
        self.info.setText(text)
        trainer = self.session.trainer
        if nearest is not None and trainer is not None:
            img = (np.clip(trainer.scene.images[nearest], 0, 1) * 255).astype(np.uint8)
            self.nearest.show_rgb(img)
            self.nearest.set_title(f"nearest captured frame ({nearest})")


    def _on_failed(self, message: str) -> None:
        self._failure = (time.monotonic(), message)
        self.info.setText(f"⚠ preview render failed: {message} · move the view to try again")


def display_depth(result: RenderResult, trainer: Any) -> np.ndarray:
    """float32 [H, W] depth to show: metres when the scene knows its scale; 0 (black) where the render is not
    mostly opaque (``nerf.MIN_ACC``, as the exported videos): the expected depth of a nearly transparent ray is
    a little fog right in front of the camera, which painted a "near" band along the edges no view saw."""
    depth = np.where(result.acc > MIN_ACC, result.depth, 0.0).astype(np.float32)
    scale = None if trainer is None or result.depth_is_ndc else legend_scale(trainer.scene)
    return depth * np.float32(scale) if scale else depth
