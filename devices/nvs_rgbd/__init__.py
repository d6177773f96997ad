"""NVS-RGBD (SparseNeRF's Kinect / ZED 2 / iPhone data set) and plain LLFF scenes as import formats.

Both are LLFF folders (``poses_bounds.npy`` + ``images*/``); NVS-RGBD adds ``depth_maps/``. An LLFF
scene imports without depth; ``sparsenerf depth SCENE --weights FILE`` adds the monocular prior.
"""

from __future__ import annotations

from pathlib import Path

from devices.importers.registry import ImportFormat, ImportOptions, ProgressFn, register
from devices.llff_format import DEPTH_DIR, POSES_FILE, image_folders
from devices.scene_folder import SceneFolder


def _is_llff_folder(path: Path) -> bool:
    try:
        return path.is_dir() and (path / POSES_FILE).is_file() and bool(image_folders(path))
    except OSError:
        return False


def _detect_nvs_rgbd(path: Path) -> bool:
    return _is_llff_folder(path) and (path / DEPTH_DIR).is_dir()


def _detect_llff(path: Path) -> bool:
    return _is_llff_folder(path) and not (path / DEPTH_DIR).exists()


def _run(with_depth: bool):
    def run(path: Path, out: Path, opts: ImportOptions, progress: ProgressFn | None) -> SceneFolder:
        from devices.nvs_rgbd.importer import import_llff_like

        return import_llff_like(path, out, every=opts.every, train_views=opts.train_views,
                                overwrite=opts.overwrite, with_depth=with_depth, progress=progress)

    return run


NVS_RGBD = register(ImportFormat(
    name="nvs-rgbd",
    description="NVS-RGBD scene (Azure Kinect, ZED 2 or iPhone: poses_bounds.npy, images*/, depth_maps/)",
    detect=_detect_nvs_rgbd,
    run=_run(with_depth=True),
))
LLFF = register(ImportFormat(
    name="llff",
    description="LLFF scene without depth (poses_bounds.npy + images*/); add depth with `sparsenerf depth`",
    detect=_detect_llff,
    run=_run(with_depth=False),
))
