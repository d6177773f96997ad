"""Record3D .r3d import: a sample built from the format description and a real TUM RGB-D frame."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from app.cli import main
from devices.errors import InputError
from devices.importers import ImportOptions, detect_format
from devices.iphone.record3d import import_record3d
from tests.import_checks import assert_import_fails
from tests.iphone_samples import (
    EXPECTED_OPENCV,
    EXPECTED_OPENGL,
    check_imported_depth,
    r3d_metadata,
    tum_frames,
    write_r3d,
)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("r3d")
    frames = tum_frames(3)
    r3d = write_r3d(tmp / "desk.r3d", frames)
    out = tmp / "scene"
    assert main(["import", str(r3d), str(out)]) == 0
    from devices.scene_folder import read_scene

    return frames, read_scene(out), out


class TestRecord3DImport:
    def test_detected_from_suffix(self, tmp_path):
        r3d = write_r3d(tmp_path / "x.R3D", tum_frames(1))
        assert detect_format(r3d).name == "record3d"

    def test_intrinsics_column_major(self, imported):
        _, scene, _ = imported
        intr = scene.frames[0].intrinsics
        # K was written column-major; a row-major misread would swap cx into K[2, 0] and give cx = 0.
        assert (intr.fx, intr.fy, intr.cx, intr.cy, intr.width, intr.height) == (525.0, 525.0, 319.5, 239.5, 640, 480)

    def test_poses_converted_to_opencv(self, imported):
        _, scene, out = imported
        for f, expected in zip(scene.frames, EXPECTED_OPENCV):
            np.testing.assert_allclose(f.c2w, expected, atol=1e-9)
        doc = json.loads((out / "transforms.json").read_text())
        for fd, expected in zip(doc["frames"], EXPECTED_OPENGL):  # nerfstudio's file holds ARKit's own matrix
            np.testing.assert_allclose(fd["transform_matrix"], expected, atol=1e-9)

    def test_metadata(self, imported):
        _, scene, _ = imported
        assert scene.sensor == "iphone" and scene.depth_kind.value == "metric"
        assert scene.ranking_window == (30, 30)
        assert len(scene) == 3 and scene.train_ids

    def test_depth_metres_edge_aware(self, imported):
        frames, scene, _ = imported
        for i, src in enumerate(frames):
            check_imported_depth(scene.load_depth(i), src)

    def test_colour(self, imported):
        frames, scene, _ = imported
        rgb = scene.load_rgb(1)
        assert rgb.shape == (480, 640, 3)
        assert np.abs(rgb.astype(int) - frames[1].rgb).mean() < 3  # JPEG q95

    def test_confidence_threshold_configurable(self, tmp_path):
        from devices.iphone.common import IphoneConfig

        frames = tum_frames(2)
        r3d = write_r3d(tmp_path / "a.r3d", frames)
        scene = import_record3d(r3d, tmp_path / "s", config=IphoneConfig(min_confidence=2))
        check_imported_depth(scene.load_depth(0), frames[0], min_conf=2)

    def test_intrinsics_scaled_to_the_stored_images(self, tmp_path):
        frames = tum_frames(1)
        meta = r3d_metadata(frames)
        # K and w x h of a 1280x960 stream, the JPEGs stored at 640x480: by hand, fx = 1050 / 2 = 525 and
        # cx = (639.5 + 0.5) / 2 - 0.5 = 319.5 (pixel centres at integer coordinates).
        meta.update(w=1280, h=960, K=[1050.0, 0, 0, 0, 1050.0, 0, 639.5, 479.5, 1])
        scene = import_record3d(write_r3d(tmp_path / "a.r3d", frames, meta), tmp_path / "s")
        intr = scene.frames[0].intrinsics
        assert (intr.fx, intr.fy, intr.cx, intr.cy, intr.width, intr.height) == (525.0, 525.0, 319.5, 239.5, 640, 480)

    def test_every(self, tmp_path):
        scene = import_record3d(write_r3d(tmp_path / "a.r3d", tum_frames(3)), tmp_path / "s",
                                options=ImportOptions(every=2))
        assert len(scene) == 2
        np.testing.assert_allclose(scene.frames[1].c2w, EXPECTED_OPENCV[2], atol=1e-9)


class TestRecord3DBadInput:
    def _fails(self, r3d, tmp_path, capsys, *words):
        assert_import_fails(r3d, tmp_path, capsys, r3d, *words)

    def test_missing_metadata(self, tmp_path, capsys):
        self._fails(write_r3d(tmp_path / "a.r3d", tum_frames(1), metadata={}), tmp_path, capsys, "metadata", "missing")

    def test_metadata_without_K(self, tmp_path, capsys):
        meta = r3d_metadata(tum_frames(1))
        del meta["K"]
        self._fails(write_r3d(tmp_path / "a.r3d", tum_frames(1), meta), tmp_path, capsys, "no K")

    def test_depth_of_unexpected_size(self, tmp_path, capsys):
        frames = tum_frames(2)
        meta = r3d_metadata(frames)
        meta["dw"], meta["dh"] = 320, 240  # the .depth blobs hold 256x192
        self._fails(write_r3d(tmp_path / "a.r3d", frames, meta), tmp_path, capsys, "rgbd/0.depth", "320x240")

    def test_broken_zip(self, tmp_path, capsys):
        r3d = write_r3d(tmp_path / "a.r3d", tum_frames(1))
        data = r3d.read_bytes()
        r3d.write_bytes(data[: len(data) // 2])  # truncated download: no central directory
        self._fails(r3d, tmp_path, capsys, "zip")

    def test_fewer_poses_than_frames(self, tmp_path, capsys):
        frames = tum_frames(3)
        meta = r3d_metadata(frames)
        meta["poses"] = meta["poses"][:2]
        self._fails(write_r3d(tmp_path / "a.r3d", frames, meta), tmp_path, capsys, "2 poses", "rgbd/2.jpg")

    def test_corrupt_depth_midway_leaves_nothing(self, tmp_path, capsys):
        r3d = write_r3d(tmp_path / "a.r3d", tum_frames(3))
        src = zipfile.ZipFile(r3d)
        bad = tmp_path / "b.r3d"
        with zipfile.ZipFile(bad, "w") as zf:
            for name in src.namelist():
                zf.writestr(name, b"not lzfse" if name == "rgbd/2.depth" else src.read(name))
        self._fails(bad, tmp_path, capsys, "rgbd/2.depth")

    def test_error_is_input_error(self, tmp_path):
        with pytest.raises(InputError):
            import_record3d(write_r3d(tmp_path / "a.r3d", tum_frames(1), metadata={}), tmp_path / "o")
