"""What the three iPhone apps share: ARKit poses, low-res LiDAR depth + confidence, and the import loop.

Every app stores camera-to-world poses in ARKit's gravity-aligned world (y up), which we keep.
Record3D and Polycam keep ARKit's camera axes (x right, y up, looking down -z: the OpenGL
convention) and are converted to OpenCV exactly once (``arkit_c2w_to_opencv``, ``opengl_to_opencv``);
Stray Scanner writes OpenCV camera axes already (see ``stray.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from devices import validate
from devices.axes import is_rigid, opengl_to_opencv, quat_to_matrix
from devices.capture import commit_with_split
from devices.errors import InputError
from devices.frame import DepthKind, Frame, check_shape
from devices.importers.registry import ImportOptions, ProgressFn
from devices.iphone.upsample import UpsampleConfig, upsample_depth, upsample_nearest
from devices.scene_folder import SceneFolder
from devices.scene_writer import SceneWriter

SENSOR = "iphone"
RANKING_WINDOW = (30, 30)  # SparseNeRF's window for the NVS-RGBD iPhone scenes (sparsenerf.md)


@dataclass(frozen=True)
class IphoneConfig:
    """How phone depth becomes a Frame's depth."""

    min_confidence: int = 1
    """ARKit confidence is 0 (low), 1 (medium), 2 (high); depth with a lower confidence becomes 0."""
    upsample: UpsampleConfig = UpsampleConfig()
    """Edge-aware upsampling of the LiDAR depth to the colour resolution."""


def arkit_c2w_to_opencv(quat_xyzw: np.ndarray, position: np.ndarray) -> np.ndarray:
    """ARKit camera-to-world (quaternion + position, camera in OpenGL axes) -> OpenCV c2w [4, 4]."""
    c2w = np.eye(4)
    c2w[:3, :3] = quat_to_matrix(quat_xyzw)
    c2w[:3, 3] = position
    return opengl_to_opencv(c2w)


def check_pose(c2w: np.ndarray, where: Path | str, what: str) -> np.ndarray:
    """``c2w`` if it is a finite rigid transform within +-MAX_COORDINATE, else InputError naming ``where``."""
    if not is_rigid(c2w):
        raise InputError(where, f"{what} is not a finite rigid camera pose")
    if np.abs(c2w[:3, 3]).max() > validate.MAX_COORDINATE:
        raise InputError(where, f"{what} places the camera beyond +-{validate.MAX_COORDINATE:g}")
    return c2w


def check_intrinsics(K: np.ndarray, size: tuple[int, int], where: Path | str) -> None:
    """InputError unless ``K`` [3, 3] is a finite pinhole matrix that fits an image of ``size`` (w, h)."""
    w, h = size
    top = 100.0 * max(w, h)
    validate.number(K[0, 0], where, "fx", low=0.0, high=top, low_open=True)
    validate.number(K[1, 1], where, "fy", low=0.0, high=top, low_open=True)
    validate.number(K[0, 2], where, "cx", low=-10.0 * w, high=10.0 * w)
    validate.number(K[1, 2], where, "cy", low=-10.0 * h, high=10.0 * h)


def quaternion(q: np.ndarray, where: Path | str, what: str) -> np.ndarray:
    """``q`` (4 numbers) if finite and of a usable length (it is normalised later)."""
    q = validate.finite_array(q, where, what, (4,))
    if not 1e-3 < float(np.linalg.norm(q)) < 1e3:
        raise InputError(where, f"{what} is not a rotation quaternion (length {np.linalg.norm(q):.3g})")
    return q


def depth_frame(
    rgb: np.ndarray,
    depth_lr: np.ndarray,
    conf_lr: np.ndarray | None,
    K: np.ndarray,
    c2w: np.ndarray | None,
    config: IphoneConfig,
    *,
    index: int,
    timestamp: float,
    meta: dict | None = None,
) -> Frame:
    """A metric Frame at the colour resolution from low-res depth (metres) and confidence (0/1/2).

    Args:
        rgb: uint8 [H, W, 3]; K: float [3, 3] intrinsics of ``rgb``.
        depth_lr: float [h, w] metres, same field of view as ``rgb``; conf_lr: uint8 [h, w] or None.
    """
    check_shape("depth", depth_lr, (None, None))
    d = np.where(np.isfinite(depth_lr) & (depth_lr > 0), depth_lr, 0).astype(np.float32)
    if conf_lr is not None:
        d[conf_lr < config.min_confidence] = 0
    H, W = rgb.shape[:2]
    depth = upsample_depth(d, rgb, config.upsample)
    conf = None
    if conf_lr is not None:
        conf = upsample_nearest(conf_lr.astype(np.uint8), (W, H))
        depth[conf < config.min_confidence] = 0
    return Frame(rgb=rgb, depth=depth, K=np.asarray(K, dtype=np.float64), c2w=c2w, timestamp=timestamp,
                 depth_kind=DepthKind.METRIC, confidence=conf, index=index, meta=dict(meta or {}))


def check_aspect(depth_size: tuple[int, int], rgb_size: tuple[int, int], where: Path | str) -> None:
    """InputError unless depth (w, h) and colour (w, h) share a field of view (same aspect ratio, 1 %)."""
    dw, dh = depth_size
    w, h = rgb_size
    if dw <= 0 or dh <= 0 or abs(dw / dh - w / h) > 0.01 * (w / h) or dw > w:
        raise InputError(where, f"depth is {dw}x{dh}, which does not fit the {w}x{h} colour image "
                                "(expected a smaller image with the same aspect ratio)")


def write_import(
    frames: Iterator[Frame],
    total: int,
    out: Path,
    options: ImportOptions,
    progress: ProgressFn | None,
    extra: dict,
    source: Path | None = None,
) -> SceneFolder:
    """Write ``frames`` into the scene folder ``out`` atomically: any error leaves no OUT behind.

    Args:
        frames: the frames to keep (already thinned by ``options.every``), in capture order.
        total: how many frames ``frames`` yields (for progress).
        extra: capture metadata stored under transforms.json's "sparsenerf"/"capture".
        source: the recording, named when no frame has valid depth.
    """
    # keep_partial is off: SceneWriter discards its staging folder when a frame raises, so OUT never appears.
    with SceneWriter(Path(out), sensor=SENSOR, depth_kind=DepthKind.METRIC, ranking_window=RANKING_WINDOW,
                     extra=extra, overwrite=options.overwrite) as writer:
        with_depth = 0
        for frame in frames:
            with_depth += validate.has_valid_depth(frame.depth)
            writer.add(frame)
            if progress is not None:
                progress(len(writer), total)
        if len(writer) and not with_depth:
            raise InputError(source or out, "no frame has valid depth (every depth value is 0, or "
                                                            "below the confidence threshold)")
        return commit_with_split(writer, options.train_views)


def read_png_channel(path: Path, dtype: type) -> np.ndarray:
    """A single-channel PNG of ``dtype`` (uint16 depth in mm, uint8 confidence) [H, W]; InputError otherwise."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError(path, "missing or not a readable PNG")
    if img.ndim != 2 or img.dtype != dtype:
        raise InputError(path, f"must be a single-channel {np.dtype(dtype).name} PNG, got {img.dtype} {img.shape}")
    return img
