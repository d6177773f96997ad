"""Which training views saw each pixel of a render: the per-pixel count of training views whose sensor
depth agrees with the rendered surface, and how finely the best of them sampled it.

Used by the videos (``nerf.video``): a pixel of a novel view that no training view saw, or that one saw
only from far away or at a grazing angle, shows texture the field had to invent or stretch along that
view's rays (the smeared strip at the left edge of the virtual room's ``interp`` video). Needs a scene
with metric sensor depth (``Scene.depths``, metres) and a render in scene units (not NDC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nerf.rays import pixel_points
from nerf.scene import Scene
from nerf.types import Camera

AGREE_REL = 0.05
"""A training view saw a surface point when its sensor depth there is within this fraction of the point's depth."""


@dataclass(frozen=True)
class Coverage:
    """Per pixel of a render [H, W]: ``views`` (int) training views that saw the rendered surface, and
    ``footprint`` (float) the ratio of the finest such view's pixel size on the surface to the render's own
    (1 = as fine, 3 = three times coarser: texture stretched; inf where no view saw it)."""

    views: np.ndarray
    footprint: np.ndarray


def has_sensor_depth(scene: Scene) -> bool:
    """True when ``coverage`` can be computed: metric sensor depth and scene units (not NDC)."""
    return scene.depths is not None and bool(scene.to_metres) and not scene.ndc


def surface_points(camera: Camera, depth: np.ndarray) -> np.ndarray:
    """World points [H, W, 3] of a depth map [H, W] (z along the optical axis, scene units) seen by ``camera``."""
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w]
    return pixel_points(camera.K, camera.c2w, v.ravel(), u.ravel(), depth.ravel()).reshape(h, w, 3)


def surface_normals(points: np.ndarray) -> np.ndarray:
    """Unit normals [H, W, 3] of a grid of points [H, W, 3] from central differences (edges: one-sided)."""
    du = np.gradient(points, axis=1)
    dv = np.gradient(points, axis=0)
    n = np.cross(du, dv)
    return n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)


def coverage(scene: Scene, camera: Camera, depth: np.ndarray, valid: np.ndarray,
             rel_tol: float = AGREE_REL) -> Coverage:
    """Coverage of a render by ``scene.train_ids``: ``depth`` [H, W] scene units along ``camera``'s axis,
    ``valid`` [H, W] bool (an opaque surface was rendered there). Invalid pixels get 0 views, inf footprint.

    A training view j counts at a pixel when the surface point projects inside view j, in front of it, and
    view j's sensor depth at that pixel (nearest pixel, metres / ``to_metres``) agrees within ``rel_tol``.
    The footprint compares the side of one pixel of view j on the surface with one of the render's
    (``_pixel_size``).
    """
    pts = surface_points(camera, np.where(valid, depth, 1.0))
    normals = surface_normals(pts)
    own = _pixel_size(pts, normals, camera.c2w, camera.K)
    views = np.zeros(depth.shape, np.int32)
    best = np.full(depth.shape, np.inf)
    for j in scene.train_ids:
        sensor = scene.depths[j] / scene.to_metres  # [h, w] scene units, 0 = no measurement
        w2c = np.linalg.inv(scene.c2w[j])
        local = pts @ w2c[:3, :3].T + w2c[:3, 3]
        z = local[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = scene.K[j][0, 0] * local[..., 0] / z + scene.K[j][0, 2]
            v = scene.K[j][1, 1] * local[..., 1] / z + scene.K[j][1, 2]
        hj, wj = sensor.shape
        inside = valid & (z > 0) & (u >= 0) & (u < wj) & (v >= 0) & (v < hj)
        col = np.clip(np.floor(np.nan_to_num(u)), 0, wj - 1).astype(np.int64)
        row = np.clip(np.floor(np.nan_to_num(v)), 0, hj - 1).astype(np.int64)
        seen_z = sensor[row, col]
        agree = inside & (seen_z > 0) & (np.abs(seen_z - z) <= rel_tol * np.abs(z))
        views += agree
        size = _pixel_size(pts, normals, scene.c2w[j], scene.K[j])
        best = np.where(agree, np.minimum(best, size), best)
    return Coverage(views=views, footprint=best / np.maximum(own, 1e-12))


def _pixel_size(pts: np.ndarray, normals: np.ndarray, c2w: np.ndarray, K: np.ndarray) -> np.ndarray:
    """[H, W] side of one pixel of the camera (c2w, K) on the surface at ``pts`` with ``normals``.

    A pixel at angle a off the axis spans a solid angle cos^3(a) / f^2; on a surface at range z / cos(a) tilted
    by t from the ray that is z^2 cos(a) / (f^2 cos(t)): side (z / f) sqrt(cos(a) / cos(t)) (z / f head-on).
    """
    to_cam = c2w[:3, 3] - pts
    dist = np.maximum(np.linalg.norm(to_cam, axis=-1), 1e-12)
    cos_t = np.maximum(np.abs(np.sum(to_cam * normals, -1)) / dist, 0.05)
    z = np.abs((pts - c2w[:3, 3]) @ c2w[:3, 2])
    return z / K[0, 0] * np.sqrt((z / dist) / cos_t)


UNSEEN_GREY = 170.0
"""The flat light grey unseen pixels are blended towards (reads as "no data", not as a shadow)."""


def unseen_weight(scene: Scene, camera: Camera, depth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """float32 [H, W] in [0, 1]: 1 where no training view saw the rendered surface (or nothing opaque was
    rendered), regions thinner than 5 pixels left out (depth edges, where the 5 % test fails on both sides of a
    silhouette), the border softened over ~2 pixels so the marking does not alias in a video."""
    import cv2

    unseen = (~valid | (coverage(scene, camera, depth, valid).views == 0)).astype(np.uint8)
    opened = cv2.morphologyEx(unseen, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(opened, (0, 0), 1.5), 0.0, 1.0)


def mark_unseen(rgb: np.ndarray, weight: np.ndarray, strength: float = 0.75) -> np.ndarray:
    """uint8 [H, W, 3]: ``rgb`` blended by ``strength`` x ``weight`` [H, W] towards a light, desaturated grey."""
    img = rgb.astype(np.float32)
    flat = 0.35 * img.mean(-1, keepdims=True) + 0.65 * UNSEEN_GREY
    w = strength * weight[..., None]
    return np.clip(img * (1 - w) + flat * w + 0.5, 0, 255).astype(np.uint8)
