"""Take the README's screenshots of the studio in use: capture, scene, training with preview, export.

Drives the real app on the virtual sensor (no hardware) the way a user does, with mouse clicks and keys
on its widgets (the sensor list, R to record, the tab bar, ▶ Train, a drag on the preview, Export), and
grabs the window into docs/*.png. Needs a display with OpenGL for the 3D view; on a headless machine
run it under Xvfb:

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/take_screenshots.py [--train-s 90]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent


def run_loop(ms: int = 0, until=None, timeout_ms: int = 600_000) -> None:
    """Run the Qt event loop for ``ms`` ms, or until ``until()`` holds."""
    from PyQt6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    if until is not None:
        poll = QTimer()
        poll.timeout.connect(lambda: until() and loop.quit())
        poll.start(50)
        QTimer.singleShot(timeout_ms, loop.quit)
    else:
        QTimer.singleShot(ms, loop.quit)
    loop.exec()


def save(window, name: str) -> None:
    run_loop(300)  # let the last frame paint
    path = DOCS / name
    window.grab().save(str(path))
    print(f"wrote {path}")


def click(widget, pos=None) -> None:
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos if pos is not None else widget.rect().center())
    run_loop(50)


def key(widget, k, modifier=None) -> None:
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    QTest.keyClick(widget, k, modifier or Qt.KeyboardModifier.NoModifier)


def open_tab(window, index: int) -> None:
    bar = window.tabs.tabBar()
    click(bar, bar.tabRect(index).center())


def drag(widget, dx: int, dy: int) -> None:
    """A left-button drag across ``widget`` in 8 moves (QTest's mouseMove carries no button, so real events)."""
    from PyQt6.QtCore import QPointF, Qt
    from PyQt6.QtGui import QMouseEvent
    from PyQt6.QtWidgets import QApplication

    start = QPointF(widget.width() / 2, widget.height() / 2)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    steps = [(QMouseEvent.Type.MouseButtonPress, start, left)]
    steps += [(QMouseEvent.Type.MouseMove, start + QPointF(dx * k / 8, dy * k / 8), left) for k in range(1, 9)]
    steps += [(QMouseEvent.Type.MouseButtonRelease, start + QPointF(dx, dy), none)]
    for kind, pos, buttons in steps:
        ev = QMouseEvent(kind, pos, widget.mapToGlobal(pos), left, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, ev)
        run_loop(40)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record-s", type=float, default=8.0, help="seconds of virtual-sensor recording")
    ap.add_argument("--train-s", type=float, default=90.0, help="seconds of training before the training shot")
    args = ap.parse_args()

    from PyQt6.QtCore import Qt
    from PyQt6.QtWidgets import QApplication

    qapp = QApplication(sys.argv[:1])  # noqa: F841 - must outlive the window
    from app.studio.app import make_window

    w = make_window(None, workspace=Path(tempfile.mkdtemp(prefix="studio_shots_")))
    w.resize(1280, 800)
    w.show()
    w.activateWindow()
    run_loop(500)
    devices = w.capture_panel.devices
    click(devices.viewport(), devices.visualItemRect(devices.item(0)).center())  # the virtual sensor
    run_loop(until=lambda: w.capture_panel.colour.item.image is not None and w.capture_panel.record_button.isEnabled())
    run_loop(1000)
    key(w, Qt.Key.Key_R)  # record
    run_loop(int(args.record_s * 1000))
    save(w, "screenshot_capture.png")
    key(w, Qt.Key.Key_R)  # stop
    run_loop(until=lambda: w.scene.data is not None)

    open_tab(w, 1)
    run_loop(1500)
    save(w, "screenshot_scene.png")

    open_tab(w, 2)
    run_loop(500)
    click(w.train_panel.train_button)  # the default settings: fast field, 3 minutes
    run_loop(until=lambda: w.training.state == "running")
    run_loop(int(args.train_s * 1000))
    drag(w.train_panel.preview.novel, -25, -8)  # a novel view, off the captured path
    run_loop(until=lambda: w.train_panel.preview.last is not None
             and w.train_panel.preview.last.camera.width == w.training.trainer.scene.width)
    run_loop(1500)
    save(w, "screenshot_training.png")

    open_tab(w, 3)
    panel = w.export_panel
    panel.path.setFocus()
    while panel.path.currentData() != "interp":
        key(panel.path, Qt.Key.Key_Down)
    panel.frames.setFocus()
    key(panel.frames, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    from PyQt6.QtTest import QTest

    QTest.keyClicks(panel.frames, "48")
    click(panel.export_button)  # stops the training first (keeping its checkpoint), then renders
    run_loop(until=lambda: w.export.state == "running")
    run_loop(until=lambda: panel.bar.value() >= 30)
    save(w, "screenshot_export.png")
    run_loop(until=lambda: w.export.state in ("done", "failed"))
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
