"""Mip-NeRF field: IPE, frustum moments, pdf resampling, volume rendering, the module end to end."""

from __future__ import annotations

import math

import pytest
import torch
from torch.testing import assert_close

from nerf.fields import mip_ops
from nerf.fields.base import RayBatch
from nerf.fields.mipnerf import MipNeRFConfig, MipNeRFField


def _ipe_slow(means: torch.Tensor, cov: torch.Tensor, min_deg: int, max_deg: int) -> torch.Tensor:
    """Reference IPE: one degree and one axis at a time, in the original's order."""
    sins, coss = [], []
    for k in range(min_deg, max_deg):
        for axis in range(3):
            a = 2.0**k
            damp = torch.exp(-0.5 * a * a * cov[..., axis])
            sins.append(damp * torch.sin(a * means[..., axis]))
            coss.append(damp * torch.cos(a * means[..., axis]))
    return torch.stack(sins + coss, dim=-1)


def _sample_pdf_mask(bins, weights, u):
    """Reference inverse-CDF sampling as the original writes it (mask + max/min over all edges)."""
    eps = 1e-5
    ws = weights.sum(-1, keepdim=True)
    pad = torch.clamp(eps - ws, min=0)
    pdf = (weights + pad / weights.shape[-1]) / (ws + pad)
    cdf = torch.clamp(torch.cumsum(pdf[..., :-1], -1), max=1)
    cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf, torch.ones_like(cdf[..., :1])], -1)
    mask = u[..., None, :] >= cdf[..., :, None]

    def interval(x):
        x0 = torch.where(mask, x[..., None], x[..., :1, None]).max(-2).values
        x1 = torch.where(~mask, x[..., None], x[..., -1:, None]).min(-2).values
        return x0, x1

    b0, b1 = interval(bins)
    c0, c1 = interval(cdf)
    t = torch.clamp(torch.nan_to_num((u - c0) / (c1 - c0), nan=0.0), 0, 1)
    return b0 + t * (b1 - b0)


class TestIntegratedPosEnc:
    def test_matches_monte_carlo_expectation(self):
        gen = torch.Generator().manual_seed(0)
        mean = torch.tensor([[0.3, -0.7, 1.1]], dtype=torch.float64)
        var = torch.tensor([[0.02, 0.001, 0.05]], dtype=torch.float64)
        x = mean + var.sqrt() * torch.randn(400_000, 3, generator=gen, dtype=torch.float64)
        enc = mip_ops.integrated_pos_enc(mean, var, 0, 3)[0]
        for k in range(3):
            mc_sin = torch.sin(2.0**k * x).mean(0)
            mc_cos = torch.cos(2.0**k * x).mean(0)
            assert_close(enc[3 * k : 3 * k + 3], mc_sin, atol=4e-3, rtol=0)
            assert_close(enc[9 + 3 * k : 9 + 3 * k + 3], mc_cos, atol=4e-3, rtol=0)

    def test_zero_variance_is_plain_sin_cos(self):
        mean = torch.tensor([[0.5, 1.0, -2.0]])
        enc = mip_ops.integrated_pos_enc(mean, torch.zeros_like(mean), 1, 2)[0]
        assert_close(enc, torch.cat([torch.sin(2 * mean[0]), torch.cos(2 * mean[0])]))

    def test_fast_matches_slow_forward_and_gradients(self):
        gen = torch.Generator().manual_seed(1)
        means = torch.randn(5, 7, 3, generator=gen, dtype=torch.float64, requires_grad=True)
        cov = torch.rand(5, 7, 3, generator=gen, dtype=torch.float64).mul(0.1).requires_grad_(True)
        fast = mip_ops.integrated_pos_enc(means, cov, 0, 6)
        slow = _ipe_slow(means, cov, 0, 6)
        assert_close(fast, slow)
        g = torch.randn(fast.shape, generator=gen, dtype=torch.float64)
        gf = torch.autograd.grad(fast, (means, cov), g)
        gs = torch.autograd.grad(slow, (means, cov), g)
        for a, b in zip(gf, gs):
            assert_close(a, b)


class TestConicalFrustum:
    def test_mean_matches_hand_value(self):
        # Points uniform in a cone have density ~ t^2 along t: E[t] on [1, 2] = (15/4) / (7/3) = 45/28.
        t_mean, t_var, _ = mip_ops.conical_frustum_gaussian(
            torch.tensor([[1.0]], dtype=torch.float64), torch.tensor([[2.0]], dtype=torch.float64),
            torch.tensor([[0.1]], dtype=torch.float64))
        assert_close(t_mean, torch.tensor([[45 / 28]], dtype=torch.float64))
        # Var[t] = E[t^2] - E[t]^2 with E[t^2] = (31/5) / (7/3) = 93/35.
        assert_close(t_var, torch.tensor([[93 / 35 - (45 / 28) ** 2]], dtype=torch.float64))

    def test_radial_variance_matches_monte_carlo(self):
        gen = torch.Generator().manual_seed(2)
        t0, t1, r = 2.0, 3.0, 0.2
        # Sample uniformly inside the cone x^2 + y^2 <= (r t)^2, t in [t0, t1] (density ~ t^2).
        u = torch.rand(400_000, generator=gen, dtype=torch.float64)
        t = (t0**3 + u * (t1**3 - t0**3)) ** (1 / 3)
        rho = r * t * torch.rand(400_000, generator=gen, dtype=torch.float64).sqrt()
        phi = 2 * math.pi * torch.rand(400_000, generator=gen, dtype=torch.float64)
        x = rho * torch.cos(phi)
        _, _, r_var = mip_ops.conical_frustum_gaussian(
            torch.tensor([[t0]], dtype=torch.float64), torch.tensor([[t1]], dtype=torch.float64),
            torch.tensor([[r]], dtype=torch.float64))
        assert abs(r_var.item() - x.var().item()) < 0.01 * x.var().item()


class TestCylinder:
    def test_cylinder_moments_by_hand(self):
        # Uniform on [1, 3]: mean 2, variance 4 / 12; uniform over a disc of radius r: per-axis variance r^2 / 4.
        t_mean, t_var, r_var = mip_ops.cylinder_gaussian(torch.tensor([[1.0]]), torch.tensor([[3.0]]),
                                                         torch.tensor([[0.2]]))
        assert_close(t_mean, torch.tensor([[2.0]]))
        assert_close(t_var, torch.tensor([[4 / 12]]))
        assert_close(r_var, torch.tensor([[0.01]]))

    def test_lifted_covariance_along_z_ray(self):
        means, cov = mip_ops.cast_rays(torch.zeros(1, 3), torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([[0.2]]),
                                       torch.tensor([[1.0, 3.0]]), "cylinder")
        assert_close(means, torch.tensor([[[0.0, 0.0, 2.0]]]))
        assert_close(cov, torch.tensor([[[0.01, 0.01, 4 / 12]]]))


class TestSamplePdf:
    def test_uniform_weights_deterministic_are_even(self):
        bins = torch.linspace(0, 1, 5)[None]
        out = mip_ops.sample_pdf(bins, torch.ones(1, 4), 5, randomized=False)
        assert_close(out[0], torch.linspace(0, 1 - 1e-5, 5))

    def test_all_mass_in_one_bin_samples_inside_it(self):
        bins = torch.linspace(0, 4, 5)[None]
        out = mip_ops.sample_pdf(bins, torch.tensor([[0.0, 0.0, 1.0, 0.0]]), 8, randomized=True)
        assert bool(((out >= 2) & (out <= 3)).all())

    def test_matches_mask_reference(self):
        gen = torch.Generator().manual_seed(3)
        bins = torch.sort(torch.rand(6, 11, generator=gen, dtype=torch.float64), -1).values
        w = torch.rand(6, 10, generator=gen, dtype=torch.float64)
        w[0] = 0  # the all-zero row uses the padding
        w[1, 3:7] = 0
        fast = mip_ops.sample_pdf(bins, w, 9, randomized=False)
        u = torch.linspace(0, 1 - 1e-5, 9, dtype=torch.float64).expand(6, 9)
        assert_close(fast, _sample_pdf_mask(bins, w, u))

    def test_resample_has_no_gradient(self):
        w = torch.rand(2, 4, requires_grad=True)
        edges = mip_ops.resample_edges(torch.linspace(0, 1, 5).expand(2, 5), w, 0.01, randomized=True)
        assert edges.shape == (2, 5) and not edges.requires_grad


class TestVolumeRender:
    def test_opaque_sample_gives_its_midpoint_and_colour(self):
        edges = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
        density = torch.tensor([[0.0, 1e4, 0.0]])
        rgb = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]])
        out_rgb, depth, acc, w = mip_ops.volume_render(rgb, density, edges, torch.tensor([[0.0, 0, 1]]))
        assert_close(depth, torch.tensor([2.5]))
        assert_close(out_rgb, torch.tensor([[0.0, 1, 0]]))
        assert_close(acc, torch.tensor([1.0]))

    def test_hand_weights_and_direction_norm(self):
        # density 1 over intervals of length 0.5 along a direction of norm 2: alpha = 1 - e^-1 each.
        edges = torch.tensor([[0.0, 0.5, 1.0]])
        density = torch.ones(1, 2)
        _, depth, acc, w = mip_ops.volume_render(torch.zeros(1, 2, 3), density, edges,
                                                 torch.tensor([[0.0, 0.0, 2.0]]))
        a = 1 - math.exp(-1)
        assert_close(w, torch.tensor([[a, math.exp(-1) * a]]))
        assert_close(depth, torch.tensor([(0.25 * a + 0.75 * math.exp(-1) * a) / (a + math.exp(-1) * a)]))

    def test_empty_ray_depth_is_far_with_finite_gradient(self):
        edges = torch.tensor([[1.0, 2.0, 3.0]])
        density = torch.zeros(1, 2, requires_grad=True)
        _, depth, acc, _ = mip_ops.volume_render(torch.zeros(1, 2, 3), density, edges,
                                                 torch.tensor([[0.0, 0, 1]]))
        assert depth.item() == 3.0 and acc.item() == 0.0
        (g,) = torch.autograd.grad(depth.sum(), density)
        assert torch.isfinite(g).all()


def _rays(n: int) -> RayBatch:
    gen = torch.Generator().manual_seed(4)
    d = torch.cat([torch.randn(n, 2, generator=gen) * 0.2, torch.ones(n, 1)], -1)
    return RayBatch(origins=torch.zeros(n, 3), directions=d, viewdirs=d / d.norm(dim=-1, keepdim=True),
                    radii=torch.full((n, 1), 0.002), near=torch.full((n, 1), 0.5),
                    far=torch.full((n, 1), 3.0))


class TestMipNeRFField:
    CFG = MipNeRFConfig(num_samples=16, net_depth=4, net_width=32, skip_layer=2, net_width_condition=16,
                        max_deg_point=6)

    def test_default_sizes_are_the_originals(self):
        field = MipNeRFField()
        trunk = field.mlp.trunk
        # The encoding is concatenated to the output of layer index 4 (i % 4 == 0, i > 0), as the original.
        assert len(trunk) == 8 and trunk[0].in_features == 96 and trunk[4].in_features == 256
        assert trunk[5].in_features == 256 + 96 and field.mlp.density.in_features == 256
        assert field.mlp.condition[0].in_features == 256 + 27 and field.mlp.condition[0].out_features == 128

    def test_forward_shapes_ranges_and_backward(self):
        torch.manual_seed(0)
        field = MipNeRFField(self.CFG)
        rays = _rays(10)
        out = field(rays, train=True)
        assert out.rgb.shape == (10, 3) and out.rgb_coarse.shape == (10, 3)
        assert out.depth.shape == (10,) and out.acc.shape == (10,)
        assert bool(((out.depth >= 0.5) & (out.depth <= 3.0)).all())
        assert bool(((out.rgb >= -0.001) & (out.rgb <= 1.001)).all())
        (out.rgb.sum() + out.rgb_coarse.sum() + out.depth.sum()).backward()
        assert all(torch.isfinite(p.grad).all() for p in field.parameters() if p.grad is not None)

    def test_cylinder_field_runs(self):
        cfg = MipNeRFConfig(**{**self.CFG.__dict__, "ray_shape": "cylinder"})
        out = MipNeRFField(cfg)(_rays(4), train=False)
        assert torch.isfinite(out.rgb).all()

    def test_near_far_annealing_in_training_only(self, monkeypatch):
        from nerf.presets import NearFarAnneal

        seen = []
        from nerf.fields import mipnerf

        real = mipnerf.stratified_edges

        def spy(near, far, *args, **kwargs):
            seen.append((float(near.min()), float(far.max())))
            return real(near, far, *args, **kwargs)

        monkeypatch.setattr(mipnerf, "stratified_edges", spy)
        field = MipNeRFField(MipNeRFConfig(**{**self.CFG.__dict__, "near_far": NearFarAnneal(100, 0.1, 0.5)}))
        rays = _rays(8)  # near 0.5, far 3, mid point 1.75
        field.before_step(0)
        field(rays, train=True)
        field.before_step(50)
        field(rays, train=True)
        field(rays, train=False)  # rendering always uses the full interval
        # By hand: step 0 -> 1.75 -/+ 0.1 * 1.25; step 50 -> halfway between that and [0.5, 3].
        assert seen[0] == pytest.approx((1.625, 1.875))
        assert seen[1] == pytest.approx(((1.625 + 0.5) / 2, (1.875 + 3.0) / 2))
        assert seen[2] == pytest.approx((0.5, 3.0))

    def test_eval_is_deterministic(self):
        field = MipNeRFField(self.CFG)
        rays = _rays(6)
        a, b = field(rays, train=False), field(rays, train=False)
        assert_close(a.rgb, b.rgb)
        assert_close(a.depth, b.depth)
