"""Take the README's screenshots of the studio in use: capture, scene, training with preview, export.

Drives the real app on the virtual sensor (no hardware) and grabs the window into docs/*.png. Needs a
display with OpenGL for the 3D view; on a headless machine run it under Xvfb:

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record-s", type=float, default=8.0, help="seconds of virtual-sensor recording")
    ap.add_argument("--train-s", type=float, default=90.0, help="seconds of training before the training shot")
    args = ap.parse_args()

    from PyQt6.QtWidgets import QApplication

    qapp = QApplication(sys.argv[:1])  # noqa: F841 - must outlive the window
    from app.studio.app import make_window

    w = make_window(None, virtual=True, workspace=Path(tempfile.mkdtemp(prefix="studio_shots_")))
    w.resize(1280, 800)
    w.show()
    run_loop(until=lambda: w.capture_panel.colour.item.image is not None)
    w.capture.start_recording()
    run_loop(int(args.record_s * 1000))
    save(w, "screenshot_capture.png")
    w.capture.stop_recording()
    run_loop(until=lambda: w.scene.data is not None)
    w.capture.stop_live()

    w.tabs.setCurrentWidget(w.scene_panel)
    run_loop(1500)
    save(w, "screenshot_scene.png")

    w.tabs.setCurrentWidget(w.train_panel)
    w.train_panel.start()  # the default settings: fast field, 3 minutes
    run_loop(until=lambda: w.training.state == "running")
    run_loop(int(args.train_s * 1000))
    w.camera.orbit(-25, -8)  # a novel view, off the captured path
    run_loop(until=lambda: w.train_panel.preview.last is not None
             and w.train_panel.preview.last.camera.width == w.training.trainer.scene.width)
    run_loop(1500)
    save(w, "screenshot_training.png")

    w.tabs.setCurrentWidget(w.export_panel)
    w.export_panel.frames.setValue(48)
    w.export_panel.path.setCurrentIndex(w.export_panel.path.findData("interp"))
    w.export_panel.start()
    run_loop(until=lambda: w.export.state == "running")
    run_loop(until=lambda: w.export_panel.bar.value() >= 30)
    save(w, "screenshot_export.png")
    run_loop(until=lambda: w.export.state in ("done", "failed"))
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
