"""Rays of a scene's views and of free cameras, in the space its field trains in (metric or NDC)."""

from __future__ import annotations

import numpy as np
import torch

from nerf.fields.base import RayBatch
from nerf.rays import camera_directions, pixel_rays
from nerf.scene import Scene
from nerf.types import Camera


class SceneRays:
    """Makes RayBatches for ``scene`` on ``device``: metric rays with the scene's near/far, or NDC rays.

    NDC scenes use the NDC space of the first training view's intrinsics for every camera (the
    space is a property of the scene, not of the render size).
    """

    def __init__(self, scene: Scene, device: torch.device | str):
        self.scene, self.device = scene, torch.device(device)
        self.ndc_space = None
        if scene.ndc:
            from nerf.ndc import NDCSpace

            ref = scene.train_ids[0]
            self.ndc_space = NDCSpace.from_K(scene.K[ref], scene.width, scene.height)

    def view(self, i: int, ys: np.ndarray, xs: np.ndarray) -> RayBatch:
        """Rays through pixels (``ys``, ``xs``) [R] of scene view ``i`` (with its lens distortion)."""
        dist = None if self.scene.distortion is None else self.scene.distortion[i]
        return self._rays(self.scene.K[i], self.scene.c2w[i], ys, xs, dist)

    def camera(self, camera: Camera, ys: np.ndarray | None = None, xs: np.ndarray | None = None) -> RayBatch:
        """Rays of a pinhole ``camera``: the given pixels, or every pixel in row-major order."""
        if ys is None or xs is None:
            yy, xx = np.meshgrid(np.arange(camera.height), np.arange(camera.width), indexing="ij")
            ys, xs = yy.ravel(), xx.ravel()
        return self._rays(camera.K, camera.c2w, ys, xs, None)

    def _rays(self, K: np.ndarray, c2w: np.ndarray, ys: np.ndarray, xs: np.ndarray, dist: np.ndarray | None) -> RayBatch:
        s = self.scene
        if self.ndc_space is None:
            return pixel_rays(K, c2w, ys, xs, s.near, s.far, distortion=dist, device=self.device)
        from nerf.ndc import ndc_ray_batch

        rot = np.asarray(c2w[:3, :3])
        to = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=self.device)  # noqa: E731
        d = camera_directions(K, ys, xs, dist) @ rot.T
        d_dx = camera_directions(K, ys, np.asarray(xs) + 1, dist) @ rot.T
        o = np.broadcast_to(np.asarray(c2w[:3, 3]), d.shape)
        return ndc_ray_batch(to(o), to(d), to(d_dx), self.ndc_space)
