"""The parts fields are built from (issue 13): occupancy grid, samplers, the renderer that takes field functions
against its dense reference, backgrounds, Literal options checked at construction, the one loss formula, and
checkpoints of the fast field written before the split."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from nerf.choices import ConfigError, check_choices
from nerf.fields.background import EnvMap, LearnedColour, background_fn, frame_around
from nerf.fields.base import RayBatch
from nerf.fields.fast import FastField, FastFieldConfig
from nerf.fields.grid_ops import schedule_value, tv_loss
from nerf.fields.mipnerf import MipNeRFConfig, MipNeRFField
from nerf.losses import LossConfig, sparsenerf_loss
from nerf.march import RaySamples, stratified
from nerf.occupancy import OccupancyGrid, nearest_resample, opaque_cells, view_count
from nerf.render_fn import render_samples, render_samples_reference
from nerf.train_config import TrainConfig

BOX = torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])


def _rays(n: int = 64, seed: int = 0) -> RayBatch:
    """Rays from z = -3 towards the unit box, spread over it."""
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(n, 3, generator=g) * 1.6 - 0.8
    o = torch.tensor([0.0, 0.0, -3.0]).expand(n, 3)
    d = (target - o) / (target - o)[:, 2:3]  # z = 1: t is the depth along z
    return RayBatch(o.clone(), d, d / d.norm(dim=-1, keepdim=True), torch.full((n, 1), 1e-3), torch.full((n, 1), 1.5),
                    torch.full((n, 1), 4.5))


def _blob_field(**kw) -> FastField:
    kw = {"tv_density": 0.1, "tv_color": 1e-3, "distortion": 0.01, "min_views": 2, **kw}
    cfg = FastFieldConfig(resolution_schedule=((0, 10),), background="black", **kw)
    torch.manual_seed(0)
    field = FastField(cfg, BOX)
    with torch.no_grad():
        x = torch.linspace(-1, 1, 10)
        blob = torch.exp(-(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2) * 4.0)
        field.density.copy_((20.0 * blob - 10.0)[..., None])
    field.update_occupancy()
    return field


class TestOccupancyGrid:
    def test_box_and_world_lookups_agree_and_refresh_ands_the_base(self):
        grid = OccupancyGrid(BOX * 2.0, 5)
        grid.occupied[:] = False
        grid.occupied[2, 2, 2] = True
        pts = torch.tensor([[0.1, -0.2, 0.3], [1.0, 1.0, 1.0], [0.0, 0.0, 2.5]])
        torch.testing.assert_close(grid.query(pts), torch.tensor([True, False, False]))
        torch.testing.assert_close(grid.query_box(grid.normalise(pts)), grid.query(pts))
        grid.base[0] = False  # e.g. a view mask
        grid.refresh(torch.ones(5, 5, 5, dtype=torch.bool))
        assert not grid.occupied[0].any() and grid.occupied[1:].all()

    def test_opaque_cells_dilate_by_one_cell(self):
        density = torch.zeros(7, 7, 7)
        density[3, 3, 3] = 10.0
        cells = opaque_cells(density, dt=0.1, alpha_min=1e-3)
        assert cells[2:5, 2:5, 2:5].all() and int(cells.sum()) == 27

    def test_view_count_and_nearest_resample(self):
        K = torch.tensor([[[40.0, 0, 10], [0, 40.0, 10], [0, 0, 1]]])  # half-width 0.25 x distance
        w2c = torch.eye(4)[None].clone()
        w2c[0, 2, 3] = 3.0  # camera at z = -3 looking along +z at the box
        count = view_count(BOX, 4, K, w2c, 20, 20, near=0.1)
        assert count.dtype == torch.int32 and count.shape == (4, 4, 4)
        assert count[1:3, 1:3].all() and not bool(count[0, 0, 0])  # the centre is seen, the near corner not
        up = nearest_resample(count > 0, 8)
        assert up.shape == (8, 8, 8) and bool(up[3, 3, 3]) and not bool(up[0, 0, 0]) and bool(up[0, 0, 7])

    def test_fast_field_keeps_its_occupancy_in_the_grid_object(self):
        field = _blob_field()
        assert isinstance(field.occupancy, OccupancyGrid)
        assert not field.occupancy.occupied.all() and field.occupancy.occupied.any()
        field.set_resolution(14)
        assert field.occupancy.occupied.shape == (14, 14, 14)


class TestSamplers:
    def test_stratified_bins_tile_each_ray_and_skip_empty_cells(self):
        field = _blob_field()
        rays = _rays()
        s = stratified(rays, field.occupancy, 32, randomized=True)
        torch.testing.assert_close(s.delta.sum(-1), (s.edges[:, -1] - s.edges[:, 0]))
        torch.testing.assert_close(s.t, 0.5 * (s.edges[:, 1:] + s.edges[:, :-1]))
        assert s.valid.any() and not s.valid.all()
        torch.testing.assert_close(s.end(rays), s.edges[:, -1])


class TestRenderer:
    def _check(self, field: FastField, samples: RaySamples, rays: RayBatch, background):
        out = render_samples(rays, samples, field.density_fn, field.colour_fn, background, weight_threshold=0.0)
        grads = torch.autograd.grad(out.rgb.sum() + out.depth.sum(), (field.density, field.color))
        ref = render_samples_reference(rays, samples, field.density_fn, field.colour_fn, background)
        grads_ref = torch.autograd.grad(ref.rgb.sum() + ref.depth.sum(), (field.density, field.color))
        for a, b in ((out.rgb, ref.rgb), (out.depth, ref.depth), (out.acc, ref.acc), (out.weights, ref.weights)):
            torch.testing.assert_close(a, b)
        for a, b in zip(grads, grads_ref):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)
        return out

    def test_field_functions_match_the_dense_reference_forward_and_backward(self):
        field = _blob_field()
        rays = _rays()
        samples = stratified(rays, field.occupancy, 40, randomized=False)
        assert not samples.valid.all()  # the sparse path really skips samples
        out = self._check(field, samples, rays, torch.rand(len(rays), 3))
        assert (out.acc > 0.5).any() and (out.acc < 0.5).any()

    def test_black_and_white_backgrounds(self):
        field = _blob_field()
        rays = _rays()
        samples = stratified(rays, field.occupancy, 40, randomized=False)
        black = self._check(field, samples, rays, None)
        white = self._check(field, samples, rays, 1.0)
        torch.testing.assert_close(white.rgb - black.rgb, (1.0 - black.acc)[:, None].expand(-1, 3))

    def test_an_empty_ray_shows_the_background_at_its_end(self):
        rays = _rays(4)
        samples = RaySamples(t=torch.full((4, 3), 2.0), delta=torch.full((4, 3), 0.1), valid=torch.zeros(4, 3, dtype=torch.bool))
        out = render_samples(rays, samples, lambda p: torch.ones(len(p)), lambda p, v: torch.ones(len(p), 3), 0.25)
        torch.testing.assert_close(out.rgb, torch.full((4, 3), 0.25))
        torch.testing.assert_close(out.depth, rays.far[:, 0])


class TestBackgrounds:
    def test_each_kind(self):
        env, colour = EnvMap((2, 4), frame_around(None)), LearnedColour()
        v = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
        assert background_fn("white", env, colour)(v) == 1.0
        assert background_fn("black", env, colour)(v) is None
        torch.testing.assert_close(background_fn("learned", env, colour)(v), torch.full((3,), 0.5))
        assert background_fn("envmap", env, colour)(v).shape == (2, 3)

    def test_the_fast_field_renders_white_where_nothing_is(self):
        field = FastField(FastFieldConfig(resolution_schedule=((0, 4),), background="white", init_alpha=1e-6,
                                           tv_density=0.1, tv_color=1e-3, distortion=0.01, min_views=2), BOX)
        with torch.no_grad():
            field.density.fill_(-30.0)
            out = field(_rays(8), train=False)
        torch.testing.assert_close(out.rgb, torch.ones(8, 3), atol=1e-4, rtol=0)


class TestChoices:
    @pytest.mark.parametrize("make, option", [
        (lambda: FastFieldConfig(background="evnmap"), "background"),
        (lambda: FastFieldConfig(depth_mode="far"), "depth_mode"),
        (lambda: FastFieldConfig(envmap_up="y"), "envmap_up"),
        (lambda: TrainConfig(field="fats"), "field"),
        (lambda: TrainConfig(preset="faithfull"), "preset"),
        (lambda: MipNeRFConfig(ray_shape="box"), "ray_shape"),
    ])
    def test_a_bad_value_fails_when_the_config_is_built(self, make, option):
        with pytest.raises(ValueError) as info:
            make()
        msg = str(info.value)
        assert isinstance(info.value, ConfigError) and "\n" not in msg
        assert msg.startswith(f"{option} = ") and "is not one of" in msg

    def test_message_lists_the_allowed_values(self):
        with pytest.raises(ConfigError, match="'envmap', 'learned', 'black', 'white'"):
            FastFieldConfig(background="evnmap")

    def test_replace_and_json_round_trip_are_checked_too(self):
        import dataclasses

        with pytest.raises(ConfigError):
            dataclasses.replace(FastFieldConfig(), background="gray")
        doc = TrainConfig().to_json()
        doc["fast"]["background"] = "gray"
        with pytest.raises(ConfigError, match="background"):
            TrainConfig.from_json(doc)
        check_choices(TrainConfig())  # the defaults pass


class TestLossFormula:
    def _terms(self, **kw):
        rgb, target = torch.zeros(4, 3), torch.full((4, 3), 0.5)
        return sparsenerf_loss(rgb, target, torch.zeros(4), LossConfig(), **kw)

    def test_weights_are_applied_once(self):
        base = self._terms()
        terms = self._terms(regularisers={"tv": torch.tensor(2.0), "smooth": torch.tensor(3.0)},
                            weights={"tv": 0.1, "smooth": 0.5})
        assert float(terms.total) == pytest.approx(float(base.total) + 0.1 * 2.0 + 0.5 * 3.0)
        assert terms.as_floats()["tv"] == pytest.approx(0.2)  # reported: what it added to the total

    def test_a_zero_weight_removes_the_term(self):
        base = self._terms()
        terms = self._terms(regularisers={"tv": torch.tensor(float("nan"))}, weights={"tv": 0.0})
        assert float(terms.total) == float(base.total) and "tv" not in terms.aux

    def test_a_term_without_weight_is_an_error(self):
        with pytest.raises(ValueError, match="no weight for the regulariser 'tv'"):
            self._terms(regularisers={"tv": torch.tensor(1.0)}, weights={})

    def test_fields_return_unweighted_terms(self):
        outs = []
        for w in (0.1, 5.0):
            field = _blob_field(tv_density=w, tv_color=w, distortion=w)
            torch.manual_seed(3)
            outs.append(field(_rays(), train=True).regularisers)
            assert field.regulariser_weights() == {"tv_density": w, "tv_color": w, "distortion": w}
        assert set(outs[0]) == {"tv_density", "tv_color", "distortion"}
        for name in outs[0]:
            torch.testing.assert_close(outs[0][name], outs[1][name])
        torch.manual_seed(3)
        assert _blob_field(tv_density=0.0, tv_color=1.0).forward(_rays(), train=True).regularisers.keys() == {
            "tv_color", "distortion"}  # a zero weight: the term is not even computed

    def test_tv_by_hand_and_schedule(self):
        block = torch.zeros(3, 3, 3, 1)
        block[1, 1, 1] = 1.0
        # 2 of the 18 differences along each axis are 1: 3 axes x 2/18
        assert float(tv_loss(block)) == pytest.approx(3 * 2 / 18)
        assert [schedule_value(((0, 4), (10, 8)), s) for s in (0, 9, 10, 99)] == [4, 4, 8, 8]

    def test_mipnerf_follows_the_same_contract(self):
        field = MipNeRFField(MipNeRFConfig(num_samples=4, net_depth=2, net_width=8, skip_layer=1, net_width_condition=8))
        out = field(_rays(4), train=True)
        assert out.regularisers == {} and field.regulariser_weights() == {} and out.rgb_coarse is not None


FIXTURE = Path(__file__).parent / "data" / "fast_run_332a2e0"
"""A 3-step fast-field run (run.json + checkpoint) written by main 332a2e0, before the field was split into parts
(/tmp script in benchmarks/RESULTS.md "issue 13 fields"); expected.json: its held-out PSNR on 256 pixels."""


def test_a_checkpoint_from_before_the_split_loads_and_trains_on(tmp_path):
    from nerf.loaders import load_scene
    from nerf.trainer import Trainer
    from tests.nerf_scenes import plane_scene

    run = shutil.copytree(FIXTURE, tmp_path / "run")
    scene = load_scene(plane_scene(tmp_path / "scene"))
    # recorded before the scene-folder loader put the principal point at nerf.rays' pixel centres (+0.5 px)
    scene.K[:, :2, 2] -= 0.5
    old = torch.load(run / "checkpoints" / "latest.pt", weights_only=False)["field"]
    assert "envmap" in old and "occupancy" in old  # really the old layout
    trainer = Trainer.from_run_dir(run, scene=scene)
    assert trainer.step_count == 3
    f = trainer.field
    torch.testing.assert_close(f.env.map, old["envmap"])
    torch.testing.assert_close(f.bg_colour.rgb, old["background"])
    assert torch.equal(f.occupancy.occupied, old["occupancy"])
    assert torch.equal(f.occupancy.base, nearest_resample(old["view_mask"], f.resolution))
    expected = json.loads((run / "expected.json").read_text())
    assert trainer.heldout_psnr(scene.test_ids[0], 256) == pytest.approx(expected["heldout_psnr"], abs=1e-9)
    stats = trainer.step()  # the old optimizer state fits the parameter groups
    assert np.isfinite(stats.losses["total"]) and trainer.step_count == 4
