"""LLFF / NVS-RGBD loader on folders built from real DTU frames, and the NDC map."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from torch.testing import assert_close

from devices.camera_geometry import average_pose
from devices.errors import InputError
from devices.frame import DepthKind
from nerf.loaders.llff import load_llff
from nerf.ndc import NDCSpace, ndc_ray_batch, ndc_rays, ndc_t_to_depth
from tests.conftest import shared_path
from tests.llff_samples import SIZE, build_sample


@pytest.fixture(scope="module")
def kinect_sample(tmp_path_factory):
    return build_sample(shared_path("dtu_scan24"), tmp_path_factory.mktemp("nvs") / "kinect" / "desk")


class TestNDC:
    SPACE = NDCSpace(fx=100.0, fy=80.0, cx=50.0, cy=40.0, width=100, height=80, near=1.0)

    def test_principal_ray_maps_depth_to_one_minus_near_over_z(self):
        o, d = ndc_rays(torch.zeros(1, 3), torch.tensor([[0.0, 0.0, 1.0]]), self.SPACE)
        assert_close(o, torch.tensor([[0.0, 0.0, -1.0]]))
        assert_close(d, torch.tensor([[0.0, 0.0, 2.0]]))
        for z in (1.0, 2.0, 4.0, 10.0):
            t = 1 - 1.0 / z  # by hand: z_ndc = 1 - 2 near / z = -1 + 2 t
            assert_close(o + t * d, torch.tensor([[0.0, 0.0, 1 - 2.0 / z]]))
            assert ndc_t_to_depth(t) == pytest.approx(z)

    def test_point_on_ray_projects_like_the_pinhole(self):
        # A ray from an off-axis origin; every point of it must land at its pinhole projection in NDC.
        origin = torch.tensor([[0.3, -0.2, 0.1]], dtype=torch.float64)
        direction = torch.tensor([[0.1, 0.05, 1.0]], dtype=torch.float64)
        o, d = ndc_rays(origin, direction, self.SPACE)
        for s in (1.5, 3.0, 7.0):
            p = origin[0] + s * direction[0]
            u, v = 100 * p[0] / p[2] + 50, 80 * p[1] / p[2] + 40  # pixels by hand
            expect = torch.tensor([2 * u / 100 - 1, 2 * v / 80 - 1, 1 - 2 / p[2]], dtype=torch.float64)
            t = 1 - 1.0 / p[2]
            assert_close((o + t * d)[0], expect)

    def test_batch_radii_are_pixel_spacing(self):
        # Reference camera: NDC origins of neighbouring pixels are 2 / W apart -> radius (2/W) 2/sqrt(12).
        d = torch.tensor([[0.0, 0.0, 1.0]])
        dx = torch.tensor([[1 / 100.0, 0.0, 1.0]])
        batch = ndc_ray_batch(torch.zeros(1, 3), d, dx, self.SPACE)
        assert batch.radii.item() == pytest.approx(2 / 100 * 2 / math.sqrt(12))
        assert batch.near.item() == 0.0 and batch.far.item() == 1.0


class TestLoadLLFF:
    def test_kinect_layout(self, kinect_sample):
        scene = load_llff(kinect_sample.root, factor=2)
        assert scene.dataset == "nvs_kinect" and scene.source == "nvs_rgbd" and scene.ndc
        assert scene.images.shape == (16, SIZE, SIZE, 3)
        assert scene.train_ids == [2, 7, 12] and len(scene.test_ids) == 13
        assert scene.depth_kind is DepthKind.METRIC and scene.ranking_window == (5, 5)
        # Stored uint16 'millimetres' -> metres, same pixel grid.
        assert_close(torch.from_numpy(scene.depths), torch.from_numpy(kinect_sample.depth_raw * 1e-3))
        expect = cv2.cvtColor(cv2.imread(str(kinect_sample.root / "images_2" / "view00.png")), cv2.COLOR_BGR2RGB)
        np.testing.assert_allclose(scene.images[0], expect / 255.0, atol=1e-6)

    def test_poses_rescaled_recentred_with_relative_geometry_kept(self, kinect_sample):
        scene = load_llff(kinect_sample.root, factor=2)
        sc = 1 / (kinect_sample.bounds.min() * 0.75)
        assert scene.near == pytest.approx(1 / 0.75)
        avg = average_pose(scene.c2w)
        np.testing.assert_allclose(avg, np.eye(4), atol=1e-9)
        a, b = kinect_sample.c2w[0], kinect_sample.c2w[5]
        rel_in = np.linalg.inv(a) @ b
        rel_out = np.linalg.inv(scene.c2w[0]) @ scene.c2w[5]
        np.testing.assert_allclose(rel_out[:3, :3], rel_in[:3, :3], atol=1e-9)
        np.testing.assert_allclose(rel_out[:3, 3], rel_in[:3, 3] * sc, atol=1e-9)

    def test_intrinsics_scale_with_factor(self, kinect_sample):
        s2, s1 = load_llff(kinect_sample.root, factor=2), load_llff(kinect_sample.root, factor=1)
        assert s1.images.shape[1] == 2 * SIZE
        np.testing.assert_allclose(s1.K[0, 0, 0], 2 * s2.K[0, 0, 0])
        assert s2.K[0, 0, 2] == SIZE / 2

    def test_every_8th_protocol_without_train_names(self, tmp_path):
        build_sample(shared_path("dtu_scan24"), tmp_path / "fern", sensor="llff", train_names=False)
        scene = load_llff(tmp_path / "fern", factor=2, n_train=3)
        # By hand: test = 0, 8; rest = 1..7, 9..15 (14 views); picks round(linspace(0, 13, 3)) = 0, 6(.5->6), 13.
        assert scene.test_ids == [0, 8]
        assert scene.train_ids == [1, 7, 15]
        assert scene.depths is None and scene.dataset == "llff" and scene.ranking_window == (30, 30)

    def test_iphone_and_zed_are_inverse(self, tmp_path):
        dtu = shared_path("dtu_scan24")
        build_sample(dtu, tmp_path / "iphone" / "s1", sensor="iphone")
        build_sample(dtu, tmp_path / "zed2" / "s1", sensor="zed2")
        ip, zed = load_llff(tmp_path / "iphone" / "s1", factor=2), load_llff(tmp_path / "zed2" / "s1", factor=2)
        assert ip.dataset == "nvs_iphone" and zed.dataset == "nvs_zed2"
        assert ip.depth_kind is DepthKind.INVERSE and zed.depth_kind is DepthKind.INVERSE
        assert ip.depths.shape == (16, SIZE, SIZE) and float(ip.depths.max()) > 0

    def test_leaves_window(self, tmp_path):
        build_sample(shared_path("dtu_scan24"), tmp_path / "leaves", sensor="llff")
        assert load_llff(tmp_path / "leaves", factor=2).ranking_window == (180, 180)

    def test_all_zero_training_depth_is_an_input_error(self, tmp_path):
        sample = build_sample(shared_path("dtu_scan24"), tmp_path / "kinect" / "z")
        cv2.imwrite(str(sample.root / "depth_maps" / "view07_train.png"), np.zeros((SIZE, SIZE), np.uint16))
        with pytest.raises(InputError, match="no valid depth"):
            load_llff(sample.root, factor=2)

    def test_truncated_image_is_an_input_error(self, tmp_path):
        sample = build_sample(shared_path("dtu_scan24"), tmp_path / "kinect" / "t")
        path = sample.root / "images_2" / "view03.png"
        path.write_bytes(path.read_bytes()[:40])
        with pytest.raises(InputError, match="cannot be decoded"):
            load_llff(sample.root, factor=2)
