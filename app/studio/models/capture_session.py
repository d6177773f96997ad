"""The capture session: which device is live, its latest frame, and the recording in progress."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from app.studio.device_catalog import DeviceEntry
from app.studio.workers.base import WorkerThread
from app.studio.workers.capture import CaptureWorker
from devices.capture import spread_split
from devices.frame import Frame, SourceInfo
from devices.scene_folder import SceneFolder


@dataclass
class RecordingStats:
    """Achieved frame rate and dropped frames of the recording in progress (updated per written frame).

    Dropped: frames the sensor numbered but never delivered (gaps in ``Frame.index``), or, for a
    sensor that never skips a number, the frames its nominal rate promised that have not come yet.
    """

    nominal_fps: float = 0.0
    count: int = 0
    t_first: float | None = None
    t_last: float | None = None
    first_index: int | None = None
    last_index: int | None = None
    clock: Callable[[], float] = time.monotonic

    def add(self, sensor_index: int | None) -> None:
        now = self.clock()
        self.count += 1
        if self.t_first is None:
            self.t_first, self.first_index = now, sensor_index
        self.t_last, self.last_index = now, sensor_index

    @property
    def fps(self) -> float:
        """Frames written per second since the first one (0 until there are two)."""
        if self.count < 2 or self.t_last is None or self.t_first is None or self.t_last <= self.t_first:
            return 0.0
        return (self.count - 1) / (self.t_last - self.t_first)

    @property
    def dropped(self) -> int:
        gaps = 0
        if self.first_index is not None and self.last_index is not None:
            gaps = max(0, self.last_index - self.first_index + 1 - self.count)
        late = 0
        if self.nominal_fps > 0 and self.t_first is not None:
            late = max(0, int((self.clock() - self.t_first) * self.nominal_fps) + 1 - self.count)
        return max(gaps, late)


class CaptureSession(QObject):
    """State of the capture panel. Actions: ``select``, ``start_live``, ``stop_live``, ``start_recording``, ``stop_recording``.

    Signals:
        devicesChanged(list[DeviceEntry]); deviceSelected(int)
        liveChanged(bool): the sensor stream started/stopped; sourceOpened(SourceInfo)
        frameArrived(Frame): the newest frame (frames are dropped, never queued, when the UI is busy)
        recordingChanged(bool); framesRecorded(int, list[int]): count and current keyframes
        recordingFinished(SceneFolder); error(str)
    """

    devicesChanged = pyqtSignal(list)
    deviceSelected = pyqtSignal(int)
    liveChanged = pyqtSignal(bool)
    sourceOpened = pyqtSignal(SourceInfo)
    frameArrived = pyqtSignal(Frame)
    recordingChanged = pyqtSignal(bool)
    framesRecorded = pyqtSignal(int, list)
    recordingFinished = pyqtSignal(SceneFolder)
    error = pyqtSignal(str)

    def __init__(self, captures_dir: Path, train_views: int = 3) -> None:
        super().__init__()
        self.captures_dir = Path(captures_dir)
        self.train_views = train_views
        self.devices: list[DeviceEntry] = []
        self.current = -1
        self.info: SourceInfo | None = None
        self.recording = False
        self.positions: list[np.ndarray] = []
        self.keyframes: list[int] = []
        self.last_scene: SceneFolder | None = None
        self.stats = RecordingStats()
        self._job: WorkerThread | None = None

    # ------------------------------------------------------------------ devices and live stream
    def set_devices(self, devices: list[DeviceEntry]) -> None:
        self.devices = list(devices)
        self.devicesChanged.emit(self.devices)

    def select(self, index: int) -> None:
        """Choose device ``index``; an available one starts streaming at once."""
        if index == self.current or not 0 <= index < len(self.devices):
            return
        self.stop_live()
        self.current = index
        self.deviceSelected.emit(index)
        if self.devices[index].available:
            self.start_live()

    @property
    def live(self) -> bool:
        return self._job is not None and self._job.is_running()

    def start_live(self) -> None:
        entry = self.devices[self.current]
        if self.live or entry.open_source is None:
            return
        worker = CaptureWorker(entry.open_source, self.train_views)
        worker.opened.connect(self._on_opened)
        worker.frameReady.connect(self._on_frame_ready)
        worker.recorded.connect(self._on_recorded)
        worker.recordingDone.connect(self._on_recording_done)
        worker.recordingFailed.connect(self._on_recording_failed)
        worker.failed.connect(self.error)
        worker.done.connect(self._on_worker_done)  # a bound method: runs on the UI thread (a lambda would not)
        self._job = WorkerThread(worker, f"capture-{entry.key}").start()
        self.liveChanged.emit(True)

    def stop_live(self) -> None:
        """Stop the stream (a recording in progress is committed first) and join the thread."""
        if self._job is None:
            return
        job = self._job
        job.stop()
        self._finish(job)

    # ------------------------------------------------------------------ recording
    def new_capture_path(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.captures_dir / f"capture-{stamp}"
        n = 1
        while path.exists():
            n += 1
            path = self.captures_dir / f"capture-{stamp}-{n}"
        return path

    def start_recording(self, out: Path | None = None) -> Path | None:
        if not self.live or self.recording or self._job is None:
            return None
        out = out or self.new_capture_path()
        self.positions, self.keyframes = [], []
        self.stats = RecordingStats(nominal_fps=self.info.fps if self.info is not None else 0.0)
        self.recording = True
        self._job.worker.start_recording(out)
        self.recordingChanged.emit(True)
        self.framesRecorded.emit(0, [])
        return out

    def stop_recording(self) -> None:
        if self.recording and self._job is not None:
            self._job.worker.stop_recording()

    # ------------------------------------------------------------------ worker signals (UI thread)
    def _on_opened(self, info: SourceInfo) -> None:
        self.info = info
        self.sourceOpened.emit(info)

    def _on_frame_ready(self) -> None:
        if self._job is None:
            return
        frame = self._job.worker.frames.take()
        if frame is not None:
            self.frameArrived.emit(frame)

    def _on_recorded(self, index: int, frame: Frame) -> None:
        if not self.stats.nominal_fps and self.info is not None:  # recording began before the source said its rate
            self.stats.nominal_fps = self.info.fps
        self.stats.add(frame.index)
        if frame.c2w is not None:
            self.positions.append(np.asarray(frame.c2w)[:3, 3])
        if len(self.positions) == index + 1 and index >= 1:
            self.keyframes, _ = spread_split(np.stack(self.positions), self.train_views)
        self.framesRecorded.emit(index + 1, list(self.keyframes))

    def _on_recording_done(self, scene: SceneFolder) -> None:
        self.recording = False
        self.last_scene = scene
        self.keyframes = list(scene.train_ids)
        self.framesRecorded.emit(len(scene), list(self.keyframes))
        self.recordingChanged.emit(False)
        self.recordingFinished.emit(scene)

    def _on_recording_failed(self, message: str) -> None:
        self.recording = False
        self.recordingChanged.emit(False)
        self.error.emit(message)

    def _on_worker_done(self) -> None:
        if self._job is not None and self._job.worker is self.sender():
            self._finish(self._job)  # else: an older stream, already handled

    def _finish(self, job: WorkerThread) -> None:
        if job is not self._job:
            return
        job.wait()
        self._job = None
        if self.recording:
            self.recording = False
            self.recordingChanged.emit(False)
        self.liveChanged.emit(False)
