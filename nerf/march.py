"""Samplers that keep the samples the occupancy grid says can hold something: ``march`` and ``stratified``.

``march`` (the sensor field) concentrates samples near surfaces: each ray is marched at a fixed step between its near and far bounds (one random offset per ray while
training); the samples in occupied cells are kept, at most ``max_samples`` per ray and the NEAREST ones
first (a seeded surface is opaque: what lies behind its first few centimetres is never seen). With a
depth-seeded grid a ray keeps a handful of samples around its surface instead of a hundred in empty air.
``stratified`` (the fast field) keeps Mip-NeRF's stratified bins over [near, far] and marks those in empty
cells invalid, so the renderer evaluates nothing there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nerf.fields.base import RayBatch
from nerf.occupancy import OccupancyGrid
from nerf.rays import points_at
from nerf.sampling import stratified_edges


@dataclass
class RaySamples:
    """Samples of R rays, K slots each (slots past a ray's samples are invalid).

    Attributes:
        t: [R, K] ray parameter of each sample (sorted along the ray where valid).
        delta: [R, K] interval each sample stands for, in t units (the march step).
        valid: bool [R, K].
        edges: [R, K + 1] bin edges when the samples tile each ray (``stratified``: t are their midpoints), else None.
    """

    t: torch.Tensor
    delta: torch.Tensor
    valid: torch.Tensor
    edges: torch.Tensor | None = None

    def points(self, rays: RayBatch) -> torch.Tensor:
        """World points [R, K, 3]."""
        return points_at(rays, self.t)

    def end(self, rays: RayBatch) -> torch.Tensor:
        """t [R] where the sampled part of each ray ends: the last bin edge, else the ray's far bound."""
        return self.edges[:, -1] if self.edges is not None else rays.far[:, 0]


def clip_to_box(rays: RayBatch, aabb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The rays' [near, far] [R, 1] cut to where they cross the box ``aabb`` [2, 3] (slab test; empty: near >= far)."""
    d = torch.where(rays.directions.abs() < 1e-9, torch.full_like(rays.directions, 1e-9), rays.directions)
    t0, t1 = (aabb[0] - rays.origins) / d, (aabb[1] - rays.origins) / d
    t_in = torch.minimum(t0, t1).amax(dim=-1, keepdim=True)
    t_out = torch.maximum(t0, t1).amin(dim=-1, keepdim=True)
    return torch.maximum(rays.near, t_in), torch.minimum(rays.far, t_out)


def march(rays: RayBatch, grid: OccupancyGrid, step: float, max_samples: int, *, randomized: bool) -> RaySamples:
    """Samples every ``step`` (t units) in occupied cells, the first ``max_samples`` of each ray (module docstring)."""
    near, far = clip_to_box(rays, grid.aabb)  # [R, 1]
    n = max(1, int(torch.ceil((far - near).clamp(min=0).max() / step)))
    k = torch.arange(n, device=near.device, dtype=near.dtype)
    offset = torch.rand_like(near) if randomized else torch.full_like(near, 0.5)
    t = near + (k[None, :] + offset) * step  # [R, n]
    inside = t < far
    occ = inside & grid.query(points_at(rays, t))
    # the first max_samples occupied samples of each ray, in order: slot = running count - 1
    rank = torch.cumsum(occ, dim=-1) - 1
    keep = occ & (rank < max_samples)
    r, c = keep.nonzero(as_tuple=True)
    slot = rank[r, c]
    R = t.shape[0]
    t_sel = torch.zeros((R, max_samples), device=t.device, dtype=t.dtype)
    valid = torch.zeros((R, max_samples), device=t.device, dtype=torch.bool)
    t_sel[r, slot] = t[r, c]
    valid[r, slot] = True
    return RaySamples(t=t_sel, delta=torch.full_like(t_sel, step), valid=valid)


def stratified(rays: RayBatch, grid: OccupancyGrid, num_samples: int, *, randomized: bool) -> RaySamples:
    """``num_samples`` equal bins over each ray's [near, far] (jittered edges while training, ``stratified_edges``);
    a bin is valid when its midpoint lies in an occupied cell of ``grid`` inside the box (the fast field)."""
    edges = stratified_edges(rays.near, rays.far, num_samples, randomized=randomized)  # [R, S + 1]
    t = 0.5 * (edges[:, 1:] + edges[:, :-1])  # [R, S]
    pts = points_at(rays, t)
    valid = grid.query_box(grid.normalise(pts))
    return RaySamples(t=t, delta=edges[:, 1:] - edges[:, :-1], valid=valid, edges=edges)
