"""The metric depth loss (nerf.metric_depth): the surface where the sensor saw it, not pulled towards the camera."""

from __future__ import annotations

import numpy as np
import torch

from nerf.fields.base import FieldOutput, RayTermination
from nerf.loaders import load_scene
from nerf.metric_depth import depth_window, metric_depth_loss
from nerf.rendering import far_background_depth, weights_from_alpha
from nerf.trainer import TrainConfig, Trainer
from tests.nerf_scenes import plane_scene

FAR, D = 6.0, 3.0
T = torch.arange(2.0, 4.0, 0.05)  # one ray's samples, 5 cm apart


def _output(alpha: torch.Tensor) -> FieldOutput:
    """One ray with per-sample opacities alpha [K] at T; depth as the fields train with it (far-filled)."""
    w = weights_from_alpha(alpha[None])
    t = T[None]
    depth = far_background_depth(w, t, torch.tensor([FAR]))
    return FieldOutput(rgb=torch.zeros(1, 3), depth=depth, acc=w.sum(-1), termination=RayTermination(t, w))


def _wall(at: float, opacity: float) -> torch.Tensor:
    alpha = torch.zeros_like(T)
    alpha[int(torch.argmin((T - at).abs()))] = opacity
    return alpha


def test_a_wall_at_the_sensor_depth_costs_less_than_one_moved_forward():
    """A wall at opacity 0.98 on the sensor depth against the same wall moved forward until its far-filled depth
    sum(w t) + (1 - acc) far equals the sensor's (which the old loss, on that depth, preferred: 0 there)."""
    target = torch.tensor([D])
    forward = D - 0.02 * (FAR - D) / 0.98  # 6 cm in front
    on, moved = _output(_wall(D, 0.98)), _output(_wall(forward, 0.98))
    assert abs(float(moved.depth[0]) - D) < 0.03  # what the old loss compared
    window = 0.05
    assert float(metric_depth_loss(on, target, window)) < float(metric_depth_loss(moved, target, window))
    opaque = _output(_wall(D, 1.0 - 1e-6))
    assert float(metric_depth_loss(opaque, target, window)) < 1e-4


def test_density_in_front_of_the_sensor_depth_is_pushed_down_and_at_it_up():
    alpha = _wall(D, 0.9).requires_grad_(True)
    loss = metric_depth_loss(_output(alpha), torch.tensor([D]), 0.05)
    (grad,) = torch.autograd.grad(loss, alpha)
    front = T < D - 0.1
    assert bool((grad[front] > 0).all())  # more opacity in front raises the loss
    assert float(grad[int(torch.argmin((T - D).abs()))]) < 0  # more at the surface lowers it


def test_rays_without_sensor_depth_do_not_count():
    out = _output(_wall(2.5, 0.5))
    assert float(metric_depth_loss(out, torch.tensor([0.0]), 0.05)) == 0.0


def test_the_sensor_field_hands_the_trainer_its_samples(tmp_path):
    """Its training output carries the samples and weights the loss needs (consistent with its opacity), and the
    trainer's window is one density cell."""
    scene = load_scene(plane_scene(tmp_path / "s"))
    cfg = TrainConfig.from_flat(field="sensor", steps=1, batch_rays=64, threads=1)
    trainer = Trainer.create(scene, cfg)
    ys, xs = np.mgrid[4:8, 4:8]
    out = trainer.field(trainer.rays.view(scene.train_ids[0], ys.ravel(), xs.ravel()), train=True)
    assert out.termination is not None
    torch.testing.assert_close(out.termination.weights.sum(-1), out.acc)
    assert depth_window(trainer.field) == trainer.field.cell()
    stats = trainer.step()
    assert np.isfinite(stats.losses["metric_depth"])
