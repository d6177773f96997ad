"""Cost of one virtual-sensor frame (target: well under 100 ms at 320x240), and of recording it.

Times ``VirtualSensor.frame(i)`` (ray casting, shading, ToF depth model, colour noise) and its
parts, at a few resolutions, and ``record()`` into a scene folder (PNG encoding included). Prints
a Markdown table for benchmarks/RESULTS.md. Wall time suffers when other processes share the
CPU; the CPU-time column (this process only; the sensor is single-threaded numpy) does not.

    python benchmarks/virtual_sensor.py [--frames 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.capture import record  # noqa: E402
from devices.virtual import VirtualSensor, VirtualSensorConfig  # noqa: E402
from devices.virtual.depth_model import measure  # noqa: E402
from devices.virtual.sensor import camera_rays  # noqa: E402

RESOLUTIONS = ((160, 120), (320, 240), (640, 480))


def timed(fn, n: int, clock=time.perf_counter) -> np.ndarray:
    """Milliseconds of each of ``n`` calls of ``fn(i)`` on ``clock``, after one warm-up call."""
    fn(0)
    out = []
    for i in range(n):
        t = clock()
        fn(i)
        out.append(1000 * (clock() - t))
    return np.array(out)


def parts(sensor: VirtualSensor, n: int) -> dict[str, float]:
    """Median milliseconds of each stage of a frame."""
    cfg = sensor.cfg
    rays = lambda i: camera_rays(sensor.K, sensor.c2w(i), cfg.width, cfg.height)  # noqa: E731
    origin, dirs = rays(0)
    hit = sensor.scene.raycast(origin, dirs)
    _, depth, lum = sensor._render(0)
    rng = np.random.default_rng(0)
    return {
        "rays": float(np.median(timed(rays, n))),
        "raycast": float(np.median(timed(lambda i: sensor.scene.raycast(origin, dirs), n))),
        "shade": float(np.median(timed(lambda i: sensor.scene.shade(hit), n))),
        "depth model": float(np.median(timed(lambda i: measure(depth, lum, cfg, rng), n))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30, help="frames timed per row")
    args = parser.parse_args()
    n = args.frames

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load:.2f}, numpy {np.__version__}, "
          f"{n} frames per row\n")
    print("| resolution | frame wall median (ms) | frame wall p90 (ms) | frame CPU median (ms) "
          "| rays | raycast | shade | depth model |")
    print("|---|---|---|---|---|---|---|---|")
    for w, h in RESOLUTIONS:
        sensor = VirtualSensor(VirtualSensorConfig(width=w, height=h))
        wall = timed(sensor.frame, n)
        cpu = timed(sensor.frame, n, time.process_time)
        p = parts(sensor, n)
        print(f"| {w}x{h} | {np.median(wall):.1f} | {np.percentile(wall, 90):.1f} | {np.median(cpu):.1f} | "
              + " | ".join(f"{p[k]:.1f}" for k in ("rays", "raycast", "shade", "depth model")) + " |")

    with tempfile.TemporaryDirectory() as tmp:
        source = VirtualSensor(VirtualSensorConfig(num_frames=n))
        t = time.perf_counter()
        with source:
            record(source, Path(tmp) / "scene")
        per = 1000 * (time.perf_counter() - t) / n
    print(f"\nrecord() 320x240 into a scene folder (render + PNG + fsync): {per:.1f} ms per frame "
          f"({1000 / per:.1f} frames/s)")


if __name__ == "__main__":
    main()
