"""An import in progress: any format the CLI's `sparsenerf import` knows, run in a worker."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from app.studio.workers.base import WorkerThread
from app.studio.workers.scene_io import ImportWorker
from devices.importers import ImportOptions


class ImportJob(QObject):
    """Signals: started(str source); detected(str format); progress(done, total or -1); finished(Path scene); error(str)."""

    started = pyqtSignal(str)
    detected = pyqtSignal(str)
    progress = pyqtSignal(int, int)
    finished = pyqtSignal(Path)
    error = pyqtSignal(str)

    def __init__(self, imports_dir: Path) -> None:
        super().__init__()
        self.imports_dir = Path(imports_dir)
        self._job: WorkerThread | None = None

    @property
    def busy(self) -> bool:
        return self._job is not None and self._job.is_running()

    def out_path(self, source: Path) -> Path:
        stem = source.stem if source.is_file() else source.name
        out, n = self.imports_dir / stem, 1
        while out.exists():
            n += 1
            out = self.imports_dir / f"{stem}-{n}"
        return out

    def start(self, source: Path, options: ImportOptions | None = None) -> Path | None:
        if self.busy:
            self.error.emit("an import is already running")
            return None
        out = self.out_path(Path(source))
        worker = ImportWorker(Path(source), out, options or ImportOptions())
        worker.detected.connect(self.detected)
        worker.progress.connect(self.progress)
        worker.finished.connect(self.finished)
        worker.failed.connect(self.error)
        self._job = WorkerThread(worker, "import").start()
        self.started.emit(str(source))
        return out

    def shutdown(self) -> None:
        """Wait for a running import (importers write atomically, so stopping early leaves nothing behind)."""
        if self._job is not None:
            self._job.stop(60_000)
            self._job = None
