"""Trainer: short CPU training with the depth prior on each loader, commands, checkpoints, NaN steps."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from devices.frame import DepthKind
from nerf.fields.fast import FastFieldConfig
from nerf.loaders import load_scene
from nerf.run_dir import read_metrics
from nerf.trainer import TrainConfig, Trainer
from tests.conftest import shared_path
from tests.nerf_scenes import H, W, plane_scene

TINY_FIELD = FastFieldConfig(resolution_schedule=((0, 12), (4, 16)), max_samples=24)


@pytest.fixture
def plane(tmp_path) -> Path:
    return plane_scene(tmp_path / "scene")


def _config(**kw) -> TrainConfig:
    base = dict(field="fast", steps=6, batch_rays=128, fast=TINY_FIELD, threads=2, preview_width=8, eval_rays=64,
                snapshot_interval_s=0.0, eval_every_s=0.0)
    base.update(kw)
    return TrainConfig.from_flat(**base)


class TestTraining:
    def test_scene_folder_with_the_depth_prior(self, plane, tmp_path):
        scene = load_scene(plane)
        assert scene.depth_kind is DepthKind.METRIC and 1.5 < scene.near < 2.0 < scene.far < 2.5
        trainer = Trainer.create(scene, _config(), tmp_path / "run")
        assert trainer.use_prior
        first = trainer.step()
        assert first.losses["rank"] >= 0 and "cont" in first.losses
        snaps = []
        last = trainer.control.run(snaps.append)
        assert last.step == 6 and last.state == "finished" and trainer.control.state == "finished"
        assert last.preview is not None and last.preview.rgb.shape == (6, 8, 3)
        assert last.test_psnr is not None and np.isfinite(last.test_psnr)
        assert (tmp_path / "run" / "checkpoints" / "latest.pt").is_file()
        lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
        assert len(lines) == len(snaps) >= 2

    def test_no_snapshot_image_unless_asked_for(self, plane, monkeypatch):
        """Nothing shows the snapshot's image: by default the loop renders none (a full render on the training
        thread every 5 s was 2-8 % of its steps); ``preview_width`` asks for one."""
        trainer = Trainer.create(load_scene(plane), _config(preview_width=TrainConfig().reporting.preview_width))
        monkeypatch.setattr(trainer, "render", lambda *a, **k: pytest.fail("the loop rendered"))
        last = trainer.control.run()
        assert last.step == 6 and last.preview is None

    def test_dtu_with_the_depth_prior(self):
        scene = load_scene(shared_path("dtu_scan24"), downscale=8)
        trainer = Trainer.create(scene, _config(steps=3))
        stats = [trainer.step() for _ in range(3)]
        assert all(np.isfinite(s.losses["total"]) for s in stats)
        assert stats[-1].losses["rank"] >= 0 and trainer.sampler.sensor_depth is False  # monocular: all quadruples
        result = trainer.render(trainer.view_camera(scene.test_ids[0]).scaled(0.5))
        assert result.rgb.shape == (24, 24, 3) and result.depth.shape == (24, 24)
        assert (result.depth >= scene.near - 1e-4).all() and (result.depth <= scene.far + 1e-4).all()

    def test_without_prior_there_is_no_depth_term(self, plane):
        trainer = Trainer.create(load_scene(plane), _config(depth_prior=False))
        assert "rank" not in trainer.step().losses


class TestCommands:
    def test_pause_resume_stop_from_another_thread(self, plane, tmp_path):
        trainer = Trainer.create(load_scene(plane), _config(steps=10**6), tmp_path / "run")
        done = []
        worker = threading.Thread(target=lambda: done.append(trainer.control.run()))
        worker.start()
        try:
            _wait(lambda: trainer.step_count >= 2)
            trainer.control.pause()
            _wait(lambda: trainer.control.state == "paused")
            frozen = trainer.step_count
            rendered = threading.Event()
            trainer.control.request_render(trainer.view_camera(1).scaled(0.5), lambda r: rendered.set())
            assert rendered.wait(10)  # served while paused
            time.sleep(0.3)
            assert trainer.step_count == frozen
            trainer.control.resume()
            _wait(lambda: trainer.step_count > frozen)
            trainer.control.stop()
            worker.join(20)
        finally:
            trainer.control.stop()
            worker.join(20)
        assert done and done[0].state == "stopped" and trainer.control.state == "stopped"
        assert (tmp_path / "run" / "checkpoints" / "latest.pt").is_file()

    def test_request_render_runs_immediately_when_idle(self, plane):
        trainer = Trainer.create(load_scene(plane), _config())
        got = []
        trainer.control.request_render(trainer.view_camera(0), got.append)
        assert len(got) == 1 and got[0].rgb.shape == (H, W, 3)


class TestCheckpoints:
    def test_resumed_run_continues_exactly(self, plane, tmp_path):
        run = tmp_path / "run"
        trainer = Trainer.create(load_scene(plane), _config(steps=20, smooth_weight=0.1), run)  # every RNG in play
        for _ in range(5):  # crosses the resolution change at step 4
            trainer.step()
        trainer.save_checkpoint()
        expected = trainer.step()
        resumed = Trainer.from_run_dir(run)
        assert resumed.step_count == 5 and resumed.field.resolution == trainer.field.resolution
        got = resumed.step()
        assert got.step == expected.step == 6
        assert got.losses == pytest.approx(expected.losses, rel=1e-5)
        for (name, a), b in zip(trainer.field.state_dict().items(), resumed.field.state_dict().values()):
            torch.testing.assert_close(a, b, msg=name)

    def test_metrics_belong_to_the_run_in_the_folder(self, plane, tmp_path):
        run = tmp_path / "run"
        first = Trainer.create(load_scene(plane), _config(steps=3), run)
        first.control.run()
        assert (run / "metrics.jsonl").is_file()
        second = Trainer.create(load_scene(plane), _config(steps=4), run)  # a new run in the same folder
        assert not (run / "metrics.jsonl").exists()
        for _ in range(2):
            second.step()
        second.save_checkpoint()
        for _ in range(2):  # logged after the checkpoint, then a crash
            second.step()
            second.control._emit(force=True)
        assert [r["step"] for r in read_metrics(run)] == [3, 4]
        resumed = Trainer.from_run_dir(run)
        assert resumed.step_count == 2 and read_metrics(run) == []  # those steps will be trained again
        resumed.control.run()
        steps = [r["step"] for r in read_metrics(run)]
        assert steps == sorted(steps) and steps[0] >= 3 and steps[-1] == 4

    def test_load_run_renders(self, plane, tmp_path):
        trainer = Trainer.create(load_scene(plane), _config(), tmp_path / "run")
        trainer.control.run()
        loaded = Trainer.from_run_dir(tmp_path / "run")
        assert loaded.step_count == trainer.step_count
        np.testing.assert_array_equal(loaded.render(loaded.view_camera(1)).rgb, trainer.render(trainer.view_camera(1)).rgb)


class TestNonFinite:
    def test_nan_loss_is_skipped_and_counted(self, plane):
        trainer = Trainer.create(load_scene(plane), _config())
        trainer.step()
        before = {k: v.clone() for k, v in trainer.field.state_dict().items()}
        forward = trainer.field.forward

        def poisoned(rays, *, train):
            out = forward(rays, train=train)
            out.rgb = out.rgb * float("nan")
            return out

        trainer.field.forward = poisoned
        stats = trainer.step()
        assert stats.skipped and trainer.skipped_steps == 1 and trainer.step_count == 2
        for k, v in trainer.field.state_dict().items():
            torch.testing.assert_close(v, before[k], msg=k)
        trainer.field.forward = forward
        assert not trainer.step().skipped


def _wait(cond, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


class TestForwardFacing:
    @pytest.mark.parametrize("sensor", ["kinect", "zed2"])
    def test_nvs_rgbd_trains_in_ndc_with_the_prior(self, tmp_path, sensor):
        from tests.llff_samples import build_sample

        sample = build_sample(shared_path("dtu_scan24"), tmp_path / sensor, sensor=sensor)
        scene = load_scene(sample.root)
        assert scene.ndc and scene.depths is not None
        trainer = Trainer.create(scene, _config(steps=3))
        stats = [trainer.step() for _ in range(3)]
        assert all(np.isfinite(s.losses["total"]) and s.losses["rank"] >= 0 for s in stats)
        result = trainer.render(trainer.view_camera(scene.test_ids[0]).scaled(0.25))
        assert result.depth_is_ndc and (result.depth >= 0).all() and (result.depth <= 1).all()
