"""Polycam raw-export import: keyframes built from the format description and a real TUM RGB-D frame."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from devices.importers import detect_format
from devices.iphone.polycam import PolycamConfig, confidence_levels, import_polycam
from devices.scene_folder import read_scene
from tests.import_checks import assert_import_fails
from tests.iphone_samples import EXPECTED_OPENCV, check_imported_depth, tum_frames, write_polycam

BLUR = [80.0, 10.0, 60.0]  # the middle keyframe is blurry (below the default 25) and must be skipped


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("polycam")
    frames = tum_frames(3)
    root = write_polycam(tmp / "export", frames, BLUR)
    out = tmp / "scene"
    assert main(["import", str(root), str(out)]) == 0
    return frames, read_scene(out), out


class TestPolycamImport:
    def test_detected(self, tmp_path):
        assert detect_format(write_polycam(tmp_path / "e", tum_frames(1), [50.0])).name == "polycam"

    def test_blurry_keyframe_skipped(self, imported):
        _, scene, _ = imported
        assert len(scene) == 2
        assert [f.meta["blur_score"] for f in scene.frames] == [80.0, 60.0]
        assert scene.extra["skipped_blurry"] == 1 and scene.extra["corrected"] is True

    def test_corrected_cameras_preferred_and_converted(self, imported):
        _, scene, _ = imported
        # corrected cameras hold the expected poses; the raw ones are 1 m off in x
        np.testing.assert_allclose(scene.frames[0].c2w, EXPECTED_OPENCV[0], atol=1e-9)
        np.testing.assert_allclose(scene.frames[1].c2w, EXPECTED_OPENCV[2], atol=1e-9)

    def test_raw_cameras_when_asked(self, tmp_path):
        root = write_polycam(tmp_path / "e", tum_frames(1), [50.0])
        scene = import_polycam(root, tmp_path / "s", polycam=PolycamConfig(prefer_corrected=False))
        expected = EXPECTED_OPENCV[0].copy()
        expected[0, 3] += 1.0
        np.testing.assert_allclose(scene.frames[0].c2w, expected, atol=1e-9)

    def test_intrinsics(self, imported):
        _, scene, _ = imported
        intr = scene.frames[0].intrinsics
        assert (intr.fx, intr.fy, intr.cx, intr.cy, intr.width, intr.height) == (525.0, 525.0, 319.5, 239.5, 640, 480)

    def test_depth_millimetres_and_confidence(self, imported):
        frames, scene, out = imported
        check_imported_depth(scene.load_depth(0), frames[0])
        check_imported_depth(scene.load_depth(1), frames[2])
        conf = scene.load_confidence(0)
        assert set(np.unique(conf)) == {0, 1, 2}  # Polycam's 0/54/255 mapped to ARKit's levels
        assert json.loads((out / "transforms.json").read_text())["sparsenerf"]["sensor"] == "iphone"

    def test_confidence_levels(self):
        np.testing.assert_array_equal(confidence_levels(np.array([0, 54, 255], np.uint8)), [0, 1, 2])
        np.testing.assert_array_equal(confidence_levels(np.array([0, 1, 2], np.uint8)), [0, 1, 2])


class TestPolycamBadInput:
    def _fails(self, root, tmp_path, capsys, culprit, *words):
        assert_import_fails(root, tmp_path, capsys, culprit, *words)

    def test_missing_camera_json(self, tmp_path, capsys):
        root = write_polycam(tmp_path / "e", tum_frames(2), [50.0, 50.0])
        victim = sorted((root / "keyframes" / "corrected_cameras").glob("*.json"))[1]
        victim.unlink()
        self._fails(root, tmp_path, capsys, victim, "missing")

    def test_camera_without_pose(self, tmp_path, capsys):
        root = write_polycam(tmp_path / "e", tum_frames(1), [50.0])
        cam = next((root / "keyframes" / "corrected_cameras").glob("*.json"))
        doc = json.loads(cam.read_text())
        del doc["t_23"]
        cam.write_text(json.dumps(doc))
        self._fails(root, tmp_path, capsys, cam, "t_23")

    def test_depth_of_unexpected_size(self, tmp_path, capsys):
        import cv2

        root = write_polycam(tmp_path / "e", tum_frames(2), [50.0, 50.0])
        depth = sorted((root / "keyframes" / "depth").glob("*.png"))[1]
        cv2.imwrite(str(depth), np.ones((100, 300), np.uint16))
        self._fails(root, tmp_path, capsys, depth, "300x100")

    def test_missing_depth(self, tmp_path, capsys):
        root = write_polycam(tmp_path / "e", tum_frames(1), [50.0])
        depth = next((root / "keyframes" / "depth").glob("*.png"))
        depth.unlink()
        self._fails(root, tmp_path, capsys, depth, "missing")

    def test_all_blurry(self, tmp_path, capsys):
        root = write_polycam(tmp_path / "e", tum_frames(2), [1.0, 2.0])
        self._fails(root, tmp_path, capsys, root / "keyframes" / "corrected_cameras", "blur_score")
