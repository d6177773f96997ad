"""The fast field's factorised colour (appearance "vm"): the op against its reference, forward and backward,
through the whole skipping renderer, coarse to fine and through a checkpoint."""

from __future__ import annotations

import torch

from nerf.fields.fast import FastField
from nerf.fields.vm_colour import VMColour
from nerf.fields.vm_ops import vm_features_reference
from nerf.sampling import stratified_edges
from tests.test_nerf_fast_field import _field as _blob_field
from tests.test_nerf_fast_field import _rays, _reference_render


def _field(**kw) -> FastField:
    """The fast-field tests' blob field (density blob, black background) with VM colour."""
    return _blob_field(appearance="vm", vm_schedule=((0, 16), (10, 24)), vm_components=4, hidden=8, distortion=0.0, **kw)


def _reference(field: FastField, rays, edges):
    """Every sample, slow ops (the VM through its explicit gathers), nothing skipped: (rgb [N, 3], depth [N])."""
    def colour(pts):
        return torch.sigmoid(field.vm.decoder(vm_features_reference(field.vm.planes, field.vm.lines, pts)))

    return _reference_render(field, rays, edges, colour)


def test_vm_colour_matches_its_reference_forward_and_backward():
    torch.manual_seed(0)
    vm = VMColour(components=3, resolution=9, hidden=8).double()
    with torch.no_grad():
        vm.lines.normal_()
    pts = torch.rand(300, 3, dtype=torch.float64) * 2.4 - 1.2  # some outside: clamped
    up = torch.randn(300, 3, dtype=torch.float64)
    fast = vm(pts)
    ref = torch.sigmoid(vm.decoder(vm_features_reference(vm.planes, vm.lines, pts)))
    torch.testing.assert_close(fast, ref)
    g_fast = torch.autograd.grad((fast * up).sum(), [vm.planes, vm.lines])
    g_ref = torch.autograd.grad((ref * up).sum(), [vm.planes, vm.lines])
    for a, b in zip(g_fast, g_ref):
        torch.testing.assert_close(a, b)


def test_skipping_renderer_matches_the_dense_reference_forward_and_backward():
    field = _field(weight_threshold=0.0, occupancy_alpha=0.0)
    rays = _rays()
    edges = stratified_edges(rays.near, rays.far, field.samples_per_ray(rays), randomized=False)
    out = field(rays, train=False)
    rgb_ref, depth_ref = _reference(field, rays, edges)
    torch.testing.assert_close(out.rgb, rgb_ref, atol=1e-4, rtol=0)
    torch.testing.assert_close(out.depth, depth_ref, atol=1e-3, rtol=0)
    (out.rgb.sum() + out.depth.sum()).backward()
    fast = [p.grad.clone() for p in (field.density, field.vm.planes, field.vm.lines)]
    field.zero_grad()
    (rgb_ref.sum() + depth_ref.sum()).backward()
    for a, p in zip(fast, (field.density, field.vm.planes, field.vm.lines)):
        torch.testing.assert_close(a, p.grad, atol=1e-4, rtol=1e-3)


def test_the_planes_grow_on_their_schedule_keeping_the_colour():
    field = _field()
    pts = torch.rand(100, 3) * 2 - 1
    with torch.no_grad():  # a colour linear in each axis survives the bilinear / linear resampling exactly
        x = torch.linspace(-1, 1, 16)
        field.vm.planes.copy_((x[None, None, :, None] + x[None, None, None, :]).expand(3, 4, 16, 16))
        field.vm.lines.fill_(1.0)
        before = field.colour_fn(pts * 0.5, torch.zeros(100, 3))
    version = field.param_version
    field.before_step(10)
    assert field.vm.resolution == 24 and field.param_version == version + 1
    names = [g["name"] for g in field.param_groups()]
    assert names == ["density", "color", "mlp"] and field.param_groups()[1]["params"][0] is field.vm.planes
    with torch.no_grad():
        torch.testing.assert_close(field.colour_fn(pts * 0.5, torch.zeros(100, 3)), before, atol=1e-5, rtol=0)


def test_a_checkpoint_restores_the_planes_at_their_resolution():
    trained = _field()
    trained.before_step(10)
    fresh = _field()
    fresh.load_state_dict(trained.state_dict())
    assert fresh.vm.resolution == 24
    torch.testing.assert_close(fresh.vm.planes, trained.vm.planes)
    pts = torch.rand(20, 3)
    with torch.no_grad():
        torch.testing.assert_close(fresh.colour_fn(pts, pts), trained.colour_fn(pts, pts))


def test_training_terms_hold_the_plane_smoothness_and_not_the_grid_one():
    field = _field(tv_planes=1e-3)
    out = field(_rays(), train=True)
    assert "tv_planes" in out.regularisers and "tv_color" not in out.regularisers
    assert field.regulariser_weights()["tv_planes"] == 1e-3
