"""Training on Ray: preview latency local vs through the cluster, and batch throughput on 1 vs 2 nodes.

Starts its own Ray nodes on 127.0.0.1 (tests/ray_cluster.py: head + worker, 1 CPU each, token on) and
tears them down. Prints two Markdown tables.

1. Preview latency: while a run trains, the time from a render request (a 160x120 camera, as the
   studio's preview asks) to the image in the caller's hands; a local Trainer (served between two
   steps by its loop) vs a RemoteTrainer through Ray Client (ray://) on the same machine.
2. Batch throughput: ``sparsenerf batch`` of N virtual-sensor scenes (fixed steps) with only the head
   node vs head + worker: wall seconds and scenes per minute.

    .venv/bin/python benchmarks/cluster.py [--renders 15] [--scenes 4] [--steps 150]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_scenes(root: Path, n: int) -> list[Path]:
    from devices.capture import record
    from devices.virtual import VirtualSensor, VirtualSensorConfig

    out = []
    for seed in range(n):
        with VirtualSensor(VirtualSensorConfig(width=160, height=120, num_frames=8, seed=seed)) as src:
            record(src, root / f"scene{seed}", train_views=3)
        out.append(root / f"scene{seed}")
    return out


def bench_config(steps: int):
    from nerf.fields.fast import FastFieldConfig
    from nerf.train_config import TrainConfig

    return TrainConfig.from_flat(steps=steps, batch_rays=1024, threads=1, snapshot_interval_s=0.5, preview_every_s=1e9,
                       fast=FastFieldConfig(resolution_schedule=((0, 48),), max_samples=64))


def latencies(trainer, renders: int) -> list[float]:
    """Seconds from request to image for ``renders`` requests at 160x120 (one at a time, as the studio does)."""
    cam = trainer.view_camera(trainer.scene.test_ids[0])
    out = []
    for _ in range(renders):
        done = threading.Event()
        t0 = time.perf_counter()
        trainer.control.request_render(cam, lambda _r, done=done: done.set())
        done.wait(120)
        out.append(time.perf_counter() - t0)
        time.sleep(0.2)
    return out


def preview_latency(scene: Path, cluster, renders: int) -> list[tuple[str, list[float]]]:
    from app.cluster.connect import connect, disconnect
    from app.cluster.remote_trainer import ClusterTarget, RemoteTrainer
    from nerf.loaders import load_scene
    from nerf.trainer import Trainer

    def while_training(trainer) -> list[float]:
        thread = threading.Thread(target=trainer.control.run)
        thread.start()
        time.sleep(3)
        try:
            return latencies(trainer, renders)
        finally:
            trainer.control.stop()
            thread.join()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        local = Trainer.create(load_scene(scene), bench_config(100_000), Path(tmp) / "local")
        rows.append(("local Trainer (between two steps)", while_training(local)))
        connect(cluster.address)
        remote = RemoteTrainer.start(load_scene(scene), bench_config(100_000), Path(tmp) / "remote",
                                     ClusterTarget(cluster.address))
        rows.append(("RemoteTrainer via ray:// (between two steps)", while_training(remote)))
        disconnect()
    return rows


def wait_idle(cluster, cpus: float) -> None:
    """Until the cluster has ``cpus`` CPUs free (a killed actor or node takes seconds to be released)."""
    from app.cluster.connect import connect, disconnect

    ray = connect(cluster.address)
    deadline = time.monotonic() + 60
    while ray.available_resources().get("CPU", 0) != cpus and time.monotonic() < deadline:
        time.sleep(0.5)
    disconnect()


def batch_seconds(scenes: list[Path], cluster, steps: int) -> float:
    from app.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        code = main(["batch", *map(str, scenes), "--out", tmp, "--cluster", cluster.address, "--steps", str(steps),
                     "--batch-rays", "1024"])
        assert code == 0
        return time.perf_counter() - t0


def print_latency(lat) -> None:
    print(f"load average: {os.getloadavg()}")
    print("\n| preview request -> image (160x120) | median ms | p90 ms | max ms |")
    print("|---|---|---|---|")
    for name, xs in lat:
        xs = sorted(xs)
        print(f"| {name} | {1000 * statistics.median(xs):.0f} | {1000 * xs[int(0.9 * (len(xs) - 1))]:.0f} | "
              f"{1000 * xs[-1]:.0f} |", flush=True)


def print_batch(args, one: float, two: float) -> None:
    print(f"load average: {os.getloadavg()}")
    print(f"\n| batch of {args.scenes} scenes x {args.steps} steps | wall s | scenes / min |")
    print("|---|---|---|")
    for name, s in (("1 node (head, 1 CPU)", one), ("2 nodes (head + worker, 1 CPU each)", two)):
        print(f"| {name} | {s:.1f} | {60 * args.scenes / s:.2f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--renders", type=int, default=15)
    ap.add_argument("--scenes", type=int, default=4)
    ap.add_argument("--steps", type=int, default=150)
    args = ap.parse_args()
    from tests.ray_cluster import start_cluster

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        scenes = make_scenes(Path(tmp), args.scenes)
        cluster = start_cluster()
        os.environ["RAY_AUTH_TOKEN"] = cluster.token
        try:
            lat = preview_latency(scenes[0], cluster, args.renders)
            print_latency(lat)
            wait_idle(cluster, 2.0)
            two = batch_seconds(scenes, cluster, args.steps)
            cluster.live_workers()[0].kill()
            wait_idle(cluster, 1.0)  # the head noticed the node is gone
            one = batch_seconds(scenes, cluster, args.steps)
            print_batch(args, one, two)
        finally:
            cluster.shutdown()


if __name__ == "__main__":
    main()
