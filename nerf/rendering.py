"""Volume rendering: compositing weights from densities, colour, expected depth and opacity.

All functions take dense per-ray sample arrays: densities [R, S] on bins with edges t [R, S + 1].
A sample a field skipped (empty space) simply has density 0.
"""

from __future__ import annotations

import torch

from devices.frame import check_shape


def _check_bins(per_bin: torch.Tensor, edges: torch.Tensor, name: str = "weights") -> tuple[int, int]:
    """Check per-bin values [R, S] against their bin edges [R, S + 1]; returns (R, S)."""
    check_shape(name, per_bin, (None, None))
    r, s = per_bin.shape
    check_shape("edges", edges, (r, s + 1))
    return r, s


def alpha_from_density(
    density: torch.Tensor,  # [R, S] >= 0
    edges: torch.Tensor,  # [R, S + 1]
    dir_norm: torch.Tensor,  # [R, 1] |direction| (t is not arc length when directions are unnormalised)
) -> torch.Tensor:
    """Opacity of each interval: 1 - exp(-density * (t_{i+1} - t_i) * |d|). Returns [R, S]."""
    r, s = _check_bins(density, edges, "density")
    check_shape("dir_norm", dir_norm, (r, 1))
    delta = (edges[:, 1:] - edges[:, :-1]) * dir_norm
    return 1.0 - torch.exp(-density * delta)


def weights_from_alpha(alpha: torch.Tensor) -> torch.Tensor:
    """Compositing weights w_i = alpha_i * prod_{j<i} (1 - alpha_j). alpha [R, S] -> [R, S]."""
    check_shape("alpha", alpha, (None, None))
    # log-space product: exp(cumsum(log(1 - alpha))) with an exclusive shift
    log_trans = torch.cumsum(torch.log1p(-alpha.clamp(max=1.0 - 1e-6)), dim=-1)
    trans = torch.exp(torch.cat([torch.zeros_like(log_trans[:, :1]), log_trans[:, :-1]], dim=-1))
    return alpha * trans


def volume_weights(
    density: torch.Tensor,  # [R, S]
    edges: torch.Tensor,  # [R, S + 1]
    dir_norm: torch.Tensor,  # [R, 1]
) -> torch.Tensor:
    """Compositing weights [R, S] of the intervals (densities per unit arc length)."""
    return weights_from_alpha(alpha_from_density(density, edges, dir_norm))


def composite_rgb(
    weights: torch.Tensor,  # [R, S]
    rgb: torch.Tensor,  # [R, S, 3]
    background: float | None = None,
) -> torch.Tensor:
    """Expected colour [R, 3]; ``background`` (e.g. 1.0 white, 0.0 black) fills the transparent part."""
    check_shape("weights", weights, (None, None))
    check_shape("rgb", rgb, (*weights.shape, 3))
    out = (weights[..., None] * rgb).sum(dim=-2)
    if background is not None:
        out = out + (1.0 - weights.sum(dim=-1, keepdim=True)) * background
    return out


def accumulated_opacity(weights: torch.Tensor) -> torch.Tensor:
    """Sum of weights per ray, [R, S] -> [R]."""
    return weights.sum(dim=-1)


def expected_depth(
    weights: torch.Tensor,  # [R, S]
    edges: torch.Tensor,  # [R, S + 1]
) -> torch.Tensor:
    """Expected depth as the original (Mip-NeRF / SparseNeRF) computes it. Returns [R].

    d = sum(w_i * t_mid_i) / sum(w_i), then NaN (no weight at all) -> +inf, then clipped to
    [t_0, t_S] (the ray's near and far), so an empty ray reports far.
    """
    _check_bins(weights, edges)
    t_mid = 0.5 * (edges[:, 1:] + edges[:, :-1])
    acc = weights.sum(dim=-1)
    has = acc > 0
    # the same as nan_to_num(0 / 0, inf), written with a safe denominator so no NaN reaches the gradients
    d = torch.where(has, (weights * t_mid).sum(dim=-1) / torch.where(has, acc, torch.ones_like(acc)), float("inf"))
    return torch.minimum(torch.maximum(d, edges[:, 0]), edges[:, -1])


def far_background_depth(
    weights: torch.Tensor,  # [R, S]
    t: torch.Tensor,  # [R, S] sample positions
    end: torch.Tensor,  # [R] where each ray's samples end
) -> torch.Tensor:
    """sum(w t) + (1 - sum(w)) end: the transparent part of a ray counts as lying at its end, so faint fog
    cannot reorder depths (the fast and sensor fields' training depth). Returns [R]."""
    return (weights * t).sum(-1) + (1.0 - weights.sum(-1)).clamp(min=0.0) * end
