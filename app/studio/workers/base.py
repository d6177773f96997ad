"""A worker QObject run in its own QThread, with a thread-safe stop flag."""

from __future__ import annotations

import logging
import threading
import traceback

from PyQt6.QtCore import QObject, Qt, QThread, pyqtSignal, pyqtSlot

from devices.errors import InputError, MissingDependencyError

log = logging.getLogger(__name__)

__all__ = ["Worker", "WorkerThread"]


class Worker(QObject):
    """Subclass and implement ``work()``; it runs on the worker's own thread.

    ``work()`` polls ``stop_requested`` between units of work. Its return value is emitted with
    ``finished``: ``object`` here, the one generic signal; each subclass whose result is used redeclares it
    with the result's type (``finished = pyqtSignal(SceneData)``). A user-facing error (InputError,
    MissingDependencyError) or any other exception is emitted as one line with ``failed``. ``done`` is
    emitted last in every case.
    """

    finished = pyqtSignal(object)
    failed = pyqtSignal(str)
    done = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Thread-safe: ask ``work()`` to end at its next check."""
        self._stop.set()

    def work(self) -> object:
        raise NotImplementedError

    @pyqtSlot()
    def run(self) -> None:
        try:
            result = self.work()
        except (InputError, MissingDependencyError) as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - the UI shows it instead of the thread dying silently
            log.error("worker %s failed:\n%s", type(self).__name__, traceback.format_exc())
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.finished.emit(result)
        finally:
            self.done.emit()


class WorkerThread:
    """Owns one QThread running one Worker; ``stop()`` asks the worker to end and joins the thread."""

    def __init__(self, worker: Worker, name: str) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # Direct: the QThread object lives on the UI thread, which may be blocked in wait() right now.
        worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> WorkerThread:
        self.thread.start()
        return self

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def stop(self, timeout_ms: int = 10_000) -> bool:
        """Request a stop and wait for the thread to finish; True when it has."""
        self.worker.request_stop()
        self.thread.quit()  # thread-safe; the event loop ends once work() has returned
        return self.wait(timeout_ms)

    def wait(self, timeout_ms: int = 10_000) -> bool:
        return bool(self.thread.wait(timeout_ms))
