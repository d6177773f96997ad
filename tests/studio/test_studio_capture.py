"""Capture and scene panels on the virtual sensor: device list, live view, Record/Stop, split editing."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt

from devices.scene_folder import read_scene
from tests.studio.helpers import run_until


def test_device_list_shows_virtual_and_explains_unavailable_sensors(studio):
    entries = studio.capture.devices
    assert entries[0].key == "virtual" and entries[0].available
    assert {"azure_kinect", "zed2"} <= {e.key for e in entries}
    items = studio.capture_panel.devices
    assert items.count() == len(entries)
    for row, entry in enumerate(entries):
        item = items.item(row)
        enabled = bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)
        assert enabled == entry.available
        if not entry.available:
            assert entry.reason and entry.reason in item.text()  # the reason is on screen, not just in a tooltip


def test_live_view_record_and_edit_split(studio, qtbot, stall_probe):
    panel = studio.capture_panel
    studio.select_virtual()
    run_until(lambda: panel.colour.item.image is not None and panel.depth.item.image is not None, 20_000)
    assert panel.colour.item.image.shape == (72, 96, 3)
    assert panel.depth.item.image.shape == (72, 96)
    low, high = panel.depth.levels
    assert low == 0.0 and high > 0.5  # a metre scale fitted to the room (metres, not millimetres)

    counts: list[tuple[int, list[int]]] = []
    studio.capture.framesRecorded.connect(lambda n, keys: counts.append((n, keys)))
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    assert studio.capture.recording and panel.record_button.text().endswith("Stop")
    run_until(lambda: bool(counts) and counts[-1][0] >= 5, 30_000)
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=30_000):
        qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    assert not studio.capture.recording

    folder = read_scene(studio.scene.root)
    n, keyframes = counts[-1]
    assert n == len(folder) >= 5
    assert keyframes == folder.train_ids and len(folder.train_ids) == 3
    assert str(len(folder)) in panel.counter.text()

    thumbs = studio.scene_panel.thumbs
    assert thumbs.count() == len(folder)
    view = folder.test_ids[0]
    item = thumbs.item(view)
    assert item.text().endswith("test")
    qtbot.mouseClick(thumbs.viewport(), Qt.MouseButton.LeftButton, pos=thumbs.visualItemRect(item).center())
    saved = read_scene(studio.scene.root)
    assert view in saved.train_ids and view not in saved.test_ids  # written to transforms.json
    assert item.text().endswith("train")

    studio.scene_panel.k.setValue(2)
    with qtbot.waitSignal(studio.scene.splitChanged, timeout=30_000):  # chosen on a worker thread
        qtbot.mouseClick(studio.scene_panel.auto, Qt.MouseButton.LeftButton)
    assert len(read_scene(studio.scene.root).train_ids) == 2
    assert studio.scene_panel.view3d.reason is not None  # offscreen: a sentence instead of the GL view
    assert studio.scene.data.points.shape[1] == 3 and len(studio.scene.data.points) > 100


def test_thumbnails_of_a_recorded_scene_match_its_frames(studio, qtbot, tiny_scene):
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(tiny_scene)
    data = studio.scene.data
    folder = read_scene(tiny_scene)
    assert len(data.thumbnails) == len(folder)
    first = folder.load_rgb(0).astype(float)
    thumb = data.thumbnails[0].astype(float)
    # the thumbnail is the frame shrunk: same mean colour within a couple of levels
    assert np.allclose(thumb.mean(axis=(0, 1)), first.mean(axis=(0, 1)), atol=3.0)


def test_import_of_an_unknown_file_reports_the_problem(studio, qtbot, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a recording")
    with qtbot.waitSignal(studio.importer.error, timeout=10_000) as sig:
        studio.open_path(junk)
    assert "unknown format" in sig.args[0] and str(junk) in sig.args[0]
    qtbot.waitUntil(lambda: not studio.importer.busy)
    assert "import failed" in studio.statusBar().currentMessage()


def test_dropping_a_recording_imports_it_with_progress(studio, qtbot, tmp_path):
    """Drag and drop of a Record3D file (built from a real TUM RGB-D frame) runs the CLI's importer."""
    from PyQt6.QtCore import QMimeData, QPointF, QUrl
    from PyQt6.QtGui import QDropEvent

    from tests.iphone_samples import tum_frames, write_r3d

    r3d = write_r3d(tmp_path / "phone.r3d", tum_frames(3))
    progress: list[tuple[int, int]] = []
    studio.importer.progress.connect(lambda done, total: progress.append((done, total)))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(r3d))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=60_000):
        studio.dropEvent(drop)
    folder = studio.scene.data.folder
    assert len(folder) == 3 and folder.root.parent == studio.workspace.sub("imports")
    assert progress and progress[-1][0] == 3
    assert studio.tabs.currentWidget() is studio.scene_panel
    assert studio.scene_panel.thumbs.count() == 3
    assert studio.progress.isHidden()  # the status bar's import progress, done


def test_every_depth_pane_draws_near_in_red_like_the_videos(qtbot):
    from app.studio.widgets.image_view import DepthPane

    panes = [DepthPane("a"), DepthPane("b"), DepthPane("c")]
    for pane in panes:
        qtbot.addWidget(pane)
        near, far = pane.bar.colorMap().map([0.0, 1.0], mode="byte")[:, :3].astype(int)
        assert near[0] > near[2] and far[2] > far[0]  # red near, blue far (nerf.colormap's convention)


def test_a_capture_without_poses_gets_them_from_the_depth(studio, qtbot, tmp_path):
    """A sensor without tracking (the Azure Kinect) records no poses: the Scene tab estimates them by
    RGB-D odometry (devices.poses, as `sparsenerf poses`), then picks the few-shot split."""
    from dataclasses import replace

    from devices.capture import record
    from devices.scene_writer import update_scene
    from devices.virtual import VirtualSensor, VirtualSensorConfig

    with VirtualSensor(VirtualSensorConfig(width=160, height=120, num_frames=8, fps=7.5)) as source:
        posed = record(source, tmp_path / "scene", train_views=3)
    truth = np.stack([f.c2w for f in posed.frames])
    update_scene(posed, frames=[replace(f, c2w=None) for f in posed.frames], train_ids=[], test_ids=[])
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(tmp_path / "scene")
    panel = studio.scene_panel
    assert "no camera poses" in panel.note.text() and panel.poses.isEnabled()
    progress: list[int] = []
    studio.scene.posesProgress.connect(lambda done, total: progress.append(done))
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=120_000):
        qtbot.mouseClick(panel.poses, Qt.MouseButton.LeftButton)
    folder = read_scene(tmp_path / "scene")
    assert folder.has_poses and len(folder.train_ids) == 3 and progress
    assert panel.note.text().startswith("Poses estimated")
    # odometry recovers the path up to the first frame's pose: the camera moves about 0.4 m; error under 3 cm
    est = np.stack([f.c2w for f in folder.frames])
    rel_est = np.linalg.inv(est[0]) @ est[-1]
    rel_true = np.linalg.inv(truth[0]) @ truth[-1]
    assert np.linalg.norm(rel_true[:3, 3]) > 0.2 and np.linalg.norm(rel_est[:3, 3] - rel_true[:3, 3]) < 0.03
