"""Image panes: one pyqtgraph ImageItem each, updated with setImage(arr, autoLevels=False), row-major."""

from __future__ import annotations

import copy

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QSizePolicy

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

DEPTH_COLORMAP = "turbo"
"""Colour map of depth images, reversed as in the exported videos (nerf.colormap): near = red, far = blue;
holes (no measurement) are drawn black."""


def depth_colormap() -> pg.ColorMap:
    """A new reversed Turbo map (pg.colormap.get returns a shared cached object: never reverse that one)."""
    cmap = copy.deepcopy(pg.colormap.get(DEPTH_COLORMAP))
    cmap.reverse()
    return cmap


class ImagePane(pg.GraphicsLayoutWidget):
    """A titled RGB image [H, W, 3] uint8, fit to the pane with its aspect ratio kept."""

    def __init__(self, title: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setBackground("k")
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.title = self.addLabel(title, row=0, col=0, colspan=2)
        self.view = self.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.item)
        self._shape: tuple[int, ...] | None = None

    def set_title(self, text: str) -> None:
        self.title.setText(text)

    def show_rgb(self, rgb: np.ndarray) -> None:
        """rgb: uint8 [H, W, 3]."""
        self.item.setImage(rgb, autoLevels=False, levels=(0, 255))
        self._fit(rgb.shape[:2])

    def _fit(self, shape: tuple[int, ...]) -> None:
        if shape != self._shape:  # re-fit only when the size changes, so the view does not jitter
            self._shape = shape
            self.view.setRange(xRange=(0, shape[1]), yRange=(0, shape[0]), padding=0.0)


class DepthPane(ImagePane):
    """A depth map float32 [H, W] drawn with a colour map and a colour bar in ``unit`` (0 / NaN = hole, black)."""

    def __init__(self, title: str = "", unit: str = "m", parent=None) -> None:
        super().__init__(title, parent)
        self.bar = pg.ColorBarItem(values=(0.0, 4.0), colorMap=depth_colormap(),
                                   interactive=False, width=15)
        self.bar.setImageItem(self.item)
        self.addItem(self.bar, row=1, col=1)
        self.levels = (0.0, 4.0)
        self.set_unit(unit)

    def set_unit(self, unit: str) -> None:
        self.bar.axis.setLabel(f"depth ({unit})")

    def set_levels(self, low: float, high: float) -> None:
        if high <= low:
            high = low + 1e-3
        self.levels = (float(low), float(high))
        self.bar.setLevels(self.levels)

    def show_depth(self, depth: np.ndarray, auto_range: bool = False) -> None:
        """depth: float32 [H, W]; with ``auto_range`` the scale is fitted to this image's valid values."""
        d = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan).astype(np.float32)
        if auto_range and np.isfinite(d).any():
            low, high = nice_range(d, from_zero=False)  # as the videos' legend: the 1st-99th percentile
            old_low, old_high = self.levels
            inside = old_low <= low and high <= old_high
            if not (inside and high - low >= 0.5 * (old_high - old_low)):  # sticky: re-scale only on a real change
                self.set_levels(low, high)
        self.item.setImage(d, autoLevels=False, levels=self.levels)
        self._fit(d.shape)


def nice_range(depth: np.ndarray, from_zero: bool = True) -> tuple[float, float]:
    """(low, high) for a depth colour bar, rounded to a 'nice' step so the scale does not flicker: high is the
    99th percentile of the valid (finite) depth rounded up; low is 0 (the live sensor view: distance from the
    sensor) or, ``from_zero=False``, the 1st percentile rounded down (the novel view's depth, whose colours
    then match the exported videos' legend, ``nerf.robust_range``)."""
    valid = depth[np.isfinite(depth)]
    if not valid.size:
        return 0.0, 1.0
    bottom, top = (float(v) for v in np.percentile(valid, [1, 99]))
    step = 10 ** np.floor(np.log10(max(top, 1e-6))) / 2
    low = 0.0 if from_zero else float(np.floor(bottom / step) * step)
    return low, max(float(np.ceil(top / step) * step), low + step)
