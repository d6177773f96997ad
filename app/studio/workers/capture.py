"""Capture worker: streams a FrameSource for the live view and records it on request."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import pyqtSignal

from app.studio.workers.base import Worker
from devices.capture import record
from devices.frame import Frame, FrameSource, SourceInfo
from devices.scene_folder import SceneFolder
from nerf import LatestSlot


class CaptureWorker(Worker):
    """Opens the source, puts every frame in ``frames`` (latest only) and records when asked.

    Signals: ``opened(SourceInfo)``; ``frameReady()`` when ``frames`` goes from empty to full;
    ``recorded(index, Frame)`` for each frame written; ``recordingDone(SceneFolder)`` or
    ``recordingFailed(str)`` at the end of a recording. The recording uses devices.capture.record,
    the same function as ``sparsenerf capture``.
    """

    finished = pyqtSignal(SourceInfo)
    opened = pyqtSignal(SourceInfo)
    frameReady = pyqtSignal()
    recorded = pyqtSignal(int, Frame)
    recordingDone = pyqtSignal(SceneFolder)
    recordingFailed = pyqtSignal(str)

    def __init__(self, make_source: Callable[[], FrameSource], train_views: int = 3) -> None:
        super().__init__()
        self.make_source = make_source
        self.train_views = train_views
        self.frames: LatestSlot[Frame] = LatestSlot()
        self._lock = threading.Lock()
        self._record_to: Path | None = None
        self._stop_recording = threading.Event()

    def start_recording(self, out: Path) -> None:
        """Thread-safe: record into ``out`` from the next frame on."""
        with self._lock:
            self._record_to = Path(out)
        self._stop_recording.clear()

    def stop_recording(self) -> None:
        """Thread-safe: end the current recording after the frame being written."""
        self._stop_recording.set()

    def _take_request(self) -> Path | None:
        with self._lock:
            out, self._record_to = self._record_to, None
            return out

    def _show(self, frame: Frame) -> None:
        if self.frames.put(frame):
            self.frameReady.emit()

    def work(self) -> SourceInfo:
        with self.make_source() as source:
            self.opened.emit(source.info)
            while not self.stop_requested:
                out = self._take_request()
                if out is not None:
                    self._record(source, out)
                    continue
                ended = True
                for frame in source:
                    self._show(frame)
                    if self.stop_requested or self._record_to is not None:
                        ended = False
                        break
                if ended:  # a finite source (recording) ended: nothing more to show
                    break
            return source.info

    def _record(self, source: FrameSource, out: Path) -> None:
        def on_frame(i: int, frame: Frame) -> None:
            self._show(frame)
            self.recorded.emit(i, frame)

        def should_stop() -> bool:
            return self.stop_requested or self._stop_recording.is_set()

        try:
            scene = record(source, out, train_views=self.train_views, on_frame=on_frame, should_stop=should_stop)
        except Exception as exc:  # noqa: BLE001 - reported to the user; the live view goes on
            self.recordingFailed.emit(str(exc))
        else:
            self.recordingDone.emit(scene)
