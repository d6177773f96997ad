"""Where to put samples along rays: stratified bins, and importance (inverse-CDF) resampling.

Samples are described by bin EDGES ``t`` [R, S + 1] (S intervals per ray), as in Mip-NeRF; the
midpoints (t[:, 1:] + t[:, :-1]) / 2 are the sample positions.
"""

from __future__ import annotations

import torch

from devices.frame import check_shape


def stratified_edges(
    near: torch.Tensor,  # [R, 1]
    far: torch.Tensor,  # [R, 1]
    num_samples: int,
    *,
    randomized: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """S = ``num_samples`` equal bins between near and far; with ``randomized`` the inner edges jitter.

    Jittering follows Mip-NeRF: each edge moves uniformly between the midpoints of its neighbours
    (the first and last between near / far and the nearest midpoint), so the edges stay sorted
    inside [near, far].

    Returns:
        t: [R, S + 1] sorted bin edges; without jitter t[:, 0] = near and t[:, -1] = far.
    """
    check_shape("near", near, (None, 1))
    check_shape("far", far, tuple(near.shape))
    steps = torch.linspace(0.0, 1.0, num_samples + 1, device=near.device, dtype=near.dtype)
    t = near * (1 - steps) + far * steps  # [R, S + 1], Mip-NeRF's form (exact near and far at the ends)
    if randomized:
        mids = 0.5 * (t[:, 1:] + t[:, :-1])
        upper = torch.cat([mids, t[:, -1:]], dim=-1)
        lower = torch.cat([t[:, :1], mids], dim=-1)
        u = torch.rand(t.shape, device=t.device, dtype=t.dtype, generator=generator)
        t = lower + (upper - lower) * u
    return t


def sample_pdf(
    edges: torch.Tensor,  # [R, S + 1]
    weights: torch.Tensor,  # [R, S]
    num_samples: int,
    *,
    randomized: bool,
    padding: float = 0.01,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw ``num_samples`` + 1 new sorted edges from the piecewise-constant pdf ``weights`` over ``edges``.

    ``padding`` is added to every weight (Mip-NeRF's resample padding) so no bin has zero
    probability. Without ``randomized`` the quantiles are evenly spaced (deterministic).
    Gradients do not flow through the returned positions.

    Returns:
        t: [R, num_samples + 1] sorted edges inside [edges[:, 0], edges[:, -1]].
    """
    check_shape("weights", weights, (None, None))
    check_shape("edges", edges, (weights.shape[0], weights.shape[1] + 1))
    edges, weights = edges.detach(), weights.detach() + padding
    pdf = weights / weights.sum(dim=-1, keepdim=True)
    cdf = torch.cumsum(pdf, dim=-1).clamp(max=1.0)
    cdf = torch.cat([torch.zeros_like(cdf[:, :1]), cdf], dim=-1)  # [R, S + 1]
    n = num_samples + 1
    if randomized:
        step = 1.0 / n
        u = torch.arange(n, device=edges.device, dtype=edges.dtype) * step
        u = u + torch.rand((*cdf.shape[:-1], n), device=edges.device, dtype=edges.dtype, generator=generator) * step
        u = u.clamp(max=1.0 - 1e-6)
    else:
        u = torch.linspace(0.0, 1.0 - 1e-6, n, device=edges.device, dtype=edges.dtype).expand(*cdf.shape[:-1], n)
    u = u.contiguous()
    idx = torch.searchsorted(cdf, u, right=True).clamp(1, cdf.shape[-1] - 1)  # [R, n]
    cdf_lo, cdf_hi = cdf.gather(-1, idx - 1), cdf.gather(-1, idx)
    t_lo, t_hi = edges.gather(-1, idx - 1), edges.gather(-1, idx)
    frac = ((u - cdf_lo) / (cdf_hi - cdf_lo).clamp(min=1e-12)).clamp(0.0, 1.0)
    t = t_lo + frac * (t_hi - t_lo)
    return torch.sort(t, dim=-1).values
