"""LLFF and NVS-RGBD scenes (``poses_bounds.npy``, ``images*/``, ``depth_maps/``) as a forward-facing Scene.

Parsing and file naming are ``devices.llff_format``'s; this module loads the pixels, applies the
original's preprocessing and the per-sensor depth conventions of SparseNeRF:

- poses are scaled so that the nearest depth bound is 1 / 0.75 (LLFF's ``bd_factor``), then
  recentred so that the average camera is the identity in OpenCV axes (``nerf.ndc`` relies on it);
- depth maps are read as stored, resized bilinearly to the image size, 0 = invalid. Kinect: 16-bit
  millimetres -> metres (metric, smaller is nearer); ZED and iPhone: inverse depth / disparity
  (larger is nearer); LLFF ``depth_maps`` (monocular DPT output): inverse depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from devices import llff_format
from devices.camera_geometry import average_pose
from devices.errors import InputError
from devices.frame import DepthKind
from nerf.profiles import profile_for
from nerf.scene import Scene

BD_FACTOR = 0.75
"""LLFF's bound factor: the nearest bound lands at 1 / 0.75 scene units, beyond the NDC near plane 1."""


@dataclass(frozen=True)
class SensorConvention:
    """How one data set's depth maps and images are read.

    Attributes:
        dataset: Scene.dataset key: its ``nerf.profiles`` profile gives the authors' image downsampling
            and ranking window.
        depth_kind: meaning of the stored values.
        depth_scale: stored value * depth_scale = Scene.depths value.
    """

    dataset: str
    depth_kind: DepthKind
    depth_scale: float


CONVENTIONS = {
    "llff": SensorConvention("llff", DepthKind.INVERSE, 1.0),
    "kinect": SensorConvention("nvs_kinect", DepthKind.METRIC, 1e-3),
    "zed2": SensorConvention("nvs_zed2", DepthKind.INVERSE, 1.0),
    "iphone": SensorConvention("nvs_iphone", DepthKind.INVERSE, 1.0),
}
"""Per data set / sensor (sparsenerf.md: 'Data conventions of the original')."""


def detect_sensor(root: Path, depth_files: list[Path] | None) -> str:
    """'kinect', 'zed2', 'iphone' from the NVS-RGBD folder names (or iPhone depth names), else 'llff'."""
    for part in reversed([p.lower() for p in root.resolve().parts[-3:]]):  # nearest folder first
        for key, name in (("kinect", "kinect"), ("zed2", "zed"), ("iphone", "iphone")):
            if name in part:
                return key
    if depth_files and any("-depth" in p.stem for p in depth_files):
        return "iphone"
    return "llff"


def load_llff(
    root: str | Path,
    *,
    factor: int | None = None,
    n_train: int = 3,
    sensor: str | None = None,
    with_depth: bool | None = None,
) -> Scene:
    """Load an LLFF or NVS-RGBD scene folder.

    Args:
        root: the folder holding ``poses_bounds.npy``.
        factor: image downsampling factor; None = the authors' (LLFF and iPhone 8, Kinect and ZED 2).
        n_train: training views for the LLFF every-8th protocol, used when no file is named ``*_train``.
        sensor: 'llff', 'kinect', 'zed2' or 'iphone'; None = detect from the folder names.
        with_depth: read ``depth_maps/``; None = when the folder exists.

    Raises:
        InputError: missing/broken files, images of different sizes, a training view without valid depth.
    """
    root = Path(root)
    # Only the depth file names are needed here (sensor detection); images_N falls back to images/.
    probe = llff_format.read_llff_scene(root, factor=factor or 8, with_depth=with_depth)
    sensor = sensor or detect_sensor(root, probe.depth)
    if sensor not in CONVENTIONS:
        raise InputError(root, f"unknown sensor {sensor!r} (expected one of {', '.join(CONVENTIONS)})")
    conv = CONVENTIONS[sensor]
    profile = profile_for(conv.dataset)
    factor = factor or profile.downscale
    layout = llff_format.read_llff_scene(root, factor=factor, with_depth=with_depth)
    images = _read_images(layout.images, factor, llff_format.pick_image_folder(root, factor).factor)
    n, h, w, _ = images.shape
    K = np.stack([layout.poses.intrinsics(i, w, h).K for i in range(n)])
    try:
        c2w, bounds = normalise_poses(layout.poses.c2w, layout.poses.bounds)
        if not (np.isfinite(c2w).all() and np.isfinite(bounds).all()):
            raise ValueError("the poses do not survive LLFF's normalisation (values overflow): check the bounds")
    except ValueError as exc:
        raise InputError(root / llff_format.POSES_FILE, str(exc)) from None
    train_ids, test_ids = layout.train_ids, layout.test_ids
    if not train_ids:
        train_ids, test_ids = llff_format.llff_holdout_split(n, n_train)
    depths = None
    if layout.depth is not None:
        depths = np.stack([read_depth(p, (h, w)) * conv.depth_scale for p in layout.depth])
        for i in train_ids:
            if not np.any(depths[i] > 0):
                raise InputError(layout.depth[i], "has no valid depth (all zero or NaN): the ranking prior needs some")
    window = profile.window_for(root.name, (h, w))
    return Scene(
        name=root.name, images=images, K=K, c2w=c2w, depths=depths, depth_kind=conv.depth_kind,
        train_ids=list(train_ids), test_ids=list(test_ids), near=float(bounds.min()), far=float(bounds.max()),
        ndc=True, ranking_window=window or (h, w), source="llff" if sensor == "llff" else "nvs_rgbd",
        dataset=conv.dataset,
    )


def _read_images(paths: list[Path], factor: int, folder_factor: int | None) -> np.ndarray:
    """float32 [N, H, W, 3] in [0, 1]; downsampled by area when the folder is larger than ``factor`` asks."""
    out = []
    for p in paths:
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is None:
            raise InputError(p, "cannot be decoded as an image (truncated or not an image)")
        if folder_factor is not None and folder_factor != factor:
            scale = folder_factor / factor
            size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        if out and bgr.shape != out[0].shape:
            raise InputError(p, f"is {bgr.shape[1]}x{bgr.shape[0]} but the first image is "
                                f"{out[0].shape[1]}x{out[0].shape[0]}: all views must share one size")
        out.append(bgr)
    return np.stack([cv2.cvtColor(b, cv2.COLOR_BGR2RGB) for b in out]).astype(np.float32) / 255.0


def read_depth(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A depth map as stored (any bit depth, first channel), resized bilinearly to ``size`` (h, w).

    float32 [H, W]; NaN and negative values become 0 (invalid).
    """
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise InputError(path, "cannot be decoded as a depth image (truncated or not an image)")
    if raw.ndim == 3:
        raw = raw[..., 0]
    depth = raw.astype(np.float32)
    if depth.shape != size:
        depth = cv2.resize(depth, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    depth[~np.isfinite(depth) | (depth < 0)] = 0.0
    return depth


def normalise_poses(c2w: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LLFF's rescale (nearest bound -> 1 / 0.75) and recentring (average camera -> identity), OpenCV axes.

    Args:
        c2w: float64 [N, 4, 4] OpenCV camera-to-world. bounds: [N, 2] near/far depth bounds.
    Returns:
        (c2w [N, 4, 4], bounds [N, 2]) in the normalised world.
    """
    sc = 1.0 / (float(bounds.min()) * BD_FACTOR)
    c2w = c2w.copy()
    c2w[:, :3, 3] *= sc
    try:
        avg = average_pose(c2w)
    except ValueError as e:
        raise ValueError(f"{e}; this is not a forward-facing LLFF scene") from None
    return np.linalg.inv(avg)[None] @ c2w, bounds * sc
