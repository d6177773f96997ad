"""The live preview renders beside the training (issue 11): a mouse drag on the novel view asks for a render,
and the training keeps stepping while that render runs; the frame shown is the sensor field's own image."""

from __future__ import annotations

import threading

import numpy as np
from PyQt6.QtCore import Qt

from tests.studio.helpers import run_until, tiny_train_config
from tests.studio.test_studio_training import drag


def test_the_training_steps_on_while_a_preview_renders(studio, qtbot, tiny_scene, monkeypatch):
    from nerf import MIN_ACC, LivePreview
    from nerf.fields.config import SensorFieldConfig
    from nerf.metrics import psnr
    from nerf.preview import render_preview

    entered, gate = threading.Event(), threading.Event()
    real = LivePreview.render

    def held(self, camera):
        """The real render, held until the test lets it go (a render that takes as long as the test wants)."""
        if not gate.is_set():
            entered.set()
            gate.wait(30)
        return real(self, camera)

    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(tiny_scene)
    panel, training = studio.train_panel, studio.training
    studio.tabs.setCurrentWidget(panel)  # the preview renders only while it is on screen
    sensor = SensorFieldConfig(density_resolution=32, plane_schedule=((0, 16),), components=2, hidden=8)
    panel.start(tiny_train_config(steps=100_000, field="sensor", sensor=sensor))
    run_until(lambda: training.trainer is not None and training.state == "running", 60_000)
    trainer, preview = training.trainer, panel.preview
    run_until(lambda: preview.last is not None, 30_000)
    monkeypatch.setattr(LivePreview, "render", held)
    try:
        before = studio.camera.camera.c2w.copy()
        drag(preview.novel, 40, 0)
        moved = studio.camera.camera.c2w.copy()
        assert not np.allclose(moved, before)
        run_until(entered.is_set, 30_000)  # the render of the dragged view has started...
        steps = trainer.step_count
        run_until(lambda: trainer.step_count >= steps + 3, 30_000)  # ...and the training goes on meanwhile
    finally:
        gate.set()
    run_until(lambda: preview.last.camera.width == trainer.scene.width and np.allclose(preview.last.camera.c2w, moved),
              30_000)
    shown = preview.last
    assert 0 < shown.step <= trainer.step_count  # the field as it was when the copy was taken
    # its depth is drawn where the render is mostly opaque; elsewhere a hole (black), never a "near" band
    drawn = preview.depth.item.image
    assert drawn.shape == shown.acc.shape
    assert np.isnan(drawn[shown.acc <= MIN_ACC]).all() and np.isfinite(drawn[shown.acc > MIN_ACC]).all()
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    run_until(lambda: trainer.control.state == "paused", 30_000)
    # paused: the field stands still, so a fresh render of the same view is the field's own image
    frames = preview.renders
    drag(preview.novel, 0, 0.5)
    run_until(lambda: preview.renders > frames and preview.last.camera.width == trainer.scene.width
              and preview.last.step == trainer.step_count, 30_000)
    last = preview.last
    expected = render_preview(trainer.field, trainer.rays, last.camera, 16384, colour_weight=LivePreview.COLOUR_WEIGHT,
                              min_transmittance=LivePreview.MIN_TRANSMITTANCE)
    np.testing.assert_array_equal(last.rgb, expected.rgb)
    assert psnr(last.rgb / 255.0, trainer.render(last.camera).rgb / 255.0) > 35  # and close to the full render's
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    run_until(lambda: training.state == "stopped", 30_000)
