"""Volume rendering of sparse ray samples through field FUNCTIONS (density, colour, background).

The renderer owns no parameters: a field hands it ``density_fn(points [N, 3]) -> [N]`` (per unit arc
length), ``colour_fn(points [N, 3], viewdirs [N, 3]) -> [N, 3]`` and the background colour of each ray,
and gets back colour, depth, opacity and the weights. Density is evaluated only at valid samples, colour
only where the compositing weight passes ``weight_threshold`` (a few samples per ray on a sharp surface).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from nerf.fields.base import RayBatch
from nerf.march import RaySamples
from nerf.rendering import weights_from_alpha


@dataclass
class Rendered:
    """rgb [R, 3]; depth [R] (``depth_mode``); acc [R]; weights [R, K]; depth_normalised [R] (sum w t / sum w)."""

    rgb: torch.Tensor
    depth: torch.Tensor
    acc: torch.Tensor
    weights: torch.Tensor
    depth_normalised: torch.Tensor


def render_samples(
    rays: RayBatch,
    samples: RaySamples,
    density_fn: Callable[[torch.Tensor], torch.Tensor],
    colour_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    background: torch.Tensor,  # [R, 3]
    weight_threshold: float = 1e-4,
) -> Rendered:
    """Composite ``samples`` front to back; the transparent rest of each ray shows ``background``.

    depth = sum(w t) + (1 - sum(w)) far: an empty ray lies at its far bound (the fast field's
    ``far_background``), which the ranking prior and the metric depth loss see.
    """
    pts = samples.points(rays)  # [R, K, 3]
    sel = samples.valid.nonzero(as_tuple=True)
    density = torch.zeros_like(samples.t)
    if sel[0].numel():
        density = density.index_put(sel, density_fn(pts[sel]))
    arc = samples.delta * rays.directions.norm(dim=-1, keepdim=True)
    weights = weights_from_alpha(1.0 - torch.exp(-density * arc))
    shade = samples.valid & (weights.detach() > weight_threshold)
    rgb = torch.zeros((*samples.t.shape, 3), device=pts.device, dtype=pts.dtype)
    sel = shade.nonzero(as_tuple=True)
    if sel[0].numel():
        rgb = rgb.index_put(sel, colour_fn(pts[sel], rays.viewdirs[sel[0]]))
    acc = weights.sum(-1)
    out_rgb = (weights[..., None] * rgb).sum(-2) + (1.0 - acc)[:, None] * background
    wt = (weights * samples.t).sum(-1)
    depth = wt + (1.0 - acc).clamp(min=0.0) * rays.far[:, 0]
    norm = torch.where(acc > 1e-6, wt / acc.clamp(min=1e-6), rays.far[:, 0])
    return Rendered(rgb=out_rgb, depth=depth, acc=acc, weights=weights, depth_normalised=norm)
