"""DTU few-shot benchmark: the fast field on the 3-view protocol, with and without the ranking prior.

For the same training budget (CPU seconds of the arm's process, torch at 1 thread by default; the
wall seconds are reported beside them) each arm trains the ``fast`` field on DTU scan24 (train views
25, 22, 28): "prior" with the defaults, "noprior" the same without the ranking prior, "noprior_tuned"
without the prior and with the field settings that suit that arm best (``NOPRIOR_TUNED``). Each
then renders every test view at full resolution and reports PSNR / SSIM (LPIPS when its weights
are on disk) over the full image and, as the papers do, with the object masks (masked PSNR over the
mask's pixels, masked SSIM with the background black in both images), steps, seconds per step, training and rendering rays per second, peak
memory, and the held-out PSNR reached after the first 60 s of training (mean over the test views
of the PSNR on a fixed random subsample of 4096 pixels per view; the clock is paused meanwhile), and every
CPU minute a held-out curve (full, masked and outside-the-mask PSNR) beside the training views' own PSNR.
``--images DIR`` writes each arm's first held-out render, its photo and its depth as PNGs.
Each arm runs in its own process so its peak memory is its own.

    .venv/bin/python benchmarks/dtu_fewshot.py --data ../shared/data/dtu_scan24 --minutes 10 --threads 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import numpy as np

EARLY_S = 60.0
"""The 'held-out PSNR after 60 s' checkpoint."""
EARLY_PIXELS = 4096
"""Pixels per test view in the early held-out estimate."""
CURVE_EVERY_S = 60.0
"""CPU seconds between the points of the held-out curve (full and masked PSNR on pixel subsamples)."""
NOPRIOR_TUNED = {"envmap_up": "world_z", "envmap_size": [8, 16], "distortion": 0.01}
"""Fast-field settings that suit training WITHOUT the prior best (arm "noprior_tuned"): the camera-aligned
environment map and the stronger distortion loss of the defaults help the prior but cost the no-prior arm
(8.8 against 14.0 dB held-out after 2,000 steps, docs/fast_field.md), so the comparison also runs it so."""
ARMS = ("prior", "noprior", "noprior_tuned")


def curve_point(trainer, views: list[int] | None = None) -> tuple[float, float, float]:
    """(full, masked, outside-the-mask) PSNR over fixed random ``EARLY_PIXELS`` pixels of each of ``views``
    (default: the test views; the training views tell whether the field can fit what it saw at all)."""
    import torch

    from nerf.inference import eval_mode

    scene, rng = trainer.scene, np.random.default_rng(0)
    se, n = np.zeros(3), np.zeros(3)  # full, inside, outside
    for v in scene.test_ids if views is None else views:
        ys, xs = rng.integers(scene.height, size=EARLY_PIXELS), rng.integers(scene.width, size=EARLY_PIXELS)
        with eval_mode(trainer.field), torch.no_grad():
            rgb = trainer.field(trainer.rays.view(v, ys, xs), train=False).rgb.clamp(0, 1).cpu().numpy()
        err = ((rgb - scene.images[v, ys, xs]) ** 2).sum(-1) / 3.0
        inside = scene.masks[v, ys, xs] if scene.masks is not None else np.ones(len(ys), bool)
        se += [err.sum(), err[inside].sum(), err[~inside].sum()]
        n += [len(err), inside.sum(), (~inside).sum()]
    full, masked, outside = (-10.0 * np.log10(se / np.maximum(n, 1))).tolist()
    return full, masked, outside


def early_psnr(trainer) -> float:
    """Mean over test views of the PSNR on a fixed random subsample of each view."""
    return float(np.mean([trainer.heldout_psnr(v, EARLY_PIXELS) for v in trainer.scene.test_ids]))


def run_arm(data: str, minutes: float, prior: bool, threads: int, overrides: dict, quick: bool = False,
            images: str | None = None) -> dict:
    """Train one arm and evaluate it; returns a JSON-safe dict."""
    import torch

    from nerf.evaluate import evaluate
    from nerf.fields.fast import FastFieldConfig
    from nerf.loaders import load_scene
    from nerf.lpips import load_lpips
    from nerf.trainer import TrainConfig, Trainer

    torch.set_num_threads(threads)
    scene = load_scene(data, split="3view")
    fast = FastFieldConfig(**overrides.pop("fast", {}))
    config = TrainConfig.from_flat(minutes=minutes, depth_prior=prior, threads=threads, fast=fast, **overrides)
    trainer = Trainer.create(scene, config)
    budget, early, t_train, t_wall = 60.0 * minutes, None, 0.0, 0.0
    curve, next_point = [], CURVE_EVERY_S
    while t_train < budget:
        c0 = time.process_time()
        stats = trainer.step()
        cpu = time.process_time() - c0
        t_train += cpu
        t_wall += stats.seconds
        # the LR schedule follows the budget's clock: CPU seconds, not the step's wall seconds it counted itself
        trainer.control.elapsed_s += cpu - stats.seconds
        if t_train >= next_point or t_train >= budget:  # the held-out curve (clock paused: process time outside steps)
            full, masked, outside = curve_point(trainer)
            train = curve_point(trainer, trainer.scene.train_ids)
            curve.append({"cpu_s": t_train, "wall_s": t_wall, "step": stats.step, "psnr": full, "psnr_masked": masked,
                          "psnr_outside": outside, "train_psnr": train[0], "train_psnr_masked": train[1]})
            print(f"  [{'prior' if prior else 'no prior'}] {t_train:.0f} CPU s ({t_wall:.0f} wall s), step {stats.step}: "
                  f"subsample PSNR {full:.2f} dB, masked {masked:.2f} dB, outside {outside:.2f} dB; "
                  f"training views {train[0]:.2f} / masked {train[1]:.2f} dB", flush=True)
            next_point += CURVE_EVERY_S
        if early is None and t_train >= min(EARLY_S, budget):
            early = early_psnr(trainer)
            print(f"  [{'prior' if prior else 'no prior'}] {t_train:.0f} CPU s ({t_wall:.0f} wall s), step {stats.step}: "
                  f"held-out PSNR {early:.2f} dB", flush=True)
    steps = trainer.step_count
    if quick:  # tuning: the subsample estimate instead of full renders
        return {"depth_prior": prior, "test_psnr": early_psnr(trainer), "test_ssim": None, "test_lpips": None,
                "steps": steps, "train_seconds": t_train, "train_wall_seconds": t_wall, "seconds_per_step": t_train / max(steps, 1),
                "train_rays_per_s": steps * config.sampler.batch_rays / t_train, "render_rays_per_s": None,
                "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                "heldout_psnr_60s": early, "lpips_status": "not evaluated (--quick)", "curve": curve}
    lpips = load_lpips(None)
    status = "ok" if lpips is not None else "unavailable: no LPIPS VGG weights on disk"
    t0 = time.perf_counter()
    report = evaluate(trainer.render, scene, lpips=lpips, lpips_status=status, step=steps)
    render_s = time.perf_counter() - t0
    if images:
        save_views(trainer, scene, Path(images), "prior" if prior else "noprior")
    means = report.means()
    rays_rendered = len(scene.test_ids) * scene.width * scene.height
    return {
        "depth_prior": prior,
        "test_psnr": means["psnr"],
        "test_ssim": means["ssim"],
        "test_lpips": means["lpips"],
        "test_psnr_masked": means["psnr_masked"],
        "test_ssim_masked": means["ssim_masked"],
        "lpips_status": status,
        "steps": steps,
        "train_seconds": t_train,
        "train_wall_seconds": t_wall,
        "seconds_per_step": t_train / max(steps, 1),
        "train_rays_per_s": steps * config.sampler.batch_rays / t_train,
        "render_rays_per_s": rays_rendered / render_s,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "heldout_psnr_60s": early,
        "final_resolution": getattr(trainer.field, "resolution", None),
        "curve": curve,
    }


def save_views(trainer, scene, folder: Path, arm: str) -> None:
    """Write the first test view's render, its photo and its depth (Turbo, near = red) as PNGs."""
    import cv2

    from nerf.colormap import colorize, robust_range
    from nerf.inference import view_camera

    folder.mkdir(parents=True, exist_ok=True)
    i = scene.test_ids[0]
    res = trainer.render(view_camera(scene, i))
    seen = res.acc > 0.5
    depth = colorize(res.depth, robust_range(res.depth, seen), seen)
    name = scene.extra.get("view_names", [str(v) for v in range(len(scene.images))])[i]
    photo = np.round(scene.images[i] * 255).astype(np.uint8)
    for tag, img in (("render", res.rgb), ("depth", depth), ("photo", photo)):
        cv2.imwrite(str(folder / f"dtu_{arm}_view{name}_{tag}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def _child(queue, *args) -> None:
    queue.put(run_arm(*args))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/dtu_scan24"), help="DTU scan folder")
    ap.add_argument("--minutes", type=float, default=10.0,
                    help="training budget per arm in CPU-minutes of the arm's process (time.process_time; wall time "
                         "is reported beside it)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1: the process's CPU time is the budget of one core)")
    ap.add_argument("--images", type=Path, default=None,
                    help="write each arm's first held-out render, photo and depth here (PNG)")
    ap.add_argument("--arms", default=",".join(ARMS),
                    help="comma list of prior (the defaults), noprior (the same without the ranking prior), "
                         "noprior_tuned (no prior, with the settings that suit it best: NOPRIOR_TUNED)")
    ap.add_argument("--rank-weight", type=float, default=None,
                    help="lambda of the ranking loss; default: the data set's (DTU 0.2, the original's). 2.0 helped "
                         "at 300 steps but cost 1.3 dB after 1 minute (docs/fast_field.md)")
    ap.add_argument("--quick", action="store_true", help="tuning: estimate test PSNR on pixel subsamples, no full renders")
    ap.add_argument("--set", default="{}", help='JSON overrides of TrainConfig, e.g. {"fast": {"lr_density": 0.2}}')
    args = ap.parse_args(argv)
    if not (args.data / "cameras.npz").is_file():
        print(f"error: {args.data}: not a DTU scan folder (no cameras.npz)", file=sys.stderr)
        return 2
    ctx = mp.get_context("spawn")
    rows = []
    arms = args.arms.split(",")
    if any(a not in ARMS for a in arms):
        print(f"error: --arms takes a comma list of {', '.join(ARMS)}, not {args.arms!r}", file=sys.stderr)
        return 2
    overrides = {**({"rank_weight": args.rank_weight} if args.rank_weight is not None else {}), **json.loads(args.set)}
    for arm in arms:
        arm_overrides = json.loads(json.dumps(overrides))  # a deep copy
        if arm == "noprior_tuned":
            arm_overrides["fast"] = {**NOPRIOR_TUNED, **arm_overrides.get("fast", {})}
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(queue, str(args.data), args.minutes, arm == "prior", args.threads,
                                                arm_overrides, args.quick,
                                                None if args.images is None else str(args.images)))
        proc.start()
        rows.append({"arm": arm, **queue.get()})
        proc.join()
    print_table(rows, args.minutes)
    if args.json:
        doc = {"benchmark": "dtu_fewshot", "data": str(args.data), "minutes": args.minutes, "threads": args.threads,
               "overrides": overrides, "arms": rows}
        args.json.write_text(json.dumps(doc, indent=2))
    return 0


def print_table(rows: list[dict], minutes: float) -> None:
    cols = [("arm", "arm", "{}"), ("depth prior", "depth_prior", "{}"), ("test PSNR", "test_psnr", "{:.2f}"), ("SSIM", "test_ssim", "{:.3f}"),
            ("masked PSNR", "test_psnr_masked", "{:.2f}"), ("masked SSIM", "test_ssim_masked", "{:.3f}"),
            ("LPIPS", "test_lpips", "{:.3f}"), ("PSNR @60 s", "heldout_psnr_60s", "{:.2f}"), ("steps", "steps", "{}"),
            ("CPU s", "train_seconds", "{:.0f}"), ("wall s", "train_wall_seconds", "{:.0f}"),
            ("CPU s/step", "seconds_per_step", "{:.3f}"), ("train rays/s", "train_rays_per_s", "{:,.0f}"),
            ("render rays/s", "render_rays_per_s", "{:,.0f}"), ("peak MB", "peak_memory_mb", "{:,.0f}")]
    print(f"\nDTU scan24, 3 views, fast field, {minutes:g} CPU-min per arm")
    print("| " + " | ".join(c[0] for c in cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join("-" if r.get(k) is None else f.format(r[k]) for _, k, f in cols) + " |")
    if rows and rows[0].get("lpips_status", "ok") != "ok":
        print(f"LPIPS: {rows[0]['lpips_status']}")


if __name__ == "__main__":
    sys.exit(main())
