"""devices.frame.check_shape and the shape checks at nerf's public entry points: a wrong shape is one
ValueError line naming the argument, the expected and the actual shape (never a deep broadcasting error)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from devices.frame import check_shape
from nerf import losses, metrics, rendering, sampling
from nerf.fields.base import RayBatch
from nerf.rays import camera_directions, points_at


class TestCheckShape:
    def test_matching_shapes_pass(self):
        check_shape("a", np.zeros((2, 3)), (2, 3))
        check_shape("a", torch.zeros(2, 3), (None, 3))
        check_shape("a", torch.zeros(4, 5, 3), (..., 3))
        check_shape("a", torch.zeros(3), (..., 3))  # "..." may stand for no axis at all
        check_shape("a", np.float64(1.0), ())

    @pytest.mark.parametrize(("shape", "expected", "shown"), [
        ((2, 4), (2, 3), "(2, 3)"),
        ((2, 3, 1), (None, 3), "(*, 3)"),
        ((3,), (..., 2, 3), "(..., 2, 3)"),
        ((5, 2), (..., 3), "(..., 3)"),
    ])
    def test_mismatch_names_argument_expected_and_actual(self, shape, expected, shown):
        with pytest.raises(ValueError) as info:
            check_shape("rgb", torch.zeros(shape), expected)
        assert str(info.value) == f"rgb: expected shape {shown}, got {shape}"

    def test_numpy_and_torch_read_the_same(self):
        for make in (np.zeros, torch.zeros):
            with pytest.raises(ValueError, match=r"got \(4, 4\)"):
                check_shape("c2w", make((4, 4)), (3, 3))


def _one_line_error(fn, *args, name: str, **kwargs) -> None:
    with pytest.raises(ValueError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{name}: expected shape"), msg


R, S = 4, 6
W, E = torch.rand(R, S), torch.rand(R, S + 1).sort(-1).values


class TestEntryPoints:
    def test_rendering(self):
        _one_line_error(rendering.alpha_from_density, torch.rand(R, S), torch.rand(R, S), torch.ones(R, 1), name="edges")
        _one_line_error(rendering.alpha_from_density, torch.rand(R, S), E, torch.ones(R), name="dir_norm")
        _one_line_error(rendering.weights_from_alpha, torch.rand(R), name="alpha")
        _one_line_error(rendering.composite_rgb, W, torch.rand(R, S, 4), name="rgb")
        _one_line_error(rendering.expected_depth, W, E[:, :-1], name="edges")

    def test_sampling(self):
        _one_line_error(sampling.stratified_edges, torch.zeros(R), torch.ones(R), 8, randomized=False, name="near")
        _one_line_error(sampling.stratified_edges, torch.zeros(R, 1), torch.ones(R + 1, 1), 8, randomized=False, name="far")
        _one_line_error(sampling.sample_pdf, E, torch.rand(R, S + 1), 8, randomized=False, name="edges")

    def test_rays(self):
        _one_line_error(camera_directions, np.eye(3), np.arange(3), np.arange(4), name="xs")
        _one_line_error(RayBatch, torch.zeros(R, 3), torch.zeros(R, 3), torch.zeros(R, 3), torch.zeros(R, 1),
                        torch.zeros(R), torch.ones(R, 1), name="near")
        rays = RayBatch(*(torch.zeros(R, c) for c in (3, 3, 3, 1, 1, 1)))
        _one_line_error(points_at, rays, torch.zeros(R + 1, S), name="t")

    def test_losses(self):
        _one_line_error(losses.rgb_loss, torch.rand(R, 3), torch.rand(R, 4), name="target")
        idx = torch.arange(3)
        _one_line_error(losses.ranking_loss, torch.rand(R), idx, torch.arange(2), 1e-4, name="far_idx")
        _one_line_error(losses.continuity_loss, torch.rand(R), idx, idx, idx, torch.arange(4), 1e-4, name="nb_far_idx")
        _one_line_error(losses.sparsenerf_loss, torch.rand(R, 3), torch.rand(R, 3), torch.rand(R, 1),
                        losses.LossConfig(), name="depth")
        _one_line_error(losses.distortion_loss, W, W, name="edges")

    def test_metrics(self):
        img = np.zeros((8, 8, 3))
        _one_line_error(metrics.psnr, img, np.zeros((8, 8)), name="gt")
        _one_line_error(metrics.psnr, img, img, np.ones((8, 7), bool), name="mask")
        _one_line_error(metrics.ssim, img, np.zeros((8, 9, 3)), name="gt")
        _one_line_error(metrics.depth_errors, np.ones((4, 4)), np.ones((4, 5)), name="sensor_m")

    def test_right_shapes_still_compute(self):
        assert rendering.expected_depth(W, E).shape == (R,)
        assert losses.distortion_loss(W, E).ndim == 0
        assert metrics.psnr(np.zeros((8, 8, 3)), np.zeros((8, 8, 3))) == float("inf")
