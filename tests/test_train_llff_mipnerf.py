"""Training smoke tests on the LLFF / NVS-RGBD loader and with the Mip-NeRF field (depth prior on),
the faithful preset through the Trainer, and `sparsenerf eval` / `render` on a trained run."""

from __future__ import annotations

import json
import math

import av
import numpy as np
import pytest
import torch

from app.cli import main
from nerf.loaders import load_scene
from nerf.loaders.llff import load_llff
from nerf.train_config import TrainConfig
from nerf.trainer import Trainer
from tests.conftest import shared_path
from tests.llff_samples import SIZE, build_sample


@pytest.fixture(scope="module")
def kinect_root(tmp_path_factory):
    return build_sample(shared_path("dtu_scan24"), tmp_path_factory.mktemp("smoke") / "kinect" / "desk").root


def _finite_steps(trainer: Trainer, n: int) -> list[dict[str, float]]:
    out = []
    for _ in range(n):
        stats = trainer.step()
        assert not stats.skipped and all(math.isfinite(v) for v in stats.losses.values())
        out.append(stats.losses)
    return out


def test_fast_field_on_nvs_kinect_with_depth_prior(kinect_root):
    torch.manual_seed(0)
    scene = load_llff(kinect_root, factor=2)
    trainer = Trainer.create(scene, TrainConfig.from_flat(steps=4, batch_rays=256, device="cpu"))
    assert trainer.use_prior
    losses = _finite_steps(trainer, 4)
    assert "rank" in losses[-1] and "cont" in losses[-1]
    cam = trainer.view_camera(scene.test_ids[0]).scaled(0.5)
    result = trainer.render(cam)
    assert result.rgb.shape == (SIZE // 2, SIZE // 2, 3) and result.depth_is_ndc
    assert np.all((result.depth >= 0) & (result.depth <= 1))  # NDC t


def test_fast_field_on_llff_protocol_without_depth(tmp_path):
    build_sample(shared_path("dtu_scan24"), tmp_path / "fern", sensor="llff", train_names=False)
    trainer = Trainer.create(load_llff(tmp_path / "fern", factor=2), TrainConfig.from_flat(steps=2, batch_rays=256, device="cpu"))
    assert not trainer.use_prior
    losses = _finite_steps(trainer, 2)
    assert "rank" not in losses[-1]


def test_mipnerf_field_trains_with_depth_prior(kinect_root):
    torch.manual_seed(0)
    scene = load_llff(kinect_root, factor=2)
    trainer = Trainer.create(scene, TrainConfig.from_flat(field="mipnerf", steps=2, batch_rays=32, device="cpu"))
    before = [p.detach().clone() for p in trainer.field.parameters()]
    losses = _finite_steps(trainer, 2)
    assert "rank" in losses[-1] and "rgb_coarse" in losses[-1]
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.field.parameters()))


def test_faithful_preset_through_the_trainer(kinect_root):
    trainer = Trainer.create(load_llff(kinect_root, factor=2), TrainConfig.from_flat(preset="faithful", device="cpu"))
    cfg = trainer.config
    assert (cfg.field, cfg.sampler.batch_rays, cfg.budget.steps) == ("mipnerf", 512, 60_000)
    assert (cfg.losses.rank_weight, cfg.losses.cont_weight) == (0.5, 0.1)
    assert tuple(cfg.sampler.ranking_window) == (5, 5) and cfg.optim.grad_clip_value == 0.1
    assert cfg.optim.lr_warmup_steps == 512


def test_eval_and_render_commands_on_a_trained_run(kinect_root, tmp_path):
    scene = load_scene(kinect_root, downscale=2)
    trainer = Trainer.create(scene, TrainConfig.from_flat(steps=3, batch_rays=256, device="cpu"), tmp_path / "run")
    _finite_steps(trainer, 3)
    trainer.save_checkpoint()
    assert main(["eval", str(tmp_path / "run"), "--json", str(tmp_path / "eval.json")]) == 0
    doc = json.loads((tmp_path / "eval.json").read_text())
    assert doc["step"] == 3 and len(doc["views"]) == len(scene.test_ids)
    assert doc["lpips_status"].startswith("unavailable") and doc["mean"]["ssim"] is not None
    out = tmp_path / "spiral.mp4"
    assert main(["render", str(tmp_path / "run"), "--path", "spiral", "--out", str(out), "--frames", "4",
                 "--width", "32"]) == 0
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    from nerf.video import legend_height

    assert len(frames) == 4 and frames[0].shape == (32 + legend_height(32), 64, 3)  # over the depth legend


def test_render_command_bad_run_is_an_error_line(tmp_path, capsys):
    assert main(["render", str(tmp_path), "--out", str(tmp_path / "v.mp4")]) == 2
    assert "not a training run" in capsys.readouterr().err


def test_headless_demo_trains_and_writes_a_video(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--headless", "--out", str(out), "--frames", "4", "--minutes", "0.02",
                 "--video-frames", "3", "--video-width", "96"]) == 0
    assert (out / "run" / "checkpoints" / "latest.pt").is_file()
    with av.open(str(out / "demo.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 3 and frames[0].shape[1] == 2 * 96  # RGB | depth, each --video-width wide
