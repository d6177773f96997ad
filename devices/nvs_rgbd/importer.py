"""Import an NVS-RGBD scene (Kinect, ZED 2, iPhone) or a plain LLFF scene into a scene folder.

Poses come from ``poses_bounds.npy`` (converted to OpenCV axes by ``devices.llff_format``), the
split from the ``_train`` names (or, when no file has one, the LLFF every-8th protocol), and depth
from ``depth_maps/`` read as the original reads it: ``IMREAD_ANYDEPTH``, resized to the image.
Kinect depth is millimetres and becomes metres; ZED 2 and iPhone depth is disparity-like and is
kept as-is (DepthKind.INVERSE, stored with a per-frame scale).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from devices.errors import InputError
from devices.frame import DepthKind, Frame
from devices.llff_format import DEPTH_DIR, LLFFScene, llff_holdout_split, read_llff_scene
from devices.nvs_rgbd.sensors import SensorProfile, sensor_from_files, sensor_from_path
from devices.scene_folder import SceneFolder
from devices.scene_writer import SceneWriter

LLFF_FACTOR = 8  # the original trains LLFF at 1/8 resolution
LLFF_WINDOW = (30, 30)  # the authors' LLFF ranking window for most scenes
_ASPECT_TOLERANCE = 0.02  # depth and image aspect ratios may differ by rounding only


@dataclass(frozen=True)
class ImportPlan:
    """What will be imported, decided before anything is written."""

    scene: LLFFScene
    profile: SensorProfile | None
    """None for an LLFF scene without depth."""
    keep: list[int]
    """Indices (into ``scene.images``) of the frames to import, in order."""
    train_ids: list[int]
    test_ids: list[int]


def _detect_profile(root: Path) -> SensorProfile:
    named = sensor_from_path(root)
    if named is not None:
        return named
    depth_dir = root / DEPTH_DIR
    files = sorted(p for p in depth_dir.iterdir() if p.is_file())
    if not files:
        raise InputError(depth_dir, "is empty: an NVS-RGBD scene has one depth map per image")
    first = cv2.imread(str(files[0]), cv2.IMREAD_ANYDEPTH)
    return sensor_from_files(files, first is not None and first.dtype == np.uint16)


def plan_import(root: Path, every: int, train_views: int, with_depth: bool) -> ImportPlan:
    """Resolve files, sensor and split. Raises InputError before anything is written."""
    if not root.is_dir():
        raise InputError(root, "not a folder (an LLFF / NVS-RGBD scene is a folder with poses_bounds.npy)")
    profile = _detect_profile(root) if with_depth else None
    factor = profile.image_factor if profile else LLFF_FACTOR
    scene = read_llff_scene(root, factor=factor, with_depth=with_depth)
    n = len(scene.images)
    train, test = (scene.train_ids, scene.test_ids) if scene.train_ids else llff_holdout_split(n, train_views)
    keep = [i for i in range(n) if i % max(every, 1) == 0 or i in train]
    new_index = {old: new for new, old in enumerate(keep)}
    return ImportPlan(scene=scene, profile=profile, keep=keep,
                      train_ids=[new_index[i] for i in train if i in new_index],
                      test_ids=[new_index[i] for i in test if i in new_index])


def load_nvs_depth(path: Path, profile: SensorProfile, width: int, height: int) -> np.ndarray:
    """Depth map ``path`` as float32 [height, width]: metres (Kinect) or the raw disparity-like values.

    Resized like the original (bilinear for disparity-like maps; nearest for metric depth, so a
    hole never blends into a wrong distance). InputError for an undecodable map, an aspect ratio
    other than the image's, 8-bit Kinect depth, or a map without one valid pixel.
    """
    raw = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH)
    if raw is None or raw.ndim != 2:
        raise InputError(path, "cannot be decoded as a single-channel depth image")
    if profile.depth_kind is DepthKind.METRIC and raw.dtype != np.uint16:
        raise InputError(path, f"{profile.folder} depth must be a 16-bit PNG in millimetres, got {raw.dtype}")
    dh, dw = raw.shape
    if abs(dw / dh - width / height) > _ASPECT_TOLERANCE * width / height:
        raise InputError(path, f"depth is {dw}x{dh}, which does not fit its {width}x{height} image "
                               f"(aspect ratio {dw / dh:.3f} vs {width / height:.3f})")
    if profile.depth_kind is DepthKind.METRIC:
        if (dw, dh) != (width, height):
            raw = cv2.resize(raw, (width, height), interpolation=cv2.INTER_NEAREST)
        depth = raw.astype(np.float32) * np.float32(profile.metres_per_unit)
    else:
        depth = raw.astype(np.float32)
        if (dw, dh) != (width, height):
            depth = cv2.resize(depth, (width, height), interpolation=cv2.INTER_LINEAR)
    if not np.any(depth > 0):
        raise InputError(path, "has no valid depth (every pixel is 0)")
    return depth


def _load_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(path, "cannot be decoded as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _frame(plan: ImportPlan, i: int, index: int) -> Frame:
    """Frame ``i`` of the source scene, numbered ``index`` in the output."""
    scene, profile = plan.scene, plan.profile
    rgb = _load_rgb(scene.images[i])
    h, w = rgb.shape[:2]
    depth = None
    if profile is not None and scene.depth is not None:
        depth = load_nvs_depth(scene.depth[i], profile, w, h)
    near, far = (float(v) for v in scene.poses.bounds[i])
    return Frame(
        rgb=rgb, depth=depth, K=scene.poses.intrinsics(i, w, h).K, c2w=scene.poses.c2w[i],
        depth_kind=profile.depth_kind if profile else DepthKind.INVERSE, index=index,
        meta={"near": near, "far": far, "source_file": scene.images[i].name},
    )


def import_llff_like(path: Path, out: Path, *, every: int = 1, train_views: int = 3, overwrite: bool = False,
                     with_depth: bool = True, progress=None) -> SceneFolder:
    """Import an NVS-RGBD (``with_depth``) or LLFF scene folder ``path`` into the scene folder ``out``.

    Nothing is left at ``out`` when an error stops the import.
    """
    plan = plan_import(Path(path), every, train_views, with_depth)
    profile, scene = plan.profile, plan.scene
    extra = {
        "source_format": "nvs-rgbd" if profile else "llff",
        "source": str(Path(path).resolve()),
        "image_folder": scene.images[0].parent.name,
        "bounds": [float(scene.poses.bounds[:, 0].min()), float(scene.poses.bounds[:, 1].max())],
    }
    with SceneWriter(out, sensor=profile.sensor if profile else "llff",
                     depth_kind=profile.depth_kind if profile else DepthKind.INVERSE,
                     ranking_window=profile.ranking_window if profile else LLFF_WINDOW,
                     extra=extra, overwrite=overwrite) as writer:
        for n, i in enumerate(plan.keep):
            writer.add(_frame(plan, i, n), name=scene.images[i].stem)
            if progress is not None:
                progress(n + 1, len(plan.keep))
        writer.set_split(plan.train_ids, plan.test_ids)
        return writer.commit()
