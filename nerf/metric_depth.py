"""Metric sensor depth in training: seeding a field that takes it, and the metric depth loss.

Only for scenes with metric depth maps (``DepthKind.METRIC`` with ``to_metres``, not NDC) and fields that
define ``seed_from_depth`` (the sensor field); every other combination trains without both.
"""

from __future__ import annotations

import numpy as np
import torch

from devices.frame import DepthKind
from nerf.fields.base import FieldOutput
from nerf.scene import Scene

__all__ = ["depth_window", "metric_depth_loss", "seed_from_metric_depth"]


def seed_from_metric_depth(field: torch.nn.Module, scene: Scene, images: torch.Tensor,
                           device: torch.device) -> torch.Tensor | None:
    """Seed ``field`` (``seed_from_depth``) from the training views' metric depth; returns the depth maps
    float32 [N, H, W] in scene units for the metric depth loss, or None (no metric depth, a field without
    it, or ``metric_depth_weight`` 0). ``images``: float [N, H, W, 3] on ``device``."""
    s = scene
    metric = s.depths is not None and s.depth_kind is DepthKind.METRIC and s.to_metres and not s.ndc
    if not (metric and hasattr(field, "seed_from_depth")):
        return None
    from nerf.occupancy import DepthViews

    ids = s.train_ids
    depths = torch.as_tensor(s.depths / s.to_metres, dtype=torch.float32, device=device)
    to = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)  # noqa: E731
    views = DepthViews(K=to(s.K[ids]), w2c=to(np.linalg.inv(s.c2w[ids])), depth=depths[ids])
    mean_rgb = images[ids].reshape(-1, 3).mean(0)
    field.seed_from_depth(views, s.near, s.far, mean_rgb, images[ids])
    return depths if field.config.metric_depth_weight > 0 else None


WINDOW_CELLS = 1.0
"""The metric depth loss's band around the sensor depth, in the field's cells (``depth_window``)."""


def depth_window(field: torch.nn.Module) -> float:
    """Half width of the band around the sensor depth the metric depth loss wants each ray's weight in (scene
    units): ``WINDOW_CELLS`` of the field's density cells (``field.cell()``; 0 for a field without cells)."""
    return WINDOW_CELLS * float(field.cell()) if hasattr(field, "cell") else 0.0


def metric_depth_loss(out: FieldOutput, target: torch.Tensor, window: float) -> torch.Tensor:
    """The metric depth term over the rays that have sensor depth D (unweighted: the field's ``metric_depth_weight``
    is applied by ``nerf.losses.sparsenerf_loss``).

    With the field's samples (``out.termination``): mean(|d - D| / D + 1 - W), d = sum(w t) / sum(w) where the ray's
    opacity lies and W the weight within ``window`` of D: the surface sits at D and the ray ends there, none of
    its weight in front (or behind). Comparing the far-filled depth sum(w t) + (1 - sum w) far with D instead let
    a wall at opacity 0.98 sit (1 - 0.98)(far - D) in front of D (2-3 cm on the virtual room); and an opacity
    term 1 - sum(w) alone, which every sample's density raises alike, pulls far walls forward. Without samples:
    mean |out.depth - D| / D.

    Args:
        out: the field's output for R rays (``depth`` [R]; ``termination`` t, weights [R, K] or None).
        target: the sensor's metric depth [R] at the same pixels (0: no reading), on depth's device.
        window: half width (scene units) of the band around D the weight must lie in: at least the field's
            sample spacing and the sensor's noise.
    """
    ok = target > 0
    if not bool(ok.any()):
        return out.depth.sum() * 0.0
    D = target[ok]
    if out.termination is None:
        return ((out.depth[ok] - D).abs() / D).mean()
    t, w = out.termination.t[ok], out.termination.weights[ok]  # [M, K]
    acc = w.sum(-1)
    d = (w * t).sum(-1) / acc.clamp(min=1e-6)
    inside = ((t - D[:, None]).abs() <= window).to(w.dtype)
    return ((d - D).abs() / D + 1.0 - (w * inside).sum(-1)).mean()
