"""Live preview while training (issue 11): preview frames/s at 320x240 and training steps/s, with and without it.

Records the virtual room as `make demo` does (40 frames, 320x240, 3 training views), then for each field
(``--fields sensor,fast``) trains it in a background thread as the studio does (``trainer.control.run``, the
loop holding a step lock) and runs, one after the other, ``--seconds`` each:

- ``alone``: training only (steps/s);
- ``live``: training + a preview thread doing what the studio's RenderWorker does: under the step lock it
  copies the field into a ``nerf.LivePreview``, then renders the copy at 320x240 beside the training, one
  frame after the other, the camera moving along the held-out views (frames/s, CPU s per frame);
- ``between``: the old way, each preview served between two steps on the training thread
  (``control.request_render``, the full render), for comparison.

It then renders a few held-out views both ways and reports the preview's PSNR against the full render.
``--mode studio`` instead opens the real window offscreen, trains the field from the Train tab and moves the
preview camera (the model's orbit, as a drag does) for ``--seconds``, then holds it still, counting the frames
the window shows (``full_fps``: those at the capture's full size, 320x240; ``sizes``: the sizes shown). A moving
camera renders about 320x240 pixels (``app.studio.models.preview_session.MOVING_PIXELS``), i.e. the room at its own
size; a resting one refreshes at full size with at most half the render thread's time. Prints a table; the load average (``uptime``) is part of each row: the box is shared.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python benchmarks/preview_fps.py --seconds 30
    QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python benchmarks/preview_fps.py --mode studio --fields sensor
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.studio_training import record_scene  # noqa: E402


def orbit(trainer, k: int):
    """The k-th camera of a walk through the held-out views (each frame a different view)."""
    ids = trainer.scene.test_ids or trainer.scene.train_ids
    return trainer.view_camera(ids[k % len(ids)])


def train_thread(trainer, lock: threading.Lock, stop: threading.Event) -> threading.Thread:
    """The training loop on its own thread, as the studio's TrainingWorker runs it (until ``stop``)."""
    trainer.control.step_lock = lock

    def run() -> None:
        watcher = threading.Thread(target=lambda: (stop.wait(), trainer.control.stop()), daemon=True)
        watcher.start()
        trainer.control.run()

    th = threading.Thread(target=run, name="training")
    th.start()
    return th


PREVIEW_THREADS = [None]
"""``--preview-threads``: torch threads of the preview thread (None: the studio's, ``nerf.side_threads()``)."""


def phase(trainer, kind: str, seconds: float) -> dict:
    """Train for ``seconds`` with the preview ``kind`` (alone / live / between); steps/s and frames/s."""
    import nerf
    from nerf import LivePreview
    from nerf.fair_lock import FairLock

    lock, stop = FairLock(), threading.Event()  # as the studio's render_lock
    s0, load0 = trainer.step_count, os.getloadavg()[0]
    th = train_thread(trainer, lock, stop)
    while trainer.control.state != "running":
        time.sleep(0.01)
    t0, frames, cpu, proc0 = time.monotonic(), 0, 0.0, time.process_time()
    live = LivePreview()
    while time.monotonic() - t0 < seconds:
        if kind == "alone":
            time.sleep(0.05)
            continue
        c0 = time.thread_time()
        if kind == "live":
            with lock:
                live.sync(trainer)
            if hasattr(nerf, "limit_this_thread"):  # as the studio's RenderWorker (older code: the whole budget)
                nerf.limit_this_thread(PREVIEW_THREADS[0] or nerf.side_threads())
            live.render(orbit(trainer, frames))
        else:
            done = threading.Event()
            trainer.control.request_render(orbit(trainer, frames), lambda r, ev=done: ev.set(), lambda e, ev=done: ev.set())
            done.wait(60)
        cpu += time.thread_time() - c0
        frames += 1
    wall = time.monotonic() - t0
    cores = (time.process_time() - proc0) / wall  # CPU the whole process took (threads that spin count too)
    steps = trainer.step_count - s0
    stop.set()
    th.join()
    return dict(kind=kind, steps_s=steps / wall, fps=frames / wall, cpu_per_frame=cpu / max(frames, 1),
                frames=frames, steps=steps, cores=cores, load=(load0 + os.getloadavg()[0]) / 2)


def quality(trainer, views: int = 3) -> tuple[float, float, float]:
    """(min PSNR of the preview against the full render over ``views`` held-out views, full s, preview s)."""
    from nerf import LivePreview
    from nerf.metrics import psnr
    from nerf.preview import render_preview

    out, tf, tp = [], 0.0, 0.0
    for k in range(views):
        cam = orbit(trainer, k)
        t = time.thread_time()
        full = trainer.render(cam)
        tf += time.thread_time() - t
        t = time.thread_time()
        fast = render_preview(trainer.field, trainer.rays, cam, trainer.config.reporting.render_chunk,
                              colour_weight=LivePreview.COLOUR_WEIGHT, min_transmittance=LivePreview.MIN_TRANSMITTANCE)
        tp += time.thread_time() - t
        out.append(psnr(fast.rgb / 255.0, full.rgb / 255.0))
    return min(out), tf / views, tp / views


def headless(scene: Path, field: str, seconds: float, warmup: float, threads: int | None = None) -> list[dict]:
    import torch

    from nerf import TrainConfig, Trainer, apply_threads, load_scene

    threads = apply_threads(threads)  # None: the studio's default, every core but one
    trainer = Trainer.create(load_scene(scene), TrainConfig.from_flat(field=field, steps=10**9, threads=threads))
    rows = []
    if warmup > 0:
        phase(trainer, "alone", warmup)  # past the first coarse-to-fine switches
    for kind in ("alone", "live", "between"):
        rows.append(dict(field=field, threads=threads, **phase(trainer, kind, seconds)))
    rows[1]["preview_threads"] = torch.get_num_threads()  # this thread's intra-op threads (it renders the live phase)
    psnr, full_s, fast_s = quality(trainer)
    for r in rows:
        r.update(psnr_vs_full=psnr, full_cpu_s=full_s, preview_cpu_s=fast_s, at_step=trainer.step_count)
    return rows


def studio(scene: Path, field: str, seconds: float, warmup: float) -> list[dict]:
    from PyQt6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
    from PyQt6.QtWidgets import QApplication

    # one window per field: the second window's 3D view (pyqtgraph compiles its shaders once per process) needs
    # the first one's GL objects, i.e. contexts that share them (under X; offscreen there is no 3D view)
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    qapp = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 - must outlive the window
    from app.studio.app import make_window

    def wait(seconds_: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds_ * 1000), loop.quit)
        loop.exec()

    w = make_window(None, virtual=False, workspace=Path(tempfile.mkdtemp(prefix="preview_bench_")))
    w.resize(1280, 800)
    w.show()
    w.open_path(scene)
    while w.scene.data is None:
        wait(0.1)
    panel, training = w.train_panel, w.training
    w.tabs.setCurrentWidget(panel)
    panel.settings.field.setCurrentIndex(panel.settings.field.findData(field))
    panel.settings.budget_kind.setCurrentText("minutes")
    panel.settings.minutes.setValue(30)
    panel.start()
    while training.state != "running":
        wait(0.1)
    wait(warmup)
    trainer, view = training.trainer, panel.preview
    shown: list[tuple[float, int, int]] = []
    view.session.rendered.connect(lambda f: shown.append((time.monotonic(), f.result.camera.width,
                                                          f.result.camera.height)))
    rows = []
    for kind in ("moving", "still"):
        s0, t0, load0 = trainer.step_count, time.monotonic(), os.getloadavg()[0]
        shown.clear()
        timer = QTimer(interval=50)  # a drag's mouse moves: 20 a second
        timer.timeout.connect(lambda: w.camera.orbit(6.0, 0.0))
        if kind == "moving":
            timer.start()
        wait(seconds)
        timer.stop()
        wall = time.monotonic() - t0
        full = sum(1 for _, width, _h in shown if width == trainer.scene.width)
        sizes = sorted({f"{w_}x{h_}" for _, w_, h_ in shown})
        rows.append(dict(field=field, kind=f"studio, camera {kind}", steps_s=(trainer.step_count - s0) / wall,
                         fps=len(shown) / wall, full_fps=full / wall, frames=len(shown), sizes=",".join(sizes),
                         load=(load0 + os.getloadavg()[0]) / 2))
    w.close()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fields", default="sensor,fast")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    ap.add_argument("--warmup", type=float, default=20.0, help="training before the phases (seconds)")
    ap.add_argument("--mode", choices=("headless", "studio"), default="headless")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    ap.add_argument("--threads", type=int, default=None, help="torch threads of the training (headless; default: every core but one)")
    ap.add_argument("--preview-threads", type=int, default=None,
                    help="torch threads of the preview thread (headless; default: the studio's, the cores the training leaves)")
    args = ap.parse_args()
    PREVIEW_THREADS[0] = args.preview_threads
    scene = record_scene(Path(tempfile.mkdtemp(prefix="preview_bench_scene_")) / "scene")
    rows = []
    for field in args.fields.split(","):
        rows += (headless(scene, field, args.seconds, args.warmup, args.threads) if args.mode == "headless"
                 else studio(scene, field, args.seconds, args.warmup))
    keys = [k for k in ("field", "threads", "preview_threads", "kind", "steps_s", "fps", "full_fps", "sizes", "cpu_per_frame", "cores", "psnr_vs_full", "full_cpu_s",
                        "preview_cpu_s", "at_step", "load") if any(k in r for r in rows)]
    print(" | ".join(keys))
    for r in rows:
        print(" | ".join(f"{r[k]:.2f}" if isinstance(r.get(k), float) else str(r.get(k, "-")) for k in keys))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(f"uptime load average now: {np.round(os.getloadavg(), 2).tolist()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
