"""Edge-aware depth upsampling and intrinsics scaling, with values worked out by hand."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from devices.iphone.upsample import UpsampleConfig, scale_intrinsics, upsample_depth, upsample_nearest


def step_scene(h: int = 12, w: int = 16, f: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Low-res depth [h, w] with a 1 m / 2 m step between columns w/2-1 and w/2, and a colour image
    [f*h, f*w] whose edge sits exactly at the same place (dark near half, bright far half)."""
    depth = np.ones((h, w), np.float32)
    depth[:, w // 2 :] = 2.0
    rgb = np.zeros((f * h, f * w, 3), np.uint8)
    rgb[:, : f * w // 2] = 40
    rgb[:, f * w // 2 :] = 200
    return depth, rgb


class TestUpsampleDepth:
    def test_constant_is_exact(self):
        rgb = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
        out = upsample_depth(np.full((10, 15), 1.234, np.float32), rgb)
        assert out.shape == (40, 60) and np.allclose(out, 1.234, atol=1e-6)

    def test_step_edge_has_no_flying_pixels(self):
        depth, rgb = step_scene()
        out = upsample_depth(depth, rgb)
        np.testing.assert_allclose(out[:, :32], 1.0, atol=1e-6)
        np.testing.assert_allclose(out[:, 32:], 2.0, atol=1e-6)
        # the check above can fail: bilinear resizing invents depths between 1 and 2 m at the edge
        lin = cv2.resize(depth, (64, 48), interpolation=cv2.INTER_LINEAR)
        assert np.any((lin > 1.01) & (lin < 1.99))

    def test_edge_without_colour_edge_still_not_mixed(self):
        depth, rgb = step_scene()
        out = upsample_depth(depth, np.full_like(rgb, 128))  # colour gives no hint
        assert np.all(np.isclose(out, 1.0, atol=1e-6) | np.isclose(out, 2.0, atol=1e-6))

    def test_smooth_ramp_is_smooth(self):
        ramp = np.tile(np.linspace(1.0, 1.15, 16, dtype=np.float32), (12, 1))  # 1 % steps: same surface
        out = upsample_depth(ramp, np.full((48, 64, 3), 128, np.uint8))
        assert np.all(np.diff(out, axis=1) >= -1e-6)  # monotone like the surface
        assert len(np.unique(np.round(out[0], 6))) > 16  # in-between values, not blocks

    def test_holes(self):
        depth = np.ones((6, 8), np.float32)
        depth[2:4, 3:5] = 0  # a hole of 2x2 samples is filled from valid neighbours
        depth[:, 0] = np.nan
        out = upsample_depth(depth, np.zeros((24, 32, 3), np.uint8))
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out[8:16, 12:20], 1.0, atol=1e-6)
        assert np.all(upsample_depth(np.zeros((6, 8), np.float32), np.zeros((24, 32, 3), np.uint8)) == 0)

    def test_shape_checked(self):
        with pytest.raises(ValueError, match="guide"):
            upsample_depth(np.ones((4, 4), np.float32), np.zeros((8, 8), np.uint8))

    def test_zero_tolerance_picks_one_sample(self):
        ramp = np.tile(np.linspace(1.0, 1.15, 16, dtype=np.float32), (12, 1))
        out = upsample_depth(ramp, np.full((48, 64, 3), 128, np.uint8), UpsampleConfig(depth_tolerance=0.0))
        assert set(np.round(np.unique(out), 5)) <= set(np.round(ramp[0], 5))


class TestScaleIntrinsics:
    def test_by_hand(self):
        K = np.array([[1000.0, 0, 959.5], [0, 1000.0, 719.5], [0, 0, 1]])
        out = scale_intrinsics(K, (1920, 1440), (256, 192))  # s = 2/15
        s = 256 / 1920
        np.testing.assert_allclose(out, [[1000 * s, 0, 127.5], [0, 1000 * s, 95.5], [0, 0, 1]])

    def test_pixel_centres_follow_cv2_resize(self):
        img = np.zeros((40, 60), np.float32)
        img[10, 30] = 1  # a single bright pixel at (u, v) = (30, 10)
        K = np.array([[50.0, 0, 30.0], [0, 50.0, 10.0], [0, 0, 1]])  # principal point on that pixel
        big = cv2.resize(img, (180, 120), interpolation=cv2.INTER_NEAREST)
        K3 = scale_intrinsics(K, (60, 40), (180, 120))
        ys, xs = np.nonzero(big)
        assert (xs.mean(), ys.mean()) == (K3[0, 2], K3[1, 2])


def test_upsample_nearest_matches_depth_mapping():
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = upsample_nearest(labels, (8, 6))
    np.testing.assert_array_equal(out, np.kron(labels, np.ones((2, 2), np.uint8)))
