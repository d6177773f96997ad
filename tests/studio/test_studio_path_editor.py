"""Export tab: design a 3-keyframe camera path with the real buttons, scrub and play it, save / load it as
camera_path.json, export a video along it, and export a mesh (and cancel a geometry export)."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtWidgets import QFileDialog

from nerf.camera_path_json import load_camera_path
from tests.studio.helpers import choose, click, click_item, run_until, tiny_train_config, type_value


def open_export_tab(studio, qtbot, scene, steps: int) -> None:
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(scene)
    studio.train_panel.start(tiny_train_config(steps=steps))
    run_until(lambda: studio.training.state == "finished", 180_000)
    bar = studio.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(studio.tabs.indexOf(studio.export_panel)).center())
    assert studio.tabs.currentWidget() is studio.export_panel


def make_three_keyframes(studio, qtbot):
    editor = studio.export_panel.editor
    scene = studio.training.trainer.scene
    click(qtbot, editor.add_preview_button)
    for view in (scene.train_ids[1], scene.test_ids[0]):
        choose(qtbot, editor.view_combo, editor.view_combo.itemText(editor.view_combo.findData(view)))
        click(qtbot, editor.add_view_button)
    assert [k.time for k in editor.keys.keyframes] == [0.0, 1.0, 2.0] and editor.list.count() == 3
    return editor


def test_design_save_load_and_export_a_path(studio, qtbot, tiny_scene, tmp_path, monkeypatch):
    open_export_tab(studio, qtbot, tiny_scene, steps=10)
    editor = studio.export_panel.editor
    # no keyframe selected: the time and field-of-view boxes are disabled and show no value
    assert not editor.fov.isEnabled() and (editor.fov.text(), editor.time.text()) == ("—", "—")
    editor = make_three_keyframes(studio, qtbot)
    assert editor.fov.isEnabled() and editor.fov.text().replace(" ", "").endswith("°") and editor.fov.text() != "—"
    scene = studio.training.trainer.scene
    np.testing.assert_allclose(editor.keys.keyframes[2].c2w, scene.c2w[scene.test_ids[0]])
    # reorder: the third keyframe's pose moves up to the second slot, times stay in place
    click_item(qtbot, editor.list, 2)
    click(qtbot, editor.up_button)
    np.testing.assert_allclose(editor.keys.keyframes[1].c2w, scene.c2w[scene.test_ids[0]])
    assert [k.time for k in editor.keys.keyframes] == [0.0, 1.0, 2.0] and editor.list.currentRow() == 1
    type_value(qtbot, editor.fov, 55.0)  # the selected keyframe's field of view
    assert editor.keys.keyframes[1].fov_deg == 55.0
    qtbot.mouseClick(editor.loop, Qt.MouseButton.LeftButton, pos=QPoint(6, editor.loop.height() // 2))  # its box
    path = editor.path()
    assert path.loop and path.duration == pytest.approx(3.0)
    # scrub: the preview camera follows the timeline, and the Export tab shows its render
    editor.timeline.setValue(500)
    want = path.camera_at(1.5)
    np.testing.assert_allclose(studio.camera.camera.c2w, want.c2w, atol=1e-9)
    run_until(lambda: studio.export_panel.frame_view.item.image is not None, 30_000)
    click(qtbot, editor.play_button)
    run_until(lambda: editor.timeline.value() != 500, 10_000)
    click(qtbot, editor.play_button)
    assert editor.play_button.text() == "▶ Play" and not editor.player.player.isActive()
    # save, then load it back over an edited list
    out = tmp_path / "camera_path.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(out), "")))
    studio.export_panel.fps.setValue(8)
    click(qtbot, editor.save_button)
    loaded = load_camera_path(out)
    assert loaded.fps == 8 and len(loaded.cameras) == 24
    for a, b in zip(loaded.cameras, path.cameras(24)):
        np.testing.assert_allclose(a.c2w, b.c2w, atol=1e-6)
        np.testing.assert_allclose(a.K, b.K, atol=1e-6)
    click_item(qtbot, editor.list, 0)
    click(qtbot, editor.delete_button)
    assert len(editor.keys.keyframes) == 2
    click(qtbot, editor.load_button)
    assert len(editor.keys.keyframes) == 3 and editor.loop.isChecked()
    for a, b in zip(editor.keys.keyframes, path.keyframes):
        np.testing.assert_allclose(a.c2w, b.c2w, atol=1e-6)
        assert (a.time, a.fov_deg) == pytest.approx((b.time, b.fov_deg))
    # export the video along the designed path: fps x duration frames
    panel = studio.export_panel
    choose(qtbot, panel.path, panel.path.itemText(panel.path.findData("designed")))
    click(qtbot, panel.export_button)
    run_until(lambda: studio.export.state in ("done", "failed"), 120_000)
    assert studio.export.state == "done", panel.status.text()
    with av.open(str(studio.export.output)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 24


def test_export_a_mesh_and_cancel_a_geometry_export(studio, qtbot, tiny_scene, monkeypatch):
    from nerf import geometry_export as ge
    from nerf.fields.factory import scene_aabb
    from nerf.tsdf_mesh import read_ply_vertices

    calls: dict[str, object] = {}
    spy = lambda name, f: lambda *a, **k: (calls.__setitem__(name, (a, k)), f(*a, **k))[1]  # noqa: E731
    for name in ("export_cameras", "render_views", "mesh_from_rendered"):
        monkeypatch.setattr(ge, name, spy(name, getattr(ge, name)))
    open_export_tab(studio, qtbot, tiny_scene, steps=150)
    section = studio.export_panel.geometry
    assert section.request(None).settings == ge.GeometrySettings()  # the CLI's defaults
    assert [section.depth_mode.itemData(i) for i in range(section.depth_mode.count())] == list(ge.DEPTH_MODES)
    choose(qtbot, section.kind, section.kind.itemText(section.kind.findData("mesh")))
    choose(qtbot, section.views, section.views.itemText(section.views.findData("train")))
    choose(qtbot, section.views, section.views.itemText(section.views.findData("all")))
    type_value(qtbot, section.min_acc, 0.02)  # a 150-step field is still faint
    choose(qtbot, section.depth_mode, section.depth_mode.itemText(section.depth_mode.findData("far_background")))
    type_value(qtbot, section.min_views, 2)
    progress: list[tuple[int, int]] = []
    studio.export.progress.connect(lambda d, t: progress.append((d, t)))
    click(qtbot, section.export_button)
    run_until(lambda: studio.export.state in ("done", "failed"), 180_000)
    assert studio.export.state == "done", studio.export_panel.status.text()
    out = studio.export.output
    assert out.suffix == ".ply" and out.parent.name == "geometry"
    verts = read_ply_vertices(out)
    assert len(verts) > 100
    box = scene_aabb(studio.training.trainer.scene) * studio.training.trainer.scene.to_metres  # metres
    assert np.all((verts >= box[0] - 1e-3) & (verts <= box[1] + 1e-3))  # cropped to the scene's box
    n = studio.training.trainer.scene.num_views
    assert progress[-1] == (2 * n, 2 * n)  # every view rendered, then fused
    (_, s), k = calls["export_cameras"][0], calls["render_views"][1]
    assert (s.views, s.min_acc, s.depth_mode, s.min_views) == ("all", 0.02, "far_background", 2)
    assert k["depth_mode"] == "far_background" and calls["mesh_from_rendered"][1]["min_views"] == 2
    # a cancelled geometry export leaves nothing behind
    choose(qtbot, section.kind, section.kind.itemText(section.kind.findData("depth")))
    progress.clear()
    click(qtbot, section.export_button)
    run_until(lambda: len(progress) >= 2, 60_000)
    click(qtbot, studio.export_panel.cancel_button)
    run_until(lambda: studio.export.state == "cancelled", 60_000)
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
