"""nerf.losses: ranking and continuity hinges with values worked out by hand."""

from __future__ import annotations

import torch

from nerf.losses import LossConfig, QuadIndices, continuity_loss, ranking_loss, sparsenerf_loss

D = torch.tensor([1.0, 2.0, 1.5, 0.5, 2.0])


def test_ranking_hinge():
    # pairs (near, far): (0, 1): 1 - 2 + 0.1 < 0 -> 0; (1, 3): 2 - 0.5 + 0.1 = 1.6 -> mean 0.8
    loss = ranking_loss(D, torch.tensor([0, 1]), torch.tensor([1, 3]), margin=0.1)
    torch.testing.assert_close(loss, torch.tensor(0.8))


def test_continuity_hinge():
    # |d0 - d2| - 0.1 = 0.4; |d1 - d4| - 0.1 < 0 -> 0: 0.4 + 0 = 0.4
    loss = continuity_loss(D, torch.tensor([0]), torch.tensor([2]), torch.tensor([1]), torch.tensor([4]), margin=0.1)
    torch.testing.assert_close(loss, torch.tensor(0.4))


def test_total_combines_the_weights():
    cfg = LossConfig(rank_weight=0.2, cont_weight=1.0, rank_margin=0.0, cont_margin=0.0, coarse_weight=0.1)
    rgb, target = torch.zeros(5, 3), torch.full((5, 3), 0.5)  # mse 0.25
    quads = QuadIndices(torch.tensor([1]), torch.tensor([0]), torch.tensor([4]), torch.tensor([2]))
    # rank = max(2 - 1, 0) = 1; cont = |2 - 2| + |1 - 1.5| = 0.5; coarse mse = 0.25
    terms = sparsenerf_loss(rgb, target, D, cfg, rgb_coarse=rgb, quads=quads)
    torch.testing.assert_close(terms.total, torch.tensor(0.25 + 0.1 * 0.25 + 0.2 * (1.0 + 1.0 * 0.5)))
    assert terms.as_floats()["rank"] == 1.0


def test_no_quadruples_means_no_depth_term():
    terms = sparsenerf_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2), LossConfig(), quads=None)
    assert terms.rank is None and float(terms.total) == 0.0


def test_distortion_loss_prefix_sums_match_the_double_sum():
    from nerf.losses import distortion_loss, distortion_loss_reference

    g = torch.Generator().manual_seed(0)
    w = torch.rand(7, 9, dtype=torch.float64, generator=g, requires_grad=True)
    edges = torch.sort(torch.rand(7, 10, dtype=torch.float64, generator=g), dim=-1).values
    fast, ref = distortion_loss(w, edges), distortion_loss_reference(w, edges)
    torch.testing.assert_close(fast, ref)
    torch.testing.assert_close(torch.autograd.grad(fast, w)[0], torch.autograd.grad(ref, w)[0])
    # one interval [0, 0.5] holding all the weight: 1/3 * 1 * 0.5
    one = distortion_loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.5, 1.0]]))
    torch.testing.assert_close(one, torch.tensor(0.5 / 3))
