"""nerf.rays: pixel -> ray for a known camera, with and without lens distortion."""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from nerf.rays import camera_directions, image_rays, pixel_rays

K = np.array([[100.0, 0.0, 50.0], [0.0, 200.0, 40.0], [0.0, 0.0, 1.0]])


class TestCameraDirections:
    def test_pixel_centres_with_unit_z(self):
        d = camera_directions(K, np.array([0, 39]), np.array([0, 49]))
        # pixel (row 0, col 0) has its centre at (0.5, 0.5): ((0.5 - 50) / 100, (0.5 - 40) / 200, 1)
        np.testing.assert_allclose(d[0], [-0.495, -0.1975, 1.0])
        # pixel (39, 49) centre (49.5, 39.5)
        np.testing.assert_allclose(d[1], [-0.005, -0.0025, 1.0])

    def test_distortion_undoes_the_lens(self):
        dist = np.array([-0.2, 0.05, 0.001, -0.002])
        cam_pts = np.array([[0.1, -0.2, 1.0], [-0.3, 0.15, 1.0]])
        proj, _ = cv2.projectPoints(cam_pts, np.zeros(3), np.zeros(3), K, dist)
        uv = proj[:, 0, :] - 0.5  # the pixel whose centre images that point
        d = camera_directions(K, uv[:, 1], uv[:, 0], dist)
        np.testing.assert_allclose(d, cam_pts, atol=1e-6)


class TestPixelRays:
    def test_known_pose(self):
        c2w = np.eye(4)
        c2w[:3, :3] = [[0, 0, 1], [0, 1, 0], [-1, 0, 0]]  # camera z (forward) -> world +x... rotated 90 deg about y
        c2w[:3, 3] = [1.0, 2.0, 3.0]
        rays = pixel_rays(K, c2w, np.array([39]), np.array([49]), 0.5, 4.0)
        # camera direction (-0.005, -0.0025, 1) -> world R @ d = (1, -0.0025, 0.005)
        torch.testing.assert_close(rays.directions[0], torch.tensor([1.0, -0.0025, 0.005]))
        torch.testing.assert_close(rays.origins[0], torch.tensor([1.0, 2.0, 3.0]))
        assert math.isclose(float(rays.viewdirs[0].norm()), 1.0, rel_tol=1e-6)
        # Mip-NeRF radius: one pixel at t = 1 is 1 / fx wide
        assert math.isclose(float(rays.radii[0, 0]), 2 / math.sqrt(12) / 100.0, rel_tol=1e-6)
        assert float(rays.near[0, 0]) == 0.5 and float(rays.far[0, 0]) == 4.0

    def test_t_is_depth_along_the_optical_axis(self):
        c2w = np.eye(4)
        rays = image_rays(K, c2w, 100, 80, 0.1, 10.0)
        assert len(rays) == 100 * 80
        pts = rays.origins + 2.5 * rays.directions
        torch.testing.assert_close(pts[:, 2], torch.full((8000,), 2.5))
