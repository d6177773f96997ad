"""The sensor field's parts: VM op vs its reference (forward and backward), occupancy seeded from depth,
the surface sampler, the renderer against the dense reference, and the field trained on a tiny scene."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nerf.fields.base import RayBatch
from nerf.fields.vm_ops import resize_vm, vm_features, vm_features_reference
from nerf.loaders import load_scene
from nerf.march import march
from nerf.occupancy import DepthViews, OccupancyGrid, edge_free
from nerf.render_fn import render_samples
from nerf.rendering import volume_weights
from nerf.trainer import TrainConfig, Trainer
from tests.nerf_scenes import plane_scene


def _rays(origins, dirs, near=0.5, far=3.0) -> RayBatch:
    o, d = torch.as_tensor(origins, dtype=torch.float32), torch.as_tensor(dirs, dtype=torch.float32)
    n = o.shape[0]
    return RayBatch(o, d, d / d.norm(dim=-1, keepdim=True), torch.full((n, 1), 1e-3), torch.full((n, 1), near),
                    torch.full((n, 1), far))


class TestVM:
    def test_forward_and_backward_match_the_reference(self):
        g = torch.Generator().manual_seed(0)
        planes = torch.randn(3, 4, 9, 9, dtype=torch.float64, generator=g, requires_grad=True)
        lines = torch.randn(3, 4, 9, dtype=torch.float64, generator=g, requires_grad=True)
        pts = torch.rand(200, 3, dtype=torch.float64, generator=g) * 2.4 - 1.2  # some outside: clamped
        fast, ref = vm_features(planes, lines, pts), vm_features_reference(planes, lines, pts)
        torch.testing.assert_close(fast, ref)
        w = torch.randn_like(fast)
        gf = torch.autograd.grad((fast * w).sum(), (planes, lines))
        gr = torch.autograd.grad((ref * w).sum(), (planes, lines))
        for a, b in zip(gf, gr):
            torch.testing.assert_close(a, b)

    def test_values_at_samples_and_resizing_keeps_a_linear_field(self):
        r = 5
        x = torch.linspace(-1, 1, r)
        planes = (x[None, None, :, None] + 2 * x[None, None, None, :]).repeat(3, 1, 1, 1)  # row + 2 col, linear
        lines = torch.ones(3, 1, r)
        pts = torch.tensor([[0.3, -0.2, 0.7]])
        f = vm_features(planes, lines, pts)  # plane xy: col = x, row = y -> y + 2x
        assert f[0, 0].item() == pytest.approx(-0.2 + 2 * 0.3, abs=1e-6)
        p2, l2 = resize_vm(planes, lines, 9)
        torch.testing.assert_close(vm_features(p2, l2, pts), f)


def _plane_views(depth=2.0, hw=(6, 8)):
    h, w = hw
    K = torch.tensor([[4.0, 0, w / 2], [0, 4.0, h / 2], [0, 0, 1]])
    return DepthViews(K=K[None], w2c=torch.eye(4)[None], depth=torch.full((1, h, w), depth))


class TestOccupancy:
    def test_surface_free_and_unknown_from_a_plane(self):
        grid = OccupancyGrid(torch.tensor([[-2.0, -2.0, 0.0], [2.0, 2.0, 4.0]]), 21)  # cells 0.2
        grid.seed_from_depth(_plane_views(), near=0.1, far=4.0)
        q = lambda z: bool(grid.query(torch.tensor([[0.0, 0.0, z]]))[0])  # noqa: E731
        assert q(2.0)  # the surface
        # seen through by the ray of pixel (4, 2), at (0.125, -0.125) x z: carved, never sampled
        assert bool(grid.free[11, 9, 5]) and not bool(grid.query(torch.tensor([[0.125, -0.125, 1.0]]))[0])
        assert not q(3.4)  # behind the surface: unknown, not sampled
        assert not bool(grid.free[10, 10, 10])  # the surface cell is never carved

    def test_holes_keep_their_rays_sampleable(self):
        views = _plane_views()
        views.depth[0, :, :4] = 0.0  # the left half has no depth
        grid = OccupancyGrid(torch.tensor([[-2.0, -2.0, 0.0], [2.0, 2.0, 4.0]]), 21)
        grid.seed_from_depth(views, near=0.1, far=4.0, stride=1)
        # a point on a hole pixel's ray stays sampleable; one on a depth pixel's ray in front of the plane does not
        assert bool(grid.query(torch.tensor([[-0.5, 0.0, 1.0]]))[0])
        assert not bool(grid.query(torch.tensor([[0.5, 0.0, 1.0]]))[0])

    def test_flying_pixels_at_depth_edges_are_left_out(self):
        d = torch.full((1, 4, 6), 2.0)
        d[0, :, 3:] = 4.0
        ok = edge_free(d, 0.05)
        assert not ok[0, :, 2:4].any() and ok[0, :, :2].all() and ok[0, :, 4:].all()


class TestSamplerAndRenderer:
    def test_march_keeps_the_nearest_occupied_samples(self):
        grid = OccupancyGrid(torch.tensor([[-1.0, -1.0, 0.0], [1.0, 1.0, 4.0]]), 41)  # cells 0.1
        grid.occupied[:] = False
        grid.occupied[:, :, 20:31] = True  # z in [1.95, 3.05]
        rays = _rays([[0.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]], near=0.5, far=3.5)
        s = march(rays, grid, 0.05, 8, randomized=False)
        assert s.valid.all() and torch.all(s.t[0, 1:] > s.t[0, :-1])
        torch.testing.assert_close(s.t[0], 1.975 + 0.05 * torch.arange(8.0))  # the first 8 inside, in order

    def test_renderer_matches_the_dense_reference(self):
        torch.manual_seed(0)
        R, S = 5, 12
        rays = _rays(torch.zeros(R, 3), torch.randn(R, 3) * 0.1 + torch.tensor([0, 0, 1.0]))
        edges = torch.linspace(0.5, 3.0, S + 1).expand(R, S + 1)
        t = 0.5 * (edges[:, 1:] + edges[:, :-1])
        samples = march.__globals__["RaySamples"](t=t, delta=edges[:, 1:] - edges[:, :-1], valid=torch.ones(R, S, dtype=bool))
        sigma = torch.rand(R, S) * 3
        colours = torch.rand(R, S, 3)
        lookup = {tuple(p.round(decimals=4).tolist()): k for k, p in enumerate(samples.points(rays).reshape(-1, 3))}
        dens = lambda p: sigma.reshape(-1)[[lookup[tuple(q.round(decimals=4).tolist())] for q in p]]  # noqa: E731
        col = lambda p, v: colours.reshape(-1, 3)[[lookup[tuple(q.round(decimals=4).tolist())] for q in p]]  # noqa: E731
        bg = torch.full((R, 3), 0.25)
        out = render_samples(rays, samples, dens, col, bg, weight_threshold=0.0)
        w = volume_weights(sigma, edges, rays.directions.norm(dim=-1, keepdim=True))
        torch.testing.assert_close(out.weights, w)
        torch.testing.assert_close(out.rgb, (w[..., None] * colours).sum(1) + (1 - w.sum(1, keepdim=True)) * 0.25)


def test_sensor_field_has_the_geometry_from_the_first_step_and_resumes(tmp_path):
    scene = load_scene(plane_scene(tmp_path / "s"))
    cfg = TrainConfig.from_flat(field="sensor", steps=6, batch_rays=64, threads=1)
    cfg.sensor = type(cfg.sensor)(density_resolution=24, plane_schedule=((0, 8), (3, 16)), components=2, hidden=8)
    trainer = Trainer.create(scene, cfg, run_dir=tmp_path / "run")
    first = trainer.render(trainer.view_camera(scene.test_ids[0]))
    ok = first.acc > 0.5
    assert ok.mean() > 0.8  # seeded: opaque where the sensor saw the plane before any step
    assert np.abs(first.depth[ok] - 2.0).mean() < 0.1  # and at its depth
    for _ in range(6):
        stats = trainer.step()
        assert np.isfinite(stats.losses["total"]) and "metric_depth" in stats.losses
    assert trainer.field.planes.shape[-1] == 16  # coarse to fine
    trainer.save_checkpoint()
    again = Trainer.from_run_dir(tmp_path / "run", scene)
    np.testing.assert_array_equal(again.render(again.view_camera(1)).rgb, trainer.render(trainer.view_camera(1)).rgb)
