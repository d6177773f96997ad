"""Take the README's screenshots of the studio in use: capture, scene, training with preview, export.

Drives the real app on the virtual sensor (no hardware) the way a user does, with mouse clicks and keys
on its widgets (the sensor list, R to record, the tab bar, ▶ Train, a drag and a wheel notch on the preview,
Export video, Export geometry), and grabs the window into docs/*.png (``--look``: also the steps between,
look_*.png). Needs a display with OpenGL for the 3D view; on a headless machine run it under Xvfb:

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/take_screenshots.py [--train-s 90] [--out DIR --look]
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


OUT = DOCS


def save(window, name: str) -> None:
    run_loop(300)  # let the last frame paint
    path = OUT / name
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
    """A left-button drag across ``widget`` in 8 moves (QTest's mouseMove carries no button, so real events),
    delivered where the mouse delivers them: to the viewport of a scroll area (a pyqtgraph pane)."""
    from PyQt6.QtCore import QPointF, Qt
    from PyQt6.QtGui import QMouseEvent
    from PyQt6.QtWidgets import QApplication

    target = widget.viewport() if hasattr(widget, "viewport") else widget
    start = QPointF(target.width() / 2, target.height() / 2)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    steps = [(QMouseEvent.Type.MouseButtonPress, start, left)]
    steps += [(QMouseEvent.Type.MouseMove, start + QPointF(dx * k / 8, dy * k / 8), left) for k in range(1, 9)]
    steps += [(QMouseEvent.Type.MouseButtonRelease, start + QPointF(dx, dy), none)]
    for kind, pos, buttons in steps:
        ev = QMouseEvent(kind, pos, target.mapToGlobal(pos), left, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(target, ev)
        run_loop(40)


def wheel(widget, notches: int) -> None:
    """``notches`` clicks of the mouse wheel over the middle of ``widget`` (a real QWheelEvent)."""
    from PyQt6.QtCore import QPoint, QPointF, Qt
    from PyQt6.QtGui import QWheelEvent
    from PyQt6.QtWidgets import QApplication

    target = widget.viewport() if hasattr(widget, "viewport") else widget
    pos = QPointF(target.width() / 2, target.height() / 2)
    ev = QWheelEvent(pos, target.mapToGlobal(pos), QPoint(), QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(target, ev)
    run_loop(40)


def choose(combo, data) -> None:
    """Pick the item holding ``data`` in ``combo`` with the arrow keys, as a keyboard user does."""
    from PyQt6.QtCore import Qt

    combo.setFocus()
    key(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentData() == data:
            return
        key(combo, Qt.Key.Key_Down)
    raise RuntimeError(f"{combo} has no item {data!r}")


def capture(w, args) -> None:
    """Capture tab: click the virtual sensor, R to record ``args.record_s`` seconds, R to stop."""
    from PyQt6.QtCore import Qt

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


def train(w, args) -> None:
    """Train tab: ▶ Train with the default settings, then move the preview camera with the mouse."""
    preview = w.train_panel.preview
    open_tab(w, 2)
    run_loop(500)
    click(w.train_panel.train_button)  # the default settings: field auto (the sensor field here), 3 minutes
    run_loop(until=lambda: w.training.state == "running")
    run_loop(until=lambda: preview.last is not None)
    run_loop(3000)
    if args.look:
        save(w, "look_train_first_preview.png")
    run_loop(int(args.train_s * 1000))
    before = w.camera.camera.c2w.copy()
    drag(preview.novel, -25, -8)  # a novel view, off the captured path
    wheel(preview.novel, 1)  # a notch closer
    if (w.camera.camera.c2w == before).all():
        raise RuntimeError("the drag did not move the preview camera")
    cam = w.camera.camera
    run_loop(until=lambda: preview.last is not None and preview.last.camera.width == cam.width
             and (preview.last.camera.c2w == cam.c2w).all())  # the camera where the mouse left it, full size
    run_loop(1500)
    save(w, "screenshot_training.png")


def export(w, args) -> None:
    """Export tab: a 48-frame video through the training views (stops the training), then a mesh."""
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    open_tab(w, 3)
    panel = w.export_panel
    choose(panel.path, "interp")
    panel.frames.setFocus()
    key(panel.frames, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(panel.frames, "48")
    click(panel.export_button)  # stops the training first (keeping its checkpoint), then renders
    run_loop(until=lambda: w.export.state == "running")
    run_loop(until=lambda: panel.bar.value() >= 30)
    save(w, "screenshot_export.png")
    run_loop(until=lambda: w.export.state in ("done", "failed"))
    if not args.look:
        return
    save(w, "look_export_done.png")
    geometry = panel.geometry
    from PyQt6.QtWidgets import QScrollArea

    panel.findChild(QScrollArea).ensureWidgetVisible(geometry.export_button)  # as the user scrolls down
    run_loop(300)
    click(geometry.export_button)  # the default: a mesh by TSDF fusion
    run_loop(until=lambda: w.export.state == "running")
    run_loop(until=lambda: w.export.state in ("done", "failed"))
    save(w, "look_geometry_done.png")
    open_tab(w, 2)
    run_loop(1500)
    save(w, "look_train_after_export.png")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record-s", type=float, default=8.0, help="seconds of virtual-sensor recording")
    ap.add_argument("--train-s", type=float, default=90.0, help="seconds of training before the training shot")
    ap.add_argument("--out", type=Path, default=DOCS, help="folder for the PNGs (default: docs/)")
    ap.add_argument("--look", action="store_true",
                    help="also shoot the steps between (first preview, export done, mesh export, Train tab after it)")
    args = ap.parse_args()
    global OUT
    OUT = args.out
    OUT.mkdir(parents=True, exist_ok=True)

    from PyQt6.QtWidgets import QApplication

    qapp = QApplication(sys.argv[:1])  # noqa: F841 - must outlive the window
    from app.studio.app import make_window

    w = make_window(None, workspace=Path(tempfile.mkdtemp(prefix="studio_shots_")))
    w.resize(1280, 800)
    w.show()
    w.activateWindow()
    run_loop(500)
    capture(w, args)
    train(w, args)
    export(w, args)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
