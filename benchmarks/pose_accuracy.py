"""Pose accuracy and speed of `devices.poses` on real and synthetic sequences with ground truth.

- 7-Scenes redkitchen (500 real handheld Kinect frames, KinectFusion poses as ground truth): at full
  rate, every 3rd and every 10th frame (a user moving 3x / 10x faster). The folder is imported once
  (`sparsenerf import`, depth registered to colour) into a cache scene; timing covers pose
  estimation only (reading the scene's PNGs included), as `sparsenerf poses SCENE --ignore-existing`.
- ICL-NUIM living room (5 synthetic frames, Open3D's sample) as before.

ATE: RMSE and maximum of the camera-centre distances after a rigid (Umeyama/Horn, no scale)
alignment of the estimate onto the ground truth, over the posed frames. Targets (issue 12):
7-Scenes full rate 100 % posed, ATE <= 15 mm, >= 10 frames/s; every 3rd / 10th frame 100 % posed,
ATE <= 25 mm; ICL-NUIM under 2 cm.

    python benchmarks/pose_accuracy.py [--data ../shared/data] [--cache /tmp/sparsenerf_bench_7scenes]
                                       [--only 1,3,10] [--frames 500]
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.poses import PoseConfig, absolute_trajectory_error, estimate_poses  # noqa: E402
from devices.poses.io import read_intrinsic_json, read_rgbd_folder, read_trajectory_log  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
HEADER = ("| sequence | frames | posed | ATE RMSE (mm) | ATE max (mm) | keyframes | fallback / relocalised "
          "| loop closures | seconds | frames/s |\n|---|---|---|---|---|---|---|---|---|---|")


class Subsequence:
    """Every ``step``-th frame of a scene folder, loaded on demand, poses removed."""

    def __init__(self, scene, step: int, limit: int):
        self.scene, self.ids = scene, list(range(0, min(limit, len(scene)), step))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, k: int):
        return replace(self.scene.frame(self.ids[k]), c2w=None, index=k)


def seven_scenes_scene(data: Path, cache: Path):
    from devices.importers import ImportOptions
    from devices.scene_folder import read_scene
    from devices.sequences.seven_scenes import import_seven_scenes

    if not (cache / "transforms.json").exists():
        print(f"importing {data / '7scenes_redkitchen'} into {cache} (once) ...", file=sys.stderr)
        import_seven_scenes(data / "7scenes_redkitchen", cache, ImportOptions(estimate_poses=False, overwrite=True))
    return read_scene(cache)


def row(name: str, result, err_mm: np.ndarray | None) -> str:
    m, n = result.methods(), len(result)
    posed = n - len(result.failed)
    ate = f"{np.sqrt(np.mean(err_mm ** 2)):.1f} | {err_mm.max():.1f}" if err_mm is not None else "- | -"
    return (f"| {name} | {n} | {posed}/{n} ({100 * posed / n:.0f} %) | {ate} | {len(result.keyframes)} "
            f"| {m.get('fallback', 0)} / {m.get('relocalised', 0)} | {len(result.loop_closures)} "
            f"| {result.seconds:.1f} | {n / result.seconds:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("SPARSENERF_DATA", DEFAULT_DATA)))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/sparsenerf_bench_7scenes"))
    parser.add_argument("--only", default="1,3,10", help="7-Scenes frame steps to run")
    parser.add_argument("--frames", type=int, default=500)
    args = parser.parse_args()
    config = PoseConfig()
    print(HEADER)
    scene = seven_scenes_scene(args.data, args.cache)
    for step in [int(s) for s in args.only.split(",") if s]:
        seq = Subsequence(scene, step, args.frames)
        result = estimate_poses(seq, config)
        nth = {2: "2nd", 3: "3rd"}.get(step, f"{step}th")
        label = "7-Scenes redkitchen, full rate" if step == 1 else f"7-Scenes redkitchen, every {nth} frame"
        print(row(label, result, _errors(result, scene, seq)), flush=True)
    icl = args.data / "open3d_rgbd" / "RGBD_SYNTHETIC_ICL-NUIM"
    K, _, _ = read_intrinsic_json(icl / "camera_primesense.json")
    frames = read_rgbd_folder(icl, K)
    truth = np.stack(read_trajectory_log(icl / "trajectory.log"))
    result = estimate_poses(frames, config)
    err = absolute_trajectory_error(np.stack([c for c in result.c2w if c is not None]),
                                    truth[[i for i, c in enumerate(result.c2w) if c is not None]]) * 1000
    print(row("ICL-NUIM living room (synthetic)", result, err))
    return 0


def _errors(result, scene, seq) -> np.ndarray:
    from devices.poses.truth import ground_truth

    both = [k for k, c in enumerate(result.c2w) if c is not None]
    truth = np.stack([ground_truth(scene.frames[seq.ids[k]].meta) for k in both])
    return absolute_trajectory_error(np.stack([result.c2w[k] for k in both]), truth) * 1000


if __name__ == "__main__":
    sys.exit(main())
