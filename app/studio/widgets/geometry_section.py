"""Export tab, geometry section: a mesh, a point cloud or depth maps of the trained scene (as `sparsenerf
export`), with the panel's progress bar and Cancel."""

from __future__ import annotations

from PyQt6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.studio.types import GEOMETRY_KINDS, GeometryRequest
from nerf import GeometrySettings

VIEW_LABELS = {"all": "every view of the scene", "train": "the training views", "test": "the held-out views",
               "path": "a loop through the training views"}


class GeometrySection(QWidget):
    """The controls; ``request(width)`` is what they ask for, ``export_button`` starts it (the panel wires it)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        for key, label in GEOMETRY_KINDS.items():
            self.kind.addItem(label, key)
        self.views = QComboBox()
        for key, label in VIEW_LABELS.items():
            self.views.addItem(label, key)
        self.min_acc = QDoubleSpinBox(minimum=0.0, maximum=0.99, singleStep=0.05, decimals=2, value=0.5)
        self.export_button = QPushButton("⤓ Export geometry")
        form = QFormLayout()
        form.addRow("export", self.kind)
        form.addRow("rendered from", self.views)
        form.addRow("min. opacity", self.min_acc)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        title = QLabel("<b>Geometry export</b><br>rendered depth to a coloured point cloud, a mesh (TSDF fusion) "
                       "or depth maps; metres when the scene's depth is metric (docs/export.md)")
        title.setWordWrap(True)
        col.addWidget(title)
        col.addLayout(form)
        col.addWidget(self.export_button)

    def request(self, width: int | None) -> GeometryRequest:
        settings = GeometrySettings(views=self.views.currentData(), width=width, min_acc=self.min_acc.value())
        return GeometryRequest(kind=self.kind.currentData(), settings=settings)
