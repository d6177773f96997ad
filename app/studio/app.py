"""Start the studio: the QApplication, the main window, and the demo's virtual sensor."""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_WORKSPACE = Path("studio_out")
"""Where captures, imports, runs and videos go unless told otherwise (relative to the working folder)."""


GIL_SWITCH_INTERVAL_S = 0.001
"""How long a Python thread may hold the GIL while another waits (Python's default is 5 ms). Training and
rendering threads run Python between torch calls; a shorter slice lets the UI thread get the GIL back
sooner, so painting and input stay smooth (measured in benchmarks/ui_responsiveness.py)."""


def make_window(path: Path | None = None, virtual: bool = False, workspace: Path | None = None,
                threads: int | None = None):
    """A MainWindow (a QApplication must exist), opened on ``path`` and/or the virtual sensor; ``threads``
    is the first value of the Train tab's CPU-threads setting (None: nerf.threads.default_threads())."""
    from app.studio.main_window import MainWindow, Workspace

    prepare_runtime(threads)
    window = MainWindow(Workspace(Path(workspace or DEFAULT_WORKSPACE).resolve()))
    if threads is not None:
        window.train_panel.settings.threads.setValue(threads)
    if path is not None:
        window.open_path(Path(path))
    if virtual:
        window.select_virtual()
    return window


def prepare_runtime(threads: int | None = None) -> None:
    """Once per process, before the window opens: the torch thread budget (nerf.threads), warm imports and a
    shorter GIL slice (see below)."""
    from nerf import apply_threads

    apply_threads(threads)
    warm_imports()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def warm_imports() -> None:
    """Import the training stack now, before the window is up: a first import on a worker thread holds
    Python's GIL for long stretches (C-level module set-up) and would freeze the UI mid-session."""
    import torch

    from nerf import Trainer, load_scene, path_cameras, render_video  # noqa: F401 (the trainer brings the fields)

    # the first optimizer imports torch._dynamo (hundreds of modules) lazily: do it here, once
    p = torch.zeros(2, requires_grad=True)
    (p * 2).sum().backward()
    torch.optim.Adam([p]).step()


def run_studio(path: Path | None = None, virtual: bool = False, workspace: Path | None = None,
               threads: int | None = None) -> int:
    """Open the window and run the Qt event loop until it closes; returns the exit status."""
    from PyQt6.QtGui import QIcon
    from PyQt6.QtWidgets import QApplication

    from resources import resource_path

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SparseNeRF Studio")
    app.setWindowIcon(QIcon(str(resource_path("icon.svg"))))
    window = make_window(path, virtual, workspace, threads)
    window.show()
    return int(app.exec())
