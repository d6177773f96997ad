"""Pure tensor functions of Mip-NeRF (Barron et al. 2021) as SparseNeRF/RegNeRF use them.

Conical frustums approximated by Gaussians, their integrated positional encoding (IPE), stratified
sampling, the blur-and-pad resampling of the fine level and volume rendering with the original's
expected depth. No nn.Module here; ``mipnerf.py`` composes these.
"""

from __future__ import annotations

import math

import torch


def conical_frustum_gaussian(
    t0: torch.Tensor,  # [R, S]
    t1: torch.Tensor,  # [R, S]
    base_radius: torch.Tensor,  # [R, 1]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean along the ray, variance along the ray and variance across it of a conical frustum.

    The stable closed form of Mip-NeRF (its eq. 7 rewritten around the mid-point ``mu`` and the
    half-width ``hw``). Returns (t_mean, t_var, r_var), each [R, S].
    """
    mu = (t0 + t1) / 2
    hw = (t1 - t0) / 2
    denom = 3 * mu**2 + hw**2
    t_mean = mu + (2 * mu * hw**2) / denom
    t_var = hw**2 / 3 - (4 / 15) * (hw**4 * (12 * mu**2 - hw**2)) / denom**2
    r_var = base_radius**2 * (mu**2 / 4 + (5 / 12) * hw**2 - (4 / 15) * hw**4 / denom)
    return t_mean, t_var, r_var


def lift_gaussian(
    origins: torch.Tensor,  # [R, 3]
    directions: torch.Tensor,  # [R, 3]
    t_mean: torch.Tensor,  # [R, S]
    t_var: torch.Tensor,  # [R, S]
    r_var: torch.Tensor,  # [R, S]
) -> tuple[torch.Tensor, torch.Tensor]:
    """World-space Gaussian of each frustum: means [R, S, 3] and diagonal covariances [R, S, 3]."""
    d = directions[:, None, :]
    means = origins[:, None, :] + d * t_mean[..., None]
    d_mag_sq = torch.clamp((directions**2).sum(-1, keepdim=True), min=1e-10)[:, None, :]
    along = d**2  # diag(d d^T)
    across = 1 - along / d_mag_sq  # diag(I - d d^T / |d|^2)
    cov_diag = t_var[..., None] * along + r_var[..., None] * across
    return means, cov_diag


def cylinder_gaussian(
    t0: torch.Tensor,  # [R, S]
    t1: torch.Tensor,  # [R, S]
    radius: torch.Tensor,  # [R, 1]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(t_mean, t_var, r_var) [R, S] of a cylinder segment: uniform in t and over a disc of ``radius``."""
    t_mean = (t0 + t1) / 2
    t_var = (t1 - t0) ** 2 / 12
    r_var = (radius**2 / 4).expand_as(t_mean)
    return t_mean, t_var, r_var


def cast_rays(
    origins: torch.Tensor,  # [R, 3]
    directions: torch.Tensor,  # [R, 3]
    radii: torch.Tensor,  # [R, 1]
    t_edges: torch.Tensor,  # [R, S + 1]
    ray_shape: str = "cone",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussians (means [R, S, 3], diagonal covariances [R, S, 3]) of the S segments between edges.

    ray_shape: "cone" (conical frustums) or "cylinder".
    """
    if ray_shape == "cone":
        moments = conical_frustum_gaussian(t_edges[:, :-1], t_edges[:, 1:], radii)
    elif ray_shape == "cylinder":
        moments = cylinder_gaussian(t_edges[:, :-1], t_edges[:, 1:], radii)
    else:
        raise ValueError(f"ray_shape must be 'cone' or 'cylinder', got {ray_shape!r}")
    return lift_gaussian(origins, directions, *moments)


def integrated_pos_enc(
    means: torch.Tensor,  # [..., 3]
    cov_diag: torch.Tensor,  # [..., 3]
    min_deg: int,
    max_deg: int,
) -> torch.Tensor:
    """Integrated positional encoding: E[sin(2^k x)], E[cos(2^k x)] for x ~ N(means, diag(cov)).

    E[sin(a x)] = exp(-a^2 var / 2) sin(a mu). Degrees k = min_deg .. max_deg - 1.
    Returns [..., 2 * 3 * (max_deg - min_deg)], ordered [sin block | cos block], each block
    degree-major (all three axes of degree k, then k + 1, ...), as the original.
    """
    scales = 2.0 ** torch.arange(min_deg, max_deg, device=means.device, dtype=means.dtype)  # [L]
    shape = means.shape[:-1] + (-1,)
    y = (means[..., None, :] * scales[:, None]).reshape(shape)  # [..., L * 3]
    y_var = (cov_diag[..., None, :] * scales[:, None] ** 2).reshape(shape)
    damp = torch.exp(-0.5 * y_var)
    return torch.cat([damp * torch.sin(y), damp * torch.cos(y)], dim=-1)


def pos_enc(x: torch.Tensor, min_deg: int, max_deg: int, append_identity: bool = True) -> torch.Tensor:
    """Plain positional encoding [..., C] -> [..., C * (1 + 2 L)] (identity first when appended)."""
    scales = 2.0 ** torch.arange(min_deg, max_deg, device=x.device, dtype=x.dtype)
    xb = (x[..., None, :] * scales[:, None]).reshape(x.shape[:-1] + (-1,))
    four = torch.sin(torch.cat([xb, xb + 0.5 * math.pi], dim=-1))
    return torch.cat([x, four], dim=-1) if append_identity else four


def sample_pdf(
    bins: torch.Tensor,  # [R, B + 1]
    weights: torch.Tensor,  # [R, B]
    num_samples: int,
    randomized: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sorted samples [R, num_samples] from the piecewise-constant pdf ``weights`` over ``bins``.

    Mip-NeRF's ``sorted_piecewise_constant_pdf``: a tiny padding keeps all-zero weights valid,
    stratified uniforms when randomized (evenly spaced otherwise), inverse CDF by interval search.
    """
    eps = 1e-5
    weight_sum = weights.sum(-1, keepdim=True)
    padding = torch.clamp(eps - weight_sum, min=0)
    weights = weights + padding / weights.shape[-1]
    pdf = weights / (weight_sum + padding)
    cdf = torch.clamp(torch.cumsum(pdf[..., :-1], dim=-1), max=1)
    zeros, ones = torch.zeros_like(cdf[..., :1]), torch.ones_like(cdf[..., :1])
    cdf = torch.cat([zeros, cdf, ones], dim=-1)  # [R, B + 1]
    if randomized:
        s = 1 / num_samples
        u = torch.arange(num_samples, device=bins.device, dtype=bins.dtype) * s
        jitter = torch.rand(cdf.shape[:-1] + (num_samples,), device=bins.device, dtype=bins.dtype,
                            generator=generator)
        u = torch.clamp(u + jitter * (s - eps), max=1 - eps)
    else:
        u = torch.linspace(0.0, 1 - eps, num_samples, device=bins.device, dtype=bins.dtype)
        u = u.expand(cdf.shape[:-1] + (num_samples,))
    idx = torch.searchsorted(cdf.contiguous(), u.contiguous(), right=True)  # first edge with cdf > u
    below = torch.clamp(idx - 1, min=0, max=cdf.shape[-1] - 1)
    above = torch.clamp(idx, max=cdf.shape[-1] - 1)
    cdf0, cdf1 = torch.gather(cdf, -1, below), torch.gather(cdf, -1, above)
    b0, b1 = torch.gather(bins, -1, below), torch.gather(bins, -1, above)
    t = torch.clamp(torch.nan_to_num((u - cdf0) / (cdf1 - cdf0), nan=0.0), 0, 1)
    return b0 + t * (b1 - b0)


def resample_edges(
    t_edges: torch.Tensor,  # [R, S + 1]
    weights: torch.Tensor,  # [R, S]
    resample_padding: float,
    randomized: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fine-level edges [R, S + 1] from the coarse weights, with Mip-NeRF's 2-tap max + blur + padding.

    No gradient flows into the edges (the original stops it).
    """
    w = torch.cat([weights[:, :1], weights, weights[:, -1:]], dim=-1)
    w_max = torch.maximum(w[:, :-1], w[:, 1:])
    w_blur = 0.5 * (w_max[:, :-1] + w_max[:, 1:])
    edges = sample_pdf(t_edges, w_blur + resample_padding, t_edges.shape[-1], randomized, generator)
    return edges.detach()


def volume_render(
    rgb: torch.Tensor,  # [R, S, 3]
    density: torch.Tensor,  # [R, S]
    t_edges: torch.Tensor,  # [R, S + 1]
    directions: torch.Tensor,  # [R, 3]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Alpha compositing as Mip-NeRF: returns (rgb [R, 3], depth [R], acc [R], weights [R, S]).

    depth is the original's expected depth sum(w t_mid) / sum(w), NaN (no weight) -> far, clipped to
    [t_first_edge, t_last_edge]. Black background, as the original for real scenes.
    """
    t_mids = 0.5 * (t_edges[:, :-1] + t_edges[:, 1:])
    delta = (t_edges[:, 1:] - t_edges[:, :-1]) * torch.linalg.norm(directions, dim=-1, keepdim=True)
    density_delta = density * delta
    alpha = 1 - torch.exp(-density_delta)
    trans = torch.exp(-torch.cat([torch.zeros_like(density_delta[:, :1]),
                                  torch.cumsum(density_delta[:, :-1], dim=-1)], dim=-1))
    weights = alpha * trans
    comp_rgb = (weights[..., None] * rgb).sum(1)
    acc = weights.sum(-1)
    depth = expected_depth(weights, t_mids, t_edges[:, 0], t_edges[:, -1])
    return comp_rgb, depth, acc, weights


def expected_depth(
    weights: torch.Tensor,  # [R, S]
    t_mids: torch.Tensor,  # [R, S]
    near: torch.Tensor,  # [R]
    far: torch.Tensor,  # [R]
) -> torch.Tensor:
    """sum(w t) / sum(w), NaN/inf -> far, clipped to [near, far]: [R].

    NaN -> far is sparsenerf.md's rule and the intent of the original's ``nan_to_num(d, jnp.inf)``;
    note that in JAX that call passes inf as ``copy`` and so maps NaN to 0, which the clip then
    turns into near. It only matters for rays whose weights are all exactly 0.
    """
    total = weights.sum(-1)
    ok = total > 0
    # Divide by a safe denominator: 0/0 inside torch.where would still send NaN gradients back.
    depth = (weights * t_mids).sum(-1) / torch.where(ok, total, torch.ones_like(total))
    depth = torch.where(ok & torch.isfinite(depth), depth, far)
    return torch.minimum(torch.maximum(depth, near), far)
