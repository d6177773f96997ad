"""RegNeRF's depth-smoothness regulariser: total variation of expected depth over small patches.

RegNeRF (Niemeyer et al. 2022) renders 8x8 patches from random poses near the training views and
penalises squared differences between each pixel's expected depth and its right and lower
neighbours. SparseNeRF keeps it for DTU (weight decaying 400 -> 0.1 over 512 steps, see
``nerf.presets.DepthTV``).
"""

from __future__ import annotations

import torch


def depth_tv_loss(depth: torch.Tensor) -> torch.Tensor:  # depth: [P, S, S]
    """mean over patches and pixels of (d[i,j] - d[i,j+1])^2 + (d[i,j] - d[i+1,j])^2 (the last row/column excluded).

    Args:
        depth: [P, S, S] expected depth of P square patches of side S >= 2.
    Returns:
        scalar loss.
    """
    if depth.ndim != 3 or depth.shape[1] < 2 or depth.shape[2] < 2:
        raise ValueError(f"depth_tv_loss: expected [P, S, S] with S >= 2, got {tuple(depth.shape)}")
    d00 = depth[:, :-1, :-1]
    right = depth[:, :-1, 1:]
    down = depth[:, 1:, :-1]
    return ((d00 - right) ** 2 + (d00 - down) ** 2).mean()
