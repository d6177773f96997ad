"""A fast renderer for previews: the samples a field's own sampler would keep, found without testing them all.

The sensor field's sampler (``nerf.march.march``) tests every sample of every ray against the occupancy grid:
at 320x240 that is ~20 M occupancy look-ups, most of a full render's time. This renderer finds the same
samples in three cheaper steps, repeated until every ray is done:

1. **skipping by distance** (sphere tracing on the cell lattice): ``distance_grid`` holds, per cell, its
   Chebyshev distance D (in cells, capped) to the nearest occupied cell. From a sample whose nearest cell has
   distance D, every later sample less than D - 1 cells away (along the axis the ray moves fastest on) has an
   empty nearest cell, so the ray jumps over all of them at once (one look-up per jump, all rays together);
   it stops next to an occupied cell, a sample or two before its first occupied sample, or at its end. Far
   from surfaces a jump covers up to ``DISTANCE_CAP`` cells;
2. **a window**: from there, ``window`` consecutive samples of the ray's own lattice (the positions
   the field's sampler uses) are tested against the grid; density, compositing and colour see only the kept
   ones, compositing on the dense [rays, window] block;
3. **early ray termination**: a ray stops once its transmittance falls below ``min_transmittance``, or once
   it holds the field's sample limit; the others skip again from the end of their window (step 1).

A render also returns where each ray's first occupied sample was (``RayStarts``): the next render of the same
camera through the same occupancy (a resting camera refreshed while the training goes on) starts there.

What is left out are samples whose nearest cell is empty (exactly nothing) and samples behind transmittance
``min_transmittance`` (at most that much of each channel): with colour evaluated where the field evaluates it
the preview is the field's image (tests/test_preview.py); ``colour_weight`` trades a little of that for fewer
colour evaluations (benchmarks/preview_fps.py reports the PSNR against the full render)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from nerf.fields.base import RayBatch
from nerf.occupancy import OccupancyGrid

__all__ = ["DISTANCE_CAP", "PreviewPlan", "RayStarts", "distance_grid", "distance_grid_reference", "render_plan"]

DISTANCE_CAP = 16
"""Largest distance ``distance_grid`` records (cells): farther cells hold the cap, a lower bound."""


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
        distance: ``distance_grid(grid.occupied)`` when the caller keeps one (it changes only with the grid),
            else None (computed per render: a few milliseconds).
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
    distance: torch.Tensor | None = None


@torch.no_grad()
def distance_grid(occupied: torch.Tensor, cap: int = DISTANCE_CAP) -> torch.Tensor:
    """uint8 [X, Y, Z]: each cell's Chebyshev (L-infinity) distance in cells to the nearest occupied cell of
    ``occupied`` (bool [X, Y, Z]): 0 in occupied cells, ``cap`` where none lies closer than ``cap`` (also with
    none at all). A cube dilation is separable: each round dilates by one cell along x, then y, then z, and a
    cell's distance is the number of rounds before it is reached (~8 ms for 128 x 92 x 47 cells, cap 16)."""
    dist = torch.zeros(occupied.shape, dtype=torch.uint8, device=occupied.device)
    reached = occupied.clone()
    for _ in range(cap):
        dist += (~reached).to(torch.uint8)
        for ax in range(3):
            m = reached.shape[ax]
            if m < 2:
                continue
            grown = reached.clone()
            grown.narrow(ax, 1, m - 1).logical_or_(reached.narrow(ax, 0, m - 1))
            grown.narrow(ax, 0, m - 1).logical_or_(reached.narrow(ax, 1, m - 1))
            reached = grown
    return dist


def distance_grid_reference(occupied: torch.Tensor, cap: int = DISTANCE_CAP) -> torch.Tensor:
    """The same as ``distance_grid`` by brute force (every cell against every occupied cell; small grids only)."""
    cells = torch.stack(torch.meshgrid(*[torch.arange(s) for s in occupied.shape], indexing="ij"), -1).reshape(-1, 3)
    occ = cells[occupied.reshape(-1).cpu()]
    if not len(occ):
        return torch.full(occupied.shape, cap, dtype=torch.uint8, device=occupied.device)
    d = (cells[:, None, :] - occ[None, :, :]).abs().amax(-1).amin(-1).clamp(max=cap)
    return d.reshape(occupied.shape).to(torch.uint8).to(occupied.device)


@dataclass
class _Accum:
    """Per-ray running sums of a render [R]: rgb [R, 3], acc, shaded (the weight of the samples coloured), wt
    (sum w t), log_t (log transmittance), count, the index of the first occupied sample (``first``, long), and the
    largest weight so far with its t (``best_w``, ``best_t``)."""

    rgb: torch.Tensor
    first: torch.Tensor
    acc: torch.Tensor
    shaded: torch.Tensor
    wt: torch.Tensor
    log_t: torch.Tensor
    count: torch.Tensor
    best_w: torch.Tensor
    best_t: torch.Tensor

    @classmethod
    def zeros(cls, R: int, like: torch.Tensor, n: int) -> _Accum:
        z = lambda *s: torch.zeros(*s, device=like.device, dtype=like.dtype)  # noqa: E731
        long = lambda v: torch.full((R,), v, device=like.device, dtype=torch.long)  # noqa: E731
        return cls(z(R, 3), long(n), z(R), z(R), z(R), z(R), long(0), z(R), z(R))


@dataclass
class RayStarts:
    """What a render learnt about where its rays' samples are, for the next render of the SAME rays through the
    SAME occupancy (a preview refreshed while the camera rests): the index of each ray's first occupied sample
    (``first`` [R]; n: none)."""

    first: torch.Tensor


_LOG_MIN_TRANS = math.log1p(-(1.0 - 1e-6))
"""log(1 - alpha) of the most opaque step ``nerf.rendering.weights_from_alpha`` allows."""


@torch.no_grad()
def render_plan(rays: RayBatch, plan: PreviewPlan, window: int = 12, min_transmittance: float = 1e-4,
                colour_weight: float = 0.0, starts: RayStarts | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, RayStarts]:
    """Render R rays through ``plan`` (module docstring). Returns rgb [R, 3], depth [R], acc [R] and the
    ``RayStarts`` of these rays; given the ``starts`` of an earlier render of the same rays and occupancy, each
    ray begins at its first occupied sample without skipping there again.

    ``colour_weight``: 0 evaluates colour at every sample whose weight passes the plan's threshold (as the
    field does); above it, only at samples whose weight passes ``colour_weight``, their mean colour standing
    for the ray's whole opacity (rgb = acc x the weighted mean), and at the largest-weight sample of a ray
    with none: several times fewer colour evaluations, within a few tenths of a dB of the field's image
    once its surfaces are sharp.
    """
    R, dev = len(rays), rays.origins.device
    dist = (plan.distance if plan.distance is not None else distance_grid(plan.grid.occupied)).reshape(-1)
    a = _Accum.zeros(R, rays.origins, plan.n)
    log_min = math.log(min_transmittance) if min_transmittance > 0 else -math.inf
    shade_above = max(plan.weight_threshold, colour_weight)
    rows = torch.arange(R, device=dev)
    k = torch.zeros(R, device=dev, dtype=torch.long) if starts is None else starts.first.clone()
    first_round = True
    while True:
        if not first_round or starts is None:
            k = _skip(rays, plan, dist, rows, k)
        go = (k < plan.n).nonzero().squeeze(1)
        rows, k = rows.index_select(0, go), k.index_select(0, go)
        if not rows.numel():
            break
        _window(rays, plan, rows, k, window, a, shade_above, colour_weight > 0)
        k = k + window
        live = (a.log_t.index_select(0, rows) > log_min) & (a.count.index_select(0, rows) < plan.limit) & (k < plan.n)
        live = live.nonzero().squeeze(1)
        rows, k, first_round = rows.index_select(0, live), k.index_select(0, live), False
        if not rows.numel():
            break
    rgb = a.rgb
    if colour_weight > 0:
        rgb = rgb * torch.where(a.shaded > 0, a.acc / a.shaded.clamp(min=1e-12), torch.zeros_like(a.acc))[:, None]
        hit = ((a.shaded <= 0) & (a.best_w > 0)).nonzero().squeeze(1)
        if hit.numel():
            pts = rays.origins[hit] + a.best_t[hit, None] * rays.directions[hit]
            rgb = rgb.index_put((hit,), a.acc[hit, None] * plan.colour_fn(pts, rays.viewdirs[hit]))
    if plan.background is not None:
        rgb = rgb + (1.0 - a.acc)[:, None] * plan.background
    return rgb, _depth(rays, a), a.acc, RayStarts(a.first)


def _skip(rays: RayBatch, plan: PreviewPlan, dist: torch.Tensor, rows: torch.Tensor, k: torch.Tensor,
          max_jumps: int = 24) -> torch.Tensor:
    """For the rays ``rows`` [r] at sample ``k`` [r]: a sample index at or after ``k`` no later than the first
    occupied one (n: none is left), by jumps over the samples ``dist`` (flat ``distance_grid``) proves empty
    (module docstring, step 1). A ray stops next to an occupied cell, or after ``max_jumps`` jumps (the
    window, which tests every sample, takes it from there).

    Why a jump is safe: the nearest cells of two points whose cell-index coordinates differ by at most
    delta (on every axis) differ by at most ceil(delta) cells, so from a sample whose nearest cell has
    distance D every sample up to delta = D - 1 farther is in an empty cell. The cell is found here in
    cheaper arithmetic than the grid's look-up (it may land one cell off at a cell's border), so D - 2 is
    used. A sample moves the ray ``sigma`` cells along its fastest axis: the jump is
    floor((D - 2) / sigma) + 1 samples (a hair less, for rounding); a ray stops where D <= 1.
    """
    grid, dt = plan.grid, rays.origins.dtype
    top = (grid.shape - 1).to(dt)
    scale = top / (grid.aabb[1] - grid.aabb[0])  # cell-index units per scene unit [3]
    dims = grid.occupied.shape
    s0, s1 = float(dims[1] * dims[2]), float(dims[2])  # flat-index strides of x and y
    o, d = rays.origins.index_select(0, rows), rays.directions.index_select(0, rows)
    near, far = plan.near.index_select(0, rows), plan.far.index_select(0, rows)
    us = d * (scale * plan.step)  # cell-index units per sample [r, 3]
    # per ray: u at sample 0 [3], u per sample [3], samples per cell on the fastest axis, samples before the end
    state = torch.cat([(o + (near + 0.5 * plan.step) * d - grid.aabb[0]) * scale, us,
                       1.0 / us.abs().amax(-1, keepdim=True).clamp(min=1e-9),
                       torch.ceil((far - near) / plan.step).clamp(max=plan.n)], dim=-1)  # [r, 8]
    end = state[:, 7].clone()
    out, idx, kf = k.clone(), torch.arange(len(rows), device=k.device), k.to(dt)
    for _ in range(max_jumps):
        c = torch.minimum(torch.addcmul(state[:, :3], kf[:, None], state[:, 3:6]).round_().clamp_(min=0), top)
        # the flat index elementwise, exact below 2^24 cells (a matmul by the strides may run in TF32 on a GPU,
        # whose 11 significant bits would make a stride of 93 x 47 = 4371 into 4372: the wrong cell's distance)
        D = dist.take((c[:, 0] * s0).add_(c[:, 1], alpha=s1).add_(c[:, 2]).long()).to(dt)
        jump = ((D - 2.001) * state[:, 6]).floor_().clamp_(min=0).add_(1).masked_fill_(D <= 1, 0)
        kf = kf + jump
        out.index_copy_(0, idx, kf.long())
        go = ((jump > 0) & (kf < state[:, 7])).nonzero().squeeze(1)
        if not go.numel():
            break
        idx, kf, state = idx.index_select(0, go), kf.index_select(0, go), state.index_select(0, go)
    return torch.where(out < end, out, torch.full_like(out, plan.n))


def _window(rays: RayBatch, plan: PreviewPlan, rows: torch.Tensor, start: torch.Tensor, window: int, a: _Accum,
            shade_above: float, best: bool) -> None:
    """Test, evaluate and composite ``window`` samples from index ``start`` [r] of the rays ``rows`` [r];
    ``best``: keep each ray's largest weight and its t. Notes each ray's first occupied sample.

    The occupancy test and the compositing see all r x W samples (dense, zero where a sample is not kept);
    density sees the kept ones, colour those whose weight passes ``shade_above``.
    """
    o, d = rays.origins.index_select(0, rows), rays.directions.index_select(0, rows)
    near, far = plan.near.index_select(0, rows), plan.far.index_select(0, rows)
    k = start[:, None] + torch.arange(window, device=start.device)  # [r, W]
    t = near + (k.to(near.dtype) + 0.5) * plan.step
    inside, flat = _cells(plan.grid, o, d, t)
    valid = (t < far) & inside & plan.grid.occupied.reshape(-1).take(flat)  # (k >= n: t >= far)
    count = a.count.index_select(0, rows)
    if int(count.max()) + window > plan.limit:
        valid &= torch.cumsum(valid, dim=-1) + count[:, None] <= plan.limit  # the first ``limit`` of each ray
    was = a.first.index_select(0, rows)
    if bool((was >= plan.n).any()):  # rays whose first occupied sample is not known yet
        a.first.index_copy_(0, rows, torch.where(valid.any(-1), start + valid.to(torch.uint8).argmax(-1), was).minimum(was))
    sel = valid.reshape(-1).nonzero().squeeze(1)  # the kept samples, flat
    if not sel.numel():
        return
    row = sel // window
    ts = t.reshape(-1).index_select(0, sel)
    pts = o.index_select(0, row) + ts[:, None] * d.index_select(0, row)
    tau_k = plan.density_fn(pts) * (plan.step * d.norm(dim=-1)).index_select(0, row)  # optical depth of each step
    log_step = torch.zeros(valid.numel(), device=t.device, dtype=t.dtype)
    log_step = log_step.index_copy_(0, sel, torch.clamp(-tau_k, min=_LOG_MIN_TRANS)).reshape(valid.shape)
    # = log1p(-alpha clamped to 1 - 1e-6), as the renderer; transmittance before each sample, within the window
    trans = torch.exp(a.log_t.index_select(0, rows)[:, None] + torch.cumsum(log_step, dim=-1) - log_step)
    w_k = (1.0 - torch.exp(-tau_k)) * trans.reshape(-1).index_select(0, sel)  # weights of the kept samples
    w = torch.zeros_like(log_step).reshape(-1).index_copy_(0, sel, w_k).reshape(valid.shape)
    lit = (w_k > shade_above).nonzero().squeeze(1)
    if lit.numel():
        ray_of = rows.index_select(0, row.index_select(0, lit))
        colour = plan.colour_fn(pts.index_select(0, lit), rays.viewdirs.index_select(0, ray_of))
        a.rgb.index_add_(0, ray_of, w_k.index_select(0, lit)[:, None] * colour)
        a.shaded.index_add_(0, ray_of, w_k.index_select(0, lit))
    if best:
        best_w, j = w.max(-1)
        was = a.best_w.index_select(0, rows)
        better = best_w > was
        a.best_w.index_copy_(0, rows, torch.where(better, best_w, was))
        a.best_t.index_copy_(0, rows, torch.where(better, t.gather(1, j[:, None])[:, 0], a.best_t.index_select(0, rows)))
    a.acc.index_add_(0, rows, w.sum(-1))
    a.wt.index_add_(0, rows, (w * t).sum(-1))
    a.log_t.index_add_(0, rows, log_step.sum(-1))
    a.count.index_add_(0, rows, valid.sum(-1))


def _cells(grid: OccupancyGrid, o: torch.Tensor, d: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(inside bool [r, W], flat nearest-cell index long [r, W]) of the points o + t d (o, d [r, 3], t [r, W]),
    as ``OccupancyGrid.query`` decides (the same arithmetic, one axis at a time instead of [r, W, 3] tensors; the
    flat cell index is summed in float, exact below 2^24 cells, and only clamped for points outside the box)."""
    dims = grid.occupied.shape
    inside, flat = None, None
    for ax, n in enumerate(dims):
        u = (o[:, ax:ax + 1] + t * d[:, ax:ax + 1] - grid.aabb[0, ax]) / (grid.aabb[1, ax] - grid.aabb[0, ax])
        ok = (u >= 0) & (u <= 1)
        inside = ok if inside is None else inside & ok
        idx = (u * (n - 1)).round()
        flat = idx if flat is None else flat * n + idx
    return inside, flat.clamp_(0, grid.occupied.numel() - 1).long()


def _depth(rays: RayBatch, a: _Accum) -> torch.Tensor:
    """The sensor field's eval depth [R]: sum w t / sum w, or the ray's far bound where it is empty."""
    return torch.where(a.acc > 1e-6, a.wt / a.acc.clamp(min=1e-6), rays.far[:, 0])
