"""Workers that read or write scene folders off the UI thread: loading a scene for display, and import."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PyQt6.QtCore import pyqtSignal

from app.studio.types import SceneData, SplitResult
from app.studio.workers.base import Worker
from devices.errors import InputError
from devices.frame import DepthKind
from devices.importers import ImportOptions, detect_format
from devices.scene_folder import TRANSFORMS, Intrinsics, SceneFolder, SceneFrame, read_scene

THUMB_WIDTH = 96
"""Thumbnail width in pixels."""


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


def split_reasons(root: Path, folder: SceneFolder) -> dict[int, str]:
    """transforms.json's ``"sparsenerf": {"split_reasons": {file_path: reason}}`` by frame index (may be empty)."""
    try:
        doc = json.loads((Path(root) / TRANSFORMS).read_text())
        table = doc.get("sparsenerf", {}).get("split_reasons", {})
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(table, dict):
        return {}
    by_path = {f.image_path: i for i, f in enumerate(folder.frames)}
    return {by_path[k]: str(v) for k, v in table.items() if k in by_path and isinstance(v, str)}


def load_dataset_data(root: Path) -> SceneData:
    """A benchmark scene that `sparsenerf train` reads but that is no scene folder (DTU's cameras.npz):
    loaded with nerf.loaders exactly as training will load it, shown read-only (no point cloud: its
    depth is not metric)."""
    from nerf import detect_layout, load_scene

    layout = detect_layout(root)
    scene = load_scene(root)
    frames = []
    for i in range(scene.num_views):
        frames.append(SceneFrame(image_path=f"view {i}", c2w=np.asarray(scene.c2w[i], np.float64),
                                 intrinsics=Intrinsics.from_K(scene.K[i], scene.width, scene.height)))
    folder = SceneFolder(root=Path(root), frames=frames, depth_kind=scene.depth_kind, sensor=layout,
                         ranking_window=tuple(scene.ranking_window), train_ids=list(scene.train_ids),
                         test_ids=list(scene.test_ids))
    thumbs = []
    for img in scene.images:
        h = max(1, round(img.shape[0] * THUMB_WIDTH / img.shape[1]))
        u8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
        thumbs.append(np.ascontiguousarray(cv2.resize(u8, (THUMB_WIDTH, h), interpolation=cv2.INTER_AREA)))
    empty = np.zeros((0, 3), np.float32)
    return SceneData(folder, thumbs, empty, empty.astype(np.uint8), dataset=layout)


def load_scene_data(root: Path, max_cloud_frames: int = 12, max_points: int = 60_000) -> SceneData:
    """Read ``root`` (InputError if it is not a valid scene), make thumbnails and a point cloud.
    A DTU scan (no transforms.json) is read by ``load_dataset_data``."""
    if not (Path(root) / TRANSFORMS).is_file() and is_dataset_scene(Path(root)):
        return load_dataset_data(Path(root))
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
    return SceneData(folder, thumbs, np.concatenate(pts), np.concatenate(cols), split_reasons(root, folder))


def is_dataset_scene(path: Path) -> bool:
    """A layout `sparsenerf train` reads directly that no importer converts: DTU (IDR / MonoSDF cameras.npz)."""
    return Path(path).is_dir() and (Path(path) / "cameras.npz").is_file()


class SceneLoadWorker(Worker):
    """Loads a scene folder for display; ``finished`` carries a SceneData."""

    finished = pyqtSignal(SceneData)

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)

    def work(self) -> SceneData:
        return load_scene_data(self.root)


class ImportWorker(Worker):
    """Runs the importer the CLI would pick for ``path`` (devices.importers.detect_format); ``finished`` carries the out Path.

    ``progress(done, total)`` is emitted as frames are imported (total -1 when unknown).
    """

    finished = pyqtSignal(Path)
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

    finished = pyqtSignal(str)
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


def automatic_split(folder: SceneFolder, k: int) -> SplitResult:
    """``k`` training views that together cover the most of the fused depth (devices.poses.coverage), each
    with its reason; a scene without metric depth gets views spread along the camera path instead.
    Reads every depth map: call it off the UI thread (SplitWorker)."""
    from devices.poses.coverage import coverage_or_spread_split

    chosen = coverage_or_spread_split(folder, k)
    return SplitResult(folder.root, list(chosen.train), list(chosen.test), dict(chosen.reasons))


class SplitWorker(Worker):
    """The automatic few-shot split (``automatic_split``); ``finished(SplitResult)``."""

    finished = pyqtSignal(SplitResult)

    def __init__(self, folder: SceneFolder, k: int) -> None:
        super().__init__()
        self.folder, self.k = folder, int(k)

    def work(self) -> SplitResult:
        return automatic_split(self.folder, self.k)
