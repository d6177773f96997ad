"""TSDF meshing on synthetic depth: what a minimum integration weight keeps, and depth denoising before fusion."""

from __future__ import annotations

import numpy as np
import pytest

from nerf.tsdf_mesh import DepthView, denoise_depth, fuse
from nerf.types import Camera

W, H, F = 64, 48, 60.0


def plane_view(x: float, depth: np.ndarray | float = 2.0) -> DepthView:
    """A camera at (x, 0, 0) looking down +z at the plane z = 2 (fronto-parallel: z-depth 2 everywhere)."""
    c2w = np.eye(4)
    c2w[0, 3] = x
    cam = Camera(K=np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1]]), c2w=c2w, width=W, height=H)
    d = np.broadcast_to(np.float32(depth), (H, W)) if np.isscalar(depth) else depth
    return DepthView(np.full((H, W, 3), 128, np.uint8), np.ascontiguousarray(d, np.float32), cam)


def test_min_weight_keeps_only_surfaces_seen_twice():
    # each view sees x in +-32/60*2 = +-1.07 m around its centre; the two overlap on [-0.47, 1.07]
    views = [plane_view(0.0), plane_view(0.6)]
    once = fuse(views, 0.04).vertices
    twice = fuse(views, 0.04, min_weight=2).vertices
    assert len(once) > len(twice) > 100
    for v in (once, twice):
        assert np.all(np.abs(v[:, 2] - 2.0) < 0.02)  # on the plane
    assert once[:, 0].min() < -0.9 and once[:, 0].max() > 1.5
    assert -0.55 < twice[:, 0].min() < -0.35 and 0.95 < twice[:, 0].max() < 1.15
    with pytest.raises(ValueError, match="min_weight"):
        fuse(views, 0.04, min_weight=0)


def noisy_step(rng: np.random.Generator, std: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Exact depth [H, W]: 3 m on the left half, 4 m on the right; and the same with noise and a hole."""
    exact = np.where(np.arange(W)[None, :] < W // 2, 3.0, 4.0) * np.ones((H, 1))
    noisy = (exact + rng.normal(0, std, exact.shape)).astype(np.float32)
    noisy[10:20, 5:15] = 0.0
    return exact, noisy


def test_denoise_depth_smooths_noise_but_not_edges_or_holes():
    exact, noisy = noisy_step(np.random.default_rng(0))
    out = denoise_depth(noisy)
    hole = noisy == 0
    assert np.all(out[hole] == 0) and np.all(out[~hole] > 2.9)  # holes stay holes and pull nothing towards 0
    err_before, err_after = np.abs(noisy - exact)[~hole], np.abs(out - exact)[~hole]
    assert np.median(err_after) < 0.5 * np.median(err_before)
    edge = out[:, W // 2 - 1: W // 2 + 1] - exact[:, W // 2 - 1: W // 2 + 1]
    assert np.max(np.abs(edge)) < 0.1  # the 1 m step is not blurred across
    assert denoise_depth(np.zeros((4, 4), np.float32)).max() == 0


def test_denoised_fusion_of_noisy_depth_is_closer_to_the_surface():
    rng = np.random.default_rng(1)
    views = [plane_view(x, 2.0 + rng.normal(0, 0.02, (H, W))) for x in (0.0, 0.3)]
    smooth = [DepthView(v.rgb, denoise_depth(v.depth), v.camera) for v in views]
    raw_err = np.abs(fuse(views, 0.02).vertices[:, 2] - 2.0)
    smooth_err = np.abs(fuse(smooth, 0.02).vertices[:, 2] - 2.0)
    assert np.mean(smooth_err < 0.01) > np.mean(raw_err < 0.01) + 0.2
