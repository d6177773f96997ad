"""One frame prepared for odometry, and one Open3D RGB-D odometry edge between two prepared frames.

Open3D is imported inside the functions that need it: it is slow to import and needs libusb.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from devices.frame import Frame
from devices.poses.config import PoseConfig


@dataclass
class PreparedFrame:
    """A frame at working resolution, with what keyframe selection and odometry need.

    Attributes:
        index: the frame's position in the input sequence.
        gray: float32 [h, w] intensity in [0, 1].
        depth: float32 [h, w] metres, 0 where unusable (out of range, NaN, negative).
        K: float64 [3, 3] intrinsics at working resolution.
        sharpness: variance of the Laplacian of the grey image.
        valid_depth: fraction of pixels with usable depth.
    """

    index: int
    gray: np.ndarray
    depth: np.ndarray
    K: np.ndarray
    sharpness: float
    valid_depth: float
    _rgbd: Any = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.gray.shape[1]), int(self.gray.shape[0])

    def rgbd(self) -> Any:
        """The Open3D RGBDImage (built once)."""
        if self._rgbd is None:
            import open3d as o3d

            self._rgbd = o3d.geometry.RGBDImage()
            self._rgbd.color = o3d.geometry.Image(np.ascontiguousarray(self.gray))
            self._rgbd.depth = o3d.geometry.Image(np.ascontiguousarray(self.depth))
        return self._rgbd

    def points(self, step: int = 8) -> np.ndarray:
        """float64 [M, 3] camera-space points of every ``step``-th pixel with depth."""
        d = self.depth[::step, ::step]
        v, u = np.nonzero(d > 0)
        z = d[v, u].astype(np.float64)
        u, v = u * step, v * step
        K = self.K
        return np.stack([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z], axis=1)


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian of a grey image [H, W] on a 0-255 scale (larger is sharper)."""
    return float(cv2.Laplacian(np.asarray(gray, dtype=np.float32), cv2.CV_32F).var())


def undistort(rgb: np.ndarray, depth: np.ndarray, K: np.ndarray, distortion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Resample colour [H, W, 3] (bilinear) and depth [H, W] (nearest, so no depths are blended
    across edges) from a distorted camera to the pinhole camera with the same ``K``.

    Depth stays z along the optical axis, which undistortion does not change; the pose of the
    pinhole camera is the pose of the original one.
    """
    h, w = depth.shape
    map1, map2 = _undistort_maps(K.tobytes(), distortion.ravel().tobytes(), w, h)
    return (cv2.remap(rgb, map1, map2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT),
            cv2.remap(depth, map1, map2, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT))


@functools.lru_cache(maxsize=4)
def _undistort_maps(K: bytes, distortion: bytes, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    Km = np.frombuffer(K, dtype=np.float64).reshape(3, 3)
    d = np.frombuffer(distortion, dtype=np.float64)
    return cv2.initUndistortRectifyMap(Km, d, None, Km, (w, h), cv2.CV_32FC1)


def prepare_frame(frame: Frame, config: PoseConfig) -> PreparedFrame:
    """Undistort ``frame`` (when it has distortion coefficients), downscale it to the working width,
    clean its depth and measure its sharpness.

    Non-finite, negative and out-of-range depth becomes 0 (unknown); a frame with no depth at all
    gets an all-zero depth map, so the caller can flag it rather than crash.
    """
    rgb, K = frame.rgb, np.asarray(frame.K, dtype=np.float64)
    depth = frame.depth if frame.depth is not None else np.zeros(rgb.shape[:2], np.float32)
    if frame.distortion is not None and np.any(np.asarray(frame.distortion) != 0):
        rgb, depth = undistort(rgb, np.asarray(depth, np.float32), K, np.asarray(frame.distortion, np.float64))
    w, h = frame.width, frame.height
    if config.working_width is not None and w > config.working_width:
        s = config.working_width / w
        nw, nh = config.working_width, max(1, round(h * s))
        sx, sy = nw / w, nh / h
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        depth = cv2.resize(np.asarray(depth, np.float32), (nw, nh), interpolation=cv2.INTER_NEAREST)
        K = K.copy()
        K[0, 0], K[1, 1] = K[0, 0] * sx, K[1, 1] * sy
        K[0, 2], K[1, 2] = (K[0, 2] + 0.5) * sx - 0.5, (K[1, 2] + 0.5) * sy - 0.5  # pixel centres stay put
    gray_u8 = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    d = np.asarray(depth, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(d) & (d >= config.depth_min) & (d <= config.depth_max)
    d = np.where(ok, d, 0.0).astype(np.float32)
    gray = gray_u8.astype(np.float32) / 255.0
    return PreparedFrame(frame.index, gray, d, K, sharpness(gray_u8), float(ok.mean()))


@dataclass(frozen=True)
class Edge:
    """One odometry measurement between two frames.

    Attributes:
        source, target: frame indices.
        T: float64 [4, 4] maps source-camera points into the target camera: ``inv(c2w_t) @ c2w_s``.
        information: float64 [6, 6] Open3D information matrix of the edge.
        success: Open3D's success flag.
        fitness: correspondences / valid depth pixels of the source.
        correspondences: inlier correspondences (diagonal translation entry of the information matrix).
        strength: smallest eigenvalue of ``information``.
    """

    source: int
    target: int
    T: np.ndarray
    information: np.ndarray
    success: bool
    fitness: float
    correspondences: int
    strength: float

    def accepted(self, min_fitness: float, min_correspondences: int) -> bool:
        return self.success and self.fitness >= min_fitness and self.correspondences >= min_correspondences


def odometry(source: PreparedFrame, target: PreparedFrame, init: np.ndarray, config: PoseConfig) -> Edge:
    """Multi-scale RGB-D odometry (Open3D, hybrid photometric + geometric term) from ``source`` to ``target``.

    Args:
        init: float [4, 4] initial guess of ``inv(c2w_target) @ c2w_source``.
    """
    import open3d as o3d

    if source.size != target.size:
        raise ValueError(f"frames {source.index} and {target.index} differ in size: {source.size} vs {target.size}")
    w, h = source.size
    K = source.K
    intr = o3d.camera.PinholeCameraIntrinsic(w, h, K[0, 0], K[1, 1], K[0, 2], K[1, 2])
    option = o3d.pipelines.odometry.OdometryOption(
        iteration_number_per_pyramid_level=o3d.utility.IntVector(list(config.iterations_per_level)),
        depth_diff_max=config.max_depth_diff, depth_min=config.depth_min, depth_max=config.depth_max,
    )
    ok, T, info = o3d.pipelines.odometry.compute_rgbd_odometry(
        source.rgbd(), target.rgbd(), intr, np.asarray(init, dtype=np.float64),
        o3d.pipelines.odometry.RGBDOdometryJacobianFromHybridTerm(), option,
    )
    T, info = np.asarray(T, dtype=np.float64), np.asarray(info, dtype=np.float64)
    ok = bool(ok) and bool(np.all(np.isfinite(T))) and bool(np.all(np.isfinite(info)))
    n_corr = int(round(info[5, 5])) if ok else 0
    n_valid = max(1, int(np.count_nonzero(source.depth)))
    strength = float(np.linalg.eigvalsh(0.5 * (info + info.T))[0]) if ok else 0.0
    return Edge(source.index, target.index, T if ok else np.eye(4), info if ok else np.eye(6), ok,
                n_corr / n_valid if ok else 0.0, n_corr, strength)
