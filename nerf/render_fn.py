"""Volume rendering of ray samples through field FUNCTIONS (density, colour, background), and its dense reference.

The renderer owns no parameters: a field hands it ``density_fn(points [N, 3]) -> [N]`` (per unit arc
length), ``colour_fn(points [N, 3], viewdirs [N, 3]) -> [N, 3]`` and the background of each ray, and gets
back colour, depth, opacity and the weights. ``render_samples`` evaluates density only at valid samples and
colour only where the compositing weight passes ``weight_threshold`` (a few samples per ray on a sharp
surface); ``render_samples_reference`` evaluates both everywhere and masks afterwards. With
``weight_threshold=0`` the two agree, forward and backward (tests/test_render_fn.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from devices.frame import check_shape
from nerf.fields.base import RayBatch
from nerf.march import RaySamples
from nerf.rendering import far_background_depth, weights_from_alpha

DensityFn = Callable[[torch.Tensor], torch.Tensor]
"""World points [N, 3] -> density per unit arc length [N]."""
ColourFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""World points [N, 3], unit view directions [N, 3] -> RGB [N, 3]."""
Background = "torch.Tensor | float | None"
"""RGB [R, 3] or [3], a constant, or None (black: nothing added)."""


@dataclass
class Rendered:
    """rgb [R, 3]; depth [R] (far_background); acc [R]; weights [R, K]; depth_normalised [R] (sum w t / sum w)."""

    rgb: torch.Tensor
    depth: torch.Tensor
    acc: torch.Tensor
    weights: torch.Tensor
    depth_normalised: torch.Tensor


def render_samples(
    rays: RayBatch,
    samples: RaySamples,
    density_fn: DensityFn,
    colour_fn: ColourFn,
    background: torch.Tensor | float | None,  # [R, 3] / [3] / constant / None
    weight_threshold: float = 1e-4,
) -> Rendered:
    """Composite ``samples`` front to back; the transparent rest of each ray shows ``background``.

    depth = sum(w t) + (1 - sum(w)) end: an empty ray lies where its samples end (``RaySamples.end``), which
    the ranking prior and the metric depth loss see.
    """
    if isinstance(background, torch.Tensor) and background.ndim > 0:
        check_shape("background", background, (len(rays), 3) if background.ndim == 2 else (3,))
    check_shape("samples.t", samples.t, (len(rays), None))
    pts = samples.points(rays)  # [R, K, 3]
    sel = samples.valid.nonzero(as_tuple=True)
    density = torch.zeros_like(samples.t)
    if sel[0].numel():
        density = density.index_put(sel, density_fn(pts[sel]))
    weights = _weights(rays, samples, density)
    shade = samples.valid & (weights.detach() > weight_threshold)
    rgb = torch.zeros((*samples.t.shape, 3), device=pts.device, dtype=pts.dtype)
    sel = shade.nonzero(as_tuple=True)
    if sel[0].numel():
        rgb = rgb.index_put(sel, colour_fn(pts[sel], rays.viewdirs[sel[0]]))
    return _composite(rays, samples, weights, rgb, background)


def render_samples_reference(
    rays: RayBatch, samples: RaySamples, density_fn: DensityFn, colour_fn: ColourFn,
    background: torch.Tensor | float | None,
) -> Rendered:
    """The same as ``render_samples`` with ``weight_threshold=0``, written densely: every sample is evaluated,
    invalid ones are zeroed by multiplication instead of being skipped."""
    pts = samples.points(rays)
    R, K = samples.t.shape
    density = density_fn(pts.reshape(-1, 3)).reshape(R, K) * samples.valid
    weights = _weights(rays, samples, density)
    viewdirs = rays.viewdirs[:, None, :].expand(R, K, 3).reshape(-1, 3)
    rgb = colour_fn(pts.reshape(-1, 3), viewdirs).reshape(R, K, 3) * samples.valid[..., None]
    return _composite(rays, samples, weights, rgb, background)


def _weights(rays: RayBatch, samples: RaySamples, density: torch.Tensor) -> torch.Tensor:
    """Compositing weights [R, K] of densities [R, K] over the samples' intervals."""
    arc = samples.delta * rays.directions.norm(dim=-1, keepdim=True)
    return weights_from_alpha(1.0 - torch.exp(-density * arc))


def _composite(rays: RayBatch, samples: RaySamples, weights: torch.Tensor, rgb: torch.Tensor,
               background: torch.Tensor | float | None) -> Rendered:
    out_rgb = (weights[..., None] * rgb).sum(-2)
    acc = weights.sum(-1)
    if background is not None:
        out_rgb = out_rgb + (1.0 - acc)[:, None] * background
    end = samples.end(rays)
    depth = far_background_depth(weights, samples.t, end)
    wt = (weights * samples.t).sum(-1)
    norm = torch.where(acc > 1e-6, wt / acc.clamp(min=1e-6), end)
    return Rendered(rgb=out_rgb, depth=depth, acc=acc, weights=weights, depth_normalised=norm)
