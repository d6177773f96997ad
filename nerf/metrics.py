"""Image and depth metrics as the original evaluation computes them (pure functions, numpy/torch).

SSIM follows the definition the SparseNeRF evaluation uses (scikit-image's defaults): a 7 x 7
uniform window, data range 1, K1 = 0.01, K2 = 0.03, sample (N - 1) covariances, the SSIM map
averaged over every window that fits inside the image, per channel, then the channel mean.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from devices.frame import check_shape

SSIM_WIN = 7
SSIM_K1 = 0.01
SSIM_K2 = 0.03


MSE_FLOOR = 1e-12
"""The smallest mean squared error the training's curves report (120 dB: a number JSON can hold)."""


def psnr_from_mse(mse: float, floor: float = 0.0) -> float:
    """PSNR in dB of a mean squared error of images in [0, 1]: -10 log10(max(mse, floor)); inf where that is 0
    (``floor=MSE_FLOOR`` for the training's curves)."""
    mse = max(mse, floor)
    return math.inf if mse == 0 else -10.0 * math.log10(mse)


def psnr(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB of images [H, W, 3] in [0, 1]: -10 log10(MSE), over ``mask`` [H, W] pixels when given."""
    check_shape("gt", gt, np.shape(pred))
    if mask is not None:
        check_shape("mask", mask, np.shape(pred)[:-1])
    err = (np.asarray(pred, np.float64) - np.asarray(gt, np.float64)) ** 2
    if mask is not None:
        err = err[np.asarray(mask, bool)]
    return psnr_from_mse(float(err.mean()))


def ssim_map(pred: np.ndarray, gt: np.ndarray, win: int = SSIM_WIN, data_range: float = 1.0) -> np.ndarray:
    """SSIM of every window position: [H - win + 1, W - win + 1, C] for images [H, W, C]."""
    check_shape("pred", pred, (None, None, None))
    check_shape("gt", gt, np.shape(pred))
    x = torch.from_numpy(np.asarray(pred, np.float64)).permute(2, 0, 1)[:, None]  # [C, 1, H, W]
    y = torch.from_numpy(np.asarray(gt, np.float64)).permute(2, 0, 1)[:, None]
    if min(x.shape[-2:]) < win:
        raise ValueError(f"ssim: images {tuple(x.shape[-2:])} are smaller than the {win}x{win} window")

    def mean(t: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(t, win, stride=1)

    n = win * win
    cov_norm = n / (n - 1)  # sample covariance, as scikit-image's default
    ux, uy = mean(x), mean(y)
    vx = cov_norm * (mean(x * x) - ux * ux)
    vy = cov_norm * (mean(y * y) - uy * uy)
    vxy = cov_norm * (mean(x * y) - ux * uy)
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s[:, 0].permute(1, 2, 0).numpy()


def ssim(pred: np.ndarray, gt: np.ndarray, win: int = SSIM_WIN) -> float:
    """Mean SSIM of images [H, W, C] in [0, 1] (per channel over all full windows, then over channels)."""
    return float(ssim_map(pred, gt, win).mean(axis=(0, 1)).mean())


def apply_mask(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` [H, W, C] with the pixels outside ``mask`` [H, W] set to 0 (black background, DTU masked)."""
    return np.asarray(image) * np.asarray(mask, bool)[..., None]


def depth_errors(pred_m: np.ndarray, sensor_m: np.ndarray) -> tuple[float, float, int]:
    """(abs-rel, RMSE in metres, valid pixel count) of predicted vs sensor depth [H, W], both metres.

    Valid pixels: sensor depth > 0 and both finite. NaN values when no pixel is valid.
    """
    pred_m, sensor_m = np.asarray(pred_m, np.float64), np.asarray(sensor_m, np.float64)
    check_shape("sensor_m", sensor_m, pred_m.shape)
    valid = (sensor_m > 0) & np.isfinite(sensor_m) & np.isfinite(pred_m)
    n = int(valid.sum())
    if n == 0:
        return math.nan, math.nan, 0
    diff = pred_m[valid] - sensor_m[valid]
    return float(np.mean(np.abs(diff) / sensor_m[valid])), float(np.sqrt(np.mean(diff**2))), n
