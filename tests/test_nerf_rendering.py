"""nerf.rendering and nerf.sampling: weights, expected depth as the original, sampling invariants."""

from __future__ import annotations

import math

import torch

from nerf.rendering import accumulated_opacity, composite_rgb, expected_depth, volume_weights
from nerf.sampling import sample_pdf, stratified_edges

LN2 = math.log(2.0)


class TestExpectedDepth:
    def test_three_samples_by_hand(self):
        # edges 1..4 (mids 1.5, 2.5, 3.5), unit spacing; densities ln2, ln2, huge:
        # alpha = 0.5, 0.5, 1 -> w = 0.5, 0.25, 0.25; d = 0.5*1.5 + 0.25*2.5 + 0.25*3.5 = 2.25
        edges = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
        w = volume_weights(torch.tensor([[LN2, LN2, 1e4]]), edges, torch.ones(1, 1))
        torch.testing.assert_close(w, torch.tensor([[0.5, 0.25, 0.25]]), atol=1e-5, rtol=0)
        torch.testing.assert_close(expected_depth(w, edges), torch.tensor([2.25]), atol=1e-5, rtol=0)

    def test_normalised_by_the_accumulated_weight(self):
        # only the first sample has weight 0.5: d = 0.5 * 1.5 / 0.5 = 1.5 (not 0.75)
        edges = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
        w = volume_weights(torch.tensor([[LN2, 0.0, 0.0]]), edges, torch.ones(1, 1))
        torch.testing.assert_close(expected_depth(w, edges), torch.tensor([1.5]))
        torch.testing.assert_close(accumulated_opacity(w), torch.tensor([0.5]))

    def test_empty_ray_reports_far_without_nan_gradients(self):
        edges = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
        density = torch.zeros(1, 3, requires_grad=True)
        d = expected_depth(volume_weights(density, edges, torch.ones(1, 1)), edges)
        assert float(d.detach()) == 4.0
        d.sum().backward()
        assert torch.isfinite(density.grad).all()

    def test_direction_norm_scales_the_interval(self):
        # |d| = 2 doubles the arc length: alpha = 1 - exp(-ln2 * 2) = 0.75
        w = volume_weights(torch.tensor([[LN2]]), torch.tensor([[0.0, 1.0]]), torch.full((1, 1), 2.0))
        torch.testing.assert_close(w, torch.tensor([[0.75]]))


class TestComposite:
    def test_background_fills_the_rest(self):
        w = torch.tensor([[0.5, 0.25]])
        rgb = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
        torch.testing.assert_close(composite_rgb(w, rgb), torch.tensor([[0.5, 0.25, 0.0]]))
        torch.testing.assert_close(composite_rgb(w, rgb, background=1.0), torch.tensor([[0.75, 0.5, 0.25]]))


class TestSampling:
    def test_stratified_edges_span_near_far_and_are_sorted(self):
        near, far = torch.full((5, 1), 2.0), torch.full((5, 1), 6.0)
        t = stratified_edges(near, far, 4, randomized=False)
        torch.testing.assert_close(t[0], torch.tensor([2.0, 3.0, 4.0, 5.0, 6.0]))
        t = stratified_edges(near, far, 16, randomized=True, generator=torch.Generator().manual_seed(0))
        assert (t[:, 1:] >= t[:, :-1]).all() and (t >= 2.0).all() and (t <= 6.0).all()
        assert (t[:, 0] <= 2.125).all() and (t[:, -1] >= 5.875).all()  # ends move at most half a bin

    def test_pdf_samples_land_in_the_heavy_bin(self):
        edges = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
        weights = torch.tensor([[0.0, 1.0, 0.0]])
        t = sample_pdf(edges, weights, 63, randomized=False, padding=0.0)
        inner = t[0, 1:-1]
        assert ((inner >= 1.0) & (inner <= 2.0)).all()
        assert (t[:, 1:] >= t[:, :-1]).all()
