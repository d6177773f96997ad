"""The studio's controller logic at model level, with no widget: the session's state mirrors the training
loop's, what ▶ Train does (new run or continue), and the automatic split on its own thread."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest

from app.studio.models.scene_model import SceneModel
from app.studio.models.train_launcher import TrainLauncher
from app.studio.models.training_session import TrainingSession, session_state
from devices.scene_folder import read_scene
from tests.studio.helpers import run_until, tiny_train_config


@pytest.mark.parametrize(("loop", "phase", "stop", "failed", "last", "want"), [
    (None, None, False, False, None, "idle"),
    (None, "building", False, False, None, "loading"),             # the thread builds the trainer
    ("stopped", "building", False, False, None, "loading"),        # continuing a stopped run: not started yet
    ("idle", "looping", False, False, None, "loading"),            # run() has not set its state yet
    ("running", "looping", False, False, None, "running"),
    ("paused", "looping", False, False, None, "paused"),
    ("running", "looping", True, False, None, "stopping"),         # asked to stop, not stopped yet
    ("finished", "looping", False, False, None, "stopping"),       # ended, saving its checkpoint
    ("finished", "ending", False, False, None, "stopping"),
    ("finished", None, False, False, None, "finished"),
    ("stopped", None, False, False, "finished", "stopped"),        # the loop's word beats an old log
    ("idle", None, False, False, "finished", "finished"),          # an opened run: as its log ended
    ("idle", None, False, False, None, "stopped"),
    ("running", None, False, True, None, "failed"),
])
def test_session_state_comes_from_the_loop_and_the_thread(loop, phase, stop, failed, last, want):
    assert session_state(loop, phase=phase, stop_requested=stop, failed=failed, last=last) == want


def load(model: SceneModel, qtbot, root: Path) -> None:
    with qtbot.waitSignal(model.sceneChanged, timeout=20_000):
        model.load(root)


def test_the_session_mirrors_a_pause_it_did_not_ask_for(qtbot, tiny_scene, tmp_path):
    """The loop alone says paused or running: pausing the trainer itself (a script, the cluster) shows too."""
    training = TrainingSession()
    states: list[str] = []
    training.stateChanged.connect(states.append)
    training.start(tiny_scene, tiny_train_config(steps=100_000), tmp_path / "run")
    try:
        run_until(lambda: training.state == "running" and training.trainer.step_count >= 1, 60_000)
        training.trainer.control.pause()  # not through the session
        run_until(lambda: training.state == "paused", 10_000)
        assert training.trainer.control.state == "paused"
        training.resume()
        run_until(lambda: training.state == "running", 10_000)
        training.stop()
        assert training.state == "stopping"  # asked; the loop ends after its current step
        run_until(lambda: training.state == "stopped", 30_000)
    finally:
        training.shutdown()
    assert states == ["loading", "running", "paused", "running", "stopping", "stopped"]
    assert training.last.state == "stopped"


def test_train_launcher_new_run_then_continue(qtbot, tiny_scene, tmp_path):
    training, scene = TrainingSession(), SceneModel()
    launcher = TrainLauncher(training, scene, tmp_path / "runs")
    assert launcher.target(True).action == "none"
    assert "No scene" in launcher.start(tiny_train_config(steps=3), True)
    load(scene, qtbot, tiny_scene)
    target = launcher.target(True)
    assert (target.action, target.offer_continue) == ("new", False)
    assert tiny_scene.name in target.text
    try:
        assert launcher.start(tiny_train_config(steps=3), True) is None  # a new run, whatever the box says
        run_until(lambda: training.state == "finished", 60_000)
        first = training.run_dir
        assert first.parent == tmp_path / "runs" and training.trainer.step_count == 3

        target = launcher.target(True)
        assert (target.action, target.offer_continue) == ("continue", True)
        assert first.name in target.text and "step 3" in target.text
        assert launcher.target(False).action == "new"  # the box unticked: a new run of the same scene
        assert launcher.start(tiny_train_config(steps=2), True) is None  # two steps more, same run
        run_until(lambda: training.state == "finished" and training.trainer.step_count == 5, 60_000)
        assert training.run_dir == first

        training.set_blocked("an export renders this run")
        assert "export" in launcher.start(tiny_train_config(steps=2), True)
        assert training.state == "finished" and training.trainer.step_count == 5
    finally:
        training.shutdown()
        scene.shutdown()


def test_a_run_of_another_scene_is_not_continued(qtbot, tiny_scene, tmp_path):
    training, scene = TrainingSession(), SceneModel()
    launcher = TrainLauncher(training, scene, tmp_path / "runs")
    other = tmp_path / "other"
    shutil.copytree(tiny_scene, other)
    load(scene, qtbot, tiny_scene)
    try:
        launcher.start(tiny_train_config(steps=2), True)
        run_until(lambda: training.state == "finished", 60_000)
        load(scene, qtbot, other)
        target = launcher.target(True)
        assert (target.action, target.offer_continue) == ("new", False) and "other" in target.text
    finally:
        training.shutdown()
        scene.shutdown()


def test_the_automatic_split_runs_on_a_worker_thread(qtbot, tiny_scene, tmp_path, monkeypatch):
    """The split reads every depth map: the UI thread only starts it and saves its result."""
    import devices.poses.coverage as coverage

    root = tmp_path / "scene"
    shutil.copytree(tiny_scene, root)
    real, gate, threads = coverage.scene_coverage_split, threading.Event(), []

    def held_split(folder, k, **kw):  # the real split, once the test lets it go
        threads.append(threading.current_thread())
        assert gate.wait(20), "the test never released the split"
        return real(folder, k, **kw)

    monkeypatch.setattr(coverage, "scene_coverage_split", held_split)
    model = SceneModel()
    busy: list[bool] = []
    model.auto_split.busyChanged.connect(busy.append)
    load(model, qtbot, root)
    try:
        assert model.auto_split.start(2)  # returns at once, while the split waits for the gate
        assert model.auto_split.busy and busy == [True]
        assert not model.auto_split.start(2)  # one split at a time
        run_until(lambda: bool(threads), 10_000)
        assert threads[0] is not threading.main_thread()
        with qtbot.waitSignal(model.splitChanged, timeout=30_000) as sig:
            gate.set()
        assert len(sig.args[0]) == 2 and read_scene(root).train_ids == sig.args[0]
        run_until(lambda: not model.auto_split.busy, 10_000)
        assert busy == [True, False]
        assert all("fused depth" in model.reason(i, "train") for i in sig.args[0])
    finally:
        gate.set()
        model.auto_split.shutdown()
        model.shutdown()


def test_signals_carry_declared_types():
    """Every studio signal names its payload type; ``object`` is left only on the generic Worker.finished."""
    root = Path(__file__).resolve().parents[2] / "app" / "studio"
    untyped = [f"{p.relative_to(root)}: {line.strip()}" for p in sorted(root.rglob("*.py"))
               for line in p.read_text().splitlines() if re.search(r"pyqtSignal\([^)]*\bobject\b", line)]
    assert untyped == ["workers/base.py: finished = pyqtSignal(object)"]
