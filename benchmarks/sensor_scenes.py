"""Sensor scenes: the field against the TSDF-fusion anchor on the same 3 training views, in one run and one table.

Scenes:
- ``room``: the virtual room as ``make demo`` captures it (40 frames, seed 0, its 3 training views 0, 25,
  39); every other frame is held out (37 views). Captured into ``--room`` when that folder is absent.
- ``kitchen``: the real Kinect v1 walk ``../shared/data/7scenes_redkitchen`` (``nerf.loaders.seven_scenes``:
  30 frames taken every 10th from frame 500, training views 0, 14, 29 of those = frames 500, 640, 790,
  the other 27 held out; depth registered to colour; ground-truth poses), at 320 x 240.

Arms: ``anchor`` (``benchmarks/tsdf_anchor.py``: Open3D VoxelBlockGrid TSDF at 1 cm, ray-cast, unseen
pixels = mean training colour) and any of ``ARMS`` (field settings, each trained for ``--minutes``
CPU-minutes of the training process, one torch thread; wall seconds are reported beside). Metrics over the held-out views at the scene's resolution: PSNR, SSIM (7x7), depth abs-rel
against the held-out view's sensor depth (valid sensor pixels; the anchor's unseen pixels have no depth
and are left out of ITS abs-rel, which favours it), PSNR on the pixels the fusion saw ("seen": some
training view observed them), the fraction seen, and for the field the held-out PSNR after 20 s
(mean over the held-out views of 2,048 fixed random pixels each; the clock is paused meanwhile).

    .venv/bin/python benchmarks/sensor_scenes.py --minutes 3 --arms anchor,fast,sensor --images docs/
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EARLY_S = 20.0
EARLY_PIXELS = 2048
ARMS = {
    "fast": {"field": "fast"},
    "fast_noprior": {"field": "fast", "depth_prior": False},
    "sensor": {"field": "sensor"},
    "sensor_noprior": {"field": "sensor", "depth_prior": False},
}
"""Field arms: TrainConfig overrides."""


def load_bench_scene(name: str, args):
    from nerf.loaders import load_scene

    if name == "room":
        room = args.room
        if not (room / "transforms.json").is_file():
            from app.cli.capture import CaptureVirtual

            CaptureVirtual(out=room, frames=40, overwrite=True).run()
        scene = load_scene(room)
        scene.test_ids = [i for i in range(scene.num_views) if i not in scene.train_ids]
        return scene
    if name == "kitchen":
        return load_scene(args.kitchen)
    raise SystemExit(f"error: unknown scene {name!r} (room, kitchen)")


def score(scene, i: int, rgb: np.ndarray, depth_m: np.ndarray, seen: np.ndarray) -> dict:
    """Metrics of one held-out view: rgb float [H, W, 3], depth_m [H, W] (NaN = no depth), seen bool [H, W]."""
    from nerf import metrics

    gt = scene.images[i].astype(np.float64)
    abs_rel = metrics.depth_errors(depth_m, scene.depths[i] * scene.to_metres)[0]
    return {"psnr": metrics.psnr(rgb, gt), "ssim": metrics.ssim(rgb, gt), "abs_rel": abs_rel,
            "psnr_seen": metrics.psnr(rgb, gt, seen) if seen.any() else float("nan"), "seen": float(seen.mean())}


def run_anchor(scene):
    from benchmarks.tsdf_anchor import fuse_and_render

    renders, seconds = fuse_and_render(scene)
    rows = [score(scene, i, r.rgb, np.where(r.seen, r.depth, np.nan), r.seen) for i, r in renders.items()]
    return rows, seconds, renders


def early_psnr(trainer) -> float:
    return float(np.mean([trainer.heldout_psnr(v, EARLY_PIXELS) for v in trainer.scene.test_ids]))


def run_field(scene, arm: str, minutes: float, threads: int, overrides: dict, seen_masks: dict,
              frame_out: Path | None = None):
    import torch

    from nerf.trainer import TrainConfig, Trainer

    torch.set_num_threads(threads)
    cfg = {**ARMS[arm], **overrides}
    config = TrainConfig.from_json({**TrainConfig.from_flat(minutes=minutes, threads=threads).to_json(), **cfg})
    trainer = Trainer.create(scene, config)
    # The budget is CPU seconds of this process (the box is shared: wall time depends on the others' load);
    # the trainer's LR schedule follows the same clock (its elapsed_s is set to the CPU time used).
    budget, cpu_used, wall_used, early = 60.0 * minutes, 0.0, 0.0, None
    while cpu_used < budget:
        c0, w0 = time.process_time(), time.perf_counter()
        trainer.step()
        cpu_used += time.process_time() - c0
        wall_used += time.perf_counter() - w0
        trainer.control.elapsed_s = cpu_used
        if early is None and cpu_used >= min(EARLY_S, budget):
            early = early_psnr(trainer)
            print(f"  [{scene.name} {arm}] {cpu_used:.0f} CPU s ({wall_used:.0f} s wall), step {trainer.step_count}: "
                  f"held-out PSNR {early:.2f} dB", flush=True)
    rows, renders = [], {}
    if frame_out is not None:
        write_video_frame(trainer, frame_out)
    t0 = time.perf_counter()
    for i in scene.test_ids:
        r = trainer.render(trainer.view_camera(i))
        renders[i] = r
        depth = np.where(r.acc > 0.5, r.depth * scene.to_metres, np.nan)
        rows.append(score(scene, i, r.rgb.astype(np.float64) / 255.0, depth, seen_masks[i]))
    render_s = time.perf_counter() - t0
    return rows, {"steps": trainer.step_count, "train_cpu_s": cpu_used, "train_wall_s": wall_used, "psnr_20s": early,
                  "render_ms_per_view": 1000 * render_s / len(scene.test_ids)}, renders, trainer


def write_video_frame(trainer, out: Path) -> None:
    """Frame 7 of a 24-frame ``interp`` video (between two training views) as ``sparsenerf render`` draws it: PNG."""
    import cv2

    from nerf.colormap import robust_range
    from nerf.paths import camera_path
    from nerf.video import MIN_ACC, legend_scale, side_by_side

    cams = camera_path(trainer.scene, "interp", 24)
    first = trainer.render(cams[0])
    rng = robust_range(first.depth, first.acc > MIN_ACC)
    frame = side_by_side(trainer.render(cams[7]), rng, metres_per_unit=legend_scale(trainer.scene))
    cv2.imwrite(str(out), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))


def mean_row(rows: list[dict]) -> dict:
    return {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}


def save_images(out: Path, scene, anchor, fields: dict) -> None:
    """``OUT/sensor_<scene>.png``: for the middle held-out view, rows: photo | anchor | each field arm (RGB, depth)."""
    import cv2

    from nerf.colormap import colorize

    i = scene.test_ids[len(scene.test_ids) // 2]
    rng = (float(scene.near), float(scene.far))
    gt_d = scene.depths[i] * scene.to_metres
    lo, hi = np.percentile(gt_d[gt_d > 0], [1, 99])
    rng = (float(lo), float(hi))
    rows = [np.concatenate([scene.images[i], colorize(gt_d, rng, gt_d > 0) / 255.0], 1)]
    rows.append(np.concatenate([anchor[i].rgb, colorize(anchor[i].depth, rng, anchor[i].seen) / 255.0], 1))
    for r in fields.values():
        rows.append(np.concatenate([r[i].rgb / 255.0, colorize(r[i].depth * scene.to_metres, rng, r[i].acc > 0.5) / 255.0], 1))
    img = (np.concatenate(rows, 0) * 255).round().astype(np.uint8)
    cv2.imwrite(str(out / f"sensor_{scene.name}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", default="room,kitchen")
    ap.add_argument("--arms", default="anchor,fast,sensor", help=f"comma list of anchor, {', '.join(ARMS)}")
    ap.add_argument("--minutes", type=float, default=3.0, help="training budget per field arm, in CPU-minutes of this process")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: CPU seconds = the steps' own time)")
    ap.add_argument("--room", type=Path, default=Path(tempfile.gettempdir()) / "sparsenerf_bench_room")
    ap.add_argument("--kitchen", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/7scenes_redkitchen")
    ap.add_argument("--set", default="{}", help='JSON TrainConfig overrides for every field arm, e.g. {"fast": {"resolution": 96}}')
    ap.add_argument("--images", type=Path, default=None,
                    help="write sensor_<scene>.png comparisons and video_frame_<scene>_<arm>.png here")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    arms = args.arms.split(",")
    if any(a != "anchor" and a not in ARMS for a in arms):
        print(f"error: --arms takes anchor, {', '.join(ARMS)}; got {args.arms!r}", file=sys.stderr)
        return 2
    results = []
    for name in args.scenes.split(","):
        scene = load_bench_scene(name, args)
        a_rows, a_s, anchor = run_anchor(scene)
        seen = {i: r.seen for i, r in anchor.items()}
        if "anchor" in arms:
            results.append({"scene": name, "arm": "anchor", **mean_row(a_rows), "seconds": a_s})
        fields = {}
        for arm in (a for a in arms if a != "anchor"):
            frame_out = args.images / f"video_frame_{name}_{arm}.png" if args.images else None
            rows, info, renders, _ = run_field(scene, arm, args.minutes, args.threads, json.loads(args.set), seen,
                                               frame_out)
            fields[arm] = renders
            results.append({"scene": name, "arm": arm, **mean_row(rows), "seconds": info["train_cpu_s"], **info})
        if args.images:
            save_images(args.images, scene, anchor, fields)
    print_table(results, args.minutes)
    if args.json:
        args.json.write_text(json.dumps({"minutes": args.minutes, "threads": args.threads, "rows": results}, indent=2))
    return 0


def print_table(rows: list[dict], minutes: float) -> None:
    cols = [("scene", "scene", "{}"), ("arm", "arm", "{}"), ("PSNR", "psnr", "{:.2f}"), ("SSIM", "ssim", "{:.3f}"),
            ("depth abs-rel", "abs_rel", "{:.4f}"), ("PSNR seen", "psnr_seen", "{:.2f}"), ("seen", "seen", "{:.2f}"),
            ("PSNR @20 s", "psnr_20s", "{:.2f}"), ("steps", "steps", "{}"), ("CPU s", "seconds", "{:.1f}"), ("wall s", "train_wall_s", "{:.1f}"),
            ("render ms/view", "render_ms_per_view", "{:.0f}")]
    print(f"\nSensor scenes, 3 training views, field arms {minutes:g} min of training each")
    print("| " + " | ".join(c[0] for c in cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join("-" if r.get(k) is None else f.format(r[k]) for _, k, f in cols) + " |")


if __name__ == "__main__":
    sys.exit(main())
