"""Training curves: loss (log scale) and PSNR (train batch and held-out views) against step."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QHBoxLayout, QWidget

from app.studio.models.training_session import TrainHistory


class LossAxis(pg.AxisItem):
    """A log axis that always has labels. pyqtgraph's log axis ticks only 1..9 x 10^k; a loss that stays inside one
    such step (0.13-0.17 in a run's first seconds) got an axis with no number at all. Then: ticks at round
    values inside the range, labelled with as many digits as they need."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803 - pyqtgraph's names
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        if sum(len(values) for _, values in ticks) >= 2:
            return ticks
        return [(None, np.log10(round_ticks(10.0 ** minVal, 10.0 ** maxVal)).tolist())]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802
        return [f"{v:.3g}" for v in 10.0 ** np.asarray(values, dtype=float) * scale]


def round_ticks(low: float, high: float) -> np.ndarray:
    """Two to six round values (1, 2 or 5 x 10^k apart) between ``low`` and ``high`` (0 < low < high): the largest
    such step that fits twice into the range."""
    half = max(high - low, 1e-12) / 2
    base = 10.0 ** np.floor(np.log10(half))
    step = base * max(m for m in (1.0, 2.0, 5.0) if m * base <= half * (1 + 1e-9))
    return np.arange(np.ceil(low / step) * step, high + 1e-9 * step, step)


class CurvesView(QWidget):
    """Two plots side by side sharing the step axis."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.loss_plot = pg.PlotWidget(title="loss", axisItems={"left": LossAxis("left")})
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
