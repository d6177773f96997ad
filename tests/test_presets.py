"""The faithful preset per data set, near/far annealing and the depth TV term."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from devices.frame import DepthKind
from nerf.presets import DepthTV, NearFarAnneal, anneal_near_far, apply_preset, faithful_config
from nerf.regnerf_tv import depth_tv_loss
from nerf.scene import Scene
from nerf.train_config import TrainConfig


def _scene(name: str, dataset: str, h: int = 30, w: int = 40) -> Scene:
    n = 2
    return Scene(name=name, images=np.zeros((n, h, w, 3), np.float32), K=np.tile(np.eye(3), (n, 1, 1)),
                 c2w=np.tile(np.eye(4), (n, 1, 1)), depths=None, depth_kind=DepthKind.RELATIVE,
                 train_ids=[0], test_ids=[1], near=0.5, far=3.5, dataset=dataset)


class TestFaithfulConfig:
    def test_dtu(self):
        p = faithful_config(_scene("scan24", "dtu"))
        assert (p.batch_rays, p.steps, p.rank_weight, p.cont_weight) == (256, 90_000, 0.2, 1.0)
        assert p.ranking_window == (30, 40) and p.downscale == 4 and p.depth_tv is not None
        assert faithful_config(_scene("scan38", "dtu")).ranking_window == (100, 100)

    def test_llff_windows(self):
        assert faithful_config(_scene("fern", "llff")).ranking_window == (30, 30)
        assert faithful_config(_scene("leaves", "llff")).ranking_window == (180, 180)
        assert faithful_config(_scene("horns", "llff")).ranking_window == (60, 60)
        p = faithful_config(_scene("room", "llff"))
        assert p.ranking_window == (30, 40)
        assert (p.batch_rays, p.steps, p.rank_weight, p.cont_weight, p.downscale) == (512, 90_000, 0.5, 0.01, 8)

    @pytest.mark.parametrize("dataset, window", [("nvs_kinect", (5, 5)), ("nvs_zed2", (30, 30)),
                                                 ("nvs_iphone", (30, 30))])
    def test_nvs_rgbd(self, dataset, window):
        p = faithful_config(_scene("s", dataset))
        assert (p.batch_rays, p.steps, p.rank_weight, p.cont_weight, p.ranking_window) == (512, 60_000, 0.5, 0.1, window)

    def test_apply_to_train_config(self):
        cfg = faithful_config(_scene("fern", "llff")).apply(TrainConfig())
        assert cfg.field == "mipnerf" and cfg.preset == "faithful" and cfg.budget.steps == 90_000
        o = cfg.optim
        assert o.lr == 2e-3 and o.lr * o.lr_final_ratio == pytest.approx(2e-5)
        assert o.lr_warmup_steps == 512 and o.grad_clip_value == 0.1 and o.grad_clip_norm == 0.1
        timed = faithful_config(_scene("fern", "llff")).apply(TrainConfig.from_flat(minutes=5.0))
        assert timed.budget.steps is None and timed.budget.minutes == 5.0
        assert apply_preset("faithful", _scene("fern", "llff"), TrainConfig.from_flat(steps=7)).budget.steps == 7
        assert apply_preset("faithful", _scene("fern", "llff"), cfg) == cfg  # idempotent (resume re-applies)
        with pytest.raises(ValueError, match="unknown preset"):
            apply_preset("fastest", _scene("fern", "llff"), TrainConfig())


def test_mipnerf_ray_shape_per_data_set():
    from nerf.presets import mipnerf_config

    assert mipnerf_config(_scene("fern", "llff")).ray_shape == "cylinder"
    assert mipnerf_config(_scene("s", "nvs_kinect")).ray_shape == "cylinder"
    assert mipnerf_config(_scene("scan24", "dtu")).ray_shape == "cone"


class TestAnneal:
    def test_dtu_by_hand(self):
        a = NearFarAnneal(256, 0.5, 0.5)
        assert anneal_near_far(0.0, 1.0, 0, a) == pytest.approx((0.25, 0.75))
        assert anneal_near_far(0.0, 1.0, 128, a) == pytest.approx((0.125, 0.875))
        assert anneal_near_far(0.0, 1.0, 1000, a) == pytest.approx((0.0, 1.0))

    def test_off(self):
        assert anneal_near_far(0.5, 3.5, 0, NearFarAnneal()) == (0.5, 3.5)


class TestDepthTV:
    def test_hand_value(self):
        d = torch.tensor([[[0.0, 1.0], [2.0, 3.0]]])
        assert depth_tv_loss(d).item() == pytest.approx(5.0)  # (0-1)^2 + (0-2)^2 at the one top-left pixel

    def test_flat_is_zero_and_gradient(self):
        d = torch.full((3, 8, 8), 2.0, requires_grad=True)
        loss = depth_tv_loss(d)
        loss.backward()
        assert loss.item() == 0.0 and torch.all(d.grad == 0)

    def test_weight_schedule(self):
        tv = DepthTV()
        assert tv.weight(0) == pytest.approx(400.0)
        assert tv.weight(256) == pytest.approx(math.sqrt(400 * 0.1))
        assert tv.weight(10_000) == pytest.approx(0.1)
