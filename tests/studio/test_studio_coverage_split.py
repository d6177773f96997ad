"""The Scene tab's Automatic few-shot split picks views that cover the depth and says why (tooltips,
transforms.json ``split_reasons``)."""

from __future__ import annotations

import json
import shutil

from PyQt6.QtCore import Qt

from devices.scene_folder import read_scene


def test_automatic_split_saves_and_shows_why_each_view(studio, qtbot, tiny_scene, tmp_path):
    scene = tmp_path / "scene"
    shutil.copytree(tiny_scene, scene)
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(scene)
    panel = studio.scene_panel
    panel.k.setValue(2)
    qtbot.mouseClick(panel.auto, Qt.MouseButton.LeftButton)
    folder = read_scene(scene)
    assert len(folder.train_ids) == 2
    reasons = json.loads((scene / "transforms.json").read_text())["sparsenerf"]["split_reasons"]
    assert sorted(reasons) == sorted(folder.frames[i].image_path for i in folder.train_ids)
    for i in folder.train_ids:
        assert "fused depth" in panel.thumbs.item(i).toolTip()
