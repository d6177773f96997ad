"""The studio as a user drives it, by mouse and keyboard: record with R (twice), the Record button stays
put, the recording's rate and drops on screen, the Scene tab's thumbnails (selection colour, reasons, K),
Estimate poses with its confirmation and Undo, a one-frame capture warned at once, a DTU scan opened."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor

from devices.scene_folder import read_scene
from tests.studio.helpers import click, click_item, open_with_menu, run_until


def test_r_records_and_stops_twice_and_the_button_stays_put(studio, qtbot):
    panel, capture = studio.capture_panel, studio.capture
    click_item(qtbot, panel.devices, 0)  # the virtual sensor
    run_until(lambda: capture.live and panel.record_button.isEnabled(), 20_000)
    top = panel.record_button.mapTo(studio, panel.record_button.rect().topLeft())
    roots = []
    for _ in range(2):
        qtbot.keyClick(studio, Qt.Key.Key_R)
        assert capture.recording, "R did not start a recording"
        run_until(lambda: capture.stats.count >= 4, 30_000)
        text = panel.counter.text()
        assert "fps" in text and "dropped" in text  # the achieved rate and the drops, live
        assert f"of {capture.info.fps:g}" in text
        assert panel.record_button.mapTo(studio, panel.record_button.rect().topLeft()) == top
        with qtbot.waitSignal(studio.scene.sceneChanged, timeout=30_000):
            qtbot.keyClick(studio, Qt.Key.Key_R)
        assert not capture.recording
        assert panel.record_button.mapTo(studio, panel.record_button.rect().topLeft()) == top
        roots.append(studio.scene.root)
        studio.tabs.setCurrentWidget(panel)  # back to the Capture tab for the second take
    assert roots[0] != roots[1] and all(len(read_scene(r)) >= 4 for r in roots)
    assert capture.stats.fps > 0 and capture.stats.dropped >= 0


def test_thumbnails_selection_reasons_and_k(studio, qtbot, tiny_scene, tmp_path):
    import shutil

    from app.studio.widgets.scene_panel import TEST_COLOR

    scene = tmp_path / "scene"
    shutil.copytree(tiny_scene, scene)
    doc = json.loads((scene / "transforms.json").read_text())
    first = doc["frames"][0]["file_path"]
    doc.setdefault("sparsenerf", {})["split_reasons"] = {first: "covers the left wall no other view sees"}
    (scene / "transforms.json").write_text(json.dumps(doc))
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(scene)
    panel = studio.scene_panel
    thumbs, folder = panel.thumbs, read_scene(scene)
    assert "covers the left wall" in thumbs.item(0).toolTip()
    for row in range(1, thumbs.count()):
        tip = thumbs.item(row).toolTip()
        role = thumbs.item(row).text().split()[-1]
        assert tip.startswith(f"view {row}: ") and role in tip  # every thumbnail says its role and why
    view = folder.test_ids[0]
    click_item(qtbot, thumbs, view)  # into the training views: now selected
    assert view in read_scene(scene).train_ids
    assert "you clicked it" in thumbs.item(view).toolTip()
    assert panel.k.value() == len(folder.train_ids) + 1  # K follows the manual change
    qtbot.wait(50)
    image = thumbs.viewport().grab().toImage()
    rect = thumbs.visualItemRect(thumbs.item(view))
    colours = [QColor(image.pixel(x, y)) for x in range(rect.left() + 1, rect.right(), 3)
               for y in (rect.top() + 1, rect.bottom() - 1)]
    blue = [c for c in colours if abs(c.red() - TEST_COLOR.red()) + abs(c.green() - TEST_COLOR.green())
            + abs(c.blue() - TEST_COLOR.blue()) < 60]
    assert not blue, "the selected training view is drawn in the test views' blue"


def test_estimate_poses_asks_first_and_can_be_undone(studio, qtbot, tiny_scene, tmp_path):
    import shutil

    scene = tmp_path / "scene"
    shutil.copytree(tiny_scene, scene)
    original = (scene / "transforms.json").read_bytes()
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(scene)
    panel = studio.scene_panel
    click(qtbot, panel.poses)
    assert panel.confirm.isVisible()  # the scene has poses: ask before replacing them
    from PyQt6.QtWidgets import QMessageBox

    click(qtbot, panel.confirm.button(QMessageBox.StandardButton.Cancel))
    qtbot.wait(200)
    assert (scene / "transforms.json").read_bytes() == original and not studio.scene.busy
    click(qtbot, panel.poses)
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=120_000):
        click(qtbot, panel.confirm.button(QMessageBox.StandardButton.Yes))
    assert (scene / "transforms.json").read_bytes() != original  # estimated poses written
    assert panel.undo_poses.isEnabled()
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        click(qtbot, panel.undo_poses)
    assert (scene / "transforms.json").read_bytes() == original  # the sensor's exact poses are back
    assert not panel.undo_poses.isEnabled()


def test_a_one_frame_capture_is_warned_at_once(studio, qtbot, tmp_path):
    from devices.capture import record
    from devices.virtual import VirtualSensor, VirtualSensorConfig

    with VirtualSensor(VirtualSensorConfig(width=32, height=24, num_frames=1)) as source:
        record(source, tmp_path / "one", train_views=3)
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        open_with_menu(qtbot, studio, pytest.MonkeyPatch(), tmp_path / "one")
    assert "at least 2 views" in studio.scene_panel.note.text()
    assert "at least 2 views" in studio.statusBar().currentMessage()


def test_a_dtu_scan_opens_by_file_import_and_trains(studio, qtbot, monkeypatch):
    from app.cli.studio import check_openable
    from tests.conftest import shared_path

    dtu = shared_path("dtu_scan24")
    check_openable(dtu)  # `sparsenerf studio dtu_scan24` accepts it
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=60_000):
        open_with_menu(qtbot, studio, monkeypatch, dtu, "Ctrl+Shift+I")  # File ▸ Import capture folder
    data = studio.scene.data
    assert data.dataset == "dtu" and studio.scene_panel.thumbs.count() == 49
    assert sorted(data.folder.train_ids) == [22, 25, 28]
    assert "fixed" in studio.scene_panel.note.text() or "benchmark" in studio.scene_panel.note.text()
    click_item(qtbot, studio.scene_panel.thumbs, 0)  # its split cannot change
    assert sorted(studio.scene.data.folder.train_ids) == [22, 25, 28]
    panel = studio.train_panel
    studio.tabs.setCurrentWidget(panel)
    assert "dtu_scan24" in panel.target.text()
    from tests.studio.helpers import fast_settings

    fast_settings(qtbot, panel, 3)
    click(qtbot, panel.train_button)
    run_until(lambda: studio.training.state in ("finished", "failed"), 120_000)
    assert studio.training.state == "finished", panel.status.text()
    assert np.isfinite(studio.training.last.train_psnr)
