"""Pose estimation (devices.poses) and `sparsenerf poses`, against ICL-NUIM ground truth."""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from app.cli import main
from devices.errors import InputError
from devices.frame import DepthKind, Frame
from devices.poses import (
    PoseConfig,
    absolute_trajectory_error,
    estimate_poses,
    estimate_scene_poses,
    umeyama_alignment,
)
from devices.poses.io import read_intrinsic_json, read_rgbd_folder, read_trajectory_log
from devices.scene_folder import read_scene
from devices.scene_writer import SceneWriter
from tests.conftest import shared_path

ICL = ("open3d_rgbd", "RGBD_SYNTHETIC_ICL-NUIM")
ATE_TARGET = 0.02  # metres: the quality bar


def _ate_rmse(c2w: list, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean(absolute_trajectory_error(np.stack(c2w), truth) ** 2)))


@pytest.fixture(scope="module")
def icl():
    """(frames, ground-truth c2w [5, 4, 4]) of the ICL-NUIM sample."""
    root = shared_path(*ICL)
    K, _, _ = read_intrinsic_json(root / "camera_primesense.json")
    return read_rgbd_folder(root, K), np.stack(read_trajectory_log(root / "trajectory.log"))


def _write_scene(path, frames, depth_kind=DepthKind.METRIC):
    with SceneWriter(path, sensor="icl-nuim", depth_kind=depth_kind) as writer:
        for f in frames:
            writer.add(replace(f, c2w=None, depth_kind=depth_kind))
    return path


class TestReaders:
    def test_intrinsic_json_is_column_major(self, icl, tmp_path):
        K, w, h = read_intrinsic_json(shared_path(*ICL) / "camera_primesense.json")
        assert (w, h) == (640, 480)
        np.testing.assert_allclose(K, [[525, 0, 319.5], [0, 525, 239.5], [0, 0, 1]])

    def test_trajectory_log(self, icl):
        _, gt = icl
        assert gt.shape == (5, 4, 4)
        np.testing.assert_allclose(gt[0, :3, 3], [-0.31057997014702826, 0.5730122438481298, 2.1264800183565487])

    def test_truncated_log_names_the_file(self, tmp_path):
        bad = tmp_path / "t.log"
        bad.write_text("0 0 1\n1 0 0 0\n")
        with pytest.raises(InputError, match="t.log"):
            read_trajectory_log(bad)


class TestUmeyama:
    def test_recovers_a_hand_made_transform(self):
        # 90 degrees about z, then a shift by (1, 2, 3): x -> y, y -> -x.
        src = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
        dst = np.array([[1, 2, 3], [1, 3, 3], [0, 2, 3], [1, 2, 4]], dtype=float)
        T = umeyama_alignment(src, dst)
        expected = np.array([[0, -1, 0, 1], [1, 0, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]], dtype=float)
        np.testing.assert_allclose(T, expected, atol=1e-12)

    def test_never_returns_a_reflection(self):
        src = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
        T = umeyama_alignment(src, src * [1, 1, -1])  # a mirror image: best proper rotation instead
        assert np.linalg.det(T[:3, :3]) == pytest.approx(1.0)

    def test_ate_is_zero_for_a_moved_copy(self, icl):
        _, gt = icl
        M = np.eye(4)
        M[:3, :3] = cv2.Rodrigues(np.array([0.3, -0.2, 1.0]))[0]
        M[:3, 3] = [5.0, -1.0, 2.0]
        assert absolute_trajectory_error(M @ gt, gt).max() < 1e-9

    def test_shape_check(self):
        with pytest.raises(ValueError, match="expected shape"):
            umeyama_alignment(np.zeros((4, 2)), np.zeros((4, 2)))


class TestAccuracy:
    def test_icl_nuim_ate_under_2cm(self, icl):
        frames, gt = icl
        result = estimate_poses(frames, PoseConfig())
        assert result.failed == []
        np.testing.assert_allclose(result.c2w[0], np.eye(4), atol=1e-12)
        assert _ate_rmse(result.c2w, gt) < ATE_TARGET
        assert all(q.fitness > 0.8 for q in result.report[1:])

    def test_with_every_frame_a_keyframe_and_loop_closures(self, icl):
        frames, gt = icl
        result = estimate_poses(frames, PoseConfig(keyframe_translation=0.01))
        assert result.keyframes == [0, 1, 2, 3, 4]
        assert (0, 2) in result.loop_closures  # non-adjacent, overlapping keyframes
        assert result.report[0].loop_edges
        assert _ate_rmse(result.c2w, gt) < ATE_TARGET


class TestFailures:
    def test_all_zero_depth_frame_is_flagged_not_dropped(self, icl):
        frames, gt = icl
        broken = list(frames)
        broken[2] = replace(frames[2], depth=np.zeros_like(frames[2].depth))
        result = estimate_poses(broken)
        assert len(result.c2w) == len(result.report) == 5
        assert result.c2w[2] is None and result.report[2].failed and "valid depth" in result.report[2].reason
        assert result.failed == [2]
        others = [0, 1, 3, 4]
        assert _ate_rmse([result.c2w[i] for i in others], gt[others]) < ATE_TARGET

    def test_nan_depth_frame_is_flagged(self, icl):
        frames, _ = icl
        broken = list(frames)
        broken[3] = replace(frames[3], depth=np.full_like(frames[3].depth, np.nan))
        result = estimate_poses(broken)
        assert result.failed == [3] and result.c2w[3] is None

    def test_non_metric_depth_is_refused(self, icl, tmp_path):
        frames, _ = icl
        with pytest.raises(InputError, match="not metric"):
            estimate_poses([replace(f, depth_kind=DepthKind.RELATIVE) for f in frames])
        scene = _write_scene(tmp_path / "rel", frames[:2], DepthKind.RELATIVE)
        assert main(["poses", str(scene)]) == 2

    def test_blurry_keyframe_gives_way_to_a_sharp_neighbour(self, icl):
        frames, _ = icl
        blurred = list(frames)
        blurred[2] = replace(frames[2], rgb=cv2.GaussianBlur(frames[2].rgb, (0, 0), 4.0))
        cfg = PoseConfig(keyframe_translation=0.04)  # frame 2 is the first 4 cm away
        result = estimate_poses(blurred, cfg)
        assert result.report[2].sharpness < 0.6 * result.report[1].sharpness
        assert 2 not in result.keyframes and 1 in result.keyframes
        assert result.failed == []


class TestScene:
    def test_cli_poses_a_scene_with_none(self, icl, tmp_path, capsys):
        frames, gt = icl
        scene_dir = _write_scene(tmp_path / "scene", frames)
        assert not read_scene(scene_dir).has_poses
        assert main(["poses", str(scene_dir)]) == 0
        out = capsys.readouterr().out
        assert "keyframe" in out and "5/5 frames posed" in out
        scene = read_scene(scene_dir)
        assert scene.has_poses and len(scene) == 5
        assert len(scene.train_ids) == 3 and scene.test_ids
        assert scene.frames[1].meta["pose"]["status"] == "ok"
        assert _ate_rmse([f.c2w for f in scene.frames], gt) < ATE_TARGET  # millimetre files, OpenGL on disk

    def test_failed_frame_stays_listed_and_flagged(self, icl, tmp_path):
        frames, _ = icl
        broken = list(frames)
        broken[2] = replace(frames[2], depth=np.zeros_like(frames[2].depth))
        scene, result = estimate_scene_poses(_write_scene(tmp_path / "scene", broken))
        again = read_scene(scene.root)
        assert len(again) == 5 and again.frames[2].c2w is None
        assert again.frames[2].meta["pose"]["failed"] is True
        assert 2 not in again.train_ids + again.test_ids

    def test_keyframes_only(self, icl, tmp_path):
        frames, _ = icl
        scene_dir = _write_scene(tmp_path / "scene", frames)
        assert main(["poses", str(scene_dir), "--keyframes-only", "--keyframe-translation", "0.04"]) == 0
        scene = read_scene(scene_dir)
        assert 2 <= len(scene) < 5 and scene.has_poses
        assert all(f.meta["pose"]["keyframe"] for f in scene.frames)

    def test_one_frame_scene_is_identity(self, icl, tmp_path):
        frames, _ = icl
        scene_dir = _write_scene(tmp_path / "one", frames[:1])
        assert main(["poses", str(scene_dir)]) == 0
        scene = read_scene(scene_dir)
        np.testing.assert_allclose(scene.frames[0].c2w, np.eye(4), atol=1e-12)
        assert scene.train_ids == [0]


def test_frame_without_depth_is_refused():
    f = Frame(rgb=np.zeros((8, 8, 3), np.uint8), depth=None, K=np.eye(3))
    result = estimate_poses([f, replace(f, index=1)])
    assert result.failed == [0, 1] and all(p is None for p in result.c2w)
    assert not math.isnan(result.report[0].sharpness)


def test_distorted_frames_are_undistorted_before_odometry(icl):
    from devices.poses.rgbd import prepare_frame

    frame = icl[0][0]
    dist = np.array([0.1, -0.05, 0.001, 0.0005])
    prepared = prepare_frame(replace(frame, distortion=dist), PoseConfig())
    expected = cv2.cvtColor(cv2.undistort(frame.rgb, frame.K, dist), cv2.COLOR_RGB2GRAY)
    assert np.abs(prepared.gray * 255.0 - expected).mean() < 1.0
    assert 0.5 < prepared.valid_depth < 0.9  # depth was resampled too (corners lose their depth)
