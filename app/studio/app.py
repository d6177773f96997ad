"""Start the studio: the QApplication, the main window, and the demo's virtual sensor."""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_WORKSPACE = Path("studio_out")
"""Where captures, imports, runs and videos go unless told otherwise (relative to the working folder)."""


def make_window(path: Path | None = None, virtual: bool = False, workspace: Path | None = None):
    """A MainWindow (a QApplication must exist), opened on ``path`` and/or the virtual sensor."""
    from app.studio.main_window import MainWindow, Workspace

    window = MainWindow(Workspace(Path(workspace or DEFAULT_WORKSPACE).resolve()))
    if path is not None:
        window.open_path(Path(path))
    if virtual:
        window.select_virtual()
    return window


def run_studio(path: Path | None = None, virtual: bool = False, workspace: Path | None = None) -> int:
    """Open the window and run the Qt event loop until it closes; returns the exit status."""
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SparseNeRF Studio")
    window = make_window(path, virtual, workspace)
    window.show()
    return int(app.exec())
