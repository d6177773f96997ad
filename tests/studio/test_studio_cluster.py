"""The studio trains on a real two-node Ray cluster on 127.0.0.1, chosen and driven with real clicks: the
curves and the preview (from a camera the user drags) come from the cluster, pause / resume / stop act
there, and the run folder lands in the workspace, where `sparsenerf eval` works on it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from app.cli import main
from tests.studio.helpers import run_until
from tests.studio.test_studio_training import drag

pytestmark = pytest.mark.slow


def test_studio_trains_on_the_cluster(studio, qtbot, ray_cluster, virtual_scenes):
    panel, training = studio.train_panel, studio.training
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(virtual_scenes[2])
    studio.tabs.setCurrentWidget(panel)
    choice = panel.cluster
    assert training.remote_target is None and not choice.address.isEnabled()
    qtbot.keyClick(choice.where, Qt.Key.Key_Down)  # "Train on: Ray cluster at"
    assert choice.address.isEnabled()
    qtbot.keyClick(choice.address, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(choice.address, ray_cluster.address)
    assert training.remote_target.address == ray_cluster.address
    panel.settings.set_steps(100_000)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    run_until(lambda: training.state == "running" and len(training.history.steps) >= 2, 120_000)
    trainer = training.trainer
    assert hasattr(trainer, "actor_name")  # a remote trainer, not the local one
    run_until(lambda: "on Ray node" in choice.status.text(), 10_000)
    assert not choice.isEnabled()  # no changing where a running run trains

    # the preview renders on the cluster from the camera the user moves
    preview = panel.preview
    run_until(lambda: preview.last is not None, 60_000)
    drag(preview.novel, 40, 0)
    moved = studio.camera.camera.c2w.copy()
    run_until(lambda: np.allclose(preview.last.camera.c2w, moved)
              and preview.last.camera.width == trainer.scene.width, 60_000)
    assert preview.last.step > 0 and preview.last.rgb.shape == (trainer.scene.height, trainer.scene.width, 3)

    # pause, resume, stop: acted on by the remote loop
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    run_until(lambda: trainer.control.state == "paused", 30_000)
    frozen = trainer.step_count
    qtbot.wait(1500)
    assert trainer.step_count == frozen
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)  # now "Resume"
    run_until(lambda: trainer.step_count > frozen, 30_000)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    run_until(lambda: training.state == "stopped", 60_000)

    run_dir = training.run_dir
    assert run_dir.parent == studio.workspace.sub("runs")
    assert (run_dir / "checkpoints" / "latest.pt").is_file() and not (run_dir / "cluster.json").exists()
    last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["state"] == "stopped" and last["step"] > frozen
    assert main(["eval", str(run_dir)]) == 0  # the landed run evaluates here
