"""An occupancy grid over a box, seeded from metric depth: which cells may hold density, and which are known empty.

Three kinds of cell (bool grids ``[R, R, R]`` over the box, corner-aligned like the fields' grids):
- **surface**: a training view's depth put a point in it (dilated by one cell) -> may hold density;
- **free**: a training view saw through it (its ray went on to a surface at least ``carve_margin`` cells
  farther) and it is not a surface cell -> never sampled, so "the sensor saw through it" stays empty and
  no floater can hide there;
- **hole**: on the ray of a training pixel with NO depth (dark or shiny surfaces, beyond the range) and
  not free -> may hold density: the colour loss has to find the surface the sensor missed there;
- **unknown**: none of these (behind surfaces, space no training view saw) -> not sampled: nothing can be
  learned there, and what a novel view sees through it is the background (the mean training colour).

``base`` = (surface or hole) and not free; ``occupied`` (what the sampler samples) = ``base`` AND-ed with
the field's own density test when the field refreshes it (``refresh``). Without a seeding every cell is
occupied. Depth edges: a sensor pixel on a depth edge averages foreground and
background (a "flying pixel"); the virtual sensor drops them, real ones do not, so points whose depth
differs from a neighbour's by more than ``edge_jump`` (relative) are left out of the seeding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class DepthViews:
    """Training views with metric depth, in the space rays live in.

    Attributes:
        K: [V, 3, 3] intrinsics. w2c: [V, 4, 4] world-to-camera (OpenCV). depth: [V, H, W] along the optical
        axis in scene units (0 = none).
    """

    K: torch.Tensor
    w2c: torch.Tensor
    depth: torch.Tensor


def opaque_cells(density: torch.Tensor, dt: float, alpha_min: float) -> torch.Tensor:
    """bool [X, Y, Z]: cells whose 3x3x3 neighbourhood holds a density [X, Y, Z] giving a step of length ``dt``
    more opacity than ``alpha_min`` (the density test a field refreshes its occupancy grid with)."""
    alpha = 1.0 - torch.exp(-density * dt)
    return F.max_pool3d(alpha[None, None], kernel_size=3, stride=1, padding=1)[0, 0] > alpha_min


def view_count(
    aabb: torch.Tensor,  # [2, 3]
    resolution: int,
    K: torch.Tensor,  # [V, 3, 3]
    w2c: torch.Tensor,  # [V, 4, 4] world-to-camera (OpenCV)
    width: int,
    height: int,
    near: float,
) -> torch.Tensor:
    """int32 [r, r, r]: how many of the V views see each cell centre (inside the image, beyond ``near``)."""
    r = resolution
    axis = (torch.arange(r, device=K.device, dtype=torch.float32) + 0.5) / r * 2 - 1
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1).reshape(-1, 3)
    pts = (grid + 1) * 0.5 * (aabb[1] - aabb[0]) + aabb[0]  # cell centres [r^3, 3]
    count = torch.zeros(pts.shape[0], dtype=torch.int32, device=K.device)
    for k, m in zip(K.float(), w2c.float()):
        cam = pts @ m[:3, :3].T + m[:3, 3]
        z = cam[:, 2].clamp(min=1e-6)
        u, v = k[0, 0] * cam[:, 0] / z + k[0, 2], k[1, 1] * cam[:, 1] / z + k[1, 2]
        count += ((cam[:, 2] > near) & (u >= 0) & (u <= width) & (v >= 0) & (v <= height)).int()
    return count.reshape(r, r, r)


def nearest_resample(mask: torch.Tensor, res: int) -> torch.Tensor:
    """A cubic grid [m, m, m] resampled (nearest cell centre) to [res, res, res]."""
    m = mask.shape[0]
    idx = (torch.arange(res, device=mask.device) * (m / res) + 0.5 * m / res).long().clamp(max=m - 1)
    return mask[idx][:, idx][:, :, idx]


def edge_free(depth: torch.Tensor, jump: float) -> torch.Tensor:
    """bool [V, H, W]: valid depth whose 4 neighbours are within ``jump`` x depth of it (no flying pixels)."""
    d = depth[:, None]
    pad = F.pad(d, (1, 1, 1, 1), mode="replicate")
    ok = d[:, 0] > 0
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        nb = pad[:, 0, dy : dy + d.shape[2], dx : dx + d.shape[3]]
        ok &= (nb > 0) & ((nb - d[:, 0]).abs() <= jump * d[:, 0])
    return ok


class OccupancyGrid(nn.Module):
    """Occupancy over ``aabb`` [2, 3] with ``resolution`` cells per side, or (X, Y, Z) cells (module docstring).

    A module only for its buffers (saved with the field's state, moved with ``.to``); it has no parameters.
    """

    def __init__(self, aabb: torch.Tensor, resolution: int | tuple[int, int, int]):
        super().__init__()
        self.register_buffer("aabb", torch.as_tensor(aabb).float().reshape(2, 3))
        shape = (resolution,) * 3 if isinstance(resolution, int) else tuple(resolution)
        for name, fill in (("surface", False), ("free", False), ("hole", False), ("base", True), ("occupied", True)):
            self.register_buffer(name, torch.full(shape, fill, dtype=torch.bool))

    @property
    def shape(self) -> torch.Tensor:
        """Cells per axis, int64 [3]."""
        return torch.tensor(self.occupied.shape, device=self.aabb.device)

    def cell_of(self, pts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Nearest cell indices int64 [..., 3] of world points [..., 3], and whether they lie in the box [...]."""
        u = (pts - self.aabb[0]) / (self.aabb[1] - self.aabb[0])
        inside = ((u >= 0) & (u <= 1)).all(dim=-1)
        top = self.shape - 1
        idx = torch.minimum((u * top).round().long().clamp(min=0), top)
        return idx, inside

    def query(self, pts: torch.Tensor) -> torch.Tensor:
        """bool [...]: world points [..., 3] in an occupied cell inside the box."""
        idx, inside = self.cell_of(pts)
        return inside & self.occupied[idx[..., 0], idx[..., 1], idx[..., 2]]

    def normalise(self, pts: torch.Tensor) -> torch.Tensor:
        """World points [..., 3] -> box coordinates [..., 3] (the box is [-1, 1]^3)."""
        return (pts - self.aabb[0]) / (self.aabb[1] - self.aabb[0]) * 2.0 - 1.0

    def query_box(self, p: torch.Tensor) -> torch.Tensor:
        """bool [...]: box coordinates ``p`` [..., 3] (the box mapped to [-1, 1], corner-aligned) in an occupied cell.

        For fields that already hold their samples in box coordinates (their grids' lookup space).
        """
        top = self.occupied.shape[0] - 1 if len(set(self.occupied.shape)) == 1 else self.shape - 1
        idx = ((p + 1.0) * 0.5 * top).round().long()
        idx = torch.minimum(idx.clamp(min=0), torch.as_tensor(top, device=idx.device))
        inside = (p.abs() <= 1.0).all(dim=-1)
        return inside & self.occupied[idx[..., 0], idx[..., 1], idx[..., 2]]

    def cell_size(self) -> float:
        """The smallest cell edge (scene units)."""
        return float(((self.aabb[1] - self.aabb[0]) / (self.shape - 1).clamp(min=1)).min())

    @torch.no_grad()
    def seed_from_depth(self, views: DepthViews, near: float, far: float, carve_margin: float = 2.0,
                        edge_jump: float = 0.05, stride: int = 2, holes: bool = True) -> None:
        """Mark surface cells from the views' depth points and carve the free space in front of them.

        ``stride``: every stride-th pixel (in both directions) carves (carving is the costly part).
        """
        V, H, W = views.depth.shape
        ok = edge_free(views.depth, edge_jump)
        dev = self.aabb.device
        ys, xs = torch.meshgrid(torch.arange(H, device=dev), torch.arange(W, device=dev), indexing="ij")
        cell = self.cell_size()
        for v in range(V):
            c2w = torch.linalg.inv(views.w2c[v].double()).float()
            K = views.K[v].float()
            m = ok[v]
            d = views.depth[v][m]
            dirs = torch.stack([(xs[m] + 0.5 - K[0, 2]) / K[0, 0], (ys[m] + 0.5 - K[1, 2]) / K[1, 1], torch.ones_like(d)], -1)
            dirs = dirs @ c2w[:3, :3].T
            pts = c2w[:3, 3] + dirs * d[:, None]
            idx, inside = self.cell_of(pts)
            idx = idx[inside]
            self.surface[idx[:, 0], idx[:, 1], idx[:, 2]] = True
            sub = (ys[m] % stride == 0) & (xs[m] % stride == 0)
            self._carve(self.free, c2w[:3, 3], dirs[sub], d[sub], near, carve_margin * cell)
            hole = (views.depth[v] <= 0) & (ys % stride == 0) & (xs % stride == 0) & holes
            hd = torch.stack([(xs[hole] + 0.5 - K[0, 2]) / K[0, 0], (ys[hole] + 0.5 - K[1, 2]) / K[1, 1],
                              torch.ones_like(xs[hole], dtype=torch.float32)], -1) @ c2w[:3, :3].T
            self._carve(self.hole, c2w[:3, 3], hd, torch.full((len(hd),), far), near, 0.0)
        self.surface = F.max_pool3d(self.surface[None, None].float(), 3, 1, 1)[0, 0] > 0
        self.hole = F.max_pool3d(self.hole[None, None].float(), 3, 1, 1)[0, 0] > 0
        self.free &= ~self.surface
        self.base = (self.surface | self.hole) & ~self.free
        self.occupied = self.base.clone()

    def _carve(self, target: torch.Tensor, origin: torch.Tensor, dirs: torch.Tensor, depth: torch.Tensor, near: float,
               margin: float) -> None:
        """Mark cells of ``target`` along each ray from ``near`` to depth - margin. dirs [N, 3] (z = 1 in camera), depth [N]."""
        if len(dirs) == 0:
            return
        step = 0.5 * self.cell_size() / float(dirs.norm(dim=-1).max())
        t_max = float(depth.max())
        ts = torch.arange(near, t_max, step, device=dirs.device)
        for s in range(0, len(ts), 64):
            t = ts[s : s + 64]
            keep = t[None, :] < (depth[:, None] - margin / dirs.norm(dim=-1, keepdim=True))  # [N, T]
            pts = origin + dirs[:, None, :] * t[None, :, None]
            idx, inside = self.cell_of(pts[keep])
            idx = idx[inside]
            target[idx[:, 0], idx[:, 1], idx[:, 2]] = True

    @torch.no_grad()
    def refresh(self, may_hold: torch.Tensor) -> None:
        """occupied = ``may_hold`` (bool [R, R, R], the field's density test) and ``base``."""
        self.occupied = may_hold & self.base
