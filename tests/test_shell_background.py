"""The sensor field's shell background (``nerf.fields.shell``) and the planes' block TV term (``plane_tv``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nerf.fields.config import SensorFieldConfig
from nerf.fields.shell import RADIUS_FACTORS, ShellMap, fit_shell, push_pull
from nerf.fields.vm_ops import plane_tv
from nerf.loaders import load_scene
from nerf.trainer import TrainConfig, Trainer
from tests.nerf_scenes import plane_scene


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True)


def test_a_ray_reads_the_texel_where_it_leaves_the_sphere():
    shell = ShellMap((8, 16), torch.eye(3))
    shell.radius.fill_(2.0)
    d = _unit(torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.3, -1.0, 0.2]]))
    at_centre = shell.coords(torch.zeros(3, 3), d)
    # from the centre the exit point lies in the ray's direction: longitude atan2(y, x) / pi, latitude asin(z) / (pi / 2)
    torch.testing.assert_close(at_centre[0], torch.tensor([0.25, 0.0]))
    assert at_centre[1, 1].item() == pytest.approx(1.0)
    # from elsewhere inside, the exit point's own direction from the centre decides (parallax)
    o = torch.tensor([[1.0, 0.0, 0.0]])
    g = shell.coords(o, torch.tensor([[0.0, 1.0, 0.0]]))
    exit_point = torch.tensor([1.0, math.sqrt(3.0), 0.0])  # |exit| = 2
    assert g[0, 0].item() == pytest.approx(math.atan2(exit_point[1], exit_point[0]) / math.pi, abs=1e-6)


def test_push_pull_keeps_splatted_texels_and_fills_the_rest_smoothly():
    total, count = torch.zeros(3, 8, 8), torch.zeros(8, 8)
    total[:, 1, 1], count[1, 1] = torch.tensor([0.9, 0.1, 0.1]) * 2, 2  # red, two samples
    total[:, 6, 6], count[6, 6] = torch.tensor([0.1, 0.1, 0.9]), 1  # blue, one
    out = push_pull(total, count)
    torch.testing.assert_close(out[:, 1, 1], torch.tensor([0.9, 0.1, 0.1]))
    torch.testing.assert_close(out[:, 6, 6], torch.tensor([0.1, 0.1, 0.9]))
    assert out[0, 0, 0] > out[2, 0, 0] and out[2, 7, 7] > out[0, 7, 7]  # empty texels take the nearer colour
    assert torch.isfinite(out).all() and out.min() >= 0.1 - 1e-6 and out.max() <= 0.9 + 1e-6


def test_fit_picks_the_radius_where_the_views_agree_and_shows_it_from_a_new_camera():
    """Three cameras see a sphere of radius 1.5 (the reach 1 x RADIUS_FACTORS[2]) whose colour changes with longitude; the
    fitted shell shows a fourth camera the right colours, which a map by direction alone cannot."""
    assert RADIUS_FACTORS[2] == 1.5
    colour = lambda p: torch.stack([0.5 + 0.4 * torch.sin(3 * torch.atan2(p[:, 1], p[:, 0])), 0.5 + 0 * p[:, 0],  # noqa: E731
                                    0.5 + 0.4 * torch.cos(3 * torch.atan2(p[:, 1], p[:, 0]))], -1)
    g = torch.Generator().manual_seed(0)

    def view(origin):
        d = _unit(torch.randn(4000, 3, generator=g) * torch.tensor([1.0, 1.0, 0.2]))
        o = torch.tensor(origin).expand(len(d), 3)
        b = (o * d).sum(-1, keepdim=True)
        p = o + (torch.sqrt(b * b - ((o * o).sum(-1, keepdim=True) - 1.5**2)) - b) * d
        return o, d, colour(p)

    views = [view([0.4, 0.0, 0.0]), view([-0.3, 0.3, 0.0]), view([0.0, -0.4, 0.0])]
    shell = ShellMap((32, 64), torch.eye(3))
    radius = fit_shell(shell, views, torch.zeros(3), reach=1.0)
    assert radius == pytest.approx(1.5)
    o, d, want = view([0.2, 0.3, 0.0])
    err = (shell(o, d) - want).abs().mean()
    direction_only = (colour(d) - want).abs().mean()
    assert err < 0.05 and err < 0.5 * direction_only


def test_block_tv_is_an_unbiased_estimate_of_the_whole_planes():
    torch.manual_seed(0)
    planes = torch.randn(3, 2, 32, 32).cumsum(-1)  # rougher along columns than rows
    full = float(plane_tv(planes))
    assert float(plane_tv(planes, block=32)) == full and float(plane_tv(planes, block=0)) == full
    blocks = [float(plane_tv(planes, block=8)) for _ in range(400)]
    assert np.std(blocks) > 0  # each call sees another square
    assert np.mean(blocks) == pytest.approx(full, rel=0.05)


def test_the_sensor_field_fits_the_shell_to_pixels_without_depth_and_resumes(tmp_path):
    scene = load_scene(plane_scene(tmp_path / "s"))
    scene.depths[scene.train_ids[0], :, :4] = 0  # a strip the sensor did not range
    cfg = TrainConfig.from_flat(field="sensor", steps=3, batch_rays=64, threads=1)
    cfg.sensor = SensorFieldConfig(density_resolution=24, plane_schedule=((0, 8),), components=2, hidden=8,
                                   background="shell", shell_size=(8, 16), tv_planes_block=4)
    trainer = Trainer.create(scene, cfg, run_dir=tmp_path / "run")
    shell = trainer.field.env
    assert isinstance(shell, ShellMap) and float(shell.radius) > 0
    strip = scene.images[scene.train_ids[0], :, :4].reshape(-1, 3)
    fitted = torch.sigmoid(shell.map.detach()).reshape(3, -1)
    # every texel comes from the strip's colours (splatted or filled from them), none is the untouched grey
    assert float((fitted.mean(1) - torch.as_tensor(strip.mean(0), dtype=torch.float32)).abs().max()) < 0.1
    for _ in range(3):
        assert np.isfinite(trainer.step().losses["total"])
    trainer.save_checkpoint()
    again = Trainer.from_run_dir(tmp_path / "run", scene)
    np.testing.assert_array_equal(again.render(again.view_camera(1)).rgb, trainer.render(trainer.view_camera(1)).rgb)


def test_a_checkpoint_with_an_environment_map_loads_into_a_shell_config(tmp_path):
    scene = load_scene(plane_scene(tmp_path / "s"))
    small = dict(density_resolution=24, plane_schedule=((0, 8),), components=2, hidden=8)
    cfg = TrainConfig.from_flat(field="sensor", steps=2, batch_rays=64, threads=1)
    cfg.sensor = SensorFieldConfig(**small, background="envmap")
    old = Trainer.create(scene, cfg)
    old.step()
    cfg.sensor = SensorFieldConfig(**small, background="shell", shell_size=(8, 16))
    new = Trainer.create(scene, cfg)
    new.load_state_dict(old.state_dict())
    assert not isinstance(new.field.env, ShellMap)
    np.testing.assert_array_equal(new.render(new.view_camera(1)).rgb, old.render(old.view_camera(1)).rgb)
    assert np.isfinite(new.step().losses["total"])
