"""The Scene tab on a real handheld walk (7-Scenes redkitchen, every 10th frame, imported without its
poses): Estimate poses poses every frame and each thumbnail says how (method, confidence); the automatic
few-shot split covers more of the scene than views evenly spaced in time, and each view says why."""

from __future__ import annotations

import json

import numpy as np
from PyQt6.QtCore import Qt

from app.cli import main
from devices.poses.coverage import view_cells
from devices.scene_folder import read_scene
from tests.sequence_samples import make_seven_scenes
from tests.studio.helpers import click


def _covered(scene, views: list[int]) -> int:
    """(cell, side) keys of the fused depth of ``views`` (5 cm cells, as the split counts them)."""
    keys = [view_cells(scene.load_depth(i), scene.frames[i].intrinsics.K, scene.frames[i].c2w, 0.05)
            for i in views]
    return len(np.unique(np.concatenate(keys)))


def test_real_walk_is_posed_and_split_in_the_scene_tab(studio, qtbot, tmp_path):
    src = make_seven_scenes(tmp_path / "walk", count=12, step=10)
    for p in src.glob("*.pose.txt"):
        p.unlink()  # a scene without poses, as an Azure Kinect recording gives
    assert main(["import", str(src), str(tmp_path / "scene"), "--no-poses"]) == 0
    scene_dir = tmp_path / "scene"
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(scene_dir)
    panel = studio.scene_panel
    assert "no camera poses" in panel.note.text() and not panel.auto.isEnabled()

    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=120_000):
        click(qtbot, panel.poses)  # no poses yet: estimates at once, no question
    assert "12/12 frames posed" in panel.note.text() and "frames/s" in panel.note.text()
    tips = [panel.thumbs.item(row).toolTip() for row in range(panel.thumbs.count())]
    assert "reference" in tips[0]
    assert all("pose: odometry" in tip and "confidence 0." in tip for tip in tips[1:])
    first = read_scene(scene_dir)
    assert first.has_poses and len(first.train_ids) == 3
    for i in first.train_ids:  # the split chosen after posing covers the depth, and says so
        assert "fused depth" in tips[i]

    panel.k.setFocus()
    qtbot.keyClick(panel.k, Qt.Key.Key_Up)  # K = 4, as a user would
    assert panel.k.value() == 4
    with qtbot.waitSignal(studio.scene.splitChanged, timeout=60_000):
        click(qtbot, panel.auto)
    scene = read_scene(scene_dir)
    assert len(scene.train_ids) == 4
    reasons = json.loads((scene_dir / "transforms.json").read_text())["sparsenerf"]["split_reasons"]
    for i in scene.train_ids:
        why = reasons[scene.frames[i].image_path]
        assert "fused depth" in why and why in panel.thumbs.item(i).toolTip()
        assert "training" in panel.thumbs.item(i).text() or "train" in panel.thumbs.item(i).text()
    evenly = [int(round(x)) for x in np.linspace(0, len(scene) - 1, 4)]
    assert _covered(scene, scene.train_ids) >= _covered(scene, evenly)
