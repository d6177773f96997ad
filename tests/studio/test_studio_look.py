"""What a new user saw wrong in the studio (issue 11's look under a real X server), each driven by real clicks
and keys: the field box clipped its own text; the preview dragged at a quarter of the room's pixels; after a
drag the snap-to-view box still named the view the camera had left."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QStyle, QStyleOptionComboBox

from tests.studio.helpers import run_until, tiny_train_config
from tests.studio.test_studio_training import drag


def open_tab(qtbot, studio, panel) -> None:
    """Click the tab of ``panel`` in the tab bar."""
    bar = studio.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(studio.tabs.indexOf(panel)).center())
    assert studio.tabs.currentWidget() is panel


def text_room(combo) -> int:
    """Width in pixels of the part of ``combo`` that shows the current item's text."""
    opt = QStyleOptionComboBox()
    combo.initStyleOption(opt)
    return combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                        QStyle.SubControl.SC_ComboBoxEditField, combo).width()


def test_every_field_choice_fits_its_box(studio, qtbot):
    panel = studio.train_panel
    open_tab(qtbot, studio, panel)
    combo = panel.settings.field
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)  # opens the list; Escape closes it again
    qtbot.keyClick(combo.view(), Qt.Key.Key_Escape)
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    seen = []
    for _ in range(combo.count()):
        seen.append(combo.currentData())
        text = combo.currentText()
        assert combo.fontMetrics().horizontalAdvance(text) <= text_room(combo), f"{text!r} is clipped"
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert sorted(seen) == sorted(combo.itemData(i) for i in range(combo.count()))
    settings = panel.settings.parentWidget()
    assert settings.width() >= settings.minimumSizeHint().width()  # the column is never squeezed


def test_moving_renders_are_about_320x240_at_most():
    from app.studio.models.preview_session import MOVING_PIXELS, moving_scale

    assert MOVING_PIXELS == 320 * 240
    assert moving_scale(320, 240) == 1.0  # the virtual room drags at its own resolution
    assert moving_scale(64, 48) == 1.0  # never above the capture's
    assert moving_scale(640, 480) == pytest.approx(0.5)
    s = moving_scale(1280, 720)
    assert round(1280 * s) * round(720 * s) == pytest.approx(320 * 240, rel=0.01)


def test_a_drag_renders_a_small_capture_at_full_size_and_unsets_the_snapped_view(studio, qtbot, tiny_scene,
                                                                                 monkeypatch):
    from app.studio.workers.training import RenderWorker

    asked: list[int] = []  # widths of the cameras the preview asks for (a spy: the real submit runs)
    real_submit = RenderWorker.submit
    monkeypatch.setattr(RenderWorker, "submit", lambda self, t, request: (asked.append(request.camera.width),
                                                                           real_submit(self, t, request)))
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(tiny_scene)
    panel, training = studio.train_panel, studio.training
    open_tab(qtbot, studio, panel)
    panel.settings.set_steps(100_000)
    monkeypatch.setattr(panel.settings, "config", lambda: tiny_train_config(steps=100_000))
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    run_until(lambda: training.trainer is not None and training.state == "running", 60_000)
    trainer, preview = training.trainer, panel.preview
    run_until(lambda: preview.last is not None, 30_000)
    snap = preview.snap
    assert snap.currentIndex() == 0 and snap.currentText() == f"training view {trainer.scene.train_ids[0]}"

    asked.clear()
    drag(preview.novel, 40, 0)
    assert asked == [trainer.scene.width] * 4  # 64x48 is under the moving budget: full size while it moves
    assert snap.currentIndex() == -1 and snap.currentText() == ""  # the placeholder: "moved by the mouse"
    run_until(lambda: preview.last is not None and np.allclose(preview.last.camera.c2w, studio.camera.camera.c2w))

    snap.setFocus()
    qtbot.keyClick(snap, Qt.Key.Key_Down)  # the keyboard picks a view again: the camera jumps to it
    view = snap.currentData()
    assert view is not None
    np.testing.assert_allclose(studio.camera.camera.c2w, trainer.scene.c2w[view])
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    run_until(lambda: training.state == "stopped", 30_000)


def loss_labels(curves) -> list[str]:
    """The labels the loss plot's y axis draws for its current view."""
    axis = curves.loss_plot.getAxis("left")
    low, high = curves.loss_plot.getViewBox().viewRange()[1]
    return [s for spacing, values in axis.tickValues(low, high, axis.height()) for s in axis.tickStrings(values, 1, spacing)]


@pytest.mark.parametrize("low, high", [(0.13, 0.17), (0.0131, 0.0139), (0.04, 0.2)])
def test_the_loss_axis_is_labelled_however_narrow_its_range(qtbot, low, high):
    """A run's first seconds (loss 0.13-0.17) showed a log axis with no number on it."""
    from app.studio.models.training_session import TrainHistory
    from app.studio.widgets.curves import CurvesView

    curves = CurvesView()
    qtbot.addWidget(curves)
    curves.resize(800, 260)
    curves.show()
    loss = np.linspace(low, high, 8).tolist()
    curves.show_history(TrainHistory(steps=list(range(8)), loss=loss, train_psnr=[15.0] * 8))
    qtbot.wait(50)
    labels = loss_labels(curves)
    assert len(labels) >= 2, labels
    values = [float(s) for s in labels]
    assert all(0.9 * low <= v <= 1.1 * high for v in values), labels  # real loss values, in the range shown


def test_the_preview_depth_bar_spans_the_depth_as_the_video_legend_does(qtbot):
    """The novel view's colour bar started at 0 m while the video's legend spans the 1st-99th percentile, so one
    depth had two colours; now the bar is that percentile range rounded outwards, and stays put while it fits."""
    from app.studio.widgets.image_view import DepthPane
    from nerf import robust_range

    pane = DepthPane("rendered depth")
    qtbot.addWidget(pane)
    room = np.pad(np.linspace(1.32, 5.23, 60 * 44, dtype=np.float32).reshape(44, 60), 2)  # a border of holes (0:
    # nothing opaque rendered), which stay out of the range
    pane.show_depth(room, auto_range=True)
    low, high = pane.levels
    lo_video, hi_video = robust_range(room, room > 0)
    assert (low, high) == (1.0, 5.5)
    assert low <= lo_video and hi_video <= high and lo_video - low < 0.5 and high - hi_video < 0.5

    pane.show_depth(room * 1.02, auto_range=True)  # the camera moved a little: no flicker
    assert pane.levels == (1.0, 5.5)
    pane.show_depth(room * 0.2, auto_range=True)  # a close-up: the bar follows
    assert pane.levels == (0.0, 1.5)
