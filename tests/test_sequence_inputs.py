"""TUM RGB-D and 7-Scenes folders as users have them: broken ones say what is wrong in one line (exit 2,
nothing written, no OpenCV chatter), and a sequence without poses shows how each frame was posed."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from app.cli import main
from devices.scene_folder import read_scene
from tests.import_checks import assert_import_fails
from tests.sequence_samples import make_seven_scenes, make_tum


def test_tum_folder_without_depth_list_says_so(tmp_path, capfd):
    make_tum(tmp_path / "seq", n=2)
    (tmp_path / "seq" / "depth.txt").unlink()
    assert_import_fails(tmp_path / "seq", tmp_path, capfd, tmp_path / "seq", "TUM RGB-D", "no depth.txt")


def test_depth_list_naming_a_missing_file(tmp_path, capfd):
    make_tum(tmp_path / "seq", n=3)
    lines = (tmp_path / "seq" / "depth.txt").read_text().splitlines()
    lines[-1] = lines[-1].split()[0] + " depth/gone.png"
    (tmp_path / "seq" / "depth.txt").write_text("\n".join(lines) + "\n")
    # checked before anything is written; one line (no OpenCV warning on stderr either)
    assert_import_fails(tmp_path / "seq", tmp_path, capfd, tmp_path / "seq" / "depth" / "gone.png",
                        "does not exist", "listed in depth.txt")


def test_depth_list_naming_a_colour_image(tmp_path, capfd):
    make_tum(tmp_path / "seq", n=2)
    text = (tmp_path / "seq" / "depth.txt").read_text()
    rgb = [line.split()[1] for line in (tmp_path / "seq" / "rgb.txt").read_text().splitlines()
           if line and not line.startswith("#")]
    first_depth = [line.split()[1] for line in text.splitlines() if line and not line.startswith("#")][0]
    (tmp_path / "seq" / "depth.txt").write_text(text.replace(first_depth, rgb[0]))
    assert_import_fails(tmp_path / "seq", tmp_path, capfd, tmp_path / "seq" / rgb[0], "8-bit with 3 channel",
                        "not a single-channel 16-bit depth PNG")


def test_groundtruth_with_nan_names_the_line(tmp_path, capfd):
    make_tum(tmp_path / "seq", n=2)
    path = tmp_path / "seq" / "groundtruth.txt"
    lines = path.read_text().splitlines()
    fields = lines[3].split()
    fields[2] = "nan"
    lines[3] = " ".join(fields)
    path.write_text("\n".join(lines) + "\n")
    assert_import_fails(tmp_path / "seq", tmp_path, capfd, path, "line 4", "non-finite")


def test_seven_scenes_colour_without_depth_says_so(tmp_path, capfd):
    src = make_seven_scenes(tmp_path / "seq", count=3, step=1)
    for p in src.glob("*.depth.png"):
        p.unlink()
    assert_import_fails(src, tmp_path, capfd, src, "7-Scenes", "no frame-NNNNNN.depth.png")


@pytest.mark.parametrize("kind", ["depth.png", "color.jpg"])
def test_seven_scenes_truncated_image(tmp_path, capfd, kind):
    src = make_seven_scenes(tmp_path / "seq", count=3, step=1)
    bad = src / f"frame-000501.{kind}"
    data = bad.read_bytes()
    bad.unlink()
    bad.write_bytes(data[: len(data) // 3])
    assert_import_fails(src, tmp_path, capfd, bad, "cut short")


def test_sequence_without_poses_shows_how_each_frame_was_posed(tmp_path, capsys):
    """Every 10th frame of the real walk without its pose files: the import poses them and prints the
    per-frame report (method, confidence), the summary with the frame rate, and writes OUT posed."""
    src = make_seven_scenes(tmp_path / "seq", count=8, step=10)
    for p in src.glob("*.pose.txt"):
        p.unlink()
    assert main(["import", str(src), str(tmp_path / "scene")]) == 0
    out = capsys.readouterr().out
    assert "conf." in out and "(odometry to frame" in out
    assert "8/8 frames posed" in out and "frames/s" in out
    rows = [m.groups() for line in out.splitlines()
            if (m := re.match(r"^\s*(\d+)\s+(?:yes)?\s+(-|[\d.]+)\s+([\d.]+)\s+(reference|ok|failed)", line))]
    assert [int(r[0]) for r in rows] == list(range(8))
    assert all(0.0 < float(r[2]) <= 1.0 and r[3] == "ok" for r in rows[1:])  # a confidence for each frame
    scene = read_scene(tmp_path / "scene")
    assert scene.has_poses and [f.meta["pose"]["method"] for f in scene.frames][1:] == ["odometry"] * 7


def test_seven_scenes_every_keeps_the_recording_times(tmp_path):
    src = make_seven_scenes(tmp_path / "seq", count=6, step=1)
    assert main(["import", str(src), str(tmp_path / "scene"), "--every", "2", "--no-poses"]) == 0
    times = [f.timestamp for f in read_scene(tmp_path / "scene").frames]
    assert np.allclose(times, [0.0, 2 / 30, 4 / 30]) and not math.isclose(times[1], 1 / 30)


def test_poses_help_says_what_no_relocalise_does(capsys):
    try:
        main(["poses", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "--no-relocalise: a frame that no keyframe tried registers is flagged at once" in text.replace("│ ", "")


def test_a_one_frame_import_is_warned(tmp_path, capsys):
    from tests.kinect_samples import real_recording

    assert main(["import", str(real_recording()), str(tmp_path / "scene")]) == 0
    captured = capsys.readouterr()
    assert "wrote 1 frame to" in captured.out
    assert "single frame" in captured.err and "at least 2 views" in captured.err
