"""Geometry worker: a point cloud, a TSDF mesh or depth maps of the trained scene, through the same
nerf.geometry_export functions as `sparsenerf export`. Cancelling leaves no file behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtCore import pyqtSignal

from app.studio.types import GeometryRequest
from app.studio.workers.base import Worker
from devices.errors import InputError
from nerf import Camera, RenderResult


class GeometryWorker(Worker):
    """``progress(done, total)`` over the rendered views (and, for a mesh, the fused ones); ``frameRendered``
    with each view; ``finished(Path)`` with the file or folder."""

    finished = pyqtSignal(Path)
    progress = pyqtSignal(int, int)
    frameRendered = pyqtSignal(RenderResult)

    def __init__(self, trainer: Any, request: GeometryRequest, out: Path, render_lock: Any) -> None:
        super().__init__()
        self.trainer, self.request, self.out, self.render_lock = trainer, request, Path(out), render_lock
        self._total = 0

    def _render(self, camera: Camera) -> RenderResult:
        with self.render_lock:
            result = self.trainer.render(camera)
        self.frameRendered.emit(result)
        return result

    def _step(self, done: int) -> None:
        if self.stop_requested:
            raise InputError(self.out, "export cancelled")
        self.progress.emit(done, self._total)

    def work(self) -> Path:
        from nerf import geometry_export as ge
        from nerf import write_mesh

        s, kind = self.request.settings, self.request.kind
        cams = ge.export_cameras(self.trainer, s)
        n = len(cams)
        self._total = 2 * n if kind == "mesh" else n
        self.out.parent.mkdir(parents=True, exist_ok=True)
        rendered = ge.render_views(self.trainer, cams, on_view=lambda k, _n: self._step(k), render=self._render,
                                   depth_mode=s.depth_mode)
        if kind == "mesh":
            fused = iter(range(n + 1, 2 * n + 1))
            write_mesh(ge.mesh_from_rendered(rendered, s.min_acc, s.voxel, on_view=lambda: self._step(next(fused)),
                                             min_views=s.min_views), self.out)
        elif kind == "pointcloud":
            ge.write_point_cloud(*ge.point_cloud(rendered, s.min_acc, s.stride), self.out)
        else:
            ge.write_depth_maps(rendered, self.out, s.min_acc)
        return self.out
