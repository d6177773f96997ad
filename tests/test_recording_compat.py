"""Real-file compatibility: Record3D files from older app versions (no dw/dh), Azure Kinect recordings
with a complete header and no (complete) captures."""

from __future__ import annotations

import numpy as np
import pytest

from devices.iphone.record3d import import_record3d
from tests.import_checks import assert_import_fails
from tests.iphone_samples import DEPTH_SIZE, r3d_metadata, tum_frames, write_r3d
from tests.kinect_samples import write_recording

ALL = ("COLOR", "DEPTH", "IR")


@pytest.mark.parametrize("camera_type", [1, None])
def test_r3d_without_depth_size_infers_it(tmp_path, camera_type):
    frames = tum_frames(2)
    meta = r3d_metadata(frames)
    del meta["dw"], meta["dh"]
    if camera_type is None:
        del meta["cameraType"]  # then from the buffer length and the colour aspect ratio alone
    scene = import_record3d(write_r3d(tmp_path / "old.r3d", frames, meta), tmp_path / "scene")
    assert len(scene) == 2 and scene.has_depth
    assert scene.extra["depth_size"] == list(DEPTH_SIZE)
    depth = scene.load_depth(0)
    assert np.count_nonzero(depth) > 0.5 * depth.size


def test_r3d_without_depth_size_and_odd_buffer(tmp_path, capsys):
    frames = tum_frames(1)
    meta = r3d_metadata(frames)
    del meta["dw"], meta["dh"]
    meta["w"], meta["h"] = 640, 360  # 256x192 values do not form a 16:9 image
    meta["cameraType"] = 0
    r3d = write_r3d(tmp_path / "old.r3d", frames, meta)
    assert_import_fails(r3d, tmp_path, capsys, r3d, "no dw/dh")


def _header_only(tmp_path):
    """The real recording's header (tracks, calibration, tags) with its captures cut off, and the
    Segment's size fixed to match: what a recorder stopped before its first capture leaves."""
    data = bytearray(write_recording(tmp_path / "one.mkv", [(0, ALL)]).read_bytes())
    data = data[: data.index(b"\x1f\x43\xb6\x75")]  # the first Cluster
    size_at = data.index(b"\x18\x53\x80\x67") + 4
    assert data[size_at] == 0x01  # an 8-byte size field
    data[size_at + 1 : size_at + 8] = (len(data) - size_at - 8).to_bytes(7, "big")
    path = tmp_path / "empty.mkv"
    path.write_bytes(bytes(data))
    return path


def test_mkv_with_header_and_no_captures(tmp_path, capsys):
    path = _header_only(tmp_path)
    assert_import_fails(path, tmp_path, capsys, path, "holds no captures")


def test_mkv_whose_captures_all_lack_depth(tmp_path, capsys):
    path = write_recording(tmp_path / "colour_only.mkv", [(0, ("COLOR",)), (33_333, ("COLOR",))])
    assert_import_fails(path, tmp_path, capsys, path, "2 captures but none with both")


def _element_offsets(data: bytes, element_id: bytes) -> tuple[int, int]:
    """(start, end) of the top-level element ``element_id`` in the real recording's Segment."""
    from devices.kinect.mkv import _element_id, _read_vint

    header, pos, _ = _read_vint(data, 4)
    _, pos = _element_id(data, pos + header)
    _, pos, _ = _read_vint(data, pos)
    while True:
        eid, body = _element_id(data, pos)
        length, body, _ = _read_vint(data, body)
        if eid == element_id:
            return pos, body + length
        pos = body + length


@pytest.mark.parametrize("where", ["start", "tracks", "attachments"])
def test_mkv_cut_inside_its_header_is_called_truncated_not_empty(tmp_path, capsys, where):
    """A file cut before its tracks and calibration are whole is truncated; it does not "hold a complete
    header" (the Tracks ID also sits in the SeekHead, so looking for its bytes is not enough)."""
    from tests.kinect_samples import real_recording

    data = real_recording().read_bytes()
    cut = {"start": 100,
           "tracks": sum(_element_offsets(data, b"\x16\x54\xae\x6b")) // 2,
           "attachments": sum(_element_offsets(data, b"\x19\x41\xa4\x69")) // 2}[where]
    path = tmp_path / "cut.mkv"
    path.write_bytes(data[:cut])
    assert_import_fails(path, tmp_path, capsys, path, "truncated inside its Matroska header")


def test_mkv_cut_after_its_calibration_holds_no_captures(tmp_path, capsys):
    from tests.kinect_samples import real_recording

    data = real_recording().read_bytes()
    path = tmp_path / "cut.mkv"
    path.write_bytes(data[: _element_offsets(data, b"\x19\x41\xa4\x69")[1] + 10])  # into the Tags after it
    assert_import_fails(path, tmp_path, capsys, path, "holds no captures", "complete")


def test_r3d_cut_short_says_so(tmp_path, capsys):
    frames = tum_frames(2)
    whole = write_r3d(tmp_path / "whole.r3d", frames).read_bytes()
    cut = tmp_path / "cut.r3d"
    cut.write_bytes(whole[: len(whole) // 2])
    assert_import_fails(cut, tmp_path, capsys, cut, "cut short", "directory")
