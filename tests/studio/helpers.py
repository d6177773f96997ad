"""Helpers of the studio tests: a real event loop to wait in, and a tiny training config."""

from __future__ import annotations


def tiny_train_config(steps: int = 40, **overrides):
    """A TrainConfig small enough for a CPU test: 32^3 grid, 512 rays, one torch thread, frequent snapshots."""
    from nerf.fields.fast import FastFieldConfig
    from nerf.train_config import TrainConfig

    values = dict(steps=steps, batch_rays=512, threads=1, snapshot_interval_s=0.1, eval_every_s=0.5,
                  eval_rays=512, preview_every_s=1e9, checkpoint_every_s=1e9,
                  fast=FastFieldConfig(resolution_schedule=((0, 32),), max_samples=48))
    values.update(overrides)
    return TrainConfig.from_flat(**values)


def tiny_run(scene_dir, run_dir, field: str, steps: int = 5):
    """A saved run of ``field`` ("fast" or "sensor") on the scene at ``scene_dir``, small enough for a CPU test."""
    from nerf.fields.config import SensorFieldConfig
    from nerf.loaders import load_scene
    from nerf.trainer import Trainer

    sensor = SensorFieldConfig(density_resolution=24, plane_schedule=((0, 8),), components=2, hidden=8)
    trainer = Trainer.create(load_scene(scene_dir), tiny_train_config(steps=steps, field=field, sensor=sensor),
                             run_dir=run_dir)
    trainer.control.run()
    trainer.save_checkpoint()
    return trainer


def run_until(predicate, timeout_ms: int = 30_000, poll_ms: int = 10) -> None:
    """Run a real Qt event loop until ``predicate()`` is true (unlike qtbot.waitUntil, which sleeps in 10 ms
    slices, this keeps the UI thread free, so the stall probe measures the app and not the test).

    Raises TimeoutError naming the predicate when it is still false after ``timeout_ms``.
    """
    from PyQt6.QtCore import QEventLoop, QTimer

    if predicate():
        return
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: predicate() and loop.quit())
    poll.start(poll_ms)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    poll.stop()
    if not predicate():
        raise TimeoutError(f"still false after {timeout_ms} ms: {getattr(predicate, '__name__', predicate)}")


def click(qtbot, widget) -> None:
    """A left click in the middle of ``widget``, as the user's mouse."""
    from PyQt6.QtCore import Qt

    assert widget.isVisible() and widget.isEnabled(), f"{widget} cannot be clicked now"
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def click_item(qtbot, view, row: int) -> None:
    """A left click on row ``row`` of a QListWidget (a thumbnail, a device)."""
    from PyQt6.QtCore import Qt

    rect = view.visualItemRect(view.item(row))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def choose(qtbot, combo, text: str) -> None:
    """Pick ``text`` in a combo box with the keyboard, as a user would (focus, then type it)."""
    from PyQt6.QtCore import Qt

    index = combo.findText(text)
    assert index >= 0, f"{text!r} is not in the combo box"
    combo.setFocus()
    while combo.currentIndex() != index:
        key = Qt.Key.Key_Down if combo.currentIndex() < index else Qt.Key.Key_Up
        qtbot.keyClick(combo, key)


def type_value(qtbot, spin, value) -> None:
    """Replace a spin box's value by typing it (select all, type, Enter)."""
    from PyQt6.QtCore import Qt

    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(spin, str(value))
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert spin.value() == value, (spin.value(), value)


def open_with_menu(qtbot, window, monkeypatch, path, shortcut: str = "Ctrl+O") -> None:
    """File ▸ Open (Ctrl+O) or ▸ Import capture folder (Ctrl+Shift+I) by its keyboard shortcut; the
    native folder dialog (which a test cannot drive) answers ``path``."""
    from PyQt6.QtGui import QKeySequence
    from PyQt6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(path)))
    window.activateWindow()  # a window shortcut reaches the active window only
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    seq = QKeySequence(shortcut)[0]
    qtbot.keyClick(window, seq.key(), seq.keyboardModifiers())


def fast_settings(qtbot, panel, steps: int) -> None:
    """The Train tab's settings for a quick CPU test, typed into its widgets: a step budget, one thread."""
    s = panel.settings
    choose(qtbot, s.budget_kind, "steps")
    type_value(qtbot, s.steps, steps)
    type_value(qtbot, s.threads, 1)
