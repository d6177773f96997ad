"""Pose accuracy of `devices.poses` on the ICL-NUIM sample against its ground-truth trajectory.

Absolute trajectory error (ATE): RMSE and maximum of the camera-centre distances after a rigid
(Umeyama/Horn, no scale) alignment of the estimate onto the ground truth. Target: RMSE under 2 cm.

    python benchmarks/pose_accuracy.py [--data ../shared/data/open3d_rgbd/RGBD_SYNTHETIC_ICL-NUIM]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.poses import PoseConfig, absolute_trajectory_error, estimate_poses  # noqa: E402
from devices.poses.io import read_intrinsic_json, read_rgbd_folder, read_trajectory_log  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "open3d_rgbd" / "RGBD_SYNTHETIC_ICL-NUIM"
CONFIGS = {
    "default": PoseConfig(),
    "every frame a keyframe + loop closure": PoseConfig(keyframe_translation=0.01),
    "every frame a keyframe, no loop closure": PoseConfig(keyframe_translation=0.01, loop_closure=False),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    K, _, _ = read_intrinsic_json(args.data / "camera_primesense.json")
    frames = read_rgbd_folder(args.data, K)
    truth = np.stack(read_trajectory_log(args.data / "trajectory.log"))
    estimate_poses(frames[:2])  # warm-up: Open3D's import and first call

    print(f"ICL-NUIM living room, {len(frames)} frames {frames[0].width}x{frames[0].height}\n")
    print("| configuration | keyframes | loop closures | ATE RMSE (mm) | ATE max (mm) | fitness per frame | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, cfg in CONFIGS.items():
        result = estimate_poses(frames, cfg)
        if result.failed:
            print(f"| {name} | failed frames {result.failed} | | | | | |")
            continue
        err = absolute_trajectory_error(np.stack(result.c2w), truth) * 1000.0
        fitness = " ".join("ref" if q.anchor is None else f"{q.fitness:.3f}" for q in result.report)
        print(f"| {name} | {len(result.keyframes)} | {len(result.loop_closures)} | {np.sqrt(np.mean(err**2)):.2f} "
              f"| {err.max():.2f} | {fitness} | {result.seconds:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
