"""Azure Kinect calibration parsing (the SDK's conventions) and the lens model."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from devices.errors import InputError
from devices.kinect.calibration import DepthMode, load_calibration, parse_calibration
from devices.kinect.lens import project_normalized, ray_table, unproject_pixels
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def raw_json() -> dict:
    return json.loads(shared_path("kinect_pyk4a", "calibration.json").read_text())


@pytest.fixture(scope="module")
def calib():
    return load_calibration(shared_path("kinect_pyk4a", "calibration.json"))


def _params(doc: dict, location: str) -> list[float]:
    cam = next(c for c in doc["CalibrationInformation"]["Cameras"] if c["Location"] == location)
    return cam["Intrinsics"]["ModelParameters"]


class TestParse:
    def test_parameter_order_p2_before_p1(self, calib, raw_json):
        p = _params(raw_json, "CALIBRATION_CameraLocationPV0")
        c = calib.color
        assert (c.cx, c.cy, c.fx, c.fy) == (p[0], p[1], p[2], p[3])
        assert c.k == tuple(p[4:10])
        assert (c.codx, c.cody, c.p2, c.p1) == (p[10], p[11], p[12], p[13])
        # OpenCV's rational order is k1, k2, p1, p2, k3, k4, k5, k6
        np.testing.assert_array_equal(c.opencv_distortion, [p[4], p[5], p[13], p[12], p[6], p[7], p[8], p[9]])

    def test_metric_radius_zero_means_sdk_default(self, calib):
        assert calib.color.metric_radius == pytest.approx(1.7)  # the JSON says 0 for the colour camera
        assert calib.depth.metric_radius == pytest.approx(1.74, abs=1e-3)

    def test_extrinsics_in_millimetres(self, calib, raw_json):
        cam = next(c for c in raw_json["CalibrationInformation"]["Cameras"] if c["Location"].endswith("PV0"))
        R, t = calib.depth_to_color
        np.testing.assert_allclose(R, np.reshape(cam["Rt"]["Rotation"], (3, 3)))
        np.testing.assert_allclose(t, np.multiply(cam["Rt"]["Translation"], 1000.0))
        assert 25 < np.linalg.norm(t) < 40  # the colour camera sits ~32 mm from the depth camera

    def test_bad_json_names_the_file(self, tmp_path):
        bad = tmp_path / "calibration.json"
        bad.write_text("{not json")
        with pytest.raises(InputError, match="calibration.json"):
            load_calibration(bad)

    def test_missing_colour_camera(self, raw_json, tmp_path):
        doc = json.loads(json.dumps(raw_json))
        doc["CalibrationInformation"]["Cameras"] = [
            c for c in doc["CalibrationInformation"]["Cameras"] if c["Location"] != "CALIBRATION_CameraLocationPV0"
        ]
        with pytest.raises(InputError, match="PV0"):
            parse_calibration(json.dumps(doc), tmp_path / "rec.mkv")


class TestModes:
    def test_colour_720p_scales_crops_and_centres(self, calib, raw_json):
        cx, cy, fx, fy = _params(raw_json, "CALIBRATION_CameraLocationPV0")[:4]
        c = calib.for_modes(DepthMode.NFOV_UNBINNED, 720).color
        # 720p = the 4:3 sensor binned to 1280x960, 120 rows cropped top; then -0.5 for pixel centres
        assert c.fx == pytest.approx(fx * 1280)
        assert c.fy == pytest.approx(fy * 960)
        assert c.cx == pytest.approx(cx * 1280 - 0.5)
        assert c.cy == pytest.approx(cy * 960 - 120 - 0.5)
        assert (c.width, c.height) == (1280, 720)

    @pytest.mark.parametrize(
        ("mode", "binned", "crop", "size"),
        [
            (DepthMode.NFOV_UNBINNED, 1024, (192, 180), (640, 576)),
            (DepthMode.NFOV_2X2BINNED, 512, (96, 90), (320, 288)),
            (DepthMode.WFOV_2X2BINNED, 512, (0, 0), (512, 512)),
            (DepthMode.WFOV_UNBINNED, 1024, (0, 0), (1024, 1024)),
        ],
    )
    def test_depth_modes(self, calib, raw_json, mode, binned, crop, size):
        cx, cy, fx, fy = _params(raw_json, "CALIBRATION_CameraLocationD0")[:4]
        d = calib.for_modes(mode, 720).depth
        assert (d.fx, d.fy) == (pytest.approx(fx * binned), pytest.approx(fy * binned))
        assert d.cx == pytest.approx(cx * binned - crop[0] - 0.5)
        assert d.cy == pytest.approx(cy * binned - crop[1] - 0.5)
        assert (d.width, d.height) == size

    def test_legacy_16_9_colour_calibration_is_moved_to_4_3(self, calib):
        # A 16:9 calibration of the same lens: the 4:3 sensor's rows 384..2688 (normalised to 2304 rows).
        c = calib.color
        legacy = replace(c, height=2304, cy=(c.cy * 3072 - 384) / 2304, fy=c.fy * 3072 / 2304)
        a = replace(calib, color=legacy).for_modes(DepthMode.NFOV_UNBINNED, 1080).color
        b = calib.for_modes(DepthMode.NFOV_UNBINNED, 1080).color
        assert (a.cx, a.cy, a.fx, a.fy) == pytest.approx((b.cx, b.cy, b.fx, b.fy), rel=1e-9)


class TestLens:
    def test_projection_matches_opencv_rational_model(self, calib):
        c = calib.for_modes(DepthMode.NFOV_UNBINNED, 720).color
        rng = np.random.default_rng(0)
        xy = rng.uniform(-0.8, 0.8, size=(500, 2)).astype(np.float32)
        ours = project_normalized(c, xy[:, 0], xy[:, 1])
        pts = np.concatenate([xy, np.ones((500, 1), np.float32)], axis=1).astype(np.float64)
        cv, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), c.K, c.opencv_distortion)
        np.testing.assert_allclose(np.stack([ours.u, ours.v], 1), cv[:, 0], atol=2e-3)
        assert ours.valid.all()

    def test_metric_radius_invalidates(self, calib):
        d = calib.for_modes(DepthMode.NFOV_UNBINNED, 720).depth
        r = d.metric_radius
        proj = project_normalized(d, np.array([0.0, r * 0.99, r * 1.01], np.float32), np.zeros(3, np.float32))
        assert proj.valid.tolist() == [True, True, False]

    def test_unproject_inverts_project(self, calib):
        d = calib.for_modes(DepthMode.NFOV_UNBINNED, 720).depth
        rng = np.random.default_rng(1)
        u = rng.uniform(0, d.width - 1, 2000).astype(np.float32)
        v = rng.uniform(0, d.height - 1, 2000).astype(np.float32)
        x, y, valid = unproject_pixels(d, u, v)
        back = project_normalized(d, x, y)
        assert valid.mean() > 0.99
        np.testing.assert_allclose(back.u[valid], u[valid], atol=2e-3)
        np.testing.assert_allclose(back.v[valid], v[valid], atol=2e-3)

    def test_ray_table_marks_unreachable_pixels(self, calib):
        # WFOV covers a 1024x1024 circle-ish field: its corners lie beyond the metric radius.
        d = calib.for_modes(DepthMode.WFOV_2X2BINNED, 720).depth
        x, y = ray_table(d)
        assert np.isnan(x[0, 0]) and np.isnan(x[-1, -1])
        assert np.isfinite(x[d.height // 2, d.width // 2])
        assert abs(x[int(round(d.cy)), int(round(d.cx))]) < 2e-3  # principal point looks straight ahead
