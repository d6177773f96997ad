"""Trilinear interpolation of a dense voxel grid: the fast op and its slow, explicit reference.

Grids are channels-last ``[X, Y, Z, C]`` over the axis-aligned box [-1, 1]^3 with corner-aligned
samples (voxel (0, 0, 0) sits at (-1, -1, -1), voxel (X-1, Y-1, Z-1) at (1, 1, 1)). Points outside
the box are clamped to its faces.

``trilinear`` runs on ``F.grid_sample`` (one fused kernel for the forward and one for the grid's
gradient; on 2 CPU cores it beat a gather + ``index_add_`` version for 1 and 3 channels, see
docs/fast_field.md). ``trilinear_reference`` spells out the 8 corners and their weights in plain
tensor code; the tests compare the two, forward and gradients.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def trilinear(
    grid: torch.Tensor,  # [X, Y, Z, C]
    pts: torch.Tensor,  # [N, 3] in [-1, 1] (x, y, z)
) -> torch.Tensor:
    """Trilinearly interpolated grid values [N, C], differentiable with respect to ``grid``."""
    vol = grid.permute(3, 2, 1, 0)[None]  # [1, C, Z, Y, X]: grid_sample's x indexes the last axis
    g = pts.clamp(-1.0, 1.0).reshape(1, -1, 1, 1, 3)
    out = F.grid_sample(vol, g, mode="bilinear", padding_mode="border", align_corners=True)  # [1, C, N, 1, 1]
    return out.reshape(grid.shape[-1], -1).t()


def corner_weights(
    pts: torch.Tensor,  # [N, 3] in [-1, 1]
    shape: tuple[int, int, int],  # (X, Y, Z)
) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer voxel indices int64 [N, 8, 3] of the 8 corners around each point and their weights [N, 8]."""
    size = torch.tensor(shape, device=pts.device, dtype=pts.dtype)
    x = (pts.clamp(-1.0, 1.0) + 1.0) * 0.5 * (size - 1)  # continuous voxel coordinates [N, 3]
    lo = torch.minimum(x.floor(), (size - 2).clamp(min=0))
    frac = x - lo
    corners, weights = [], []
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                off = torch.tensor([dx, dy, dz], device=pts.device, dtype=pts.dtype)
                corners.append((lo + off).long())
                weights.append(torch.prod(torch.where(off.bool(), frac, 1.0 - frac), dim=-1))
    return torch.stack(corners, dim=1), torch.stack(weights, dim=1)


def trilinear_reference(grid: torch.Tensor, pts: torch.Tensor) -> torch.Tensor:
    """The same values as ``trilinear`` as an explicit weighted sum over the 8 corners. [N, C]."""
    idx, w = corner_weights(pts, tuple(grid.shape[:3]))
    vals = grid[idx[..., 0], idx[..., 1], idx[..., 2]]  # [N, 8, C]
    return (vals * w[..., None]).sum(dim=1)


def resize_grid(grid: torch.Tensor, res: int) -> torch.Tensor:
    """Channels-last grid [X, Y, Z, C] resampled trilinearly (corner-aligned) to [res, res, res, C]."""
    vol = grid.permute(3, 0, 1, 2)[None]
    out = F.interpolate(vol, size=(res, res, res), mode="trilinear", align_corners=True)
    return out[0].permute(1, 2, 3, 0).contiguous()


def tv_loss(block: torch.Tensor) -> torch.Tensor:
    """Total variation of a grid block [X, Y, Z, C]: the mean squared difference between neighbours, summed over axes."""
    b = block
    return ((b[1:] - b[:-1]) ** 2).mean() + ((b[:, 1:] - b[:, :-1]) ** 2).mean() + ((b[:, :, 1:] - b[:, :, :-1]) ** 2).mean()


def schedule_value(schedule: tuple[tuple[int, int], ...], step: int) -> int:
    """The value of a coarse-to-fine ``(step, value)`` schedule at ``step`` (the last entry whose step has come)."""
    value = schedule[0][1]
    for s, v in schedule:
        if step >= s:
            value = v
    return value
