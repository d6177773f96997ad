"""Scene panel: thumbnails with the train/test split (click to change it) and the 3D view."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QSize, Qt
from PyQt6.QtGui import QBrush, QColor, QIcon, QImage, QPalette, QPixmap
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.studio.models.scene_model import SceneModel, poses_backup
from app.studio.types import SceneData
from app.studio.widgets.scene_3d import Scene3DView
from devices.frame import DepthKind

TRAIN_COLOR = QColor("#2ecc40")
TEST_COLOR = QColor("#3b8dff")
UNUSED_COLOR = QColor("#555555")
SELECTION_COLOR = QColor("#f5b041")
"""The clicked thumbnail's frame: amber, unlike any role colour (Qt's default selection is a test-view blue)."""


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    """uint8 [H, W, 3] -> QPixmap (copied, so the array may go away)."""
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    return QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())


class ScenePanel(QWidget):
    """View of a SceneModel."""

    def __init__(self, model: SceneModel, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.title = QLabel("No scene yet: record one on the Capture tab, or File ▸ Open / Import.")
        self.title.setWordWrap(True)
        self.help = QLabel("Click a thumbnail to add it to or remove it from the training views. "
                           "<span style='color:#2ecc40'>■ training</span> "
                           "<span style='color:#3b8dff'>■ held-out test</span> "
                           "<span style='color:#888'>■ unused</span>")
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListView.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(96, 72))
        self.thumbs.setResizeMode(QListView.ResizeMode.Adjust)
        self.thumbs.setMovement(QListView.Movement.Static)
        self.thumbs.setSpacing(4)
        palette = self.thumbs.palette()
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            palette.setColor(group, QPalette.ColorRole.Highlight, SELECTION_COLOR)
            palette.setColor(group, QPalette.ColorRole.HighlightedText, QColor("black"))
        self.thumbs.setPalette(palette)
        self.k = QSpinBox(minimum=1, maximum=50, value=3)
        self.auto = QPushButton("Automatic few-shot split")
        self.poses = QPushButton("Estimate poses")
        self.poses.setToolTip("Camera poses from the depth by RGB-D odometry, loop closure and a pose graph "
                              "(as `sparsenerf poses`); needed for captures whose sensor gives no poses")
        self.poses.setEnabled(False)
        self.undo_poses = QPushButton("Undo poses")
        self.undo_poses.setToolTip("Put back the camera poses the scene had before the last Estimate poses")
        self.undo_poses.setEnabled(False)
        self.confirm = QMessageBox(QMessageBox.Icon.Question, "Estimate poses",
                                   "This scene already has camera poses. Replace them with poses estimated from "
                                   "the depth? (Undo poses puts the current ones back.)",
                                   QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        self.confirm.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.confirm.accepted.connect(self._estimate)
        self.pose_bar = QProgressBar()
        self.pose_bar.hide()
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.view3d = Scene3DView()
        self._layout()
        self.thumbs.itemClicked.connect(self._toggle)
        self.auto.clicked.connect(lambda: model.auto_split.start(self.k.value()))
        model.auto_split.busyChanged.connect(self._on_splitting)
        self.poses.clicked.connect(self._ask_estimate)
        self.undo_poses.clicked.connect(model.undo_poses)
        model.posesProgress.connect(self._pose_progress)
        model.posesEstimated.connect(lambda text: self.note.setText(f"Poses estimated: {text}"))
        model.error.connect(lambda _m: self.pose_bar.hide())
        model.loading.connect(lambda p: self.title.setText(f"Loading {p} …"))
        model.sceneChanged.connect(self._show_scene)
        model.splitChanged.connect(self._show_split)
        model.error.connect(lambda msg: self.title.setText(f"⚠ {msg}"))

    def _layout(self) -> None:
        tools = QHBoxLayout()
        tools.addWidget(QLabel("training views K ="))
        tools.addWidget(self.k)
        tools.addWidget(self.auto)
        tools.addWidget(self.poses)
        tools.addWidget(self.undo_poses)
        tools.addWidget(self.pose_bar)
        tools.addStretch(1)
        left = QVBoxLayout()
        for w in (self.title, self.help):
            left.addWidget(w)
        left.addLayout(tools)
        left.addWidget(self.note)
        left.addWidget(self.thumbs, 1)
        lw = QWidget()
        lw.setLayout(left)
        caption = QLabel("<b>3D view</b>: cameras (<span style='color:#2ecc40'>training</span>, "
                         "<span style='color:#3b8dff'>test</span>, <span style='color:#888'>unused</span>) and "
                         "the point cloud of the depth · drag to rotate, wheel to zoom")
        caption.setWordWrap(True)
        right = QVBoxLayout()
        right.addWidget(caption)
        right.addWidget(self.view3d, 1)
        rw = QWidget()
        rw.setLayout(right)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(lw)
        split.addWidget(rw)
        split.setSizes([500, 500])
        QVBoxLayout(self).addWidget(split)

    def _pose_progress(self, done: int, total: int) -> None:
        self.pose_bar.show()
        self.pose_bar.setRange(0, max(total, 0))
        self.pose_bar.setValue(done)

    def _ask_estimate(self) -> None:
        """Estimate at once when the scene has no poses; otherwise ask first (the dialog's Yes estimates)."""
        if self.model.has_poses:
            self.confirm.open()
        else:
            self._estimate()

    def _estimate(self) -> None:
        self.model.estimate_poses(train_views=self.k.value())

    def _show_scene(self, data: SceneData) -> None:
        f = data.folder
        editable = self.model.editable
        self.pose_bar.hide()
        self.poses.setEnabled(editable and f.has_depth and f.depth_kind is DepthKind.METRIC)
        self.undo_poses.setEnabled(editable and poses_backup(f.root) is not None)
        self.auto.setEnabled(self.model.auto_split.can_start)
        self.k.setEnabled(editable)
        if len(f) < 2:
            self.note.setText(f"⚠ Only {len(f)} frame: SparseNeRF needs at least 2 views (training and a held-out "
                              "one); ▶ Train would fail. Record or import a longer capture.")
        elif not f.has_poses:
            self.note.setText("⚠ This scene has no camera poses yet: press <b>Estimate poses</b> before training.")
        elif not editable:
            self.note.setText(f"{data.dataset.upper()} scene, opened as `sparsenerf train` reads it: its split is the "
                              "benchmark's and cannot be edited.")
        elif self.note.text().startswith(("⚠", "DTU")):
            self.note.setText("")
        self.title.setText(f"<b>{f.root.name}</b> — {len(f)} frames, sensor {f.sensor}, depth {f.depth_kind.value}")
        self.thumbs.clear()
        for i, thumb in enumerate(data.thumbnails):
            item = QListWidgetItem(QIcon(to_pixmap(thumb)), str(i))
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.thumbs.addItem(item)
        self.k.setValue(max(1, len(f.train_ids)) if f.train_ids else 3)
        self.view3d.show_scene(data)

    def _show_split(self, train: list[int], test: list[int]) -> None:
        train_set, test_set = set(train), set(test)
        for row in range(self.thumbs.count()):
            item = self.thumbs.item(row)
            i = item.data(Qt.ItemDataRole.UserRole)
            role = "train" if i in train_set else "test" if i in test_set else "unused"
            color = TRAIN_COLOR if role == "train" else TEST_COLOR if role == "test" else UNUSED_COLOR
            item.setBackground(QBrush(color))
            item.setText(f"{i} {role}")
            pose = self.model.pose_note(i)
            item.setToolTip(f"view {i}: {self.model.reason(i, role)}" + (f"\n{pose}" if pose else ""))
        if train:
            self.k.setValue(len(train))  # K follows the split, however it was made
        self.view3d.show_split(train, test)

    def _toggle(self, item: QListWidgetItem) -> None:
        data = self.model.data
        if data is None:
            return
        i = item.data(Qt.ItemDataRole.UserRole)
        self.model.set_training_view(i, i not in data.folder.train_ids)

    def _on_splitting(self, busy: bool) -> None:
        """While the automatic split reads the depth maps (on its own thread) its button waits."""
        self.auto.setEnabled(self.model.auto_split.can_start)
        self.auto.setText("Choosing views …" if busy else "Automatic few-shot split")
