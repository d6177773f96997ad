"""What the faithful preset (Mip-NeRF field, the authors' schedule) costs: seconds per step and render speed.

    .venv/bin/python benchmarks/mipnerf_cpu.py --data ../shared/data/dtu_scan24 [--steps 3] [--device cpu]

Trains a few steps of ``--preset faithful`` on the DTU scan (3-view split, 256 rays a step, as the
authors) and once with 512 rays (their LLFF / NVS-RGBD batch), renders 4096 rays, and prints a table
with the extrapolated time of the authors' full schedules (90k / 60k steps).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from nerf.loaders import load_scene
from nerf.train_config import TrainConfig
from nerf.trainer import Trainer


def seconds_per_step(trainer: Trainer, steps: int) -> float:
    trainer.step()  # warm-up (allocations, first-call overheads)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    return (time.perf_counter() - t0) / steps


def render_rays_per_s(trainer: Trainer, n: int = 4096) -> float:
    s = trainer.scene
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(s.height, size=n), rng.integers(s.width, size=n)
    rays = trainer.rays.view(s.test_ids[0], ys, xs)
    trainer.field.eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, n, 1024):
            trainer.field(rays.index(slice(i, i + 1024)), train=False)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    scene = load_scene(args.data)
    rows = []
    for batch in (256, 512):
        trainer = Trainer.create(scene, TrainConfig.from_flat(preset="faithful", device=args.device))
        trainer.config.sampler.batch_rays = batch
        sps = seconds_per_step(trainer, args.steps)
        rows.append((batch, sps, batch / sps, render_rays_per_s(trainer) if batch == 256 else float("nan")))
    dev = Trainer.create(scene, TrainConfig.from_flat(device=args.device)).device
    print(f"faithful preset (mipnerf 8x256, 2 x 128 samples) on {scene.name}, device {dev}, torch threads "
          f"{torch.get_num_threads()}")
    print(f"{'batch':>6} {'s/step':>8} {'train rays/s':>13} {'render rays/s':>14} {'90k steps (h)':>14} {'60k steps (h)':>14}")
    for batch, sps, rps, render in rows:
        print(f"{batch:>6} {sps:>8.2f} {rps:>13.0f} {render:>14.0f} {90_000 * sps / 3600:>14.1f} {60_000 * sps / 3600:>14.1f}")


if __name__ == "__main__":
    main()
