"""Pose accuracy and speed of `devices.poses` on real and synthetic sequences with ground truth.

- 7-Scenes redkitchen (500 real handheld Kinect frames, KinectFusion poses as ground truth): at full
  rate, every 3rd and every 10th frame (a user moving 3x / 10x faster). The folder is imported once
  (`sparsenerf import`, depth registered to colour with `devices.registration.seven_scenes_rig`) into a
  cache scene; timing covers pose estimation only (reading the scene's PNGs included), as
  `sparsenerf poses SCENE --ignore-existing`.
- ICL-NUIM living room (5 synthetic frames, Open3D's sample) as before.

What is compared to what: the estimate is the COLOUR camera's trajectory (the registered depth lives in
the colour camera); the ground truth is pose.txt (the DEPTH camera's, KinectFusion) moved to the colour
camera by the same rig, so the two describe one camera. "ATE" is the issue's metric: RMSE / max of the
camera-centre distances after a rigid (Umeyama/Horn, no scale) alignment, over the posed frames.
"depth cam." is the same after mapping the estimate back into the depth camera (`Rig.depth_c2w`) and
comparing with pose.txt as stored. "hand-eye" also lets the alignment fit a fixed camera-side offset
(3 more parameters; the fitted offset is printed). CPU s/frame is `time.process_time()` of the whole
process (all threads) over the frames: unlike frames/s it hardly depends on what else runs on the box.
Targets (issue 12): 7-Scenes full rate 100 % posed, ATE <= 15 mm, >= 10 frames/s; every 3rd / 10th
frame 100 % posed, ATE <= 25 mm; ICL-NUIM under 2 cm.

    python benchmarks/pose_accuracy.py [--data ../shared/data] [--cache /tmp/sparsenerf_bench_7scenes]
                                       [--only 1,3,10] [--frames 500] [--consistency] [--registration]

``--consistency``: after the full-rate run, the pairwise check of ``pose_truth_checks.pair_consistency``
(do the pose files or the estimate agree better with the depth?). ``--registration``: the edge-alignment
score of the 7-Scenes rig and the alternatives (``pose_truth_checks.registration_scores``).
``--spread``: after the full-rate run, a second independent tracker made the way pose.txt was
(``pose_truth_checks.kinectfusion_trajectory``: KinectFusion-style frame-to-model ICP on the raw depth,
at each focal length of ``--spread-focals``), and the ATE between every two trajectories (all in the
depth camera): how far apart two good methods are, next to how far each is from pose.txt.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from devices.poses import PoseConfig, absolute_trajectory_error  # noqa: E402
from devices.poses.io import read_intrinsic_json, read_rgbd_folder, read_trajectory_log  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
HEADER = ("| sequence | frames | posed | ATE RMSE (mm) | ATE max (mm) | ATE depth cam. vs pose.txt (mm) "
          "| hand-eye ATE (mm) [offset mm] | keyframes | fallback / relocalised | loop closures | seconds "
          "| frames/s | CPU s/frame | load |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


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


def load() -> str:
    """The 1-minute load average (the box is shared)."""
    return f"{os.getloadavg()[0]:.1f}"


def timed(frames, config):
    """(PoseResult, CPU seconds of the whole process, load average at the start)."""
    from devices.poses import estimate_poses

    at, cpu = load(), time.process_time()
    result = estimate_poses(frames, config)
    return result, time.process_time() - cpu, at


def row(name: str, result, cpu: float, at: str, ate: dict[str, str]) -> str:
    m, n = result.methods(), len(result)
    posed = n - len(result.failed)
    return (f"| {name} | {n} | {posed}/{n} ({100 * posed / n:.0f} %) | {ate.get('rigid', '- | -')} "
            f"| {ate.get('depth', '-')} | {ate.get('hand_eye', '-')} | {len(result.keyframes)} "
            f"| {m.get('fallback', 0)} / {m.get('relocalised', 0)} | {len(result.loop_closures)} "
            f"| {result.seconds:.1f} | {n / result.seconds:.1f} | {cpu / n:.3f} | {at}-{load()} |")


def ate_columns(est: np.ndarray, truth: np.ndarray, rig=None) -> dict[str, str]:
    """The ATE cells (module docstring) of estimated vs true c2w [N, 4, 4] (the same camera)."""
    from devices.poses.geometry import hand_eye_trajectory_error

    err = absolute_trajectory_error(est, truth) * 1000
    out = {"rigid": f"{np.sqrt(np.mean(err ** 2)):.1f} | {err.max():.1f}"}
    if rig is not None:
        back = absolute_trajectory_error(np.stack([rig.depth_c2w(c) for c in est]),
                                         np.stack([rig.depth_c2w(c) for c in truth])) * 1000
        out["depth"] = f"{np.sqrt(np.mean(back ** 2)):.1f}"
    if len(est) >= 6:
        he, x = hand_eye_trajectory_error(est, truth)
        out["hand_eye"] = f"{1000 * np.sqrt(np.mean(he ** 2)):.1f} [{', '.join(f'{1000 * v:.0f}' for v in x)}]"
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("SPARSENERF_DATA", DEFAULT_DATA)))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/sparsenerf_bench_7scenes"))
    parser.add_argument("--only", default="1,3,10", help="7-Scenes frame steps to run")
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--consistency", action="store_true", help="pairwise ICP check of the full-rate run")
    parser.add_argument("--registration", action="store_true", help="edge-alignment scores of the 7-Scenes rigs")
    parser.add_argument("--spread", action="store_true",
                        help="frame-to-model tracking of the full-rate frames and the ATE between trajectories")
    parser.add_argument("--spread-focals", default="585", help="depth focal lengths (px) of the frame-to-model runs")
    args = parser.parse_args()
    from devices.registration import seven_scenes_rig

    config = PoseConfig()
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}\n")
    if args.registration:
        from pose_truth_checks import registration_scores

        print("| depth-to-colour rig | mean distance depth edge -> colour edge (px) |\n|---|---|")
        for name, score in registration_scores(args.data / "7scenes_redkitchen", list(range(500, 1000, 25))):
            print(f"| {name} | {score:.2f} |", flush=True)
        print()
    print(HEADER)
    scene = seven_scenes_scene(args.data, args.cache)
    rig, consistency, spread = seven_scenes_rig(), None, None
    for step in [int(s) for s in args.only.split(",") if s]:
        seq = Subsequence(scene, step, args.frames)
        result, cpu, at = timed(seq, config)
        nth = {2: "2nd", 3: "3rd"}.get(step, f"{step}th")
        label = "7-Scenes redkitchen, full rate" if step == 1 else f"7-Scenes redkitchen, every {nth} frame"
        est, truth, both = _pairs(result, scene, seq)
        print(row(label, result, cpu, at, ate_columns(est, truth, rig)), flush=True)
        if step == 1 and args.consistency:
            from pose_truth_checks import pair_consistency

            check = pair_consistency(scene, [seq.ids[k] for k in both], list(est), list(truth))
            consistency = (f"\npairwise ICP check (frames >= 2 s apart, every 25th, ICP fitness >= 0.5): {check.pairs} pairs; "
                           f"median offset from the depth's own optimum: pose files {check.truth_mm:.1f} mm / "
                           f"{check.truth_deg:.2f} deg, estimate {check.estimate_mm:.1f} mm / {check.estimate_deg:.2f} deg; "
                           f"estimate closer in {check.estimate_closer} of {check.pairs} pairs\n")
        if step == 1 and args.spread:
            spread = _spread(args, [seq.ids[k] for k in both], est, truth, rig)
    icl = args.data / "open3d_rgbd" / "RGBD_SYNTHETIC_ICL-NUIM"
    K, _, _ = read_intrinsic_json(icl / "camera_primesense.json")
    frames = read_rgbd_folder(icl, K)
    truth = np.stack(read_trajectory_log(icl / "trajectory.log"))
    result, cpu, at = timed(frames, config)
    posed = [i for i, c in enumerate(result.c2w) if c is not None]
    print(row("ICL-NUIM living room (synthetic)", result, cpu, at,
              ate_columns(np.stack([result.c2w[i] for i in posed]), truth[posed])))
    if consistency is not None:
        print(consistency)
    if spread is not None:
        print(spread)
    return 0


def _spread(args, ids: list[int], est: np.ndarray, truth: np.ndarray, rig) -> str:
    """The ``--spread`` tables (module docstring) for the full-rate run's posed frames ``ids``."""
    from pose_truth_checks import kinectfusion_trajectory, trajectory_spread

    from devices.sequences.seven_scenes import read_intrinsics

    root = args.data / "7scenes_redkitchen"
    files = sorted(p.name for p in root.glob("frame-*.depth.png"))[: args.frames]
    ids = [int(files[i][6:12]) for i in ids]
    trajs = {"pose.txt": np.stack([rig.depth_c2w(c) for c in truth]),
             "ours (devices.poses)": np.stack([rig.depth_c2w(c) for c in est])}
    lines = ["", "| frame-to-model run | frames/s | CPU s/frame | load |", "|---|---|---|---|"]
    for f in [float(x) for x in args.spread_focals.split(",") if x]:
        K = read_intrinsics(root)
        K[0, 0] = K[1, 1] = f
        at, start = load(), time.perf_counter()
        poses, cpu = kinectfusion_trajectory(root, ids, K)
        name = f"frame-to-model, depth f {f:.0f} px"
        trajs[name] = poses
        lines.append(f"| {name} | {len(ids) / (time.perf_counter() - start):.1f} | {cpu / len(ids):.3f} | {at}-{load()} |")
    lines += ["", "| trajectory a | trajectory b | ATE between them (mm) |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {mm:.1f} |" for a, b, mm in trajectory_spread(trajs)]
    return "\n".join(lines) + "\n"


def _pairs(result, scene, seq) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(estimated c2w [M, 4, 4], ground truth [M, 4, 4], the M posed positions in ``seq``)."""
    from devices.poses.truth import ground_truth

    both = [k for k, c in enumerate(result.c2w) if c is not None]
    truth = np.stack([ground_truth(scene.frames[seq.ids[k]].meta) for k in both])
    return np.stack([result.c2w[k] for k in both]), truth, both


if __name__ == "__main__":
    sys.exit(main())
