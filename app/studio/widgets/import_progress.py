"""The status bar's view of an import: busy while the format is detected, then frames done of total."""

from __future__ import annotations

from PyQt6.QtWidgets import QProgressBar, QStatusBar

from app.studio.models.import_job import ImportJob


class ImportProgress(QProgressBar):
    """View of an ImportJob in ``bar`` (a permanent widget of it): shown while the import runs."""

    def __init__(self, job: ImportJob, bar: QStatusBar) -> None:
        super().__init__()
        self.status = bar
        self.setMaximumWidth(240)
        self.hide()
        bar.addPermanentWidget(self)
        job.started.connect(self._on_started)
        job.detected.connect(lambda what: bar.showMessage(f"importing: {what}"))
        job.progress.connect(self._on_progress)
        job.finished.connect(lambda _out: self.hide())
        job.error.connect(self._on_failed)

    def _on_started(self, source: str) -> None:
        self.status.showMessage(f"importing {source} …")
        self.setRange(0, 0)  # busy until the importer counts its frames
        self.show()

    def _on_progress(self, done: int, total: int) -> None:
        self.setRange(0, max(total, 0))
        self.setValue(done)

    def _on_failed(self, message: str) -> None:
        self.hide()
        self.status.showMessage(f"import failed: {message}", 15_000)
