"""Export worker: renders a camera path with the trained model into an MP4 (RGB | depth side by side),
through the same nerf.paths / nerf.video functions as `sparsenerf render`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PyQt6.QtCore import pyqtSignal

from app.studio.types import PATH_KINDS, VideoSettings
from app.studio.workers.base import Worker
from devices.errors import InputError
from nerf import Camera, RenderResult


def video_cameras(trainer: Any, s: VideoSettings) -> list[Camera]:
    """The cameras of the video (nerf.paths.camera_path) at ``s.scale`` times the scene's width."""
    from nerf import path_cameras

    if s.path not in PATH_KINDS:
        raise ValueError(f"unknown camera path {s.path!r}; choose one of {', '.join(PATH_KINDS)}")
    width = max(2, round(trainer.scene.width * s.scale))
    if s.path == "designed":
        if s.designed is None:
            raise InputError(None, "no camera path designed yet: add keyframes first")
        return replace(s.designed, fps=float(s.fps)).cameras(width=width)
    return path_cameras(trainer.scene, s.path, s.frames, width=width)


class ExportWorker(Worker):
    """``progress(done, total)`` and ``frameRendered(RenderResult)`` per frame; ``finished(Path)`` with the MP4. Cancelling leaves no file behind."""

    finished = pyqtSignal(Path)
    progress = pyqtSignal(int, int)
    frameRendered = pyqtSignal(RenderResult)

    def __init__(self, trainer: Any, settings: VideoSettings, out: Path, render_lock: Any) -> None:
        super().__init__()
        self.trainer, self.settings, self.out, self.render_lock = trainer, settings, Path(out), render_lock

    def _render(self, camera: Camera) -> RenderResult:
        with self.render_lock:
            result = self.trainer.render(camera)
        self.frameRendered.emit(result)
        return result

    def _progress(self, done: int, total: int) -> None:
        if self.stop_requested:
            raise InputError(self.out, "export cancelled")
        self.progress.emit(done, total)

    def work(self) -> Path:
        from nerf import legend_scale, render_video

        cameras = video_cameras(self.trainer, self.settings)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        # render_video writes to a temporary name and renames at the end: a cancel leaves no file
        render_video(self._render, cameras, self.out, fps=self.settings.fps, on_frame=self._progress,
                     metres_per_unit=legend_scale(self.trainer.scene))
        return self.out
