"""Stray Scanner import: a capture folder built from the format description and a real TUM RGB-D frame."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from devices.importers import detect_format
from devices.scene_folder import read_scene
from tests.import_checks import assert_import_fails
from tests.iphone_samples import (
    EXPECTED_OPENCV,
    EXPECTED_OPENGL,
    check_imported_depth,
    tum_frames,
    write_stray,
)


@pytest.fixture(scope="module", params=["libx264", "libx265"])
def imported(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stray")
    frames = tum_frames(3)
    root = write_stray(tmp / "capture", frames, codec=request.param)
    out = tmp / "scene"
    assert main(["import", str(root), str(out)]) == 0
    return frames, read_scene(out), out


class TestStrayImport:
    def test_detected(self, tmp_path):
        root = write_stray(tmp_path / "c", tum_frames(1))
        assert detect_format(root).name == "stray-scanner"

    def test_intrinsics(self, imported):
        _, scene, _ = imported
        intr = scene.frames[0].intrinsics
        assert (intr.fx, intr.fy, intr.cx, intr.cy, intr.width, intr.height) == (525.0, 525.0, 319.5, 239.5, 640, 480)

    def test_poses(self, imported):
        _, scene, out = imported
        for f, expected in zip(scene.frames, EXPECTED_OPENCV):
            np.testing.assert_allclose(f.c2w, expected, atol=1e-9)
        doc = json.loads((out / "transforms.json").read_text())
        for fd, expected in zip(doc["frames"], EXPECTED_OPENGL):
            np.testing.assert_allclose(fd["transform_matrix"], expected, atol=1e-9)
        assert [f.timestamp for f in scene.frames] == pytest.approx([0, 1 / 30, 2 / 30])

    def test_depth(self, imported):
        frames, scene, _ = imported
        for i, src in enumerate(frames):
            check_imported_depth(scene.load_depth(i), src)

    def test_colour_from_video(self, imported):
        frames, scene, _ = imported
        assert scene.sensor == "iphone" and scene.ranking_window == (30, 30)
        for i, src in enumerate(frames):
            rgb = scene.load_rgb(i).astype(float)
            psnr = 10 * np.log10(255**2 / np.mean((rgb - src.rgb) ** 2))
            assert psnr > 30  # decoded from a lossy video of the same image


class TestStrayBadInput:
    def _fails(self, root, tmp_path, capsys, culprit, *words):
        assert_import_fails(root, tmp_path, capsys, culprit, *words)

    def test_missing_camera_matrix(self, tmp_path, capsys):
        root = write_stray(tmp_path / "c", tum_frames(1))
        (root / "camera_matrix.csv").unlink()
        self._fails(root, tmp_path, capsys, root / "camera_matrix.csv", "missing")

    def test_camera_matrix_of_another_resolution(self, tmp_path, capsys):
        root = write_stray(tmp_path / "c", tum_frames(1), K=np.array([[1400.0, 0, 959.5], [0, 1400, 719.5], [0, 0, 1]]))
        self._fails(root, tmp_path, capsys, root / "camera_matrix.csv", "outside the 640x480 video")

    def test_fewer_pose_rows_than_frames(self, tmp_path, capsys):
        root = write_stray(tmp_path / "c", tum_frames(3))
        lines = (root / "odometry.csv").read_text().splitlines()
        (root / "odometry.csv").write_text("\n".join(lines[:-1]) + "\n")
        self._fails(root, tmp_path, capsys, root / "odometry.csv", "2 pose rows for 3 depth frames")

    def test_depth_of_unexpected_size(self, tmp_path, capsys):
        import cv2

        root = write_stray(tmp_path / "c", tum_frames(3))
        cv2.imwrite(str(root / "depth" / "000002.png"), np.ones((100, 100), np.uint16))
        self._fails(root, tmp_path, capsys, root / "depth" / "000002.png", "100x100")

    def test_depth_not_16_bit(self, tmp_path, capsys):
        import cv2

        root = write_stray(tmp_path / "c", tum_frames(2))
        cv2.imwrite(str(root / "depth" / "000001.png"), np.ones((192, 256), np.uint8))
        self._fails(root, tmp_path, capsys, root / "depth" / "000001.png", "uint16")

    def test_broken_video(self, tmp_path, capsys):
        root = write_stray(tmp_path / "c", tum_frames(2))
        (root / "rgb.mp4").write_bytes(b"\x00" * 100)
        self._fails(root, tmp_path, capsys, root / "rgb.mp4")

    def test_bad_odometry_header(self, tmp_path, capsys):
        root = write_stray(tmp_path / "c", tum_frames(1))
        text = (root / "odometry.csv").read_text().replace("qw", "w")
        (root / "odometry.csv").write_text(text)
        self._fails(root, tmp_path, capsys, root / "odometry.csv", "header")
