"""Loaders: layout detection, DTU cameras and protocol split, scene-folder bounds, distortion and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from devices.errors import InputError
from devices.frame import DepthKind
from nerf.loaders import detect_layout, load_scene
from nerf.loaders.dtu import EXCLUDED_TEST, fit_intrinsics
from tests.conftest import shared_path
from tests.nerf_scenes import plane_scene


class TestDTU:
    def test_intrinsics_get_the_centre_crop(self):
        K = np.array([[2892.3, 0, 823.2], [0, 2883.2, 619.1], [0, 0, 1]])  # as stored for view 25
        fitted = fit_intrinsics(K, 384, 384)
        # cx: (823.2 - 200) * 384 / 1200 = 199.42; cy: 619.1 * 0.32 = 198.11; f * 0.32
        np.testing.assert_allclose(fitted[0], [2892.3 * 0.32, 0, 199.424], rtol=1e-6)
        np.testing.assert_allclose(fitted[1], [0, 2883.2 * 0.32, 198.112], rtol=1e-6)
        np.testing.assert_array_equal(fit_intrinsics(fitted, 384, 384), fitted)  # already fitted: unchanged

    def test_real_scan_protocol_and_geometry(self):
        scene = load_scene(shared_path("dtu_scan24"), downscale=4)
        assert scene.images.shape == (49, 96, 96, 3) and scene.depth_kind is DepthKind.RELATIVE
        assert scene.train_ids == [25, 22, 28]
        assert len(scene.test_ids) == 25 and not set(scene.test_ids) & set(EXCLUDED_TEST)  # the papers' 25 test views
        assert not set(scene.test_ids) & {25, 22, 28, 40, 44, 48, 0, 8, 13} and scene.test_ids[0] == 1
        # every camera looks at the unit sphere: the origin projects inside the image
        for K, c2w in zip(scene.K, scene.c2w):
            p = np.linalg.inv(c2w) @ np.array([0, 0, 0, 1.0])
            u, v = (K @ p[:3])[:2] / p[2]
            assert 0 < u < 96 and 0 < v < 96 and scene.near < p[2] < scene.far


class TestSceneFolder:
    def test_bounds_from_metric_depth_and_split(self, tmp_path):
        scene = load_scene(plane_scene(tmp_path / "s"))
        assert scene.near == pytest.approx(0.8 * 2.0) and scene.far == pytest.approx(1.2 * 2.0)
        assert scene.train_ids == [0, 2, 4] and scene.test_ids == [1, 3] and scene.ranking_window == (5, 5)

    def test_distortion_travels_with_the_scene(self, tmp_path):
        root = plane_scene(tmp_path / "s")
        doc = json.loads((root / "transforms.json").read_text())
        doc.update({"k1": -0.1, "k2": 0.01, "p1": 0.0, "p2": 0.0})
        (root / "transforms.json").write_text(json.dumps(doc))
        scene = load_scene(root)
        np.testing.assert_allclose(scene.distortion[0, :2], [-0.1, 0.01])

    def test_all_zero_training_depth_is_an_input_error(self, tmp_path):
        import cv2

        root = plane_scene(tmp_path / "s")
        cv2.imwrite(str(root / "depth" / "000000.png"), np.zeros((18, 24), np.uint16))
        with pytest.raises(InputError, match="no valid depth"):
            load_scene(root)


def test_unknown_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="is not a scene"):
        detect_layout(tmp_path)


class TestPixelCentres:
    """The virtual sensor's known geometry through the whole chain: sensor K (OpenCV) -> transforms.json
    (nerfstudio's convention) -> devices reader -> nerf loader -> nerf.rays."""

    def test_rays_of_a_loaded_capture_are_the_sensors_own(self, virtual_scenes):
        from devices.scene_folder import read_scene
        from devices.virtual import VirtualSensor, VirtualSensorConfig
        from devices.virtual.sensor import camera_rays
        from nerf.rays import image_rays

        root = virtual_scenes[0]
        sensor = VirtualSensor(VirtualSensorConfig(width=64, height=48, num_frames=8, seed=0))
        doc = json.loads((root / "transforms.json").read_text())
        # a centred principal point is W/2, H/2 in the file, as nerfstudio expects; (W-1)/2 in OpenCV's memory
        assert (doc["cx"], doc["cy"]) == pytest.approx((32.0, 24.0))
        np.testing.assert_allclose(read_scene(root).frames[0].intrinsics.K, sensor.K)
        scene = load_scene(root)
        for i in (0, 5):
            _, want = camera_rays(sensor.K, scene.c2w[i], 64, 48)
            rays = image_rays(scene.K[i], scene.c2w[i], 64, 48, scene.near, scene.far)
            np.testing.assert_allclose(rays.directions.numpy(), want, atol=1e-6)

    def test_format_1_files_hold_opencv_values(self, virtual_scenes, tmp_path):
        import shutil

        from devices.scene_folder import read_scene

        root = tmp_path / "old"
        shutil.copytree(virtual_scenes[0], root)
        doc = json.loads((root / "transforms.json").read_text())
        doc["sparsenerf"]["version"], doc["cx"], doc["cy"] = 1, 31.5, 23.5  # as format 1 wrote them
        (root / "transforms.json").write_text(json.dumps(doc))
        assert read_scene(root).frames[0].intrinsics.cx == pytest.approx(31.5)
        np.testing.assert_allclose(load_scene(root).K[0], load_scene(virtual_scenes[0]).K[0])
