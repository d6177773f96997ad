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
    with qtbot.waitSignal(studio.scene.splitChanged, timeout=30_000):  # chosen on a worker thread
        qtbot.mouseClick(panel.auto, Qt.MouseButton.LeftButton)
    folder = read_scene(scene)
    assert len(folder.train_ids) == 2
    reasons = json.loads((scene / "transforms.json").read_text())["sparsenerf"]["split_reasons"]
    assert sorted(reasons) == sorted(folder.frames[i].image_path for i in folder.train_ids)
    for i in folder.train_ids:
        assert "fused depth" in panel.thumbs.item(i).toolTip()


def test_the_split_button_waits_while_the_depth_is_read_and_the_window_stays_live(studio, qtbot, tiny_scene,
                                                                                tmp_path, monkeypatch):
    """The automatic split reads every depth map on a worker thread: the click returns at once, the button
    says it is choosing (disabled), the other tabs still work, and the split shows when it is done."""
    import threading

    import devices.poses.coverage as coverage

    scene = tmp_path / "scene"
    shutil.copytree(tiny_scene, scene)
    real, gate = coverage.scene_coverage_split, threading.Event()
    monkeypatch.setattr(coverage, "scene_coverage_split",
                        lambda folder, k, **kw: (gate.wait(20), real(folder, k, **kw))[1])
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(scene)
    panel = studio.scene_panel
    panel.k.setValue(2)
    try:
        qtbot.mouseClick(panel.auto, Qt.MouseButton.LeftButton)  # returns although the split is held
        assert not panel.auto.isEnabled() and "Choosing" in panel.auto.text()
        qtbot.mouseClick(studio.tabs.tabBar(), Qt.MouseButton.LeftButton,
                         pos=studio.tabs.tabBar().tabRect(2).center())  # the UI thread handles clicks meanwhile
        assert studio.tabs.currentWidget() is studio.train_panel
        with qtbot.waitSignal(studio.scene.splitChanged, timeout=30_000):
            gate.set()
    finally:
        gate.set()
    qtbot.waitUntil(panel.auto.isEnabled, timeout=10_000)
    assert panel.auto.text() == "Automatic few-shot split"
    assert len(read_scene(scene).train_ids) == 2
