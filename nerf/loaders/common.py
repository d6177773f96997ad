"""Small helpers shared by the loaders: image/depth resizing and intrinsics scaling."""

from __future__ import annotations

import cv2
import numpy as np


def downscale_image(img: np.ndarray, factor: int) -> np.ndarray:
    """Area-average an image [H, W, C] by an integer ``factor`` (1: unchanged)."""
    if factor == 1:
        return img
    h, w = img.shape[:2]
    return cv2.resize(img, (w // factor, h // factor), interpolation=cv2.INTER_AREA)


def downscale_depth(depth: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour downscale of a depth map [H, W] (never mixes invalid zeros into valid values)."""
    if factor == 1:
        return depth
    h, w = depth.shape
    return cv2.resize(depth, (w // factor, h // factor), interpolation=cv2.INTER_NEAREST)


def scale_K(K: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Intrinsics [..., 3, 3] of the image resized by (sx, sy) (pixel centres at i + 0.5)."""
    K = np.array(K, dtype=np.float64, copy=True)
    K[..., 0, :] *= sx
    K[..., 1, :] *= sy
    return K
