"""Export tab: the geometry section's "auto" views follow the opened run's field (the training views for a
sensor-field run, every view otherwise), its views control says so, and the export renders exactly those."""

from __future__ import annotations

from PyQt6.QtCore import Qt

from tests.studio.helpers import choose, click, open_with_menu, run_until, tiny_run


def open_run_in_export_tab(studio, qtbot, monkeypatch, run_dir, field: str) -> None:
    """File ▸ Open the run, wait until it is loaded, then click the Export tab."""
    open_with_menu(qtbot, studio, monkeypatch, run_dir)
    trainer = lambda: studio.training.trainer  # noqa: E731
    run_until(lambda: studio.training.state == "finished" and trainer() is not None and trainer().config.field == field,
              60_000)
    bar = studio.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(studio.tabs.indexOf(studio.export_panel)).center())
    assert studio.tabs.currentWidget() is studio.export_panel


def export_depth_maps(studio, qtbot) -> int:
    """Export depth maps with the section's Export button; how many were written."""
    section = studio.export_panel.geometry
    choose(qtbot, section.kind, section.kind.itemText(section.kind.findData("depth")))
    click(qtbot, section.export_button)
    run_until(lambda: studio.export.state in ("done", "failed"), 120_000)
    assert studio.export.state == "done", studio.export_panel.status.text()
    return len(list(studio.export.output.glob("depth_*.png")))


def test_default_views_follow_the_runs_field(studio, qtbot, tiny_scene, tmp_path, monkeypatch):
    runs = {f: tiny_run(tiny_scene, tmp_path / f"run_{f}", f) for f in ("sensor", "fast")}
    section = studio.export_panel.geometry
    assert section.views.currentData() == "auto"
    assert section.views.currentText() == "auto: the training views for a sensor-field run, else every view of the scene"
    # a sensor-field run: the control names the training views, and the export renders just those
    open_run_in_export_tab(studio, qtbot, monkeypatch, tmp_path / "run_sensor", "sensor")
    assert section.views.currentText() == "auto: the training views, for the sensor field"
    assert export_depth_maps(studio, qtbot) == len(runs["sensor"].scene.train_ids) == 3
    # a fast-field run opened next: every view of the scene
    open_run_in_export_tab(studio, qtbot, monkeypatch, tmp_path / "run_fast", "fast")
    assert section.views.currentText() == "auto: every view of the scene, for the fast field"
    assert export_depth_maps(studio, qtbot) == runs["fast"].scene.num_views == 10
    # an explicit choice is what renders, whatever the field
    choose(qtbot, section.views, section.views.itemText(section.views.findData("train")))
    assert export_depth_maps(studio, qtbot) == 3


def test_two_exports_in_the_same_second_get_two_names(tmp_path):
    from app.studio.models.export_job import unused

    first = unused(tmp_path, "depth-20261201-221713", "")
    first.mkdir()
    second = unused(tmp_path, "depth-20261201-221713", "")
    second.mkdir()
    assert [first.name, second.name, unused(tmp_path, "depth-20261201-221713", "").name] == [
        "depth-20261201-221713", "depth-20261201-221713-2", "depth-20261201-221713-3"]
    assert unused(tmp_path, "mesh-1", ".ply") == tmp_path / "mesh-1.ply"
