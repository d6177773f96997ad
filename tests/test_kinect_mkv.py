"""The .mkv reader: tracks, modes, timestamps, calibration attachment, captures, seeking, raw formats, bad files."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from app.cli import main
from devices.errors import InputError
from devices.kinect.mkv import MkvRecording, TrackInfo, decode_image
from tests.conftest import shared_path
from tests.kinect_samples import real_recording, write_recording

ALL = ("COLOR", "DEPTH", "IR")


class TestRealRecording:
    def test_tracks_and_modes(self):
        with MkvRecording(real_recording()) as rec:
            info = rec.info
            assert (info.color.fourcc, info.color.width, info.color.height, info.color.mode) == (
                "MJPG", 1280, 720, "MJPG_720P")
            assert (info.depth.fourcc, info.depth.width, info.depth.height, info.depth.mode) == (
                "b16g", 640, 576, "NFOV_UNBINNED")
            assert info.ir.mode == "ACTIVE"
            assert info.start_offset_us == 336277  # K4A_START_OFFSET_NS / 1000
            assert info.tags["K4A_DEVICE_SERIAL_NUMBER"] == "001514394512"

    def test_calibration_attachment_is_the_json_file(self):
        with MkvRecording(real_recording()) as rec:
            cal = rec.calibration
        doc = json.loads(shared_path("kinect_pyk4a", "calibration.json").read_text())
        pv = next(c for c in doc["CalibrationInformation"]["Cameras"] if c["Location"].endswith("PV0"))
        assert cal.color.fx == pv["Intrinsics"]["ModelParameters"][2]

    def test_one_capture_decoded(self):
        with MkvRecording(real_recording()) as rec:
            assert rec.frame_count == 1
            caps = list(rec.captures())
        assert len(caps) == 1 and caps[0].timestamp_us == 463945
        cap = caps[0]
        assert cap.color.shape == (720, 1280, 3) and cap.color.dtype == np.uint8
        assert cap.depth.shape == (576, 640) and cap.depth.dtype == np.uint16
        assert cap.ir.shape == (576, 640)
        # big-endian: a desk scene 0.3-4 m away; little-endian bytes would put most pixels past 10 m
        valid = cap.depth[cap.depth > 0]
        assert 300 < np.median(valid) < 4000


class TestSyntheticRecordings:
    def test_missing_image_is_skipped_and_counted(self, tmp_path):
        path = write_recording(tmp_path / "gap.mkv", [(0, ALL), (33333, ("COLOR", "IR")), (66667, ALL)])
        with MkvRecording(path) as rec:
            assert rec.frame_count == 3
            stamps = [c.timestamp_us for c in rec.captures()]
            assert rec.skipped == 1
        assert len(stamps) == 2 and stamps[0] == 0

    def test_seek_to_a_capture(self, tmp_path):
        path = write_recording(tmp_path / "four.mkv", [(i * 33333, ALL) for i in range(4)])
        with MkvRecording(path) as rec:
            stamps = rec.timestamps()
            assert len(stamps) == 4
            cap = rec.capture_at(2)
            assert cap.timestamp_us == stamps[2] and cap.depth is not None
            assert [c.timestamp_us for c in rec.captures(start_us=stamps[3])] == [stamps[3]]
            with pytest.raises(IndexError):
                rec.capture_at(4)

    def test_fps_from_the_tracks(self, tmp_path):
        path = write_recording(tmp_path / "fps.mkv", [(0, ALL)], fps=15)
        with MkvRecording(path) as rec:
            assert rec.info.fps == pytest.approx(15.0)


@pytest.fixture
def rgb():
    img = np.zeros((8, 16, 3), np.uint8)
    img[:, :8] = (200, 40, 40)
    img[:, 8:] = (30, 160, 220)
    return img


class TestRawColourFormats:
    def test_bgra(self, rgb):
        track = TrackInfo("COLOR", 0, "BGRA", 16, 8, "BGRA_720P")
        data = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA).tobytes()
        np.testing.assert_array_equal(decode_image(track, data), rgb)

    def test_yuy2(self, rgb):
        track = TrackInfo("COLOR", 0, "YUY2", 16, 8, "YUY2_720P")
        data = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_YUY2).tobytes()
        assert np.abs(decode_image(track, data).astype(int) - rgb).max() <= 3

    def test_nv12(self, rgb):
        track = TrackInfo("COLOR", 0, "NV12", 16, 8, "NV12_720P")
        i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).ravel()
        y, u, v = i420[:128], i420[128:160], i420[160:192]
        nv12 = np.concatenate([y, np.stack([u, v], 1).ravel()])  # NV12: Y plane, then interleaved U, V
        assert np.abs(decode_image(track, nv12.tobytes()).astype(int) - rgb).max() <= 3

    def test_b16g_is_big_endian(self):
        track = TrackInfo("DEPTH", 0, "b16g", 2, 1, "NFOV_UNBINNED")
        assert decode_image(track, bytes([0x01, 0x02, 0x0F, 0xA0])).tolist() == [[258, 4000]]

    def test_short_packet_is_damaged_not_fatal(self):
        track = TrackInfo("DEPTH", 0, "b16g", 4, 4, "NFOV_UNBINNED")
        assert decode_image(track, b"\x00" * 10) is None


class TestBadInput:
    """Each bad file gives InputError naming it, and `sparsenerf import` prints one line and exits 2."""

    def _assert_one_line_error(self, path, tmp_path, capsys, match):
        with pytest.raises(InputError, match=match) as err:
            MkvRecording(path)
        assert str(path) in str(err.value)
        code = main(["import", str(path), str(tmp_path / "out")])
        lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert code == 2
        assert len(lines) == 1 and str(path) in lines[0] and lines[0].startswith("error:")
        assert not (tmp_path / "out").exists()

    def test_truncated(self, tmp_path, capsys):
        data = real_recording().read_bytes()
        cut = tmp_path / "cut.mkv"
        cut.write_bytes(data[: len(data) * 2 // 3])  # inside its only capture: nothing complete to import
        assert main(["import", str(cut), str(tmp_path / "out")]) == 2
        lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert lines[-1] == f"error: {cut}: is truncated: the file is cut before its first complete capture"
        assert not (tmp_path / "out").exists()

    def test_no_calibration_attachment(self, tmp_path, capsys):
        path = write_recording(tmp_path / "nocal.mkv", [(0, ALL)], calibration=False)
        self._assert_one_line_error(path, tmp_path, capsys, "calibration.json")

    def test_no_depth_track(self, tmp_path, capsys):
        path = write_recording(tmp_path / "nodepth.mkv", [(0, ("COLOR",))], tracks=("COLOR",))
        self._assert_one_line_error(path, tmp_path, capsys, "no DEPTH track")

    def test_not_matroska(self, tmp_path, capsys):
        path = tmp_path / "notes.mkv"
        path.write_text("these are not the frames you are looking for\n" * 20)
        self._assert_one_line_error(path, tmp_path, capsys, "not a Matroska")
