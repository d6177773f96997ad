"""The time budget is wall-clock time minus pauses, and the ETA tracks it (a fake clock drives the loop).

Every part of a real run costs time: the steps, the snapshots (evaluation, preview renders), a served
render request. Here each step advances a fake clock by 0.1 s and each snapshot by 0.05 s more, so the
budget must count both; a pause of 5 fake seconds must not count.
"""

from __future__ import annotations

import math
import threading

import pytest

from devices.capture import record
from devices.virtual import VirtualSensor, VirtualSensorConfig
from nerf.fields.fast import FastFieldConfig
from nerf.loaders import load_scene
from nerf.train_config import TrainConfig
from nerf.trainer import Trainer


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    out = tmp_path_factory.mktemp("budget") / "scene"
    with VirtualSensor(VirtualSensorConfig(width=48, height=36, num_frames=6)) as source:
        record(source, out, train_views=3)
    return load_scene(out)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.t

    def advance(self, dt: float) -> None:
        with self.lock:
            self.t += dt


def tiny(**kw) -> TrainConfig:
    values = dict(batch_rays=256, threads=1, snapshot_interval_s=0.0, eval_every_s=1e9, preview_every_s=1e9,
                  checkpoint_every_s=1e9, eval_rays=256, fast=FastFieldConfig(resolution_schedule=((0, 16),),
                                                                                max_samples=16))
    values.update(kw)
    return TrainConfig.from_flat(**values)


def clocked(trainer: Trainer, step_s: float) -> FakeClock:
    """Make each step take ``step_s`` seconds of the fake clock (the real step runs as well)."""
    clock = FakeClock()
    trainer.control.clock = clock
    real_step = trainer.step

    def step():
        out = real_step()
        clock.advance(step_s)
        return out

    trainer.step = step
    return clock


def test_time_budget_counts_wall_clock_including_snapshots(scene):
    trainer = Trainer.create(scene, tiny(minutes=3.0 / 60))  # 3 s of the fake clock
    clock = clocked(trainer, 0.1)
    etas: list[tuple[float, float]] = []

    def on_snapshot(snap):
        clock.advance(0.05)  # a snapshot (UI update, evaluation) costs time too
        etas.append((snap.elapsed_s, snap.eta_s))

    start = clock()
    snap = trainer.control.run(on_snapshot)
    took = clock() - start
    # 0.15 s per step (+ the last snapshot): about 20 steps, not the 30 steps that 0.1 s of steps alone allow
    assert 19 <= snap.step <= 21, snap.step
    assert 3.0 <= took <= 3.3
    assert snap.elapsed_s == pytest.approx(took, abs=0.06)
    for elapsed, eta in etas[:-1]:
        if elapsed >= 0.6:  # after the first fifth: within 10 % of the truth
            assert abs(eta - (took - elapsed)) <= 0.1 * took, (elapsed, eta)


def test_pauses_do_not_count(scene):
    trainer = Trainer.create(scene, tiny(minutes=2.0 / 60))
    clock = clocked(trainer, 0.1)
    done_steps: list[int] = []

    def on_snapshot(snap):
        done_steps.append(snap.step)
        if snap.step == 5 and snap.state == "running":
            trainer.control.pause()

            def later():  # five seconds pass while the loop waits paused, then the user resumes
                clock.advance(5.0)
                trainer.control.resume()

            threading.Timer(0.3, later).start()

    snap = trainer.control.run(on_snapshot)
    assert snap.state == "finished"
    assert 19 <= snap.step <= 21  # 2 s of steps: the 5 s pause did not eat the budget
    assert snap.elapsed_s == pytest.approx(snap.step * 0.1, abs=0.15)


def test_step_budget_eta_within_ten_percent(scene):
    trainer = Trainer.create(scene, tiny(steps=60))
    clocked(trainer, 0.1)
    seen: list[tuple[int, float]] = []

    def on_snapshot(snap):
        if snap.eta_s is not None:
            seen.append((snap.step, snap.eta_s))

    trainer.control.run(on_snapshot)
    for step, eta in seen:
        if 12 <= step < 60:  # after the first fifth
            truth = (60 - step) * 0.1
            assert abs(eta - truth) <= 0.1 * 6.0, (step, eta, truth)


def test_continuing_a_finished_run_adds_no_nan_metrics(scene, tmp_path):
    """A run whose budget is spent, continued as it is: no step, and no NaN line in metrics.jsonl."""
    from nerf import run_dir as rd

    run = tmp_path / "run"
    Trainer.create(scene, tiny(steps=4), run).control.run(None)
    before = rd.read_metrics(run)
    again = Trainer.from_run_dir(run, scene)
    snap = again.control.run(None)
    assert snap.step == 4 and math.isfinite(snap.losses["total"]) and math.isfinite(snap.train_psnr)
    after = rd.read_metrics(run)
    assert after == before
    assert all(math.isfinite(r["train_psnr"]) for r in after)
