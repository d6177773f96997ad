"""Fixtures of the studio tests (offscreen Qt): a thread-leak guard on every test, a tiny scene, the window.

The guard follows napari's ``_dangling_qthreads``: it records every QThread started during the test
and fails the test if one is still running at the end, and it does the same for Python threads.
"""

from __future__ import annotations

import threading
import time
import traceback
import weakref
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")


@pytest.fixture(autouse=True)
def no_leaked_threads(monkeypatch, qtbot):
    """Fail a test that leaves a QThread running or a new Python thread alive."""
    from PyQt6.QtCore import QThread

    started: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    original_start = QThread.start

    def start_and_record(self, *args):
        started[self] = "".join(traceback.format_stack(limit=6)[:-1])
        original_start(self, *args)

    monkeypatch.setattr(QThread, "start", start_and_record)
    before = set(threading.enumerate())
    yield
    running = []
    for thread, where in list(started.items()):
        try:
            if thread.isRunning():
                running.append((thread.objectName(), where))
                thread.quit()
                thread.wait(2000)
        except RuntimeError:  # the C++ object is already gone: it is not running
            pass
    deadline = time.monotonic() + 2.0
    extra = [t for t in threading.enumerate() if t not in before and not isinstance(t, threading._DummyThread)]
    while extra and time.monotonic() < deadline:
        time.sleep(0.05)
        extra = [t for t in extra if t.is_alive()]
    if running or extra:
        names = [f"QThread {name!r} started at\n{where}" for name, where in running]
        names += [f"Python thread {t.name!r}" for t in extra]
        pytest.fail("test left threads running:\n" + "\n".join(names))


@pytest.fixture(scope="session")
def tiny_scene(tmp_path_factory) -> Path:
    """A 10-frame 64x48 capture of the virtual sensor, recorded with the CLI's own function."""
    from devices.capture import record
    from devices.virtual import VirtualSensor, VirtualSensorConfig

    out = tmp_path_factory.mktemp("studio") / "scene"
    with VirtualSensor(VirtualSensorConfig(width=64, height=48, num_frames=10)) as source:
        record(source, out, train_views=3)
    return out


@pytest.fixture
def studio(qtbot, tmp_path):
    """The main window on a fresh workspace (no sensor streaming yet); closed (threads stopped) at the end."""
    from app.studio.app import prepare_runtime
    from app.studio.device_catalog import list_devices, virtual_entry
    from app.studio.main_window import MainWindow, Workspace

    prepare_runtime()  # as `sparsenerf studio` does
    # the real virtual sensor in real time, at a small size so a loaded 2-core machine keeps up
    window = MainWindow(Workspace(tmp_path / "workspace"), devices=list_devices(virtual_entry(96, 72)))
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


@pytest.fixture
def stall_probe(qapp):
    """A running StallProbe; its figure is printed (never asserted: timing is for benchmarks/)."""
    from app.studio.probe import StallProbe

    probe = StallProbe(5)
    probe.start()
    yield probe
    stats = probe.stop()
    print(f"UI thread: longest stall {stats.max_stall_ms:.1f} ms, p99 gap {stats.p99_gap_ms:.1f} ms over {stats.ticks} ticks")

