"""Workers that read or write scene folders off the UI thread: loading a scene for display, and import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PyQt6.QtCore import pyqtSignal

from app.studio.workers.base import Worker
from devices.errors import InputError
from devices.frame import DepthKind
from devices.importers import ImportOptions, detect_format
from devices.scene_folder import SceneFolder, read_scene

THUMB_WIDTH = 96
"""Thumbnail width in pixels."""


@dataclass(frozen=True)
class SceneData:
    """A scene folder plus what the scene panel shows of it.

    Attributes:
        folder: the scene folder's metadata.
        thumbnails: uint8 [h, THUMB_WIDTH, 3] per frame.
        points: float32 [P, 3] world points from the depth (OpenCV world frame), P may be 0.
        colors: uint8 [P, 3] their colours.
    """

    folder: SceneFolder
    thumbnails: list[np.ndarray]
    points: np.ndarray
    colors: np.ndarray


def depth_points(depth: np.ndarray, rgb: np.ndarray, K: np.ndarray, c2w: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Unproject every ``stride``-th pixel with depth > 0 into world space.

    Args: depth float32 [H, W] metres (z); rgb uint8 [H, W, 3]; K [3, 3]; c2w [4, 4] OpenCV.
    Returns: points float32 [P, 3], colours uint8 [P, 3].
    """
    d = depth[::stride, ::stride]
    v, u = np.nonzero(d > 0)
    z = d[v, u].astype(np.float64)
    px, py = u * stride, v * stride
    cam = np.stack([(px - K[0, 2]) / K[0, 0] * z, (py - K[1, 2]) / K[1, 1] * z, z], axis=1)
    world = cam @ c2w[:3, :3].T + c2w[:3, 3]
    return world.astype(np.float32), rgb[py, px]


def load_scene_data(root: Path, max_cloud_frames: int = 12, max_points: int = 60_000) -> SceneData:
    """Read ``root`` (InputError if it is not a valid scene), make thumbnails and a point cloud."""
    folder = read_scene(root)
    thumbs: list[np.ndarray] = []
    pts, cols = [np.zeros((0, 3), np.float32)], [np.zeros((0, 3), np.uint8)]
    n = len(folder)
    cloud_ids = set(np.linspace(0, n - 1, min(n, max_cloud_frames)).round().astype(int).tolist())
    metric = folder.depth_kind is DepthKind.METRIC
    for i in range(n):
        rgb = folder.load_rgb(i)
        h = max(1, round(rgb.shape[0] * THUMB_WIDTH / rgb.shape[1]))
        thumbs.append(np.ascontiguousarray(cv2.resize(rgb, (THUMB_WIDTH, h), interpolation=cv2.INTER_AREA)))
        f = folder.frames[i]
        if i in cloud_ids and metric and f.c2w is not None and f.depth_path is not None:
            depth = folder.load_depth(i)
            stride = max(1, int(np.sqrt(depth.size * len(cloud_ids) / max_points)))
            p, c = depth_points(depth, rgb, f.intrinsics.K, f.c2w, stride)
            pts.append(p)
            cols.append(c)
    return SceneData(folder, thumbs, np.concatenate(pts), np.concatenate(cols))


class SceneLoadWorker(Worker):
    """Loads a scene folder for display; ``finished`` carries a SceneData."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)

    def work(self) -> SceneData:
        return load_scene_data(self.root)


class ImportWorker(Worker):
    """Runs the importer the CLI would pick for ``path`` (devices.importers.detect_format); ``finished`` carries the out Path.

    ``progress(done, total)`` is emitted as frames are imported (total -1 when unknown).
    """

    progress = pyqtSignal(int, int)
    detected = pyqtSignal(str)

    def __init__(self, path: Path, out: Path, options: ImportOptions) -> None:
        super().__init__()
        self.path, self.out, self.options = Path(path), Path(out), options

    def work(self) -> Path:
        fmt = detect_format(self.path)
        self.detected.emit(fmt.description)

        def progress(done: int, total: int | None) -> None:
            if self.stop_requested:  # importers write atomically: raising here leaves no half-written scene
                raise InputError(self.out, "import cancelled")
            self.progress.emit(done, -1 if total is None else total)

        fmt.run(self.path, self.out, self.options, progress)
        return self.out


class PoseWorker(Worker):
    """Estimates a scene's poses by RGB-D odometry (devices.poses, as `sparsenerf poses`) and rewrites it.

    ``progress(done, total or -1)`` while it works; ``finished(str)`` carries the one-line summary.
    """

    progress = pyqtSignal(int, int)

    def __init__(self, root: Path, train_views: int = 3) -> None:
        super().__init__()
        self.root, self.train_views = Path(root), train_views

    def work(self) -> str:
        from devices.poses import estimate_scene_poses

        def progress(done: int, total: int | None) -> None:
            self.progress.emit(done, -1 if total is None else total)

        _, result = estimate_scene_poses(self.root, progress=progress, train_views=self.train_views)
        return result.summary()
