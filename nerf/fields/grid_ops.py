"""Trilinear interpolation of a dense voxel grid: a fast gather/scatter op and its slow reference.

Grids are channels-last ``[X, Y, Z, C]`` over the axis-aligned box [-1, 1]^3 with corner-aligned
samples (voxel (0, 0, 0) sits at (-1, -1, -1), voxel (X-1, Y-1, Z-1) at (1, 1, 1)), i.e.
``F.grid_sample(..., align_corners=True)``. Points outside the box are clamped to its faces.

``trilinear`` computes the 8 corner indices and weights once and back-propagates into the grid
with one ``index_add_`` (no gradient for the points: positions come from fixed rays). On 2 CPU
cores this is faster than ``F.grid_sample`` for more than one channel (docs/fast_field.md);
``trilinear_reference`` is the ``grid_sample`` twin the tests compare it with.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def corner_weights(
    pts: torch.Tensor,  # [N, 3] in [-1, 1]
    shape: tuple[int, int, int],  # (X, Y, Z)
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat indices int64 [N, 8] of the 8 surrounding voxels and their trilinear weights [N, 8]."""
    size = torch.tensor(shape, device=pts.device, dtype=pts.dtype)
    x = ((pts.clamp(-1.0, 1.0) + 1.0) * 0.5) * (size - 1)  # [N, 3] voxel coordinates
    lo = x.floor().clamp(min=0)
    lo = torch.minimum(lo, (size - 2).clamp(min=0))
    frac = x - lo  # [N, 3] in [0, 1]
    lo = lo.long()
    sx, sy = shape[1] * shape[2], shape[2]
    base = lo[:, 0] * sx + lo[:, 1] * sy + lo[:, 2]  # [N]
    offs = torch.tensor(
        [dx * sx + dy * sy + dz for dx in (0, 1) for dy in (0, 1) for dz in (0, 1)], device=pts.device
    )
    idx = base[:, None] + offs[None]  # [N, 8]
    fx, fy, fz = frac[:, 0:1], frac[:, 1:2], frac[:, 2:3]
    wx = torch.cat([1 - fx, fx], dim=1)  # [N, 2]
    wy = torch.cat([1 - fy, fy], dim=1)
    wz = torch.cat([1 - fz, fz], dim=1)
    w = (wx[:, :, None, None] * wy[:, None, :, None] * wz[:, None, None, :]).reshape(-1, 8)
    return idx, w


class _Trilinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, grid: torch.Tensor, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        flat = grid.reshape(-1, grid.shape[-1])
        out = (flat[idx] * w[..., None]).sum(dim=1)  # [N, C]
        ctx.save_for_backward(idx, w)
        ctx.grid_shape = grid.shape
        return out

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        idx, w = ctx.saved_tensors
        c = ctx.grid_shape[-1]
        grad = torch.zeros((int(torch.tensor(ctx.grid_shape[:-1]).prod()), c), dtype=grad_out.dtype, device=grad_out.device)
        grad.index_add_(0, idx.reshape(-1), (w[..., None] * grad_out[:, None, :]).reshape(-1, c))
        return grad.reshape(ctx.grid_shape), None, None


def trilinear(
    grid: torch.Tensor,  # [X, Y, Z, C]
    pts: torch.Tensor,  # [N, 3] in [-1, 1] (x, y, z)
) -> torch.Tensor:
    """Trilinearly interpolated grid values [N, C]; differentiable with respect to ``grid`` only."""
    idx, w = corner_weights(pts.detach(), tuple(grid.shape[:3]))
    return _Trilinear.apply(grid, idx, w)


def trilinear_reference(grid: torch.Tensor, pts: torch.Tensor) -> torch.Tensor:
    """The same as ``trilinear`` through ``F.grid_sample`` (slow for C > 1; the tests' reference). [N, C]."""
    vol = grid.permute(3, 2, 1, 0)[None]  # [1, C, Z, Y, X]: grid_sample's x indexes the last axis
    g = pts.clamp(-1.0, 1.0).reshape(1, -1, 1, 1, 3)
    out = F.grid_sample(vol, g, mode="bilinear", align_corners=True)  # [1, C, N, 1, 1]
    return out.reshape(grid.shape[-1], -1).t()
