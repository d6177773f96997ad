"""The ground-truth checks of benchmarks/pose_truth_checks.py that the pose benchmark relies on: a
KinectFusion-style frame-to-model tracker on real 7-Scenes depth, and the ATE between trajectories."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from devices.sequences.seven_scenes import read_intrinsics, read_pose
from tests.conftest import shared_path
from tests.sequence_samples import SEVEN_SCENES, rot_y

_spec = importlib.util.spec_from_file_location(
    "pose_truth_checks", Path(__file__).resolve().parents[1] / "benchmarks" / "pose_truth_checks.py")
checks = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("pose_truth_checks", checks)  # dataclasses look their module up
_spec.loader.exec_module(checks)


def _rigid(R: np.ndarray, t) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = R, t
    return m


def test_frame_to_model_follows_a_real_second_of_the_walk():
    root = shared_path(*SEVEN_SCENES)
    ids = list(range(600, 630, 2))  # 1 s of the walk, every 2nd frame
    poses, cpu = checks.kinectfusion_trajectory(root, ids, read_intrinsics(root))
    truth = np.stack([read_pose(root / f"frame-{i:06d}.pose.txt") for i in ids])
    assert poses.shape == (len(ids), 4, 4) and np.allclose(poses[0], np.eye(4)) and cpu > 0
    moved = np.linalg.norm(truth[-1, :3, 3] - truth[0, :3, 3])
    ((_, _, mm),) = checks.trajectory_spread({"frame-to-model": poses, "pose.txt": truth})
    assert moved > 0.1 and mm < 15.0  # 17 cm of walk: the two agree to ~9 mm (a frozen tracker: 54)
    frozen = np.repeat(poses[:1], len(ids), axis=0)  # a tracker that never moved is far off
    ((_, _, stuck),) = checks.trajectory_spread({"frozen": frozen, "pose.txt": truth})
    assert stuck > 3 * mm


def test_trajectory_spread_is_zero_for_a_moved_copy_and_sees_a_bend():
    path = np.stack([_rigid(rot_y(5.0 * k), [0.1 * k, 0.02 * k * k, 0.0]) for k in range(8)])
    world = _rigid(rot_y(30.0), [1.0, -2.0, 0.5])
    bent = path.copy()
    bent[4:, 1, 3] += 0.01  # 1 cm step half way
    rows = checks.trajectory_spread({"a": path, "moved": world @ path, "bent": bent})
    got = {(a, b): mm for a, b, mm in rows}
    assert set(got) == {("a", "moved"), ("a", "bent"), ("moved", "bent")}
    assert got[("a", "moved")] < 1e-6
    assert 3.0 < got[("a", "bent")] < 6.0 and abs(got[("moved", "bent")] - got[("a", "bent")]) < 1e-6
