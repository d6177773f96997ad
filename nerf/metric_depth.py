"""Metric sensor depth in training: seeding a field that takes it, and the metric depth loss.

Only for scenes with metric depth maps (``DepthKind.METRIC`` with ``to_metres``, not NDC) and fields that
define ``seed_from_depth`` (the sensor field); every other combination trains without both.
"""

from __future__ import annotations

import numpy as np
import torch

from devices.frame import DepthKind
from nerf.scene import Scene

__all__ = ["metric_depth_loss", "seed_from_metric_depth"]


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
    field.seed_from_depth(views, s.near, s.far, mean_rgb)
    return depths if field.config.metric_depth_weight > 0 else None


def metric_depth_loss(depth: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean |depth - sensor| / sensor over the rays that have sensor depth (unweighted: the field's
    ``metric_depth_weight`` is applied by ``nerf.losses.sparsenerf_loss``).

    Args:
        depth: rendered depth [R] of the batch's rays.
        target: the sensor's metric depth [R] at the same pixels (0: no reading), on depth's device.
    """
    ok = target > 0
    if not bool(ok.any()):
        return depth.sum() * 0.0
    return ((depth[ok] - target[ok]).abs() / target[ok]).mean()
