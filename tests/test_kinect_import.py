"""`sparsenerf import REC.mkv OUT`: the aligned scene folder, with and without undistortion."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from app.cli import main
from devices.importers import detect_format
from devices.kinect.align import DepthToColor
from devices.kinect.calibration import DepthMode
from devices.kinect.mkv import MkvRecording
from devices.scene_folder import read_scene
from tests.kinect_samples import real_recording, write_recording

ALL = ("COLOR", "DEPTH", "IR")


@pytest.fixture(scope="module")
def sdk_aligned():
    """The real capture's depth aligned on the colour grid (distorted), uint16 mm."""
    with MkvRecording(real_recording()) as rec:
        cap = next(rec.captures())
        cal = rec.calibration.for_modes(DepthMode.NFOV_UNBINNED, 720)
    return DepthToColor(cal)(cap.depth)


def test_detects_kinect_mkv():
    assert detect_format(real_recording()).name == "kinect-mkv"


def test_import_keep_distortion(tmp_path, sdk_aligned):
    out = tmp_path / "scene"
    assert main(["import", str(real_recording()), str(out), "--keep-distortion"]) == 0
    img = cv2.imread(str(out / "images" / "000000.png"), cv2.IMREAD_UNCHANGED)
    depth = cv2.imread(str(out / "depth" / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert img.shape == (720, 1280, 3)
    assert depth.shape == (720, 1280) and depth.dtype == np.uint16
    np.testing.assert_array_equal(depth, sdk_aligned)  # millimetres on the colour grid, unchanged
    doc = json.loads((out / "transforms.json").read_text())
    with MkvRecording(real_recording()) as rec:
        color = rec.calibration.for_modes(DepthMode.NFOV_UNBINNED, 720).color
    k1, k2, p1, p2, k3, k4, k5, k6 = color.opencv_distortion
    assert [doc[k] for k in ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")] == pytest.approx(
        [k1, k2, p1, p2, k3, k4, k5, k6])
    # the file holds nerfstudio's principal point (pixel centres at +0.5), the calibration OpenCV's
    assert (doc["fl_x"], doc["cx"], doc["cy"]) == pytest.approx((color.fx, color.cx + 0.5, color.cy + 0.5))
    scene = read_scene(out)
    assert scene.sensor == "azure_kinect" and scene.ranking_window == (5, 5)
    assert len(scene) == 1 and scene.test_ids == []  # one frame: nothing to test on, and that is fine


def test_import_undistorts_by_default(tmp_path, sdk_aligned):
    out = tmp_path / "scene"
    assert main(["import", str(real_recording()), str(out)]) == 0
    doc = json.loads((out / "transforms.json").read_text())
    assert not any(doc.get(k) for k in ("k1", "k2", "p1", "p2"))  # a pinhole camera
    depth = cv2.imread(str(out / "depth" / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert depth.shape == (720, 1280)
    # nearest-neighbour resampling: every depth value already existed, none was blended across an edge
    assert np.isin(np.unique(depth), np.unique(sdk_aligned)).all()
    assert abs((depth > 0).mean() - (sdk_aligned > 0).mean()) < 0.05
    img = cv2.imread(str(out / "images" / "000000.png"))
    assert (img.reshape(-1, 3).max(axis=1) == 0).mean() < 0.01  # the pinhole view stays inside the image


def test_multi_capture_every_and_skips(tmp_path):
    rec = write_recording(tmp_path / "rec.mkv", [(0, ALL), (33333, ("COLOR",)), (66667, ALL), (100000, ALL),
                                                 (133333, ALL)])
    out = tmp_path / "scene"
    assert main(["import", str(rec), str(out), "--every", "2", "--keep-distortion", "--no-poses"]) == 0
    scene = read_scene(out)
    # 4 complete captures (one lacks depth and is skipped), every 2nd kept -> 2 frames
    assert len(scene) == 2
    assert scene.extra["skipped_captures"] == 1
    assert [f.timestamp for f in scene.frames] == pytest.approx([0.0, 0.1])


def test_depth_mode_inferred_when_the_tag_is_lost(tmp_path, monkeypatch):
    # ffmpeg-style remuxes can drop the K4A_* track tags; the depth size still names the mode
    from tests import kinect_samples

    monkeypatch.setitem(kinect_samples.TRACK_TAGS, "DEPTH", {"title": "DEPTH"})
    rec = write_recording(tmp_path / "untagged.mkv", [(0, ALL)])
    with MkvRecording(rec) as mkv:
        assert mkv.info.depth.mode is None
    out = tmp_path / "scene"
    assert main(["import", str(rec), str(out), "--keep-distortion", "--no-poses"]) == 0
    assert read_scene(out).extra["depth_mode"] == "NFOV_UNBINNED"
