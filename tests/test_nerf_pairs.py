"""nerf.pairs: ordering by depth kind, neighbour choice, batch layout, valid windows, sampler state."""

from __future__ import annotations

import numpy as np
import pytest

from devices.frame import DepthKind
from nerf.pairs import PairSampler, PairSamplerConfig, draw_neighbours, order_by_depth


class TestOrderByDepth:
    def test_metric_and_relative_smaller_is_nearer(self):
        a, b = np.array([1.0, 3.0, 2.0]), np.array([2.0, 2.0, 2.0])
        for kind in (DepthKind.METRIC, DepthKind.RELATIVE):
            np.testing.assert_array_equal(order_by_depth(a, b, kind), [True, False, True])

    def test_inverse_larger_is_nearer(self):
        a, b = np.array([1.0, 3.0]), np.array([2.0, 2.0])
        np.testing.assert_array_equal(order_by_depth(a, b, DepthKind.INVERSE), [False, True])


def _ramp(h: int = 40, w: int = 50) -> np.ndarray:
    """Depth that grows with the column: 1 + x / 10."""
    return np.tile(1.0 + np.arange(w, dtype=np.float32) / 10, (h, 1))


class TestNeighbours:
    def test_uniform_among_the_closest_ten_of_36(self):
        depth = np.full((12, 12), 100.0, np.float32)
        depth[6, 6] = 5.0  # the point; its 6x6 window is rows/cols 3..8
        close = [(3, 3), (3, 8), (8, 3), (8, 8), (4, 5), (5, 7), (7, 4), (6, 8), (3, 6)]  # 9 others, same depth
        for y, x in close:
            depth[y, x] = 5.0 + 0.01 * (y + x)
        depth[0, 0] = 5.0  # outside the window: never a candidate
        rng = np.random.default_rng(0)
        ys, xs = draw_neighbours(depth, np.full(4000, 6), np.full(4000, 6), rng)
        got = set(zip(ys.tolist(), xs.tolist()))
        assert got == set(close) | {(6, 6)}  # the 10 closest, the point itself included
        counts = np.unique(ys * 12 + xs, return_counts=True)[1]
        assert counts.min() > 300  # ~400 each: uniform

    def test_window_clipped_at_the_border(self):
        depth = np.arange(1, 145, dtype=np.float32).reshape(12, 12)
        rng = np.random.default_rng(1)
        ys, xs = draw_neighbours(depth, np.zeros(500, np.int64), np.zeros(500, np.int64), rng)
        # window rows/cols 0..2 (9 pixels) -> int(0.3 * 9) = 2 closest: (0, 0) itself and (0, 1)
        assert set(zip(ys.tolist(), xs.tolist())) == {(0, 0), (0, 1)}

    def test_invalid_pixels_are_never_neighbours(self):
        depth = np.ones((12, 12), np.float32)
        depth[4:9, 4:9] = 0.0
        depth[6, 6] = 1.0
        ys, xs = draw_neighbours(depth, np.full(300, 6), np.full(300, 6), np.random.default_rng(2))
        assert (depth[ys, xs] > 0).all()


class TestPairSampler:
    @pytest.mark.parametrize("kind", list(DepthKind))
    def test_quadruples_are_ordered_by_the_depth_kind(self, kind):
        depth = _ramp()[None].repeat(2, 0)
        sampler = PairSampler(depth, kind, [0, 1], PairSamplerConfig(window=(10, 10)), image_size=(40, 50), seed=3)
        b = sampler.ranking(512)
        dn, df = depth[0][b.ys[b.near_idx], b.xs[b.near_idx]], depth[0][b.ys[b.far_idx], b.xs[b.far_idx]]
        assert (dn >= df).all() if kind is DepthKind.INVERSE else (dn <= df).all()
        assert (dn != df).any()

    def test_sensor_depth_half_quadruples_half_random(self):
        sampler = PairSampler(_ramp()[None], DepthKind.METRIC, [0], PairSamplerConfig(), image_size=(40, 50))
        b = sampler.ranking(64)
        assert len(b) == 64 and b.num_quads == 8  # 64 // 8 quadruples = 32 rays + 32 uniform pixels
        np.testing.assert_array_equal(b.near_idx, [0, 4, 8, 12, 16, 20, 24, 28])
        np.testing.assert_array_equal(b.nb_far_idx, b.near_idx + 3)

    def test_monocular_depth_whole_batch_is_quadruples(self):
        sampler = PairSampler(_ramp()[None], DepthKind.RELATIVE, [0], PairSamplerConfig(), image_size=(40, 50))
        b = sampler.ranking(64)
        assert len(b) == 64 and b.num_quads == 16

    def test_points_come_from_windows_with_enough_valid_depth(self):
        depth = np.zeros((1, 40, 50), np.float32)
        depth[0, 30:32, 40:46] = 2.0  # 12 valid pixels: only windows covering most of them qualify
        sampler = PairSampler(depth, DepthKind.METRIC, [0], PairSamplerConfig(window=(6, 8)), image_size=(40, 50))
        b = sampler.ranking(80)
        quad = np.concatenate([b.near_idx, b.far_idx, b.nb_near_idx, b.nb_far_idx])
        assert (depth[0, b.ys[quad], b.xs[quad]] > 0).all()

    def test_no_window_with_enough_depth_is_an_error(self):
        depth = np.zeros((1, 40, 50), np.float32)
        depth[0, 0, :5] = 1.0
        cfg = PairSamplerConfig(window=(5, 5), max_redraws=20)
        with pytest.raises(ValueError, match="valid depth"):  # said when the sampler is made, not mid-training
            PairSampler(depth, DepthKind.METRIC, [0], cfg, image_size=(40, 50))

    def test_state_round_trip_replays_the_same_batch(self):
        sampler = PairSampler(_ramp()[None], DepthKind.RELATIVE, [0], PairSamplerConfig(), image_size=(40, 50), seed=7)
        sampler.ranking(32)
        state = sampler.state_dict()
        a = sampler.ranking(32)
        other = PairSampler(_ramp()[None], DepthKind.RELATIVE, [0], PairSamplerConfig(), image_size=(40, 50), seed=99)
        other.load_state_dict(state)
        b = other.ranking(32)
        np.testing.assert_array_equal(a.ys, b.ys)
        np.testing.assert_array_equal(a.xs, b.xs)
