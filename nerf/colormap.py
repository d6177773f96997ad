"""Colour-mapping depth for previews and videos: the perceptual Turbo map as a 256-entry lookup table.

Turbo (Mikhailov 2019, Google) keeps the rainbow's detail without jet's false edges. The table is
OpenCV's COLORMAP_TURBO sampled once at import (RGB order).
"""

from __future__ import annotations

import cv2
import numpy as np

TURBO_LUT: np.ndarray = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_TURBO)[:, 0, ::-1].copy()
"""uint8 [256, 3] RGB: index 0 = dark blue (low), 255 = dark red (high)."""


def robust_range(values: np.ndarray, valid: np.ndarray | None = None, lo_pct: float = 1.0,
                 hi_pct: float = 99.0) -> tuple[float, float]:
    """(lo, hi) percentiles of the finite (and ``valid``) values [H, W]; (0, 1) when there are none."""
    ok = np.isfinite(values) if valid is None else (np.isfinite(values) & valid)
    if not ok.any():
        return 0.0, 1.0
    lo, hi = np.percentile(values[ok], [lo_pct, hi_pct])
    return float(lo), float(hi) if hi > lo else float(lo) + 1e-6


def colorize(values: np.ndarray, value_range: tuple[float, float], valid: np.ndarray | None = None,
             near_is_warm: bool = True) -> np.ndarray:
    """uint8 [H, W, 3] RGB of ``values`` [H, W] through Turbo; invalid or non-finite pixels are black.

    Values are clipped to ``value_range``; with ``near_is_warm`` small values (near) are red.
    """
    lo, hi = value_range
    ok = np.isfinite(values) if valid is None else (np.isfinite(values) & valid)
    x = np.clip((np.nan_to_num(values, nan=lo, posinf=hi, neginf=lo) - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    if near_is_warm:
        x = 1.0 - x
    rgb = TURBO_LUT[np.round(x * 255).astype(np.int64)]
    rgb[~ok] = 0
    return rgb
