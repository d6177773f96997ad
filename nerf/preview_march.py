"""A fast renderer for previews: the samples a field's own sampler would keep, found without testing them all.

The sensor field's sampler (``nerf.march.march``) tests every sample of every ray against the occupancy grid:
at 320x240 that is ~20 M occupancy look-ups, most of a full render's time. This renderer finds the same
samples in three cheaper steps:

1. **coarse skipping**: the occupancy grid max-pooled ``coarse`` cells per block; each ray is cut exactly
   where it crosses the blocks' faces, and only the stretches through occupied blocks are looked at;
2. **windows**: from the first occupied stretch, ``window`` consecutive samples of the ray's own lattice
   (the positions the field's sampler uses) are tested against the fine grid; density, compositing and
   colour see only the kept ones;
3. **early ray termination**: a ray stops once its transmittance falls below ``min_transmittance``, or once
   it holds the field's sample limit; the others go on from their next occupied stretch (a new pass).

A render also returns where each ray's first occupied sample was (``RayStarts``): the next render of the same
camera through the same occupancy (a resting camera refreshed while the training goes on) starts there.

What is left out are samples in blocks with no occupied cell (exactly nothing) and samples behind transmittance
``min_transmittance`` (at most that much of each channel): with colour evaluated where the field evaluates it
the preview is the field's image (tests/test_preview.py); ``colour_weight`` trades a little of that for fewer
colour evaluations (benchmarks/preview_fps.py reports the PSNR against the full render)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nerf.fields.base import RayBatch
from nerf.occupancy import OccupancyGrid

__all__ = ["PreviewPlan", "RayStarts", "coarse_blocks", "render_plan"]


@dataclass
class PreviewPlan:
    """What the preview renderer needs of a field for one batch of R rays: the samples its own sampler takes
    (``nerf.march.march``: t_k = near + (k + 0.5) step, k < n, t < far, in occupied cells of ``grid``, the first
    ``limit`` of each ray) and its functions.

    Attributes:
        near, far: [R, 1] the rays' bounds cut to the grid's box. step: sample spacing (t units). n: samples per ray.
        grid: the occupancy grid. limit: samples kept per ray (the nearest occupied ones).
        density_fn, colour_fn: the field's functions (``nerf.render_fn``).
        background: RGB [R, 3] / [3], a constant or None.
        weight_threshold: colour only where the compositing weight passes this.
    """

    near: torch.Tensor
    far: torch.Tensor
    step: float
    n: int
    grid: OccupancyGrid
    limit: int
    density_fn: Callable[[torch.Tensor], torch.Tensor]
    colour_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    background: torch.Tensor | float | None
    weight_threshold: float

    def index_of(self, t: torch.Tensor) -> torch.Tensor:
        """The (real-valued) sample index at ray parameter t [R, P]."""
        return (t - self.near) / self.step - 0.5


def coarse_blocks(grid: OccupancyGrid, coarse: int) -> torch.Tensor:
    """bool [ceil(X / c), ceil(Y / c), ceil(Z / c)]: blocks of ``coarse``^3 cells holding an occupied cell."""
    occ = grid.occupied[None, None].float()
    return F.max_pool3d(occ, kernel_size=coarse, stride=coarse, ceil_mode=True)[0, 0] > 0


def _stretches(rays: RayBatch, plan: PreviewPlan, blocks: torch.Tensor, coarse: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The stretches of each ray through occupied blocks, as lattice index ranges (k_lo [R, Q], k_hi [R, Q]), in
    order along the ray; a ray with fewer than Q has k_hi = -1 in its last columns. Each range has one sample of
    margin on both sides (float rounding must not lose a sample).

    Each ray is cut where it crosses the blocks' faces. Block j of an axis holds the cells whose nearest-cell
    index lies in [j c, (j + 1) c), i.e. cell-index coordinates u in [j c - 0.5, (j + 1) c - 0.5)
    (``OccupancyGrid.cell_of`` rounds u to the nearest cell).
    """
    grid = plan.grid
    top = (grid.shape - 1).to(rays.origins.dtype)
    scale = top / (grid.aabb[1] - grid.aabb[0])  # cell-index units per scene unit [3]
    u0 = (rays.origins - grid.aabb[0]) * scale  # [R, 3]
    ud = rays.directions * scale
    ud = torch.where(ud.abs() < 1e-12, torch.full_like(ud, 1e-12), ud)
    t_first, t_last = plan.near, plan.near + plan.n * plan.step
    planes = [(torch.arange(blocks.shape[a] + 1, device=ud.device, dtype=ud.dtype) * coarse - 0.5 - u0[:, a:a + 1])
              / ud[:, a:a + 1] for a in range(3)]
    cuts = torch.cat([t_first, t_last, *planes], dim=-1)
    cuts = torch.sort(torch.minimum(torch.maximum(cuts, t_first), t_last), dim=-1).values  # [R, P + 1]
    lo, hi = cuts[:, :-1], cuts[:, 1:]
    mid = 0.5 * (lo + hi)
    flat = torch.zeros_like(mid)
    occ = hi > lo
    for a, dim in enumerate(blocks.shape):  # block index per axis, as a float; outside the grid: not occupied
        b = torch.floor((u0[:, a:a + 1] + mid * ud[:, a:a + 1] + 0.5) * (1.0 / coarse))
        occ &= (b >= 0) & (b < dim)
        flat = flat * dim + b
    occ &= blocks.reshape(-1)[flat.long().clamp(0, blocks.numel() - 1)]
    # the occupied stretches, in order, in the first columns (slot = running count - 1), only as many as needed
    count = torch.cumsum(occ, dim=-1)
    q = max(1, int(count[:, -1].max()))
    r, c = occ.nonzero(as_tuple=True)
    slot = count[r, c] - 1
    k_lo = torch.zeros((len(occ), q), device=occ.device, dtype=torch.long)
    k_hi = torch.full((len(occ), q), -1, device=occ.device, dtype=torch.long)
    k_lo[r, slot] = torch.floor(plan.index_of(lo)[r, c]).long().clamp(min=1) - 1
    k_hi[r, slot] = torch.ceil(plan.index_of(hi)[r, c]).long() + 1
    return k_lo, k_hi


_LOG_MIN_TRANS = math.log1p(-(1.0 - 1e-6))
"""log(1 - alpha) of the most opaque step ``nerf.rendering.weights_from_alpha`` allows."""


@dataclass
class _Accum:
    """Per-ray running sums of a render [R]: rgb [R, 3], acc, shaded (the weight of the samples coloured), wt
    (sum w t), log_t (log transmittance), count, the index of the first occupied sample (``first``, long), and the
    largest weight so far with its t (``best_w``, ``best_t``)."""

    rgb: torch.Tensor
    acc: torch.Tensor
    shaded: torch.Tensor
    first: torch.Tensor
    wt: torch.Tensor
    log_t: torch.Tensor
    count: torch.Tensor
    best_w: torch.Tensor
    best_t: torch.Tensor

    @classmethod
    def zeros(cls, R: int, like: torch.Tensor, n: int) -> _Accum:
        z = lambda *s: torch.zeros(*s, device=like.device, dtype=like.dtype)  # noqa: E731
        long = lambda v: torch.full((R,), v, device=like.device, dtype=torch.long)  # noqa: E731
        return cls(z(R, 3), z(R), z(R), long(n), z(R), z(R), long(0), z(R), z(R))


@dataclass
class RayStarts:
    """What a render learnt about where its rays' samples are, for the next render of the SAME rays through the
    SAME occupancy (a preview refreshed while the camera rests): the occupied stretches (k_lo, k_hi [R, Q]) and
    the index of each ray's first occupied sample (``first`` [R]; n: none)."""

    k_lo: torch.Tensor
    k_hi: torch.Tensor
    first: torch.Tensor


@torch.no_grad()
def render_plan(rays: RayBatch, plan: PreviewPlan, coarse: int = 8, window: int = 32,
                min_transmittance: float = 1e-4, colour_weight: float = 0.0, starts: RayStarts | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, RayStarts]:
    """Render R rays through ``plan`` (module docstring). Returns rgb [R, 3], depth [R], acc [R] and the
    ``RayStarts`` of these rays; given the ``starts`` of an earlier render of the same rays and occupancy, each
    ray begins at its first occupied sample and the stretches are not computed again.

    ``colour_weight``: 0 evaluates colour at every sample whose weight passes the plan's threshold (as the
    field does); above it, only at samples whose weight passes ``colour_weight``, their mean colour standing
    for the ray's whole opacity (rgb = acc x the weighted mean), and at the largest-weight sample of a ray
    with none: several times fewer colour evaluations, within a few tenths of a dB of the field's image
    once its surfaces are sharp.
    """
    R = len(rays)
    if starts is None:
        k_lo, k_hi = _stretches(rays, plan, coarse_blocks(plan.grid, coarse), coarse)
        k_next = torch.zeros(R, device=rays.origins.device, dtype=torch.long)
    else:
        k_lo, k_hi, k_next = starts.k_lo, starts.k_hi, starts.first.clone()
    a = _Accum.zeros(R, rays.origins, plan.n)
    rows = torch.arange(R, device=rays.origins.device)
    log_min = math.log(min_transmittance) if min_transmittance > 0 else -math.inf
    limit = plan.limit
    while rows.numel():
        ahead = k_hi[rows] >= k_next[rows, None]
        has = ahead.any(-1)
        rows, ahead = rows[has], ahead[has]
        if not rows.numel():
            break
        first = ahead.to(torch.uint8).argmax(-1)  # the first occupied stretch not yet passed
        start = torch.maximum(k_next[rows], k_lo[rows, first])
        _window(rays, plan, rows, start, window, a, max(plan.weight_threshold, colour_weight))
        k_next[rows] = start + window
        live = (a.log_t[rows] > log_min) & (a.count[rows] < limit) & (k_next[rows] < plan.n)
        rows = rows[live]
    rgb = a.rgb
    if colour_weight > 0:
        rgb = rgb * torch.where(a.shaded > 0, a.acc / a.shaded.clamp(min=1e-12), torch.zeros_like(a.acc))[:, None]
        hit = ((a.shaded <= 0) & (a.best_w > 0)).nonzero().squeeze(1)
        if hit.numel():
            pts = rays.origins[hit] + a.best_t[hit, None] * rays.directions[hit]
            rgb = rgb.index_put((hit,), a.acc[hit, None] * plan.colour_fn(pts, rays.viewdirs[hit]))
    if plan.background is not None:
        rgb = rgb + (1.0 - a.acc)[:, None] * plan.background
    return rgb, _depth(plan, rays, a), a.acc, RayStarts(k_lo, k_hi, a.first)


def _window(rays: RayBatch, plan: PreviewPlan, rows: torch.Tensor, start: torch.Tensor, window: int, a: _Accum,
            shade_above: float) -> None:
    """Test, evaluate and composite ``window`` samples from index ``start`` [r] of the rays ``rows`` [r].

    Only the occupancy test sees all r x W samples; density, compositing and colour see the kept ones, flat
    (a ray's kept samples are consecutive and in order: its transmittance is a segment of one cumulative sum).
    """
    o, d, near, far = rays.origins[rows], rays.directions[rows], plan.near[rows], plan.far[rows]
    k = start.to(near.dtype)[:, None] + torch.arange(window, device=start.device, dtype=near.dtype)  # [r, W]
    t = near + (k + 0.5) * plan.step
    valid = (k < plan.n) & (t < far) & _occupied(plan.grid, o, d, t)
    rank = torch.cumsum(valid, dim=-1) + a.count[rows, None]  # 1-based rank of each kept sample on its ray
    valid &= rank <= plan.limit  # (a ray still marching holds fewer: its first occupied sample is always kept)
    kept = valid.sum(-1)  # [r]
    idx = valid.reshape(-1).nonzero().squeeze(1)  # flat indices of the kept samples, ray by ray
    if not idx.numel():
        return
    row = idx // window  # position in ``rows`` of each kept sample
    ray_of, ts = rows[row], t.reshape(-1)[idx]
    first_of = torch.cumsum(kept, 0) - kept  # where each ray's kept samples begin in ``idx``
    has = (kept > 0).nonzero().squeeze(1)
    head = first_of[has]
    a.first[rows[has]] = torch.minimum(a.first[rows[has]], start[has] + idx[head] % window)
    pts = rays.origins[ray_of] + ts[:, None] * rays.directions[ray_of]
    tau = plan.density_fn(pts) * (plan.step * d.norm(dim=-1)[row])  # optical depth of each step
    alpha = 1.0 - torch.exp(-tau)
    log_step = torch.clamp(-tau, min=_LOG_MIN_TRANS)  # = log1p(-alpha clamped to 1 - 1e-6), as the renderer
    # exclusive cumulative log transmittance within each ray: one float64 cumsum, minus each ray's start value
    before = torch.cumsum(log_step.double(), 0) - log_step
    within = (before - before[first_of.clamp(max=len(idx) - 1)][row]).to(log_step.dtype)
    w = alpha * torch.exp(a.log_t[ray_of] + within)
    lit = (w > shade_above).nonzero().squeeze(1)
    if lit.numel():
        colour = plan.colour_fn(pts[lit], rays.viewdirs[ray_of[lit]])
        a.rgb.index_add_(0, ray_of[lit], w[lit, None] * colour)
        a.shaded.index_add_(0, ray_of[lit], w[lit])
    dense = torch.zeros(valid.numel(), device=w.device, dtype=w.dtype).index_copy_(0, idx, w).reshape(valid.shape)
    best_w, j = dense.max(-1)
    better = best_w > a.best_w[rows]
    a.best_w[rows] = torch.where(better, best_w, a.best_w[rows])
    a.best_t[rows] = torch.where(better, t.gather(1, j[:, None])[:, 0], a.best_t[rows])
    a.acc.index_add_(0, ray_of, w)
    a.wt.index_add_(0, ray_of, w * ts)
    a.log_t.index_add_(0, ray_of, log_step)
    a.count[rows] += kept


def _occupied(grid: OccupancyGrid, o: torch.Tensor, d: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """bool [r, W]: the points o + t d (o, d [r, 3], t [r, W]) in an occupied cell inside the box, as
    ``OccupancyGrid.query`` decides (the same arithmetic, one axis at a time instead of [r, W, 3] tensors; the
    flat cell index is summed in float, exact below 2^24 cells, and only clamped for points outside the box)."""
    occ, dims = grid.occupied.reshape(-1), grid.occupied.shape
    inside, flat = None, None
    for ax, n in enumerate(dims):
        u = (o[:, ax:ax + 1] + t * d[:, ax:ax + 1] - grid.aabb[0, ax]) / (grid.aabb[1, ax] - grid.aabb[0, ax])
        ok = (u >= 0) & (u <= 1)
        inside = ok if inside is None else inside & ok
        idx = (u * (n - 1)).round()
        flat = idx if flat is None else flat * n + idx
    return inside & occ[flat.clamp(0, occ.numel() - 1).long()]


def _depth(plan: PreviewPlan, rays: RayBatch, a: _Accum) -> torch.Tensor:
    """The sensor field's eval depth [R]: sum w t / sum w, or the ray's far bound where it is empty."""
    return torch.where(a.acc > 1e-6, a.wt / a.acc.clamp(min=1e-6), rays.far[:, 0])
