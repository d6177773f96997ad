"""Training throughput with the studio's window open, against a headless run, and the ETA's accuracy.

Records a 40-frame 320x240 virtual-sensor scene (as `sparsenerf demo`), then either
- ``--mode headless``: trains it with no window for a 1-minute budget (the CLI's trainer), or
- ``--mode studio``: opens the real window offscreen with the virtual sensor streaming on the Capture
  tab, shows the Train tab, sets a 1-minute budget and presses ▶ Train (a click; on code where the click
  is broken, the panel's start()), as a user would,
and prints one table row: steps done in the first 60 s of wall-clock time, when the run ended, the
seconds spent rendering (previews and snapshot thumbnails), the held-out PSNR (subsample of the first test view, as the status line), and the ETA's worst error after
the first fifth of the run (as a fraction of the run's length). Runs on older code too (it only uses
what both have), so before/after numbers come from the same script:

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python benchmarks/studio_training.py --mode studio
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
WINDOW_S = 60.0


def record_scene(out: Path) -> Path:
    from devices.capture import record
    from devices.virtual import VirtualSensor, VirtualSensorConfig

    with VirtualSensor(VirtualSensorConfig(width=320, height=240, num_frames=40)) as source:
        record(source, out, train_views=3)
    return out


RENDER_S = [0.0]
"""Seconds spent in Trainer.render (previews, snapshot thumbnails) during the run: a measuring spy."""


def time_renders() -> None:
    from nerf.trainer import Trainer

    real = Trainer.render

    def timed(self, camera, chunk=None):
        t = time.perf_counter()
        try:
            return real(self, camera, chunk)
        finally:
            RENDER_S[0] += time.perf_counter() - t

    Trainer.render = timed


def eta_error(samples: list[tuple[float, float | None]], t_start: float, t_end: float) -> float:
    """Worst |ETA - truth| after the first fifth of the run, as a fraction of its length (nan: no ETA)."""
    total = t_end - t_start
    errs = [abs(eta - (t_end - t)) / total for t, eta in samples
            if eta is not None and t - t_start >= 0.2 * total and t < t_end]
    return max(errs) if errs else float("nan")


def headless(scene: Path, threads: int | None, preview_width: int | None = None) -> dict:
    from nerf.loaders import load_scene
    from nerf.trainer import TrainConfig, Trainer

    try:
        from nerf.threads import apply_threads
        threads = apply_threads(threads)
    except ImportError:  # older code: torch's default unless told
        import torch
        if threads:
            torch.set_num_threads(threads)
        threads = torch.get_num_threads()
    extra = {} if preview_width is None else {"preview_width": preview_width}
    trainer = Trainer.create(load_scene(scene), TrainConfig.from_flat(minutes=WINDOW_S / 60.0, threads=threads, **extra))
    cpu0 = time.process_time()
    samples, at60 = [], [None]
    t0 = time.monotonic()

    def on_snap(snap) -> None:
        now = time.monotonic()
        if at60[0] is None and now - t0 >= WINDOW_S:
            at60[0] = snap.step
        samples.append((now, getattr(snap, "eta_s", None)))

    snap = trainer.control.run(on_snap)
    t_end = time.monotonic()
    return dict(mode="headless", threads=threads, steps_60s=at60[0] or snap.step, steps=snap.step,
                wall_s=t_end - t0, psnr=snap.test_psnr, eta_err=eta_error(samples, t0, t_end),
                cpu_s=time.process_time() - cpu0)


def studio(scene: Path, threads: int | None) -> dict:
    from PyQt6.QtCore import QEventLoop, Qt, QTimer
    from PyQt6.QtTest import QTest
    from PyQt6.QtWidgets import QApplication

    qapp = QApplication(sys.argv[:1])  # noqa: F841 - must outlive the window
    from app.studio.app import make_window
    from app.studio.models.training_session import eta_seconds

    def run_loop(until, timeout_s: float = 600.0) -> None:
        loop, poll = QEventLoop(), QTimer()
        poll.timeout.connect(lambda: until() and loop.quit())
        poll.start(20)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()

    w = make_window(None, virtual=True, workspace=Path(tempfile.mkdtemp(prefix="studio_bench_")))
    w.resize(1280, 800)
    w.show()
    run_loop(lambda: w.capture_panel.colour.item.image is not None, 60)  # the live view streams
    w.open_path(scene)
    run_loop(lambda: w.scene.data is not None, 60)
    panel, training = w.train_panel, w.training
    w.tabs.setCurrentWidget(panel)
    settings = panel.settings
    settings.budget_kind.setCurrentText("minutes")
    settings.minutes.setValue(WINDOW_S / 60.0)
    if threads and hasattr(settings, "threads"):
        settings.threads.setValue(threads)
    samples, at60 = [], [None]
    t0 = [0.0]

    def on_snap(snap) -> None:
        now = time.monotonic()
        if at60[0] is None and t0[0] and now - t0[0] >= WINDOW_S:
            at60[0] = snap.step
        samples.append((now, eta_seconds(snap)))

    training.snapshot.connect(on_snap)
    if hasattr(settings, "threads"):
        QTest.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    else:  # the click was broken (clicked(bool) reached start(config=False))
        panel.start()
    run_loop(lambda: training.state == "running", 120)
    t0[0] = time.monotonic()
    live_during = w.capture.live
    run_loop(lambda: training.state in ("finished", "stopped", "failed"), 600)
    t_end = time.monotonic()
    last = training.last
    used = settings.config().threads
    w.close()
    return dict(mode="studio", threads=used, steps_60s=at60[0] or last.step, steps=last.step, wall_s=t_end - t0[0],
                psnr=last.test_psnr, eta_err=eta_error(samples, t0[0], t_end), live_during_training=live_during)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("headless", "studio"), required=True)
    ap.add_argument("--threads", type=int, default=None, help="thread budget (default: the code's own default)")
    ap.add_argument("--preview-width", type=int, default=None,
                    help="headless: width of the snapshots' preview image (default: the code's; 96 before 2026-12-02, then 0)")
    args = ap.parse_args()
    scene = record_scene(Path(tempfile.mkdtemp(prefix="studio_bench_scene_")) / "scene")
    load = os.getloadavg()[0]
    time_renders()
    row = headless(scene, args.threads, args.preview_width) if args.mode == "headless" else studio(scene, args.threads)
    row["load_before"] = load
    print(f"{'mode':9s} {'threads':>7s} {'steps in 60 s':>13s} {'steps':>6s} {'run s':>6s} {'render s':>8s} "
          f"{'held-out dB':>11s} {'ETA err':>7s} {'load':>5s}")
    psnr = f"{row['psnr']:.2f}" if row["psnr"] is not None else "-"
    print(f"{row['mode']:9s} {row['threads']:7d} {row['steps_60s']:13d} {row['steps']:6d} {row['wall_s']:6.1f} "
          f"{RENDER_S[0]:8.1f} {psnr:>11s} {row['eta_err']:7.1%} {load:5.2f}" + (f"  live view on: {row['live_during_training']}"
                                                               if "live_during_training" in row else "")
          + (f"  CPU s: {row['cpu_s']:.1f}, load after: {os.getloadavg()[0]:.2f}" if "cpu_s" in row else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
