"""Multi-scale RGB-D odometry on per-frame pyramids built once (Open3D tensor API).

Open3D's ``rgbd_odometry_multi_scale`` rebuilds both frames' pyramids (vertex maps, normals,
gradients) on every call. A frame is registered against several others (its keyframe, fallbacks,
loop candidates), so we build its pyramid once (``Pyramid.build``) and run the per-level Gauss-Newton
steps ourselves (``compute_odometry_result_*``), coarsest level first, from a reduced resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from devices.poses.config import PoseConfig

DEPTH_HUBER = 0.05
INTENSITY_HUBER = 0.1


@dataclass
class Level:
    """One pyramid level (tensors are Open3D CPU tensors, [h, w, c] float32)."""

    K: Any
    """float64 [3, 3] intrinsics tensor at this level."""
    depth: Any
    """[h, w, 1] metres, NaN where unknown."""
    vertex: Any
    """[h, w, 3] camera-space points (NaN where unknown)."""
    intensity: Any
    """[h, w, 1] grey in [0, 1] (hybrid term only, else None)."""
    grad: tuple[Any, Any, Any, Any] | None
    """(depth dx, depth dy, intensity dx, intensity dy) Sobel images (target side of the hybrid term; else None)."""
    valid: int
    """Pixels with depth."""
    _normal: Any = None

    def normal(self) -> Any:
        """[h, w, 3] normals of the bilateral-smoothed depth: only a target frame needs them (keyframes,
        fallbacks, loop candidates), so they are computed on first use and kept."""
        if self._normal is None:
            import open3d as o3d

            dimg = o3d.t.geometry.Image(self.depth)
            self._normal = (dimg.filter_bilateral(5, 5, 10).create_vertex_map(self.K, float("nan"))
                            .create_normal_map(float("nan")).as_tensor())
        return self._normal


@dataclass
class Pyramid:
    """Every level a frame needs as an odometry source or target, finest first."""

    levels: list[Level]

    @staticmethod
    def build(gray: np.ndarray, depth: np.ndarray, K: np.ndarray, config: PoseConfig) -> Pyramid:
        """Pyramid of a working-resolution frame.

        Args:
            gray: float32 [H, W] in [0, 1]; depth: float32 [H, W] metres (0 = unknown); K: [3, 3].
        """
        import open3d as o3d

        core, Image = o3d.core, o3d.t.geometry.Image
        scale = min(1.0, config.odometry_width / depth.shape[1])
        d = np.where(depth > 0, depth, np.nan).astype(np.float32)
        g = np.asarray(gray, np.float32)
        K = np.asarray(K, np.float64).copy()
        hybrid = config.odometry_method == "hybrid"
        if scale < 1.0:
            size = (max(8, round(depth.shape[1] * scale)), max(8, round(depth.shape[0] * scale)))
            sx, sy = size[0] / depth.shape[1], size[1] / depth.shape[0]
            d = cv2.resize(d, size, interpolation=cv2.INTER_NEAREST)
            g = cv2.resize(g, size, interpolation=cv2.INTER_AREA)
            K = _scaled(K, sx, sy)
        levels = []
        for lv in range(len(config.iterations_per_level)):
            Kt = core.Tensor(K)
            dimg = Image(core.Tensor(np.ascontiguousarray(d[..., None])))
            intensity, grad = None, None
            if hybrid:  # the colour term's images; point-to-plane needs none of them
                gimg = Image(core.Tensor(np.ascontiguousarray(g[..., None])))
                (ddx, ddy), (gdx, gdy) = dimg.filter_sobel(3), gimg.filter_sobel(3)
                intensity = gimg.as_tensor()
                grad = (ddx.as_tensor(), ddy.as_tensor(), gdx.as_tensor(), gdy.as_tensor())
            levels.append(Level(Kt, dimg.as_tensor(), dimg.create_vertex_map(Kt, float("nan")).as_tensor(),
                                intensity, grad, int(np.count_nonzero(~np.isnan(d)))))
            if lv + 1 < len(config.iterations_per_level):
                d = _down_depth(d, config.max_depth_diff)
                if hybrid:
                    g = cv2.pyrDown(g)[: d.shape[0], : d.shape[1]]
                K = _scaled(K, 0.5, 0.5)
        return Pyramid(levels)


def _scaled(K: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Intrinsics [3, 3] of the image resized by (sx, sy), pixel centres kept in place."""
    out = K.copy()
    out[0, 0], out[1, 1] = K[0, 0] * sx, K[1, 1] * sy
    out[0, 2], out[1, 2] = (K[0, 2] + 0.5) * sx - 0.5, (K[1, 2] + 0.5) * sy - 0.5
    return out


def _down_depth(d: np.ndarray, max_diff: float) -> np.ndarray:
    """Half-size depth: the mean of each 2x2 block's values within ``max_diff`` of its top-left
    value (so no depths are averaged across an edge), NaN when that one is unknown."""
    h, w = d.shape[0] // 2 * 2, d.shape[1] // 2 * 2
    blocks = d[:h, :w].reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3).reshape(h // 2, w // 2, 4)
    ref = blocks[..., :1]
    close = np.abs(blocks - ref) <= max_diff
    with np.errstate(invalid="ignore"):
        out = np.nansum(np.where(close, blocks, 0.0), axis=2) / np.maximum(close.sum(axis=2), 1)
    out[np.isnan(ref[..., 0])] = np.nan
    return out.astype(np.float32)


@dataclass(frozen=True)
class OdometryOutcome:
    """Result of ``register``: T [4, 4] maps source points into the target camera; fitness is the
    inlier share of the source's valid pixels at the finest level; rmse is the inlier residual."""

    T: np.ndarray
    fitness: float
    rmse: float
    inliers: int
    converged: bool


def register(source: Pyramid, target: Pyramid, init: np.ndarray, config: PoseConfig) -> OdometryOutcome:
    """Coarse-to-fine Gauss-Newton (point-to-plane or hybrid term) from ``init`` (source -> target)."""
    import open3d as o3d

    od = o3d.t.pipelines.odometry
    T = o3d.core.Tensor(np.asarray(init, np.float64))
    res = None
    n_levels = len(source.levels)
    for lv, iters in zip(range(n_levels - 1, -1, -1), config.iterations_per_level):
        s, t = source.levels[lv], target.levels[lv]
        prev = None
        for _ in range(iters):
            try:
                if config.odometry_method == "hybrid":
                    res = od.compute_odometry_result_hybrid(
                        s.depth, t.depth, s.intensity, t.intensity, *t.grad, s.vertex, s.K, T,
                        config.max_depth_diff, DEPTH_HUBER, INTENSITY_HUBER)
                else:
                    res = od.compute_odometry_result_point_to_plane(
                        s.vertex, t.vertex, t.normal(), s.K, T, config.max_depth_diff, DEPTH_HUBER)
            except RuntimeError:  # Open3D raises when no pixel corresponds (frames that do not overlap)
                return OdometryOutcome(np.eye(4), 0.0, 0.0, 0, False)
            T = res.transformation @ T
            if prev is not None and abs(prev - res.fitness) < 1e-4 * max(prev, 1e-9):
                break
            prev = res.fitness
    M = T.numpy()
    if res is None or not np.all(np.isfinite(M)):
        return OdometryOutcome(np.eye(4), 0.0, 0.0, 0, False)
    fine = source.levels[0]
    h, w = fine.depth.shape[:2]
    inliers = int(round(res.fitness * h * w))
    return OdometryOutcome(M, inliers / max(1, fine.valid), float(res.inlier_rmse), inliers, True)


def information(source: Pyramid, target: Pyramid, T: np.ndarray, config: PoseConfig) -> np.ndarray:
    """float64 [6, 6] information matrix of a registration at the finest level (for the pose graph)."""
    import open3d as o3d

    s, t = source.levels[0], target.levels[0]
    depth = [o3d.t.geometry.Image(o3d.core.Tensor(np.nan_to_num(x.depth.numpy(), nan=0.0))) for x in (s, t)]
    info = o3d.t.pipelines.odometry.compute_odometry_information_matrix(
        depth[0], depth[1], s.K, o3d.core.Tensor(np.asarray(T, np.float64)), config.max_depth_diff, 1.0,
        config.depth_max)
    return np.asarray(info.numpy(), np.float64)
