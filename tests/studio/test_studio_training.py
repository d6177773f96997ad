"""Train panel and live preview on a virtual-sensor capture: start, curves, preview follows the mouse,
pause / resume / stop, checkpoint kept; closing the window mid-training stops every thread."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication

from app.studio.models import preview_session
from tests.studio.helpers import run_until, tiny_train_config


def drag(widget, dx: float, dy: float, button=Qt.MouseButton.LeftButton) -> None:
    """Press, move by (dx, dy) in 4 steps, release, as a user's mouse drag on ``widget``."""
    start = QPointF(widget.width() / 2, widget.height() / 2)
    events = [(QMouseEvent.Type.MouseButtonPress, start, button)]
    events += [(QMouseEvent.Type.MouseMove, start + QPointF(dx * k / 4, dy * k / 4), button) for k in range(1, 5)]
    events += [(QMouseEvent.Type.MouseButtonRelease, start + QPointF(dx, dy), Qt.MouseButton.NoButton)]
    for kind, pos, buttons in events:
        ev = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget.viewport(), ev)


def open_and_train(studio, qtbot, scene, steps: int) -> None:
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(scene)
    assert studio.train_panel.train_button.isEnabled()
    studio.tabs.setCurrentWidget(studio.train_panel)  # the preview renders only while it is on screen
    studio.train_panel.start(tiny_train_config(steps=steps))
    run_until(lambda: studio.training.trainer is not None, 60_000)


def test_train_preview_pause_resume_stop(studio, qtbot, tiny_scene, stall_probe, monkeypatch):
    from app.studio.workers.training import RenderWorker

    # moving renders are at most MOVING_PIXELS; the tiny scene (64x48) would move at full size: a quarter here
    monkeypatch.setattr(preview_session, "MOVING_PIXELS", 32 * 24)
    asked: list[int] = []  # widths of the cameras the preview asks to render (a spy: the real submit runs)
    real_submit = RenderWorker.submit
    monkeypatch.setattr(RenderWorker, "submit", lambda self, t, request: (asked.append(request.camera.width),
                                                                           real_submit(self, t, request)))
    panel, training = studio.train_panel, studio.training
    open_and_train(studio, qtbot, tiny_scene, steps=100_000)
    trainer = training.trainer
    run_until(lambda: len(training.history.steps) >= 3, 60_000)
    assert training.state == "running"
    run_until(lambda: len(panel.curves.loss.getData()[0] if panel.curves.loss.getData()[0] is not None else []) >= 2,
              30_000)  # the curves redraw once a second
    x, y = panel.curves.loss.getData()
    n = len(x)  # one point per snapshot (log axis: the plot holds log10 of the loss)
    np.testing.assert_allclose(x, training.history.steps[:n])
    np.testing.assert_allclose(10**y, training.history.loss[:n], rtol=1e-6)
    assert "ETA" not in panel.status.text() or "step" in panel.status.text()

    # the preview follows the mouse: small while moving, full resolution once the camera rests
    preview = panel.preview
    run_until(lambda: preview.last is not None, 30_000)
    before = studio.camera.camera.c2w.copy()
    renders = preview.renders
    asked.clear()
    drag(preview.novel, 40, 0)
    small = trainer.scene.width // 2
    assert asked == [small] * 4  # one small render asked per mouse move, nothing at full size yet
    moved = studio.camera.camera.c2w
    assert not np.allclose(moved, before)
    run_until(lambda: preview.renders > renders and np.allclose(preview.last.camera.c2w, moved), 30_000)
    run_until(lambda: preview.last.camera.width == trainer.scene.width, 30_000)
    assert asked[4] == trainer.scene.width  # once the camera rests: the full-resolution refinement
    assert np.allclose(preview.last.camera.c2w, moved)
    assert preview.last.rgb.shape == (trainer.scene.height, trainer.scene.width, 3)
    studio.tabs.setCurrentWidget(studio.scene_panel)
    assert not studio.preview.enabled  # hidden preview: no renders slow the training down
    studio.tabs.setCurrentWidget(panel)
    assert studio.preview.enabled
    panel.preview.snap.setCurrentIndex(1)
    panel.preview.snap.activated.emit(1)
    view = panel.preview.snap.itemData(1)
    assert np.allclose(studio.camera.camera.c2w, trainer.scene.c2w[view])

    # pause: the step count freezes; resume: it grows again; stop: checkpoint on disk
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    run_until(lambda: trainer.control.state == "paused", 30_000)
    frozen = trainer.step_count
    qtbot.wait(300)
    assert trainer.step_count == frozen and training.state == "paused"
    assert panel.pause_button.text().endswith("Resume")
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    run_until(lambda: trainer.step_count > frozen, 30_000)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    run_until(lambda: training.state == "stopped", 30_000)
    assert (training.run_dir / "checkpoints" / "latest.pt").is_file()
    assert (training.run_dir / "run.json").is_file()
    assert panel.train_button.isEnabled()


def test_closing_the_window_mid_training_keeps_the_checkpoint(studio, qtbot, tiny_scene):
    open_and_train(studio, qtbot, tiny_scene, steps=100_000)
    training = studio.training
    run_until(lambda: training.trainer.step_count >= 2, 60_000)
    studio.select_virtual()  # the sensor streams too
    run_until(lambda: studio.capture.live, 10_000)
    studio.close()  # the thread guard fails the test if anything is left running
    assert training.state == "stopped"
    from nerf.trainer import Trainer

    resumed = Trainer.from_run_dir(training.run_dir)
    assert resumed.step_count == training.trainer.step_count >= 2


def test_render_requests_coalesce_newest_wins(qtbot, tiny_scene):
    """While a render is in progress, newer requests replace each other: only the newest is served next."""
    import threading
    import time

    from app.studio.types import RenderRequest
    from app.studio.workers.base import WorkerThread
    from app.studio.workers.training import RenderWorker
    from nerf.loaders import load_scene
    from nerf.trainer import Trainer

    trainer = Trainer.create(load_scene(tiny_scene), tiny_train_config(steps=1))
    lock, waiting = threading.Lock(), threading.Event()

    class Gate:
        """The render lock, held by the test; says when the worker waits for it (with a request taken)."""

        def __enter__(self):
            waiting.set()
            lock.acquire()

        def __exit__(self, *exc):
            lock.release()

    worker = RenderWorker(Gate())
    served: list[int] = []
    worker.rendered.connect(lambda frame: served.append(frame.request.request_id))
    job = WorkerThread(worker, "render-test").start()
    try:
        cams = [trainer.view_camera(i).scaled(0.5) for i in range(5)]
        with lock:  # the first render cannot start until the other four requests are in
            worker.submit(trainer, RenderRequest(cams[0], 1, time.monotonic()))
            run_until(waiting.is_set, 10_000)  # the worker took request 1 and waits for the lock
            for rid in (2, 3, 4, 5):
                worker.submit(trainer, RenderRequest(cams[rid - 1], rid, time.monotonic()))
        run_until(lambda: served[-1:] == [5], 30_000)
        qtbot.wait(100)
        assert served == [1, 5]
    finally:
        assert job.stop()


def test_training_a_one_frame_scene_reports_the_problem(studio, qtbot, tmp_path):
    """Bad input ends in a readable message in the panel and a 'failed' state, not a dead thread or a crash."""
    from devices.capture import record
    from devices.virtual import VirtualSensor, VirtualSensorConfig

    with VirtualSensor(VirtualSensorConfig(width=32, height=24, num_frames=1)) as source:
        record(source, tmp_path / "one", train_views=3)
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(tmp_path / "one")
    with qtbot.waitSignal(studio.training.error, timeout=60_000) as sig:
        studio.train_panel.start(tiny_train_config(steps=5))
    run_until(lambda: studio.training.state == "failed", 10_000)
    assert sig.args[0] in studio.train_panel.status.text()
    assert "Traceback" not in sig.args[0]
    assert studio.train_panel.train_button.isEnabled()  # fix the scene, then try again
