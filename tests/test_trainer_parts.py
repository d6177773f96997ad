"""The trainer's parts on their own: building (create / from_run_dir), the LR schedule, the smoothness term,
rendering and evaluation keeping the field's mode, and LoopControl driving a minimal fake trainer."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from nerf import inference
from nerf.fields.fast import FastFieldConfig
from nerf.loaders import load_scene
from nerf.lr_schedule import LRSchedule, budget_progress
from nerf.profiles import resolve
from nerf.run_dir import CHECKPOINT, METRICS, RUN_JSON
from nerf.run_state import RunState
from nerf.smoothness import SmoothnessConfig, SmoothnessTerm
from nerf.train_loop import LoopControl, LoopSettings, LoopTarget
from nerf.trainer import TrainConfig, Trainer
from nerf.types import Camera, RenderResult, StepStats
from tests.nerf_scenes import plane_scene

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(batch_rays=128, threads=1, fast=FastFieldConfig(resolution_schedule=((0, 12),), max_samples=16),
            preview_width=8, eval_rays=64, snapshot_interval_s=0.0)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return load_scene(plane_scene(tmp_path_factory.mktemp("parts") / "scene"))


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------- building
def test_constructor_writes_nothing_and_create_starts_the_folder(scene, tmp_path):
    run = tmp_path / "run"
    Trainer.create(scene, TrainConfig.from_flat(steps=2, **TINY), run).control.run()
    before = files_in(run)
    assert {RUN_JSON, str(CHECKPOINT), METRICS} <= set(before)

    plain = Trainer(scene, resolve(TrainConfig.from_flat(steps=2, **TINY), scene))
    plain.step()
    assert plain.run_dir is None and plain.run_id is None and files_in(run) == before

    new = Trainer.create(scene, TrainConfig.from_flat(steps=3, **TINY), run)  # a new run in the same folder
    after = files_in(run)
    assert set(after) == {RUN_JSON}, "the old checkpoint and curves go before run.json is written"
    assert new.run_dir == run and new.run_id is not None and new.run_id in after[RUN_JSON].decode()


def test_from_run_dir_continues_without_rewriting_the_folder(scene, tmp_path):
    run = tmp_path / "run"
    trainer = Trainer.create(scene, TrainConfig.from_flat(steps=3, **TINY), run)
    trainer.control.run()
    before = files_in(run)
    loaded = Trainer.from_run_dir(run)
    assert files_in(run) == before, "loading a run changes none of its files"
    assert (loaded.step_count, loaded.run_id, loaded.run_dir) == (3, trainer.run_id, run)
    assert loaded.control.last_record["step"] == 3
    np.testing.assert_array_equal(loaded.render(loaded.view_camera(1)).rgb, trainer.render(trainer.view_camera(1)).rgb)


def test_train_loop_does_not_import_the_trainer():
    """No import cycle: LoopControl knows a trainer only through the LoopTarget protocol."""
    tree = ast.parse((ROOT / "nerf" / "train_loop.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "nerf.trainer" not in imported
    code = "import sys, nerf.train_loop; assert 'nerf.trainer' not in sys.modules; import nerf.trainer; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_trainer_conforms_to_the_loop_protocol(scene):
    trainer = Trainer(scene, resolve(TrainConfig.from_flat(steps=1, **TINY), scene))
    target: LoopTarget = trainer  # noqa: F841 - a static check as much as a runtime one
    for name in ("step_count", "skipped_steps", "max_steps", "budget_s", "run_dir", "step", "render",
                 "heldout_psnr", "save_checkpoint"):
        assert hasattr(trainer, name), name


# ---------------------------------------------------------------------------------------------- pure parts
def test_lr_schedule_values():
    s = LRSchedule(final_ratio=0.1)
    assert s.factor(0.0, 0) == 1.0
    assert s.factor(1.0, 10**6) == pytest.approx(0.1, rel=1e-12)
    assert s.factor(0.5, 7) == pytest.approx(math.sqrt(0.1), rel=1e-12)  # log-linear
    w = LRSchedule(final_ratio=1.0, warmup_steps=100, warmup_start=0.01)
    assert w.factor(0.0, 0) == pytest.approx(0.01)
    assert w.factor(0.0, 50) == pytest.approx(0.01 + 0.99 * math.sin(math.pi / 4))
    assert w.factor(0.0, 100) == w.factor(0.0, 5000) == pytest.approx(1.0)
    assert LRSchedule(final_ratio=0.0).factor(1.0, 0) == pytest.approx(1e-12)  # clamped, never log(0)


def test_budget_progress():
    assert budget_progress(50, 0.0, 100, None) == 0.5
    assert budget_progress(10, 30.0, 100, 60.0) == 0.5  # the larger of steps and time
    assert budget_progress(500, 1e9, 100, 60.0) == 1.0
    assert budget_progress(5, 5.0, None, None) == 0.0


def test_smoothness_centre_is_where_the_training_cameras_look():
    target = np.array([0.3, -0.2, 4.0])
    c2w = []
    for pos in ([0, 0, 0], [1, 0, 0.5], [-1, 0.5, 0.2]):
        z = target - np.asarray(pos, float)
        z /= np.linalg.norm(z)
        x = np.cross([0, 1, 0], z)
        x /= np.linalg.norm(x)
        m = np.eye(4)
        m[:3, :3] = np.stack([x, np.cross(z, x), z], 1)
        m[:3, 3] = pos
        c2w.append(m)
    scene = SimpleNamespace(c2w=np.stack(c2w), train_ids=[0, 1, 2])
    np.testing.assert_allclose(SmoothnessTerm(scene, SmoothnessConfig(weight=0.1), seed=0).centre, target, atol=1e-9)


def test_smoothness_term_on_its_own(scene):
    cfg = SmoothnessConfig(weight=0.1, patches=3, patch_size=4, max_angle_deg=10.0)
    a, b = SmoothnessTerm(scene, cfg, seed=7), SmoothnessTerm(scene, cfg, seed=7)
    cam_a, ys, xs = a.sample()
    cam_b, ys_b, xs_b = b.sample()
    np.testing.assert_array_equal(cam_a.c2w, cam_b.c2w)  # seeded: the same draws
    np.testing.assert_array_equal(ys, ys_b)
    assert ys.shape == xs.shape == (3 * 4 * 4,) and not np.allclose(cam_a.c2w, scene.c2w[scene.train_ids[0]])
    flat = torch.full((3 * 4 * 4,), 2.0)
    ramp = torch.arange(3 * 4 * 4, dtype=torch.float32) % 4  # varies along each patch row
    assert float(a.loss(flat)) == 0.0 and float(a.loss(ramp)) > 0.0
    seen = []
    value = a(lambda cam, y, x: seen.append((cam, y, x)) or torch.full((len(y),), 1.0))
    assert float(value) == 0.0 and len(seen) == 1 and isinstance(seen[0][0], Camera)
    state = a.rng_state
    first = a.sample()[1]
    a.rng_state = state  # a checkpoint restores the draws
    np.testing.assert_array_equal(a.sample()[1], first)
    assert a.active and not SmoothnessTerm(scene, SmoothnessConfig(weight=0.0), seed=0).active


# ---------------------------------------------------------------------------------------------- evaluation
@pytest.mark.parametrize("training", [True, False])
def test_rendering_and_evaluation_keep_the_field_mode(scene, training):
    trainer = Trainer(scene, resolve(TrainConfig.from_flat(steps=1, **TINY), scene))
    trainer.field.train(training)
    assert trainer.heldout_psnr() is not None and trainer.field.training is training
    result = trainer.render(trainer.view_camera(0).scaled(0.5))
    assert result.rgb.shape == (9, 12, 3) and trainer.field.training is training
    with inference.eval_mode(trainer.field):
        assert not trainer.field.training
    assert trainer.field.training is training


# ---------------------------------------------------------------------------------------------- the loop
@dataclass
class FakeTrainer:
    """The smallest LoopTarget: steps count up; ``gate`` (when set) holds a step until released."""

    max_steps: int | None = 5
    budget_s: float | None = None
    run_dir: Path | None = None
    step_count: int = 0
    skipped_steps: int = 0
    rendered: list[int] = field(default_factory=list)
    gate: threading.Event | None = None
    in_step: threading.Event = field(default_factory=threading.Event)

    def step(self) -> StepStats:
        self.in_step.set()
        if self.gate is not None:
            self.gate.wait(10)
        self.step_count += 1
        return StepStats(self.step_count, {"rgb": 0.1, "total": 0.1}, 10.0, False, 1, 0.0)

    def render(self, camera: Camera) -> RenderResult:
        self.rendered.append(camera.width)
        z = np.zeros((camera.height, camera.width))
        rgb = np.zeros((camera.height, camera.width, 3), np.uint8)
        return RenderResult(rgb=rgb, depth=z, acc=z, camera=camera, step=self.step_count)

    def heldout_psnr(self) -> float | None:
        return 20.0

    def save_checkpoint(self) -> Path:
        raise AssertionError("no run folder: never called")


def camera(width: int) -> Camera:
    return Camera(K=np.eye(3), c2w=np.eye(4), width=width, height=1)


def test_loop_runs_a_fake_trainer_to_its_budget():
    fake = FakeTrainer(max_steps=5)
    control = LoopControl(fake, LoopSettings(snapshot_interval_s=0.0, preview_camera=camera(4)))
    snaps = []
    last = control.run(snaps.append)
    assert fake.step_count == 5 and last.step == 5 and last.state is RunState.FINISHED
    assert control.state is RunState.FINISHED and last.test_psnr == 20.0 and last.preview.rgb.shape == (1, 4, 3)
    assert [s.step for s in snaps][-1] == 5


def test_loop_serves_only_the_newest_render_request_and_stops():
    fake = FakeTrainer(max_steps=None, budget_s=1e9, gate=threading.Event())
    control = LoopControl(fake, LoopSettings(snapshot_interval_s=1e9, eval_every_s=1e9, preview_every_s=1e9))
    done: list = []
    thread = threading.Thread(target=lambda: done.append(control.run()))
    thread.start()
    try:
        assert fake.in_step.wait(10)  # the loop is inside a step: requests now wait for the step's end
        got: list[int] = []
        for w in (1, 2, 3):
            control.request_render(camera(w), lambda r: got.append(r.camera.width))
        fake.gate.set()
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got == [3], "older pending requests are dropped for the newest"
        control.pause()
        deadline = time.monotonic() + 10
        while control.state is not RunState.PAUSED and time.monotonic() < deadline:
            time.sleep(0.01)
        frozen = fake.step_count
        time.sleep(0.1)
        assert control.state is RunState.PAUSED and fake.step_count == frozen
    finally:
        control.stop()
        control.resume()
        thread.join(10)
    assert done and done[0].state is RunState.STOPPED and control.state is RunState.STOPPED
