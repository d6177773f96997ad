"""Export tab, geometry section: a mesh, a point cloud or depth maps of the trained scene (as `sparsenerf
export`), with the panel's progress bar and Cancel."""

from __future__ import annotations

from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.studio.types import GEOMETRY_KINDS, GeometryRequest
from nerf import GeometrySettings
from nerf.geometry_export import DEPTH_MODES, VIEW_SETS, describe_views

DEPTH_LABELS = {"normalised": "where the opacity lies (as renders)", "far_background": "transparent rest at the far bound"}
"""Labels of nerf.geometry_export.DEPTH_MODES, as `sparsenerf export --depth-mode` (docs/export.md: which for what)."""


class GeometrySection(QWidget):
    """The controls; ``request(width)`` is what they ask for, ``export_button`` starts it (the panel wires it)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        for key, label in GEOMETRY_KINDS.items():
            self.kind.addItem(label, key)
        self.views = QComboBox()
        for key in VIEW_SETS:
            self.views.addItem(describe_views(key, None), key)  # "auto": the rule, until a run is loaded
        defaults = GeometrySettings()  # the CLI's defaults
        self.views.setCurrentIndex(self.views.findData(defaults.views))
        self.min_acc = QDoubleSpinBox(minimum=0.0, maximum=0.99, singleStep=0.05, decimals=2, value=defaults.min_acc)
        self.depth_mode = QComboBox()
        for key in DEPTH_MODES:
            self.depth_mode.addItem(DEPTH_LABELS.get(key, key), key)
        self.depth_mode.setCurrentIndex(self.depth_mode.findData(defaults.depth_mode))
        self.min_views = QSpinBox(minimum=1, maximum=999, value=defaults.min_views)
        self.min_views.setToolTip("mesh: keep only surfaces at least this many of the views saw")
        self.kind.currentIndexChanged.connect(lambda: self.min_views.setEnabled(self.kind.currentData() == "mesh"))
        self.export_button = QPushButton("⤓ Export geometry")
        form = QFormLayout()
        form.addRow("export", self.kind)
        form.addRow("rendered from", self.views)
        form.addRow("min. opacity", self.min_acc)
        form.addRow("depth", self.depth_mode)
        form.addRow("mesh: min. views", self.min_views)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        title = QLabel("<b>Geometry export</b><br>rendered depth to a coloured point cloud, a mesh (TSDF fusion) "
                       "or depth maps; metres when the scene's depth is metric (docs/export.md)")
        title.setWordWrap(True)
        col.addWidget(title)
        col.addLayout(form)
        col.addWidget(self.export_button)

    def show_field(self, field: str | None) -> None:
        """Name what "auto" renders for a run of ``field`` (None: no run yet), as the export will resolve it."""
        self.views.setItemText(self.views.findData("auto"), describe_views("auto", field))

    def request(self, width: int | None) -> GeometryRequest:
        settings = GeometrySettings(views=self.views.currentData(), width=width, min_acc=self.min_acc.value(),
                                    depth_mode=self.depth_mode.currentData(), min_views=self.min_views.value())
        return GeometryRequest(kind=self.kind.currentData(), settings=settings)
