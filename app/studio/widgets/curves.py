"""Training curves: loss (log scale) and PSNR (train batch and held-out views) against step."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QHBoxLayout, QWidget

from app.studio.models.training_session import TrainHistory


class CurvesView(QWidget):
    """Two plots side by side sharing the step axis."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.loss_plot = pg.PlotWidget(title="loss")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.3)
        self.psnr_plot = pg.PlotWidget(title="PSNR (dB)")
        self.psnr_plot.setLabel("bottom", "step")
        self.psnr_plot.showGrid(x=True, y=True, alpha=0.3)
        self.psnr_plot.addLegend(offset=(-10, -10))
        self.psnr_plot.setXLink(self.loss_plot)
        self.loss = self.loss_plot.plot(pen=pg.mkPen("#ffaa00", width=2), name="total loss")
        self.train = self.psnr_plot.plot(pen=pg.mkPen("#2ecc40", width=2), name="train batch")
        self.test = self.psnr_plot.plot(pen=pg.mkPen("#3b8dff", width=2), symbol="o", symbolSize=6,
                                        symbolBrush="#3b8dff", name="held-out views")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.psnr_plot)

    def show_history(self, h: TrainHistory) -> None:
        steps = np.asarray(h.steps, dtype=float)
        loss = np.asarray(h.loss, dtype=float)
        ok = np.isfinite(loss) & (loss > 0)  # a log axis cannot show 0 or NaN
        self.loss.setData(steps[ok], loss[ok])
        psnr = np.asarray(h.train_psnr, dtype=float)
        good = np.isfinite(psnr)
        self.train.setData(steps[good], psnr[good])
        self.test.setData(np.asarray(h.test_steps, dtype=float), np.asarray(h.test_psnr, dtype=float))
