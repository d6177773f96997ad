"""▶ Train, Pause/Resume, Stop, the live view, opening and continuing a run, export against training and the
preview's errors, all by clicking the real widgets."""

from __future__ import annotations

import json
import math

import numpy as np
from PyQt6.QtCore import Qt

from tests.studio.helpers import click, click_item, fast_settings, open_with_menu, run_until, type_value
from tests.studio.test_studio_training import drag


def open_scene(studio, qtbot, monkeypatch, scene) -> None:
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        open_with_menu(qtbot, studio, monkeypatch, scene)  # File ▸ Open (Ctrl+O)
    studio.tabs.setCurrentWidget(studio.train_panel)


def test_train_click_pause_resume_stop_and_the_live_view(studio, qtbot, tiny_scene, monkeypatch):
    capture, training, panel = studio.capture, studio.training, studio.train_panel
    click_item(qtbot, studio.capture_panel.devices, 0)  # the virtual sensor streams
    run_until(lambda: capture.live, 20_000)
    open_scene(studio, qtbot, monkeypatch, tiny_scene)
    assert tiny_scene.name in panel.target.text()  # the Train tab says which scene it trains
    assert "Load or record" not in panel.status.text()
    fast_settings(qtbot, panel, 100_000)
    click(qtbot, panel.train_button)
    assert "AttributeError" not in panel.status.text()
    run_until(lambda: training.trainer is not None and training.trainer.step_count >= 2, 60_000)
    assert training.state == "running" and not capture.live  # the live view gives its CPU to the training
    assert "paused while training" in studio.capture_panel.status.text()
    click(qtbot, panel.pause_button)
    run_until(lambda: training.trainer.control.state == "paused", 30_000)
    frozen = training.trainer.step_count
    qtbot.wait(300)
    assert training.trainer.step_count == frozen
    click(qtbot, panel.pause_button)  # Resume
    run_until(lambda: training.trainer.step_count > frozen, 30_000)
    assert "ETA" in panel.status.text()
    click(qtbot, panel.stop_button)
    run_until(lambda: training.state == "stopped", 30_000)
    run_until(lambda: capture.live, 10_000)  # and streams again afterwards

    click(qtbot, panel.continue_run)  # a new run this time, with the live view kept on
    click(qtbot, panel.settings.keep_live)
    click(qtbot, panel.train_button)
    run_until(lambda: training.state == "running" and training.trainer.step_count >= 1, 60_000)
    assert capture.live
    click(qtbot, panel.stop_button)
    run_until(lambda: training.state == "stopped", 30_000)


def test_open_a_finished_run_and_continue_it(studio, qtbot, tiny_scene, tmp_path, monkeypatch):
    from app.studio.main_window import MainWindow, Workspace

    panel = studio.train_panel
    open_scene(studio, qtbot, monkeypatch, tiny_scene)
    fast_settings(qtbot, panel, 4)
    click(qtbot, panel.train_button)
    run_until(lambda: studio.training.state == "finished", 60_000)
    run_dir = studio.training.run_dir

    other = MainWindow(Workspace(tmp_path / "other"), devices=[])
    qtbot.addWidget(other)
    other.show()
    try:
        open_with_menu(qtbot, other, monkeypatch, run_dir)
        run_until(lambda: other.training.state == "finished" and other.scene.data is not None, 60_000)
        assert other.scene.root == tiny_scene  # the Scene tab shows the run's scene
        op = other.train_panel
        assert op.continue_run.isVisible() and op.continue_run.isChecked()
        assert run_dir.name in op.target.text()
        assert "nan" not in op.status.text().lower()
        fast_settings(qtbot, op, 3)  # three more steps
        click(qtbot, op.train_button)
        run_until(lambda: other.training.state in ("finished", "failed"), 60_000)
        run_until(lambda: other.training.state == "finished" and other.training.trainer.step_count == 7, 30_000)
        assert "nan" not in op.status.text().lower()
        records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        assert all(math.isfinite(r["train_psnr"]) for r in records)
        assert records[-1]["step"] == 7 and records[-1]["state"] == "finished"
    finally:
        other.close()


def test_export_and_training_exclude_each_other(studio, qtbot, tiny_scene, monkeypatch):
    panel, export, training = studio.train_panel, studio.export_panel, studio.training
    open_scene(studio, qtbot, monkeypatch, tiny_scene)
    fast_settings(qtbot, panel, 3)
    click(qtbot, panel.train_button)
    run_until(lambda: training.state == "finished", 60_000)
    studio.tabs.setCurrentWidget(export)
    assert export.scale.currentData() == 1.0  # the capture's full resolution by default
    assert "Ready to export" in export.status.text()
    type_value(qtbot, export.frames, 400)
    click(qtbot, export.export_button)
    run_until(lambda: studio.export.state == "running", 30_000)
    assert not panel.train_button.isEnabled() and "export" in panel.train_button.toolTip()
    assert "export" in panel.status.text()
    assert training.trainer.control.step_lock is training.render_lock  # a step waits for a frame's render
    click(qtbot, export.cancel_button)
    run_until(lambda: studio.export.state == "cancelled" and panel.train_button.isEnabled(), 60_000)
    type_value(qtbot, export.frames, 2)
    click(qtbot, export.export_button)
    run_until(lambda: studio.export.state == "done", 60_000)
    assert "Saved" in export.status.text() and "Ready to export" in export.status.text()


def test_the_step_lock_holds_training_while_a_frame_renders(studio, qtbot, tiny_scene, monkeypatch):
    panel, training = studio.train_panel, studio.training
    open_scene(studio, qtbot, monkeypatch, tiny_scene)
    fast_settings(qtbot, panel, 100_000)
    click(qtbot, panel.train_button)
    run_until(lambda: training.trainer is not None and training.trainer.step_count >= 2, 60_000)
    with training.render_lock:  # what an export frame holds
        qtbot.wait(100)
        held = training.trainer.step_count
        qtbot.wait(500)
        assert training.trainer.step_count <= held + 1
    run_until(lambda: training.trainer.step_count > held + 1, 30_000)
    click(qtbot, panel.stop_button)
    run_until(lambda: training.state == "stopped", 30_000)


def test_a_failed_preview_render_is_shown_and_later_ones_work(studio, qtbot, tiny_scene, monkeypatch):
    panel, training = studio.train_panel, studio.training
    open_scene(studio, qtbot, monkeypatch, tiny_scene)
    fast_settings(qtbot, panel, 3)
    click(qtbot, panel.train_button)
    run_until(lambda: training.state == "finished", 60_000)
    preview = panel.preview
    run_until(lambda: preview.last is not None, 30_000)
    trainer = training.trainer
    from nerf import LivePreview  # what renders a local trainer's previews (beside the training)

    real_render, calls = LivePreview.render, []

    def broken_once(self, camera):
        calls.append(camera.width)
        if len(calls) == 1:
            raise RuntimeError("out of memory (simulated)")
        return real_render(self, camera)

    monkeypatch.setattr(LivePreview, "render", broken_once)
    drag(preview.novel, 30, 0)
    run_until(lambda: "failed" in preview.info.text(), 30_000)
    assert "out of memory" in preview.info.text()
    renders = preview.renders
    drag(preview.novel, -30, 10)
    run_until(lambda: preview.renders > renders, 30_000)
    assert np.isfinite(preview.last.depth).all()
    assert preview.last.camera.width == trainer.scene.width or preview.last.camera.width < trainer.scene.width
    _ = Qt
