"""SparseNeRF losses: colour, depth ranking and depth continuity (sparsenerf.md, "Losses").

The ranking terms take the quadruple indices from the pair sampler (``nerf.pairs.PairBatch``)
explicitly; nothing here assumes a ray layout. Every weight and margin comes from ``LossConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from devices.frame import check_shape


@dataclass(frozen=True)
class LossConfig:
    """Weights and margins of the total loss L = L_rgb_fine + coarse_weight * L_rgb_coarse + rank_weight * L_depth."""

    rank_weight: float = 0.5
    """lambda: weight of L_depth = L_rank + cont_weight * L_cont (per data set: nerf.profiles)."""
    cont_weight: float = 0.1
    """c: weight of the continuity term inside L_depth (per data set: nerf.profiles)."""
    rank_margin: float = 1e-4
    """m1 of the ranking hinge max(d_near - d_far + m1, 0)."""
    cont_margin: float = 1e-4
    """m2 of the continuity hinge max(|d - d_neighbour| - m2, 0)."""
    coarse_weight: float = 0.1
    """Weight of the coarse level's colour loss (two-level fields)."""


@dataclass
class LossTerms:
    """The loss terms of one step (tensors, so ``total`` can be back-propagated).

    ``rgb``, ``rgb_coarse``, ``rank`` and ``cont`` are the unweighted terms; ``aux`` holds what each regulariser
    added to ``total`` (its weight times its term), by name.
    """

    total: torch.Tensor
    rgb: torch.Tensor
    rgb_coarse: torch.Tensor | None = None
    rank: torch.Tensor | None = None
    cont: torch.Tensor | None = None
    aux: dict[str, torch.Tensor] = field(default_factory=dict)

    def as_floats(self) -> dict[str, float]:
        """Every term as a Python float, by name (for logs and snapshots)."""
        out = {"total": float(self.total.detach()), "rgb": float(self.rgb.detach())}
        for name in ("rgb_coarse", "rank", "cont"):
            value = getattr(self, name)
            if value is not None:
                out[name] = float(value.detach())
        out.update({k: float(v.detach()) for k, v in self.aux.items()})
        return out


def rgb_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over rays and channels. pred, target [R, 3] -> scalar."""
    check_shape("pred", pred, (None, 3))
    check_shape("target", target, tuple(pred.shape))
    return torch.mean((pred - target) ** 2)


def ranking_loss(
    depth: torch.Tensor,  # [B] expected depth of every ray of the batch
    near_idx: torch.Tensor,  # [Q] batch indices of the coarse-nearer points
    far_idx: torch.Tensor,  # [Q] batch indices of the coarse-farther points
    margin: float,
) -> torch.Tensor:
    """mean(max(d_near - d_far + margin, 0)): penalises a NeRF depth order that contradicts the prior."""
    _check_quads(depth, near_idx=near_idx, far_idx=far_idx)
    return torch.relu(depth[near_idx] - depth[far_idx] + margin).mean()


def continuity_loss(
    depth: torch.Tensor,  # [B]
    near_idx: torch.Tensor,  # [Q]
    nb_near_idx: torch.Tensor,  # [Q]
    far_idx: torch.Tensor,  # [Q]
    nb_far_idx: torch.Tensor,  # [Q]
    margin: float,
) -> torch.Tensor:
    """mean(max(|d_near - d_nbnear| - m, 0)) + mean(max(|d_far - d_nbfar| - m, 0))."""
    _check_quads(depth, near_idx=near_idx, nb_near_idx=nb_near_idx, far_idx=far_idx, nb_far_idx=nb_far_idx)
    a = torch.relu((depth[near_idx] - depth[nb_near_idx]).abs() - margin).mean()
    b = torch.relu((depth[far_idx] - depth[nb_far_idx]).abs() - margin).mean()
    return a + b


def _check_quads(depth: torch.Tensor, **indices: torch.Tensor) -> None:
    """depth [B] and index vectors [Q] of one common length (named by their keyword)."""
    check_shape("depth", depth, (None,))
    q = next(iter(indices.values())).shape[:1]
    for name, idx in indices.items():
        check_shape(name, idx, tuple(q))


@dataclass(frozen=True)
class QuadIndices:
    """The quadruple indices of a batch as tensors on the training device (see ``PairBatch``)."""

    near: torch.Tensor
    far: torch.Tensor
    nb_near: torch.Tensor
    nb_far: torch.Tensor


def sparsenerf_loss(
    rgb: torch.Tensor,  # [B, 3] fine colour
    target: torch.Tensor,  # [B, 3]
    depth: torch.Tensor,  # [B] fine expected depth
    config: LossConfig,
    *,
    rgb_coarse: torch.Tensor | None = None,  # [B, 3]
    quads: QuadIndices | None = None,
    regularisers: dict[str, torch.Tensor] | None = None,
    weights: dict[str, float] | None = None,
) -> LossTerms:
    """THE loss formula: L = L_rgb_fine + coarse_weight * L_rgb_coarse + rank_weight * (L_rank + cont_weight * L_cont)
    + sum_k weights[k] * regularisers[k].

    Colour terms use every ray of the batch; the depth terms only the quadruples (none: no depth term).
    ``regularisers`` are unweighted scalar terms by name (a field's ``FieldOutput.regularisers``, the trainer's
    metric depth and smoothness); ``weights`` has the weight of each (``Field.regulariser_weights``); a term
    whose weight is 0 is left out. Weights are applied here and nowhere else.
    """
    check_shape("rgb", rgb, (None, 3))
    check_shape("depth", depth, (rgb.shape[0],))
    if rgb_coarse is not None:
        check_shape("rgb_coarse", rgb_coarse, tuple(rgb.shape))
    l_rgb = rgb_loss(rgb, target)
    total = l_rgb
    terms = LossTerms(total=total, rgb=l_rgb)
    if rgb_coarse is not None:
        terms.rgb_coarse = rgb_loss(rgb_coarse, target)
        total = total + config.coarse_weight * terms.rgb_coarse
    if quads is not None and quads.near.numel() > 0:
        terms.rank = ranking_loss(depth, quads.near, quads.far, config.rank_margin)
        terms.cont = continuity_loss(depth, quads.near, quads.nb_near, quads.far, quads.nb_far, config.cont_margin)
        total = total + config.rank_weight * (terms.rank + config.cont_weight * terms.cont)
    for name, value in (regularisers or {}).items():
        if name not in (weights or {}):
            raise ValueError(f"no weight for the regulariser {name!r} (weights: {sorted(weights or {})})")
        if weights[name] == 0:
            continue
        terms.aux[name] = weights[name] * value
        total = total + terms.aux[name]
    terms.total = total
    return terms


def distortion_loss(
    weights: torch.Tensor,  # [R, S]
    edges: torch.Tensor,  # [R, S + 1] normalised to [0, 1] along each ray
) -> torch.Tensor:
    """Mip-NeRF 360's distortion loss, mean over rays, in O(S) with prefix sums.

    sum_ij w_i w_j |m_i - m_j| + 1/3 sum_i w_i^2 (t_{i+1} - t_i), m = interval midpoints: small when
    each ray's weight sits in one short interval (a surface), large for fog spread along the ray.
    """
    check_shape("weights", weights, (None, None))
    check_shape("edges", edges, (weights.shape[0], weights.shape[1] + 1))
    mids = 0.5 * (edges[:, 1:] + edges[:, :-1])
    w_before = torch.cumsum(weights, dim=-1) - weights  # sum_{j<i} w_j
    wm_before = torch.cumsum(weights * mids, dim=-1) - weights * mids  # sum_{j<i} w_j m_j
    cross = 2.0 * (weights * (mids * w_before - wm_before)).sum(dim=-1)
    self_term = (weights**2 * (edges[:, 1:] - edges[:, :-1])).sum(dim=-1) / 3.0
    return (cross + self_term).mean()


def distortion_loss_reference(weights: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """The same as ``distortion_loss`` with the explicit O(S^2) double sum (for the tests)."""
    mids = 0.5 * (edges[:, 1:] + edges[:, :-1])
    pair = (weights[:, :, None] * weights[:, None, :] * (mids[:, :, None] - mids[:, None, :]).abs()).sum(dim=(1, 2))
    return (pair + (weights**2 * (edges[:, 1:] - edges[:, :-1])).sum(dim=-1) / 3.0).mean()
