"""Tracking that recovers (devices.poses.recovery / relocalise) on real frames: ORB + PnP against a
keyframe, fallback keyframes, and the per-frame report of what was used."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from devices.poses import PoseConfig, estimate_poses
from devices.poses.geometry import rigid_inverse, rotation_angle
from devices.poses.recovery import candidate_keyframes, recover
from devices.poses.relocalise import pnp_pose
from devices.poses.rgbd import odometry, prepare_frame
from devices.poses.truth import truth_error
from devices.sequences.seven_scenes import _frames, read_intrinsics
from tests.conftest import shared_path
from tests.sequence_samples import SEVEN_SCENES


def kitchen(ids: list[int]) -> list:
    """Real 7-Scenes frames (depth registered to colour), their ground truth in the metadata."""
    root = shared_path(*SEVEN_SCENES)
    from devices.sequences.seven_scenes import read_pose

    poses = [read_pose(root / f"frame-{i:06d}.pose.txt") for i in ids]
    return [replace(f, c2w=None) for f in _frames(root, ids, read_intrinsics(root), poses)]


def _rel_truth(a, b) -> np.ndarray:
    return rigid_inverse(np.asarray(a.meta["ground_truth_c2w"])) @ np.asarray(b.meta["ground_truth_c2w"])


def test_pnp_pose_of_a_large_jump_seeds_odometry():
    cfg = PoseConfig()
    a, b = (prepare_frame(f, cfg) for f in kitchen([600, 640]))  # 1.3 s apart
    truth = _rel_truth(*kitchen([600, 640]))  # b -> a
    pose = pnp_pose(b.features(), a.features(), a.depth, a.K, cfg)
    assert pose is not None and pose.inliers >= cfg.relocalise_min_inliers
    assert np.linalg.norm(pose.T[:3, 3] - truth[:3, 3]) < 0.08  # 23 cm apart: a start, refined below
    assert rotation_angle(rigid_inverse(truth) @ pose.T) < 3.0
    refined = odometry(b, a, pose.T, cfg)
    assert np.linalg.norm(refined.T[:3, 3] - truth[:3, 3]) < 0.03


def test_recover_relocalises_when_the_prediction_is_far_off():
    cfg = PoseConfig()
    frames = kitchen([600, 640])
    a, b = (prepare_frame(f, cfg) for f in frames)
    a.index, b.index = 0, 1
    lost = np.eye(4)
    lost[:3, 3] = [0.5, 0.0, 0.3]  # a prediction half a metre away: odometry cannot start from it
    found = recover(b, {0: np.eye(4)}, {0: a}, lost, cfg, lambda e: e.accepted(cfg.min_fitness, cfg.min_correspondences))
    assert found is not None and found[1] == "relocalised"
    truth = _rel_truth(*frames)
    assert np.linalg.norm(found[0].T[:3, 3] - truth[:3, 3]) < 0.03
    off = replace(cfg, relocalise=False)
    assert recover(b, {0: np.eye(4)}, {0: a}, lost, off, lambda e: e.accepted(0.3, 1000)) is None


def test_candidates_latest_then_nearest():
    poses = {k: np.eye(4) for k in range(6)}
    for k in poses:
        poses[k][:3, 3] = [k, 0, 0]
    predicted = np.eye(4)  # nearest keyframes: 0, 1, ...
    assert candidate_keyframes(poses, predicted, 2) == [5, 4, 0, 1]


@pytest.mark.slow
def test_every_tenth_frame_of_a_real_walk_is_posed_and_reported():
    frames = kitchen(list(range(600, 800, 10)))
    result = estimate_poses(frames)
    assert result.failed == []
    err = truth_error(result.c2w, [f.meta for f in frames])
    assert err is not None and err.rmse < 0.05
    methods = {q.method for q in result.report}
    assert "reference" in methods and methods <= {"reference", "odometry", "fallback", "relocalised"}
    assert all(0.0 <= q.confidence <= 1.0 for q in result.report)
    assert result.report[1].to_meta()["method"] in ("odometry", "fallback", "relocalised")


def test_second_opinion_only_after_a_big_step():
    from devices.poses.rgbd import Edge
    from devices.poses.tracking import _Tracker

    cfg = PoseConfig()
    tracker = _Tracker(lambda i: None, 0, cfg, None)
    tracker.last_rel = np.eye(4)

    def edge(dx: float, success: bool = True) -> Edge:
        T = np.eye(4)
        T[0, 3] = dx
        return Edge(1, 0, T, np.eye(6), success, 0.4, 5000, 0.0)

    assert not tracker.big_step(edge(0.01))  # 1 cm from where it started: the overlap shrinking
    assert tracker.big_step(edge(0.05))  # 5 cm: may have slid, ask the features
    assert tracker.big_step(edge(0.0, success=False))  # odometry failed outright
    tracker.last_rel[0, 3] = 0.05  # the step is measured from the start (the previous frame's pose)
    assert not tracker.big_step(edge(0.06))


def test_only_target_frames_build_normals():
    cfg = PoseConfig()
    a, b = (prepare_frame(f, cfg) for f in kitchen([600, 603]))
    e = odometry(b, a, np.eye(4), cfg, with_information=False)
    assert e.success
    assert all(lv._normal is not None for lv in a.pyramid().levels)  # the target, at every level
    assert all(lv._normal is None for lv in b.pyramid().levels)  # the source never needs them


def test_a_lazy_sequence_is_read_once():
    frames = kitchen(list(range(600, 612, 3)))

    class Counting:
        def __init__(self):
            self.reads: list[int] = []

        def __len__(self) -> int:
            return len(frames)

        def __getitem__(self, i: int):
            self.reads.append(i)
            return frames[i]

    seq = Counting()
    result = estimate_poses(seq, PoseConfig())
    assert len(result.failed) == 0 and sorted(seq.reads) == list(range(len(frames)))


def test_frames_lost_before_the_map_is_found_again_are_tracked_back():
    """A walk that leaves the mapped area (a 4 s gap: frames 640 -> 760 see another part of the kitchen)
    and comes back: the frames between are lost until frame 860 relocalises against the start; they are
    then posed backwards from it (checked by features, geometric odometry slides on the cupboard doors
    there) instead of staying flagged."""
    ids = list(range(500, 641, 20)) + list(range(760, 931, 10))
    frames = kitchen(ids)
    result = estimate_poses(frames, PoseConfig())
    methods = [q.method for q in result.report]
    assert result.failed == []
    assert methods[8:11] == ["backtracked"] * 3 and methods[11] == "relocalised"
    assert "3 tracked back from a later frame" in result.summary()
    err = truth_error(result.c2w, [f.meta for f in frames])
    assert err is not None and err.compared == len(ids) and err.rmse < 0.06
