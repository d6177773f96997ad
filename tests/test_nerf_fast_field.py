"""The fast field: its trilinear op and its skipping renderer against slow references (forward and gradients)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nerf.fields.background import frame_around
from nerf.fields.fast import FastField, FastFieldConfig
from nerf.fields.grid_ops import trilinear, trilinear_reference
from nerf.rays import pixel_rays
from nerf.rendering import composite_rgb, expected_depth, far_background_depth, volume_weights
from nerf.sampling import stratified_edges


class TestTrilinear:
    def test_forward_and_gradient_match_the_reference(self):
        g = torch.Generator().manual_seed(0)
        grid = torch.randn(5, 6, 7, 3, dtype=torch.float64, generator=g, requires_grad=True)
        pts = torch.rand(200, 3, dtype=torch.float64, generator=g) * 2.4 - 1.2  # some outside: clamped
        upstream = torch.randn(200, 3, dtype=torch.float64, generator=g)
        fast, ref = trilinear(grid, pts), trilinear_reference(grid, pts)
        torch.testing.assert_close(fast, ref)
        (g_fast,) = torch.autograd.grad((fast * upstream).sum(), grid)
        (g_ref,) = torch.autograd.grad((ref * upstream).sum(), grid)
        torch.testing.assert_close(g_fast, g_ref)

    def test_corners_and_centre_by_hand(self):
        grid = torch.arange(8, dtype=torch.float64).reshape(2, 2, 2, 1)  # value = 4x + 2y + z at corners
        pts = torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, -1.0, 0.0]], dtype=torch.float64)
        torch.testing.assert_close(trilinear(grid, pts)[:, 0], torch.tensor([0.0, 7.0, 3.5, 4.5], dtype=torch.float64))


RESOLVED = {"tv_density": 0.1, "tv_color": 1e-3, "distortion": 0.01, "min_views": 2}
"""The "custom" profile's values (nerf.profiles), which these tests' fields used before configs were resolved."""

def _field(**kw) -> FastField:
    kw.setdefault("depth_mode", "normalised")  # the reference below computes the original's expected depth
    for name, value in (("background", "black"), ("tv_density", 0.0), ("tv_color", 0.0), ("distortion", 0.01), ("min_views", 2)):
        kw.setdefault(name, value)
    cfg = FastFieldConfig(resolution_schedule=((0, 12),), **kw)
    torch.manual_seed(0)
    field = FastField(cfg, torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]))
    with torch.no_grad():
        x = torch.linspace(-1, 1, 12)
        blob = torch.exp(-(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2) * 6.0)
        field.density.copy_((20.0 * blob - 12.0)[..., None])  # dense blob in the middle, empty corners
    return field


def _rays():
    K = np.array([[20.0, 0, 8], [0, 20.0, 8], [0, 0, 1]])
    c2w = np.eye(4)
    c2w[2, 3] = -3.0
    ys, xs = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    return pixel_rays(K, c2w, ys.ravel(), xs.ravel(), 1.5, 4.5)


def _reference_render(field: FastField, rays, edges, colour=None):
    """Every sample evaluated with the slow trilinear, nothing skipped; ``colour`` (normalised points [N, 3] ->
    RGB [N, 3]) defaults to the sigmoid of the dense colour grid."""
    mids = 0.5 * (edges[:, 1:] + edges[:, :-1])
    pts = field.normalise(rays.origins[:, None] + mids[..., None] * rays.directions[:, None])
    inside = (pts.abs() <= 1.0).all(-1)
    flat = pts.reshape(-1, 3)
    dens = field._density_of(trilinear_reference(field.density, flat)[:, 0]).reshape(mids.shape) * inside
    colour = colour or (lambda p: torch.sigmoid(trilinear_reference(field.color, p)))
    rgb = colour(flat).reshape(*mids.shape, 3)
    w = volume_weights(dens, edges, rays.directions.norm(dim=-1, keepdim=True))
    return composite_rgb(w, rgb), expected_depth(w, edges)


class TestFastRenderer:
    def test_skipping_renderer_matches_the_dense_reference(self):
        field = _field(weight_threshold=1e-6, occupancy_alpha=1e-6)
        field.update_occupancy()
        assert not field.occupancy.occupied.all()  # the corners really are skipped
        rays = _rays()
        torch.manual_seed(1)
        out = field(rays, train=False)
        edges = stratified_edges(rays.near, rays.far, field.samples_per_ray(rays), randomized=False)
        rgb_ref, depth_ref = _reference_render(field, rays, edges)
        torch.testing.assert_close(out.rgb, rgb_ref, atol=1e-4, rtol=0)
        torch.testing.assert_close(out.depth, depth_ref, atol=1e-3, rtol=0)

    def test_gradients_match_the_dense_reference(self):
        field = _field(weight_threshold=0.0, occupancy_alpha=0.0)
        rays = _rays()
        edges = stratified_edges(rays.near, rays.far, field.samples_per_ray(rays), randomized=False)
        out = field(rays, train=False)
        (out.rgb.sum() + out.depth.sum()).backward()
        g_fast = (field.density.grad.clone(), field.color.grad.clone())
        field.zero_grad()
        rgb_ref, depth_ref = _reference_render(field, rays, edges)
        (rgb_ref.sum() + depth_ref.sum()).backward()
        torch.testing.assert_close(g_fast[0], field.density.grad, atol=1e-4, rtol=1e-3)
        torch.testing.assert_close(g_fast[1], field.color.grad, atol=1e-4, rtol=1e-3)


class TestDepthModes:
    def test_far_background_counts_the_transparent_part_as_far(self):
        # bins [1, 2], [2, 3], [3, 4] (mids 1.5, 2.5, 3.5); half the ray's weight in the first bin
        edges = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]])
        weights = torch.tensor([[0.5, 0.0, 0.0], [0.0, 0.0, 0.0]])
        mids = 0.5 * (edges[:, 1:] + edges[:, :-1])
        far_bg = far_background_depth(weights, mids, edges[:, -1])
        torch.testing.assert_close(far_bg, torch.tensor([0.5 * 1.5 + 0.5 * 4.0, 4.0]))
        normalised = expected_depth(weights, edges)
        torch.testing.assert_close(normalised, torch.tensor([1.5, 4.0]))  # faint or not, the first bin's depth

    def test_renders_show_the_normalised_depth_whatever_the_training_depth_mode(self):
        rays = _rays()
        shown = {}
        for mode in ("far_background", "normalised"):
            field = _field(depth_mode=mode).eval()
            field.before_step(0)
            with torch.no_grad():
                shown[mode] = field(rays, train=False).depth
        assert torch.any(shown["normalised"] < 4.0)  # some rays hit the blob
        torch.testing.assert_close(shown["far_background"], shown["normalised"])


class TestCoarseToFine:
    def test_upsampling_keeps_a_linear_field(self):
        cfg = FastFieldConfig(resolution_schedule=((0, 5), (10, 9)), **RESOLVED)
        field = FastField(cfg, torch.tensor([[-1.0] * 3, [1.0] * 3]))
        with torch.no_grad():
            x = torch.linspace(-1, 1, 5)
            field.density.copy_((x[:, None, None] + 2 * x[None, :, None] - x[None, None, :])[..., None].expand(5, 5, 5, 1))
        pts = torch.rand(50, 3) * 2 - 1
        before = trilinear(field.density, pts)
        version = field.param_version
        field.before_step(10)
        assert field.resolution == 9 and field.param_version == version + 1
        torch.testing.assert_close(trilinear(field.density, pts), before, atol=1e-5, rtol=0)

    def test_load_state_dict_resizes_the_grids(self):
        cfg = FastFieldConfig(resolution_schedule=((0, 5), (10, 9)), **RESOLVED)
        trained = FastField(cfg, torch.tensor([[-1.0] * 3, [1.0] * 3]))
        trained.before_step(10)
        fresh = FastField(cfg, torch.tensor([[-1.0] * 3, [1.0] * 3]))
        fresh.load_state_dict(trained.state_dict())
        assert fresh.resolution == 9
        torch.testing.assert_close(fresh.color, trained.color)


class TestEnvironmentMapFrame:
    def test_frame_is_a_rotation_whose_last_row_is_up(self):
        up = torch.tensor([-0.2, -0.6, -0.75])
        frame = frame_around(up)
        torch.testing.assert_close(frame @ frame.T, torch.eye(3), atol=1e-6, rtol=0)
        assert torch.det(frame) > 0.999
        torch.testing.assert_close(frame[2], up / up.norm())
        torch.testing.assert_close(frame_around(None), torch.eye(3))

    def test_looking_up_reads_the_top_row_of_the_map(self):
        up = torch.tensor([0.0, -1.0, 0.0])  # an OpenCV-style world: y points down
        cfg = FastFieldConfig(resolution_schedule=((0, 4),), envmap_size=(4, 8), envmap_up="cameras", **RESOLVED)
        field = FastField(cfg, torch.tensor([[-1.0] * 3, [1.0] * 3]), up=up)
        with torch.no_grad():
            field.env.map.zero_()
            field.env.map[0, :, -1] = 5.0  # the highest latitude band: sigmoid(5) ~ 0.99
            field.env.map[0, :, 0] = -5.0  # the lowest
        colours = field.env(torch.tensor([[0.0, -1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
        assert torch.all(colours[0] > 0.99) and torch.all(colours[1] < 0.01)
        torch.testing.assert_close(colours[2], torch.full((3,), 0.5))  # the horizon: between the bands


def test_an_unresolved_config_is_refused():
    """tv_density / tv_color / distortion / min_views left at None are the data set's: the field takes only resolved configs."""
    with pytest.raises(ValueError, match="min_views"):
        FastField(FastFieldConfig(resolution_schedule=((0, 4),), tv_density=0.1, tv_color=1e-3, distortion=0.01),
                  torch.tensor([[-1.0] * 3, [1.0] * 3]))
    with pytest.raises(ValueError, match="resolve"):
        FastField(FastFieldConfig(), torch.tensor([[-1.0] * 3, [1.0] * 3]))
