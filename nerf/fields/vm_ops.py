"""TensoRF's vector-matrix (VM) factorisation of a feature volume: the fast op and its explicit reference.

A feature volume F(x, y, z) [3C] is stored as three planes and three lines (C components each):
``F = [P_xy(x, y) * L_z(z), P_xz(x, z) * L_y(y), P_yz(y, z) * L_x(x)]``. Planes are ``[3, C, R, R]``
and lines ``[3, C, R]`` over the box [-1, 1]^3, corner-aligned (sample 0 at -1, sample R-1 at +1). At
R = 512 this holds texture at ~1 cm over a 5 m room with 3 x C x R^2 numbers instead of R^3.

``vm_features`` runs on ``F.grid_sample`` (bilinear planes, linear lines); ``vm_features_reference``
spells out the corner weights with gathers. The tests compare the two, forward and backward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PLANE_AXES = ((0, 1), (0, 2), (1, 2))
"""(u, v) point axes of each plane; the line of plane k runs along ``LINE_AXES[k]``."""
LINE_AXES = (2, 1, 0)


def vm_features(
    planes: torch.Tensor,  # [3, C, R, R]
    lines: torch.Tensor,  # [3, C, R]
    pts: torch.Tensor,  # [N, 3] in [-1, 1]
) -> torch.Tensor:
    """VM features [N, 3C] at ``pts`` (clamped to the box), differentiable w.r.t. planes and lines.

    The planes and lines are split with ``unbind`` (its backward stacks the three gradients), not sliced:
    the backward of each slice of a parameter allocates and fills a zero tensor the size of ALL the planes,
    which at R = 512 made this op 1.6x slower on one CPU thread (103 vs 64 ms forward + backward, 40k
    points). One batched ``grid_sample`` over the three planes was slower still on the CPU (220 ms).
    """
    p = pts.clamp(-1.0, 1.0)
    out = []
    pls, lns = planes.unbind(0), lines.unbind(0)
    for k, ((a, b), c) in enumerate(zip(PLANE_AXES, LINE_AXES)):
        # grid_sample's x indexes the LAST axis (width): plane[k][ch, row = axis b, col = axis a]
        g = torch.stack([p[:, a], p[:, b]], dim=-1).view(1, -1, 1, 2)
        pl = F.grid_sample(pls[k][None], g, mode="bilinear", padding_mode="border", align_corners=True)
        gl = torch.stack([torch.zeros_like(p[:, c]), p[:, c]], dim=-1).view(1, -1, 1, 2)
        ln = F.grid_sample(lns[k][None, :, :, None], gl, mode="bilinear", padding_mode="border", align_corners=True)
        out.append((pl * ln)[0, :, :, 0].t())  # [N, C]
    return torch.cat(out, dim=-1)


def _linear_corners(x: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Lower index, upper index (int64) and the upper weight of coordinates x in [-1, 1] on ``size`` samples."""
    f = (x + 1.0) * 0.5 * (size - 1)
    lo = f.floor().clamp(0, max(size - 2, 0))
    return lo.long(), (lo + 1).clamp(max=size - 1).long(), f - lo


def vm_features_reference(planes: torch.Tensor, lines: torch.Tensor, pts: torch.Tensor) -> torch.Tensor:
    """The same values as ``vm_features`` from explicit corner gathers. [N, 3C]."""
    p = pts.clamp(-1.0, 1.0)
    R = planes.shape[-1]
    out = []
    for k, ((a, b), c) in enumerate(zip(PLANE_AXES, LINE_AXES)):
        i0, i1, wi = _linear_corners(p[:, a], R)  # u along axis a: the plane's last (width) index
        j0, j1, wj = _linear_corners(p[:, b], R)  # v along axis b: the plane's row index
        pl = planes[k]  # [C, R, R] indexed [ch, row=j, col=i]
        val = (pl[:, j0, i0] * ((1 - wi) * (1 - wj)) + pl[:, j0, i1] * (wi * (1 - wj))
               + pl[:, j1, i0] * ((1 - wi) * wj) + pl[:, j1, i1] * (wi * wj))
        l0, l1, wl = _linear_corners(p[:, c], lines.shape[-1])
        ln = lines[k][:, l0] * (1 - wl) + lines[k][:, l1] * wl
        out.append((val * ln).t())
    return torch.cat(out, dim=-1)


def resize_vm(planes: torch.Tensor, lines: torch.Tensor, res: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Planes and lines resampled (corner-aligned, bilinear / linear) to ``res`` samples per side."""
    p = F.interpolate(planes, size=(res, res), mode="bilinear", align_corners=True)
    ln = F.interpolate(lines, size=res, mode="linear", align_corners=True)
    return p.contiguous(), ln.contiguous()


def plane_tv(planes: torch.Tensor, block: int = 0) -> torch.Tensor:
    """Total variation of planes [3, C, R, R]: mean squared neighbour difference along rows plus along columns.

    ``block`` > 0: over one random ``block`` x ``block`` square (the same for every plane and component) instead,
    an unbiased estimate of the whole planes' value at (block / R)^2 of the cost (68 ms forward + backward at
    R = 512 on one CPU thread).
    """
    p = planes
    R = p.shape[-1]
    if 0 < block < R:
        i, j = (int(v) for v in torch.randint(0, R - block + 1, (2,)))
        p = p[..., i : i + block, j : j + block]
    return ((p[..., 1:, :] - p[..., :-1, :]) ** 2).mean() + ((p[..., 1:] - p[..., :-1]) ** 2).mean()
