"""TUM RGB-D and 7-Scenes importers (devices.sequences), `sparsenerf poses --ignore-existing` and its
ground-truth report, on folders built from real frames."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from devices.importers.registry import detect_format
from devices.poses.truth import GROUND_TRUTH_KEY, truth_error
from devices.registration import Rig, register_depth
from devices.scene_folder import read_scene
from devices.sequences.tum import associate
from tests.sequence_samples import make_seven_scenes, make_tum


def test_associate_pairs_nearest_within_tolerance():
    a = np.array([0.0, 0.1, 0.2, 0.5])
    b = np.array([0.005, 0.098, 0.13, 0.21])
    assert associate(a, b) == [(0, 0), (1, 1), (2, 3)]  # 0.5 has nothing within 20 ms


def test_tum_import_with_ground_truth(tmp_path, capsys):
    truth = make_tum(tmp_path / "rgbd_dataset_demo")
    assert detect_format(tmp_path / "rgbd_dataset_demo").name == "tum-rgbd"
    assert main(["import", str(tmp_path / "rgbd_dataset_demo"), str(tmp_path / "scene")]) == 0
    scene = read_scene(tmp_path / "scene")
    assert len(scene) == 4 and scene.has_poses  # the colour image without depth was dropped
    for f, gt in zip(scene.frames, truth):
        np.testing.assert_allclose(f.c2w, gt, atol=1e-5)
        np.testing.assert_allclose(f.meta[GROUND_TRUTH_KEY], gt, atol=1e-5)
    depth = scene.load_depth(0)
    assert 0.5 < float(np.median(depth[depth > 0])) < 5.0  # 5000 units per metre, not millimetres
    # the ground truth must agree with the images: estimating from them lands on it
    capsys.readouterr()
    assert main(["poses", str(tmp_path / "scene")]) == 0
    assert "already has a pose" in capsys.readouterr().out
    assert main(["poses", str(tmp_path / "scene"), "--ignore-existing"]) == 0
    out = capsys.readouterr().out
    assert "4/4 frames posed" in out and "ATE against the ground truth" in out
    again = read_scene(tmp_path / "scene")
    err = truth_error([f.c2w for f in again.frames], [f.meta for f in again.frames])
    assert err is not None and err.compared == 4 and err.rmse < 0.005


def test_tum_import_without_ground_truth_estimates_poses(tmp_path):
    make_tum(tmp_path / "seq", n=3, with_truth=False)
    assert main(["import", str(tmp_path / "seq"), str(tmp_path / "scene")]) == 0
    scene = read_scene(tmp_path / "scene")
    assert scene.has_poses and scene.extra["poses"]["failed"] == []
    assert GROUND_TRUTH_KEY not in scene.frames[0].meta


def test_tum_bad_list_is_one_line_exit_2(tmp_path, capsys):
    make_tum(tmp_path / "seq", n=2)
    (tmp_path / "seq" / "rgb.txt").write_text("1305031102.0 rgb/a.png extra\n")
    assert main(["import", str(tmp_path / "seq"), str(tmp_path / "scene")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rgb.txt" in err[0] and "line 1" in err[0]
    assert not (tmp_path / "scene").exists()


def test_seven_scenes_import_registers_depth_and_keeps_truth(tmp_path, capsys):
    src = make_seven_scenes(tmp_path / "seq-01", count=12, step=4)
    assert detect_format(src).name == "7scenes"
    assert main(["import", str(src), str(tmp_path / "scene")]) == 0
    scene = read_scene(tmp_path / "scene")
    assert len(scene) == 12 and scene.has_poses and len(scene.train_ids) == 3
    gt0 = np.loadtxt(src / "frame-000500.pose.txt")
    # the colour camera sits 22.5 mm along the depth camera's x axis
    np.testing.assert_allclose(scene.frames[0].c2w[:3, 3], gt0[:3, 3] + 0.0225 * gt0[:3, 0], atol=1e-5)
    depth = scene.load_depth(0)
    assert 0.5 < np.count_nonzero(depth) / depth.size < 0.8  # the depth camera sees less than the colour one
    capsys.readouterr()
    assert main(["poses", str(tmp_path / "scene"), "--ignore-existing"]) == 0
    out = capsys.readouterr().out
    assert "12/12 frames posed" in out
    again = read_scene(tmp_path / "scene")
    err = truth_error([f.c2w for f in again.frames], [f.meta for f in again.frames])
    assert err is not None and err.rmse < 0.03
    doc = json.loads((tmp_path / "scene" / "transforms.json").read_text())
    assert doc["fl_x"] == 525.0


def test_seven_scenes_bad_pose_file(tmp_path, capsys):
    src = make_seven_scenes(tmp_path / "seq", count=3, step=1)
    bad = src / "frame-000501.pose.txt"
    bad.unlink()
    bad.write_text("1 0 0\n0 1 0\n")
    assert main(["import", str(src), str(tmp_path / "scene")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "frame-000501.pose.txt" in err[0]
    assert not (tmp_path / "scene").exists()


def test_registration_moves_depth_by_the_parallax():
    # a flat wall 1 m away, seen by a colour camera 22.5 mm to the side with the same intrinsics
    K = np.array([[585.0, 0, 320], [0, 585, 240], [0, 0, 1]])
    d2c = np.eye(4)
    d2c[0, 3] = -0.0225
    depth = np.zeros((480, 640), np.uint16)
    depth[:, 300:340] = 1000
    out = register_depth(depth, Rig(K, K, d2c, (640, 480)))
    cols = np.flatnonzero(out[240] > 0)
    shift = 585 * 0.0225  # 13.2 pixels to the left
    assert abs(cols.min() - (300 - shift)) <= 1.5 and abs(cols.max() - (339 - shift)) <= 1.5
    assert set(np.unique(out[240, cols])) == {1000}


@pytest.mark.parametrize("layout", ["tum", "7scenes"])
def test_every_keeps_one_frame_in_n(tmp_path, layout):
    src = make_tum(tmp_path / "seq", n=4) and tmp_path / "seq" if layout == "tum" else \
        make_seven_scenes(tmp_path / "seq", count=6, step=1)
    assert main(["import", str(src), str(tmp_path / "scene"), "--every", "2", "--no-poses"]) == 0
    assert len(read_scene(tmp_path / "scene")) == (2 if layout == "tum" else 3)


def test_imported_split_covers_the_scene_and_says_why(tmp_path):
    src = make_seven_scenes(tmp_path / "seq-01", count=12, step=4)
    assert main(["import", str(src), str(tmp_path / "scene"), "--no-poses"]) == 0
    doc = json.loads((tmp_path / "scene" / "transforms.json").read_text())
    reasons = doc["sparsenerf"]["split_reasons"]
    assert sorted(reasons) == sorted(doc["train_filenames"]) and len(reasons) == 3
    assert all("fused depth" in why for why in reasons.values())
    assert read_scene(tmp_path / "scene").split_reasons == reasons


def test_coverage_prefers_the_view_of_another_side():
    from devices.poses.coverage import coverage_split

    K = np.array([[100.0, 0, 32], [0, 100, 24], [0, 0, 1]])
    wall = np.full((48, 64), 2.0, np.float32)
    poses = []
    for k, yaw in enumerate([0, 0, 0, 180]):  # three near-identical views of one wall, one turned round
        c2w = np.eye(4)
        a = np.radians(yaw)
        c2w[:3, :3] = [[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]]
        c2w[0, 3] = 0.01 * k
        poses.append(c2w)
    split = coverage_split(poses, lambda i: wall, [K] * 4, 2)
    assert 3 in split.train and len(split.train) == 2
    assert set(split.reasons) == set(split.train) and "adds" in split.reasons[max(split.train, key=lambda i: i == 3)]
