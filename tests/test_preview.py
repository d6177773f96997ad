"""The live preview's fast render path against its reference (the field's own sampler and renderer), and the
field copy that lets it render beside the training (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nerf.fields.base import RayBatch
from nerf.loaders import load_scene
from nerf.march import march
from nerf.metrics import psnr
from nerf.occupancy import OccupancyGrid
from nerf.preview import LivePreview, render_preview
from nerf.preview_march import PreviewPlan, distance_grid, distance_grid_reference, render_plan
from nerf.render_fn import render_samples
from nerf.trainer import TrainConfig, Trainer


def _random_rays(n: int, seed: int) -> RayBatch:
    """Rays from inside and outside the box [-1, 1] x [-0.7, 0.9] x [0, 2], in every direction (z = +-1 or so)."""
    g = torch.Generator().manual_seed(seed)
    o = torch.rand(n, 3, generator=g) * torch.tensor([4.0, 4.0, 4.0]) - torch.tensor([2.0, 2.0, 1.0])
    d = torch.randn(n, 3, generator=g)
    d[:, :2] *= 0.6
    d = d / d[:, 2:3].abs().clamp(min=0.3)
    return RayBatch(o, d, d / d.norm(dim=-1, keepdim=True), torch.full((n, 1), 1e-3), torch.full((n, 1), 0.1),
                    torch.full((n, 1), 6.0))


def _functions(seed: int):
    """A smooth density with opaque and foggy parts, and a colour, both of world points."""
    g = torch.Generator().manual_seed(seed)
    centres, scales = torch.rand(6, 3, generator=g) * 2 - 1, torch.rand(6, generator=g) * 40 + 2

    def density(p: torch.Tensor) -> torch.Tensor:
        return (scales * torch.exp(-((p[:, None, :] - centres) ** 2).sum(-1) * 8)).sum(-1)

    def colour(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.stack([p[:, 0] * 3, p[:, 1] * 2 + p[:, 2], torch.sin(p.sum(-1) * 4)], -1))

    return density, colour


def _against_the_twin(rays: RayBatch, grid: OccupancyGrid, limit: int, functions, bg: torch.Tensor,
                      windows_caps: tuple[tuple[int, int], ...], depth_rtol: float = 1e-4):
    """render_plan (exact settings, then again from the ray starts it returned) against march + render_samples:
    colour, opacity, depth and each ray's first occupied sample. Returns (plan, reference render)."""
    from nerf.march import clip_to_box

    density, colour = functions
    step = 0.5 * grid.cell_size()
    samples = march(rays, grid, step, limit, randomized=False)
    ref = render_samples(rays, samples, density, colour, bg, weight_threshold=1e-3)
    near, far = clip_to_box(rays, grid.aabb)
    n = max(1, int(torch.ceil((far - near).clamp(min=0).max() / step)))
    plan = PreviewPlan(near, far, step, n, grid, limit, density, colour, bg, 1e-3)
    for window, cap in windows_caps:
        plan.distance = distance_grid(grid.occupied, cap)
        once = render_plan(rays, plan, window=window, min_transmittance=0.0)
        starts = once[3]
        # the same rays again, each starting at the first occupied sample the first render found
        again = render_plan(rays, plan, window=window, min_transmittance=0.0, starts=starts)
        for rgb, depth, acc in (once[:3], again[:3]):
            torch.testing.assert_close(acc, ref.acc, atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(rgb, ref.rgb, atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(depth, ref.depth_normalised, atol=1e-4, rtol=depth_rtol)
        first_ref = torch.where(samples.valid[:, 0], samples.t[:, 0], torch.inf)
        got = torch.where(starts.first < n, near[:, 0] + (starts.first + 0.5) * step, torch.inf)
        torch.testing.assert_close(got, first_ref)
    return plan, ref


@pytest.mark.parametrize("seed,shape,limit", [(0, (23, 17, 21), 6), (1, (40, 32, 41), 24), (2, (9, 9, 9), 3)])
def test_the_fast_path_renders_what_the_sampler_and_renderer_render(seed, shape, limit):
    """Random occupancy (cells whose count per side is no multiple of the block size), rays starting inside and
    outside the box in every direction: the same colour, opacity and depth as march + render_samples."""
    aabb = torch.tensor([[-1.0, -0.7, 0.0], [1.0, 0.9, 2.0]])
    grid = OccupancyGrid(aabb, shape)
    g = torch.Generator().manual_seed(seed)
    grid.occupied = torch.rand(shape, generator=g) < 0.08
    rays = _random_rays(3000, seed)
    bg = torch.rand(len(rays), 3, generator=g)
    plan, ref = _against_the_twin(rays, grid, limit, _functions(seed), bg, ((16, 16), (5, 3), (64, 1)))
    # early termination and fewer colour evaluations: close, not equal
    rgb, _, acc, _ = render_plan(rays, plan, min_transmittance=1e-3, colour_weight=0.05)
    assert float((acc - ref.acc).abs().max()) <= 1e-3
    assert float((rgb - ref.rgb).abs().mean()) < 0.01


def _edge_rays(aabb: torch.Tensor, shape: tuple[int, int, int], kind: str, seed: int) -> RayBatch:
    """Rays at the edges of the box and its lattice: ``axis`` along each axis through cell centres, cell borders
    (rounding ties) and the box's faces; ``face`` in the planes of the box's faces; ``bounds`` with their own near
    and far (ending inside the box, or empty: far < near); ``far`` from 200 units away (large t)."""
    g = torch.Generator().manual_seed(seed)
    lo, ext = aabb[0], aabb[1] - aabb[0]
    if kind == "axis":
        o, d = [], []
        for ax in range(3):
            a1, a2 = [a for a in range(3) if a != ax]
            for f1 in torch.linspace(0, 1, 2 * shape[a1] - 1):
                for f2 in torch.linspace(0, 1, 2 * shape[a2] - 1)[::3]:
                    for sign in (1.0, -1.0):
                        oo, dd = torch.zeros(3), torch.zeros(3)
                        oo[a1], oo[a2] = lo[a1] + f1 * ext[a1], lo[a2] + f2 * ext[a2]
                        oo[ax], dd[ax] = (lo[ax] - 0.3, 1.0) if sign > 0 else (aabb[1, ax] + 0.3, -1.0)
                        o.append(oo), d.append(dd)
        o, d = torch.stack(o), torch.stack(d)
    elif kind == "face":
        o = torch.rand(2000, 3, generator=g) * ext + lo
        ax, side, rows = torch.randint(0, 3, (2000,), generator=g), torch.randint(0, 2, (2000,), generator=g), torch.arange(2000)
        o[rows, ax] = aabb[side, ax]
        d = torch.randn(2000, 3, generator=g)
        d[rows, ax] = 0.0
        o = o - 3 * d
    elif kind == "far":
        o = torch.randn(2000, 3, generator=g)
        o = o / o.norm(dim=-1, keepdim=True) * 200
        d = torch.rand(2000, 3, generator=g) * ext + lo - o
    else:
        o, d = torch.rand(2000, 3, generator=g) * 4 - torch.tensor([2.0, 2.0, 1.0]), torch.randn(2000, 3, generator=g)
    n = len(o)
    near = torch.full((n, 1), 0.0)
    far = torch.full((n, 1), 400.0 if kind == "far" else 8.0)
    if kind == "bounds":
        near = torch.rand(n, 1, generator=g) * 2
        far = near + torch.rand(n, 1, generator=g) * 3 - 0.2  # some end inside the box, some are empty
    return RayBatch(o, d, d / d.norm(dim=-1, keepdim=True), torch.full((n, 1), 1e-3), near, far)


@pytest.mark.parametrize("kind", ["axis", "face", "bounds", "far"])
@pytest.mark.parametrize("occupancy", ["shell", "random", "all", "none"])
def test_the_fast_path_at_the_edges_of_the_box_and_of_its_cells(kind, occupancy):
    """The reference twin (march + render_samples) on the rays most likely to trip the skipping: along the lattice
    (cell borders are rounding ties), in the box's faces, ending inside the box or empty, from far away; with
    only cells on the box's boundary occupied (half of them), random cells, every cell or none."""
    aabb, shape = torch.tensor([[-1.0, -0.7, 0.0], [1.0, 0.9, 2.0]]), (23, 17, 21)
    grid = OccupancyGrid(aabb, shape)
    g = torch.Generator().manual_seed(7)
    if occupancy == "shell":
        occ = torch.zeros(shape, dtype=torch.bool)
        occ[[0, -1]] = True
        occ[:, [0, -1]] = True
        occ[:, :, [0, -1]] = True
        grid.occupied = occ & (torch.rand(shape, generator=g) < 0.5)
    else:
        grid.occupied = torch.rand(shape, generator=g) < {"random": 0.1, "all": 2.0, "none": -1.0}[occupancy]
    rays = _edge_rays(aabb, shape, kind, 3)
    bg = torch.rand(len(rays), 3, generator=g)
    _against_the_twin(rays, grid, 24, _functions(0), bg, ((12, 16), (5, 3)), depth_rtol=1e-5)


@pytest.mark.parametrize("shape,fill,cap", [((11, 7, 9), 0.02, 16), ((13, 13, 5), 0.2, 3), ((6, 8, 7), 0.0, 4), ((1, 9, 4), 0.1, 5)])
def test_the_distance_grid_is_the_chebyshev_distance_to_the_nearest_occupied_cell(shape, fill, cap):
    """The separable dilations against brute force (every cell against every occupied cell), capped; a grid one
    cell thick on an axis; a grid with nothing occupied (all at the cap)."""
    occ = torch.rand(shape, generator=torch.Generator().manual_seed(len(shape) + cap)) < fill
    got = distance_grid(occ, cap)
    assert got.dtype == torch.uint8 and got.shape == occ.shape
    torch.testing.assert_close(got, distance_grid_reference(occ, cap), rtol=0, atol=0)
    assert bool((got == 0).eq(occ).all())


def _sensor_trainer(scene_dir, steps: int) -> Trainer:
    scene = load_scene(scene_dir)
    cfg = TrainConfig.from_flat(field="sensor", steps=steps, batch_rays=256, threads=1)
    cfg.sensor = type(cfg.sensor)(density_resolution=48, plane_schedule=((0, 16), (4, 32)), components=4, hidden=16)
    trainer = Trainer.create(scene, cfg)
    for _ in range(steps):
        trainer.step()
    return trainer


def test_the_sensor_fields_preview_is_its_render(virtual_scenes):
    trainer = _sensor_trainer(virtual_scenes[0], 3)
    scene = trainer.scene
    for cam in (trainer.view_camera(scene.test_ids[0]), trainer.view_camera(scene.train_ids[1]).scaled(0.5)):
        full = trainer.render(cam)
        fast = render_preview(trainer.field, trainer.rays, cam, 1000, trainer.step_count)
        assert (full.acc > 0.2).mean() > 0.5  # the view shows the room, not only the background
        assert np.abs(fast.rgb.astype(int) - full.rgb).max() <= 1
        np.testing.assert_allclose(fast.acc, full.acc, atol=1e-3)
        np.testing.assert_allclose(fast.depth, full.depth, atol=1e-3, rtol=1e-3)
        assert psnr(render_preview(trainer.field, trainer.rays, cam, 1000, colour_weight=0.05).rgb / 255.0, full.rgb / 255.0) > 30


def test_fields_without_a_fast_path_render_as_they_do(virtual_scenes):
    scene = load_scene(virtual_scenes[1])
    trainer = Trainer.create(scene, TrainConfig.from_flat(field="fast", steps=1, threads=1))
    cam = trainer.view_camera(scene.test_ids[0]).scaled(0.5)
    np.testing.assert_array_equal(render_preview(trainer.field, trainer.rays, cam, 4096).rgb, trainer.render(cam).rgb)


def test_the_live_preview_renders_a_copy_taken_between_steps(virtual_scenes):
    trainer = _sensor_trainer(virtual_scenes[2], 2)
    cam = trainer.view_camera(trainer.scene.test_ids[0]).scaled(0.5)
    live = LivePreview()
    assert live.supports(trainer) and not live.supports(object())
    with pytest.raises(RuntimeError):
        live.render(cam)
    live.sync(trainer)
    first = live.render(cam)
    cw = LivePreview.COLOUR_WEIGHT
    np.testing.assert_array_equal(first.rgb, render_preview(trainer.field, trainer.rays, cam, 16384, colour_weight=cw,
                                                            min_transmittance=LivePreview.MIN_TRANSMITTANCE).rgb)
    mirror = live._mirror
    assert all(a.data_ptr() != b.data_ptr() for a, b in zip(mirror.parameters(), trainer.field.parameters()))
    trainer.step()  # the copy keeps the state it was taken at
    assert live.render(cam).step == first.step == 2
    np.testing.assert_array_equal(live.render(cam).rgb, first.rgb)
    trainer.step()
    trainer.step()  # the VM planes grew (step 4): the copy must be a new one
    live.sync(trainer)
    assert live._mirror is not mirror and live._mirror.planes.shape == trainer.field.planes.shape
    mirror = live._mirror
    trainer.step()
    live.sync(trainer)  # same shapes: copied in place
    assert live._mirror is mirror
    now = live.render(cam)
    assert now.step == trainer.step_count == 6
    np.testing.assert_array_equal(now.rgb, render_preview(trainer.field, trainer.rays, cam, 16384, colour_weight=cw,
                                                          min_transmittance=LivePreview.MIN_TRANSMITTANCE).rgb)
    assert live.render(cam).rgb.tobytes() == now.rgb.tobytes()  # a refresh of the resting camera: the same image


def test_the_live_preview_lets_go_of_a_trainer_the_application_dropped(virtual_scenes):
    """The preview renders its own copy: a trainer nothing else holds (a new run, another scene) is freed with its
    optimizer state and images, and the copy still renders; a new trainer replaces the copy."""
    import gc
    import weakref

    trainer = _sensor_trainer(virtual_scenes[2], 1)
    cam = trainer.view_camera(trainer.scene.test_ids[0]).scaled(0.25)
    live = LivePreview()
    live.sync(trainer)
    before = live.render(cam)
    gone = weakref.ref(trainer)
    del trainer
    gc.collect()
    assert gone() is None
    np.testing.assert_array_equal(live.render(cam).rgb, before.rgb)
    other = _sensor_trainer(virtual_scenes[1], 1)
    live.sync(other)
    np.testing.assert_array_equal(live.render(cam).rgb, render_preview(
        other.field, other.rays, cam, 16384, colour_weight=LivePreview.COLOUR_WEIGHT,
        min_transmittance=LivePreview.MIN_TRANSMITTANCE).rgb)
