"""Metrics (PSNR, SSIM, depth error, LPIPS math) and the evaluation report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from devices.frame import DepthKind
from nerf import metrics
from nerf.evaluate import EvalReport, ViewMetrics, evaluate
from nerf.lpips import LPIPS, find_weights, load_lpips
from nerf.scene import Scene
from nerf.types import Camera, RenderResult


def _ssim_slow(x: np.ndarray, y: np.ndarray, win: int = 7) -> float:
    """Direct definition: every full window, sample statistics, per channel, then the channel mean."""
    c1, c2 = 0.01**2, 0.03**2
    per_channel = []
    for c in range(x.shape[2]):
        vals = []
        for i in range(x.shape[0] - win + 1):
            for j in range(x.shape[1] - win + 1):
                a = x[i : i + win, j : j + win, c].ravel()
                b = y[i : i + win, j : j + win, c].ravel()
                cov = np.cov(a, b)  # (N - 1) normalisation
                ua, ub = a.mean(), b.mean()
                vals.append((2 * ua * ub + c1) * (2 * cov[0, 1] + c2)
                            / ((ua**2 + ub**2 + c1) * (cov[0, 0] + cov[1, 1] + c2)))
        per_channel.append(np.mean(vals))
    return float(np.mean(per_channel))


class TestSSIM:
    def test_identical_is_one(self):
        img = np.random.default_rng(0).random((20, 24, 3))
        assert metrics.ssim(img, img) == pytest.approx(1.0)

    def test_constant_offset_worked_value(self):
        # Flat images: variances and covariance are 0, so SSIM = (2 a b + C1) / (a^2 + b^2 + C1).
        a, b = np.full((10, 10, 3), 0.5), np.full((10, 10, 3), 0.6)
        expect = (2 * 0.5 * 0.6 + 1e-4) / (0.25 + 0.36 + 1e-4)
        assert metrics.ssim(b, a) == pytest.approx(expect)
        assert expect == pytest.approx(0.983609, abs=1e-6)

    def test_matches_direct_per_window_implementation(self):
        rng = np.random.default_rng(1)
        x = rng.random((13, 15, 3))
        y = np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1)
        assert metrics.ssim(x, y) == pytest.approx(_ssim_slow(x, y), abs=1e-10)

    def test_too_small_image_raises(self):
        with pytest.raises(ValueError, match="smaller than"):
            metrics.ssim(np.zeros((5, 5, 3)), np.zeros((5, 5, 3)))


class TestPSNRAndDepth:
    def test_psnr_hand_value_and_mask(self):
        a = np.zeros((4, 4, 3))
        b = np.full((4, 4, 3), 0.1)  # MSE 0.01 -> 20 dB
        assert metrics.psnr(a, b) == pytest.approx(20.0)
        b[0, 0] = 1.0  # outside the mask, ignored
        mask = np.ones((4, 4), bool)
        mask[0, 0] = False
        assert metrics.psnr(a, b, mask) == pytest.approx(20.0)

    def test_one_psnr_formula_for_images_and_for_the_training_curves(self):
        """metrics.psnr_from_mse replaced losses.psnr (the curves: floored at 1e-12, 120 dB) and the formula inside
        metrics.psnr (images: inf when equal): the same bits as both."""
        import math

        for mse in (0.0, 1e-13, 1e-12, 3.7e-9, 0.0123456789, 0.5, 1.0, 2.0):
            assert metrics.psnr_from_mse(mse, metrics.MSE_FLOOR) == -10.0 * math.log10(max(mse, 1e-12))
            assert metrics.psnr_from_mse(mse) == (math.inf if mse == 0 else -10.0 * math.log10(mse))
        rng = np.random.default_rng(0)
        a, b = rng.random((5, 6, 3)), rng.random((5, 6, 3))
        assert metrics.psnr(a, b) == -10.0 * math.log10(float(((a - b) ** 2).mean()))

    def test_depth_errors_hand_values(self):
        sensor = np.array([[1.0, 2.0], [0.0, 4.0]])  # 0 = invalid
        pred = np.array([[1.1, 1.8], [9.0, 4.0]])
        abs_rel, rmse, n = metrics.depth_errors(pred, sensor)
        assert n == 3
        assert abs_rel == pytest.approx((0.1 / 1 + 0.2 / 2 + 0) / 3)
        assert rmse == pytest.approx(math.sqrt((0.01 + 0.04) / 3))


def _scene(n: int = 3, metric: bool = True) -> Scene:
    rng = np.random.default_rng(2)
    K = np.stack([np.array([[20.0 + k, 0, 8], [0, 20.0, 8], [0, 0, 1]]) for k in range(n)])
    return Scene(name="toy", images=rng.random((n, 16, 16, 3)).astype(np.float32), K=K,
                 c2w=np.tile(np.eye(4), (n, 1, 1)), depths=np.full((n, 16, 16), 2.0, np.float32),
                 depth_kind=DepthKind.METRIC if metric else DepthKind.RELATIVE, train_ids=[0],
                 test_ids=list(range(1, n)), near=0.5, far=4.0, to_metres=0.5 if metric else None,
                 masks=np.ones((n, 16, 16), bool))


class TestEvaluate:
    def test_perfect_render_report(self):
        scene = _scene()
        seen = []

        def render(cam: Camera) -> RenderResult:
            i = next(k for k in range(scene.num_views) if np.array_equal(cam.K, scene.K[k]))
            seen.append(i)
            rgb = np.round(scene.images[i] * 255).astype(np.uint8)
            # 4 scene units * to_metres 0.5 = 2 m = the sensor depth.
            return RenderResult(rgb=rgb, depth=np.full((16, 16), 4.0, np.float32),
                                acc=np.ones((16, 16), np.float32), camera=cam, step=7)

        progress = []
        report = evaluate(render, scene, on_view=lambda k, n: progress.append((k, n)))
        assert [v.view for v in report.views] == [1, 2] and progress == [(1, 2), (2, 2)]
        assert report.mean("ssim") > 0.999 and report.mean("psnr") > 50
        assert report.mean("depth_rmse_m") == pytest.approx(0.0, abs=1e-6)
        assert report.lpips_status.startswith("unavailable")
        assert "unavailable" in report.table()
        doc = json.loads(report.to_json())
        assert doc["mean"]["lpips"] is None and len(doc["views"]) == 2

    def test_non_metric_scene_has_note_and_no_depth_metrics(self):
        scene = _scene(metric=False)

        def render(cam):
            return RenderResult(rgb=np.zeros((16, 16, 3), np.uint8), depth=np.ones((16, 16), np.float32),
                                acc=np.ones((16, 16), np.float32), camera=cam, step=0)

        report = evaluate(render, scene)
        assert report.views[0].depth_rmse_m is None
        assert any("depth error" in n for n in report.notes)

    def test_infinite_psnr_is_null_in_json(self):
        report = EvalReport("s", 0, 8, 8, [ViewMetrics(view=0, psnr=math.inf, ssim=1.0)], "unavailable: x")
        assert json.loads(report.to_json())["views"][0]["psnr"] is None


class TestLPIPS:
    def test_missing_weights_is_none(self, tmp_path, monkeypatch):
        monkeypatch.delenv("SPARSENERF_LPIPS_WEIGHTS", raising=False)
        assert find_weights(None) is None and load_lpips(tmp_path) is None

    def test_distance_with_local_weight_files(self, tmp_path):
        from torchvision.models import vgg16

        torch.manual_seed(0)
        feats = vgg16(weights=None).features
        torch.save({f"features.{k}": v for k, v in feats.state_dict().items()}, tmp_path / "vgg16-test.pth")
        lin = {f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1) for k, c in enumerate((64, 128, 256, 512, 512))}
        torch.save(lin, tmp_path / "vgg.pth")
        net = load_lpips(tmp_path)
        assert isinstance(net, LPIPS)
        rng = np.random.default_rng(3)
        a, b = rng.random((32, 32, 3)), rng.random((32, 32, 3))
        assert net.distance(a, a) == pytest.approx(0.0, abs=1e-6)
        assert net.distance(a, b) > 0.0
