"""One frame prepared for odometry (its pyramid built once), and one odometry edge between two frames.

Open3D is imported inside the functions that need it: it is slow to import and needs libusb.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
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
        config: the settings the pyramid and features are built with.
    """

    index: int
    gray: np.ndarray
    depth: np.ndarray
    K: np.ndarray
    sharpness: float
    valid_depth: float
    config: PoseConfig = field(default_factory=PoseConfig)
    _pyramid: Any = None
    _features: Any = None

    def pyramid(self) -> Any:
        """The odometry pyramid (``devices.poses.pyramid.Pyramid``), built on first use and kept."""
        if self._pyramid is None:
            from devices.poses.pyramid import Pyramid

            self._pyramid = Pyramid.build(self.gray, self.depth, self.K, self.config)
        return self._pyramid

    def features(self) -> Any:
        """ORB features for relocalisation (``devices.poses.relocalise.Features``), computed once."""
        if self._features is None:
            from devices.poses.relocalise import orb_features

            self._features = orb_features(self.gray, self.config)
        return self._features

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.gray.shape[1]), int(self.gray.shape[0])

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
    return PreparedFrame(frame.index, gray, d, K, sharpness(gray_u8), float(ok.mean()), config)


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


def odometry(source: PreparedFrame, target: PreparedFrame, init: np.ndarray, config: PoseConfig,
             *, with_information: bool = True) -> Edge:
    """Multi-scale odometry (``devices.poses.pyramid``: point-to-plane or hybrid term, from a reduced
    resolution) from ``source`` to ``target``, on pyramids each frame builds once.

    Args:
        init: float [4, 4] initial guess of ``inv(c2w_target) @ c2w_source``.
        with_information: compute the 6x6 information matrix (the pose graph's weight; tracking
            computes it only for the edges that join keyframes, ``with_information_of``).
    """
    from devices.poses.pyramid import information, register

    if source.size != target.size:
        raise ValueError(f"frames {source.index} and {target.index} differ in size: {source.size} vs {target.size}")
    out = register(source.pyramid(), target.pyramid(), init, config)
    ok = out.converged and out.inliers > 0
    info = np.eye(6)
    if ok and with_information:
        info = information(source.pyramid(), target.pyramid(), out.T, config)
    ok = ok and bool(np.all(np.isfinite(info)))
    strength = _strength(info) if ok and with_information else 0.0
    return Edge(source.index, target.index, out.T if ok else np.eye(4), info if ok else np.eye(6), ok,
                out.fitness if ok else 0.0, out.inliers if ok else 0, strength)


def with_information_of(e: Edge, source: PreparedFrame, target: PreparedFrame, config: PoseConfig) -> Edge:
    """``e`` with its information matrix (and strength) computed, for an edge that joins keyframes."""
    from dataclasses import replace

    from devices.poses.pyramid import information

    info = information(source.pyramid(), target.pyramid(), e.T, config)
    if not np.all(np.isfinite(info)):
        return e
    return replace(e, information=info, strength=_strength(info))


def _strength(info: np.ndarray) -> float:
    """How well an edge constrains its pose: the smallest eigenvalue of its (symmetrised) 6x6 information."""
    return float(np.linalg.eigvalsh(0.5 * (info + info.T))[0])
