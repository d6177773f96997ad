"""How long does the studio's UI thread stall while it captures, trains and exports?

Drives the real window (offscreen) through the demo flow on the virtual sensor and measures, for each
phase, the gaps between the ticks of a 5 ms QTimer on the UI thread (app/studio/probe.py). Each phase
runs a real Qt event loop, as a user's session does. Prints one table; the target is a longest stall
under 50 ms.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_responsiveness.py [--train-s 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def run_loop(ms: int, until: Callable[[], bool] | None = None, timeout_ms: int = 300_000) -> None:
    """Run the Qt event loop for ``ms`` milliseconds, or until ``until()`` is true (polled every 20 ms)."""
    from PyQt6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    if until is None:
        QTimer.singleShot(ms, loop.quit)
    else:
        poll = QTimer()
        poll.timeout.connect(lambda: until() and loop.quit())
        poll.start(20)
        QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


class Watchdog:
    """--diagnose: a Python thread that prints the UI thread's stack whenever the probe's ticks stop for
    more than ``limit_ms`` (a stack that is only the event loop means the UI thread waits for the GIL)."""

    def __init__(self, limit_ms: float = 50.0) -> None:
        import threading

        self.main = threading.get_ident()
        self.limit = limit_ms / 1000.0
        self.last = time.perf_counter()
        self.reports: list[str] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="stall-watchdog", daemon=True)

    def tick(self) -> None:
        self.last = time.perf_counter()

    def _watch(self) -> None:
        import traceback

        while not self._stop.wait(0.005):
            lag = time.perf_counter() - self.last
            if lag > self.limit:
                frame = sys._current_frames().get(self.main)
                stack = "".join(traceback.format_stack(frame, limit=10)) if frame else "?"
                self.reports.append(f"--- UI thread late by {lag * 1000:.0f} ms at:\n{stack}")
                self.last = time.perf_counter()

    def start(self, qtimer) -> None:
        qtimer.timeout.connect(self.tick)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


WATCHDOG: Watchdog | None = None


def phase(rows: list, name: str, body: Callable[[], None]) -> None:
    from app.studio.probe import StallProbe

    probe = StallProbe(5)
    probe.start()
    if WATCHDOG is not None:
        WATCHDOG.tick()
        probe._timer.timeout.connect(WATCHDOG.tick)
        WATCHDOG.reports.append(f"=== phase: {name}")
    t0 = time.perf_counter()
    body()
    s = probe.stop()
    rows.append((name, time.perf_counter() - t0, s))
    print(f"  done: {name}", file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-s", type=float, default=20.0, help="seconds of training (half of them dragging the preview)")
    ap.add_argument("--record-s", type=float, default=4.0, help="seconds of recording")
    ap.add_argument("--video-frames", type=int, default=24, help="frames of the exported video")
    ap.add_argument("--diagnose", action="store_true", help="print the UI thread's stack at every stall > 50 ms")
    args = ap.parse_args()

    from PyQt6.QtWidgets import QApplication

    qapp = QApplication(sys.argv[:1])  # noqa: F841 - must outlive the window
    from app.studio.app import make_window
    from app.studio.models.export_job import ExportRequest
    from app.studio.types import VideoSettings

    work = Path(tempfile.mkdtemp(prefix="ui_bench_"))
    w = make_window(None, virtual=False, workspace=work)
    w.show()
    run_loop(1500)  # first paint and layout are start-up, not a stall
    rows: list = []
    global WATCHDOG
    if args.diagnose:
        WATCHDOG = Watchdog()
        WATCHDOG.thread.start()
    phase(rows, "idle window", lambda: run_loop(2000))

    def live() -> None:
        w.select_virtual()
        run_loop(3000)

    def record() -> None:
        w.capture.start_recording()
        run_loop(int(args.record_s * 1000))
        w.capture.stop_recording()
        run_loop(0, until=lambda: w.scene.data is not None)

    phase(rows, "live view (virtual sensor 320x240)", live)
    phase(rows, "recording + scene load", record)
    w.capture.stop_live()
    n_frames = len(w.scene.data.folder)

    def first_show_of_train_tab() -> None:
        w.tabs.setCurrentWidget(w.train_panel)
        run_loop(1000)

    def train_and_drag() -> None:
        w.train_panel.settings.set_steps(1_000_000)
        w.train_panel.start()
        run_loop(0, until=lambda: w.training.state == "running")
        from PyQt6.QtCore import QTimer

        mover = QTimer()
        mover.timeout.connect(lambda: w.camera.orbit(4.0, 1.0))  # a drag at 20 Hz
        mover.start(50)
        run_loop(int(args.train_s * 500))
        mover.stop()
        run_loop(int(args.train_s * 500))

    def pause_resume_stop() -> None:
        w.training.pause()
        run_loop(1500)
        w.training.resume()
        run_loop(1500)
        w.training.stop()
        run_loop(0, until=lambda: w.training.state in ("stopped", "finished"))

    phase(rows, "first display of the Train tab", first_show_of_train_tab)
    phase(rows, "training + preview drag/refine", train_and_drag)
    steps = w.training.trainer.step_count
    phase(rows, "pause / resume / stop", pause_resume_stop)

    def export() -> None:
        w.tabs.setCurrentWidget(w.export_panel)
        w.export.start(ExportRequest(VideoSettings(path="orbit", frames=args.video_frames, scale=0.5, fps=24)))
        run_loop(0, until=lambda: w.export.state in ("done", "failed", "cancelled"))

    phase(rows, f"export ({args.video_frames} frames, 1/2 res)", export)
    w.close()
    if WATCHDOG is not None:
        WATCHDOG.stop()
        print("\n".join(WATCHDOG.reports))

    print(f"\nUI thread stalls, {platform.machine()} with {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"capture {n_frames} frames, {steps} training steps")
    print(f"{'phase':38s} {'seconds':>8s} {'ticks':>6s} {'median gap ms':>14s} {'p99 gap ms':>11s} {'longest stall ms':>17s}")
    for name, secs, s in rows:
        print(f"{name:38s} {secs:8.1f} {s.ticks:6d} {s.median_gap_ms:14.1f} {s.p99_gap_ms:11.1f} {s.max_stall_ms:17.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
