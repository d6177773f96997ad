"""Edge-aware upsampling of low-resolution phone depth to the colour resolution, guided by colour.

The LiDAR depth of an iPhone is 256x192 while the colour image is up to 1920x1440. A bilinear
resize averages a near and a far sample into a depth that exists nowhere in the scene (a "flying
pixel") at every depth edge, which is exactly where SparseNeRF's ranking pairs are most useful.

``upsample_depth`` is a joint bilateral upsampling (Kopf et al. 2007) with one extra rule that makes
it safe at depth edges: each high-resolution pixel first picks the low-resolution sample that suits
it best (near in space *and* similar in colour), then averages only the samples whose depth is
within ``depth_tolerance`` of that one. Samples across a depth edge are never mixed; on a smooth
surface the result is a smooth weighted average.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from devices.frame import check_shape


@dataclass(frozen=True)
class UpsampleConfig:
    """Parameters of the joint bilateral depth upsampling."""

    radius: int = 1
    """Neighbourhood radius in low-resolution pixels ((2r+1)^2 candidate samples per output pixel)."""
    sigma_space: float = 0.75
    """Spatial Gaussian sigma, in low-resolution pixels."""
    sigma_color: float = 12.0
    """Colour Gaussian sigma, in 8-bit intensity units (Euclidean RGB distance)."""
    depth_tolerance: float = 0.03
    """Relative depth band around the best sample that may be averaged (0.03 = 3 %); 0 picks one sample."""


def scale_intrinsics(K: np.ndarray, src_size: tuple[int, int], dst_size: tuple[int, int]) -> np.ndarray:
    """Intrinsics of an image resized from ``src_size`` to ``dst_size`` (both (width, height)).

    Uses the OpenCV convention (pixel centres at integer coordinates) that ``cv2.resize`` follows:
    a point at ``u`` maps to ``(u + 0.5) * s - 0.5``, so ``cx' = (cx + 0.5) * sx - 0.5``.

    Args:
        K: float [3, 3] intrinsics at ``src_size``.
    Returns:
        float64 [3, 3] intrinsics at ``dst_size``.
    """
    K = np.asarray(K, dtype=np.float64)
    check_shape("K", K, (3, 3))
    sx, sy = dst_size[0] / src_size[0], dst_size[1] / src_size[1]
    out = K.copy()
    out[0, 0], out[1, 1] = K[0, 0] * sx, K[1, 1] * sy
    out[0, 2], out[1, 2] = (K[0, 2] + 0.5) * sx - 0.5, (K[1, 2] + 0.5) * sy - 0.5
    return out


def _low_res_coords(n_hi: int, n_lo: int) -> tuple[np.ndarray, np.ndarray]:
    """Continuous low-res coordinate of each high-res pixel centre, and the nearest low-res index."""
    x = (np.arange(n_hi, dtype=np.float32) + 0.5) * (n_lo / n_hi) - 0.5
    return x, np.clip(np.floor(x + 0.5), 0, n_lo - 1).astype(np.int64)


def upsample_depth(
    depth: np.ndarray, guide: np.ndarray, config: UpsampleConfig = UpsampleConfig()
) -> np.ndarray:
    """Upsample ``depth`` [h, w] to the size of ``guide`` [H, W, 3] without averaging across depth edges.

    Args:
        depth: float [h, w], 0 (or non-finite) = no measurement.
        guide: uint8 [H, W, 3] colour image of the same field of view.
        config: neighbourhood and weights.

    Returns:
        float32 [H, W]; 0 where no valid sample lies in the neighbourhood. Every output value is a
        weighted mean of input samples within ``depth_tolerance`` (relative) of the best-matching one.
    """
    check_shape("depth", depth, (None, None))
    check_shape("guide", guide, (None, None, 3))
    d = np.where(np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float32)
    h, w = d.shape
    H, W = guide.shape[:2]
    if (h, w) == (H, W):
        return d
    g_lo = cv2.resize(guide, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    xs, ix = _low_res_coords(W, w)
    ys, iy = _low_res_coords(H, h)
    out = np.empty((H, W), np.float32)
    for r0 in range(0, H, _BAND_ROWS):  # bands of rows bound the memory (9 candidates per pixel)
        r1 = min(H, r0 + _BAND_ROWS)
        band = _Grid(xs, ix, ys[r0:r1], iy[r0:r1])
        out[r0:r1] = _edge_safe_mean(_candidates(d, guide[r0:r1].astype(np.float32), g_lo, band, config),
                                     config.depth_tolerance)
    return out


_BAND_ROWS = 256


@dataclass(frozen=True)
class _Grid:
    """Low-res coordinates (continuous and nearest index) of a band of output pixels."""

    xs: np.ndarray
    ix: np.ndarray
    ys: np.ndarray
    iy: np.ndarray


def _candidates(d: np.ndarray, g_hi: np.ndarray, g_lo: np.ndarray, grid: _Grid,
                config: UpsampleConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight [B, W], depth [B, W]) of each neighbour offset; weight 0 where the sample is invalid."""
    h, w = d.shape
    r = int(config.radius)
    cands = []
    for dy in range(-r, r + 1):
        qy = np.clip(grid.iy + dy, 0, h - 1)[:, None]
        for dx in range(-r, r + 1):
            qx = np.clip(grid.ix + dx, 0, w - 1)[None, :]
            dq = d[qy, qx]
            dist2 = (qy - grid.ys[:, None]) ** 2 + (qx - grid.xs[None, :]) ** 2
            diff2 = np.sum((g_hi - g_lo[qy, qx]) ** 2, axis=-1)
            wq = np.exp(-dist2 / (2 * config.sigma_space**2) - diff2 / (2 * config.sigma_color**2))
            cands.append((np.where(dq > 0, wq + 1e-12, 0.0).astype(np.float32), dq))
    return cands


def _edge_safe_mean(cands: list[tuple[np.ndarray, np.ndarray]], tol: float) -> np.ndarray:
    """Weighted mean over candidates within ``tol`` (relative) of the highest-weight candidate."""
    best_w = np.zeros_like(cands[0][0])
    best_d = np.zeros_like(cands[0][1])
    for wq, dq in cands:
        better = wq > best_w
        best_w = np.where(better, wq, best_w)
        best_d = np.where(better, dq, best_d)
    num = np.zeros_like(best_d)
    den = np.zeros_like(best_d)
    band = tol * best_d
    for wq, dq in cands:
        keep = (wq > 0) & (np.abs(dq - best_d) <= band)
        num += np.where(keep, wq * dq, 0)
        den += np.where(keep, wq, 0)
    return np.where(den > 0, num / np.maximum(den, 1e-30), 0).astype(np.float32)


def upsample_nearest(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a label image (confidence) to ``size`` = (width, height).

    Uses the same pixel-centre mapping as ``upsample_depth``, so labels and depth line up.
    """
    h, w = image.shape[:2]
    _, ix = _low_res_coords(size[0], w)
    _, iy = _low_res_coords(size[1], h)
    return image[iy[:, None], ix[None, :]]
