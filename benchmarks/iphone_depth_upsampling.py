"""Edge-aware vs nearest vs bilinear upsampling of LiDAR-sized depth, on a real RGB-D frame.

The real TUM RGB-D frame (640x480 colour + depth, ../shared/data) plays an iPhone: its depth is
sampled down to ARKit's 256x192 and upsampled back to 640x480 by each method, then compared with
the real full-resolution depth. "Edges" are the pixels whose true 5x5 neighbourhood spans more
than 10 % in depth; an "invented" depth (a flying pixel) is more than 5 % away from every true depth
within 2 pixels, i.e. a depth that exists nowhere around that pixel. Also times one
1920x1440 frame (the iPhone's colour size). Prints a Markdown table for benchmarks/RESULTS.md.

    python benchmarks/iphone_depth_upsampling.py
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.iphone.upsample import upsample_depth  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "open3d_rgbd" / "real_single_frames_TUM_SUN_NYU"


def methods() -> dict:
    return {
        "nearest (cv2.INTER_NEAREST)": lambda d, g: cv2.resize(d, g.shape[1::-1], interpolation=cv2.INTER_NEAREST),
        "bilinear (cv2.INTER_LINEAR)": lambda d, g: cv2.resize(d, g.shape[1::-1], interpolation=cv2.INTER_LINEAR),
        "edge-aware (ours)": upsample_depth,
    }


def invented(out: np.ndarray, truth: np.ndarray, mask: np.ndarray, radius: int = 2) -> float:
    """Percentage of ``mask`` pixels whose value is > 5 % away from every valid true depth within ``radius``."""
    h, w = truth.shape
    best = np.full(truth.shape, np.inf, np.float32)
    pad = np.pad(truth, radius)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            t = pad[dy : dy + h, dx : dx + w]
            best = np.minimum(best, np.where(t > 0, np.abs(out - t) / np.maximum(t, 1e-6), np.inf))
    return float(100 * np.mean(best[mask] > 0.05))


def main() -> None:
    rgb = cv2.cvtColor(cv2.imread(str(DATA / "TUM_color.png")), cv2.COLOR_BGR2RGB)
    truth = cv2.imread(str(DATA / "TUM_depth.png"), cv2.IMREAD_UNCHANGED).astype(np.float32) / 5000.0
    low = cv2.resize(truth, (256, 192), interpolation=cv2.INTER_NEAREST)
    valid = truth > 0
    span = cv2.dilate(truth, np.ones((5, 5))) - cv2.erode(np.where(valid, truth, np.inf).astype(np.float32), np.ones((5, 5)))
    edges = valid & (span > 0.1 * truth)
    big = cv2.resize(rgb, (1920, 1440), interpolation=cv2.INTER_CUBIC)
    print(f"machine: {platform.machine()} {platform.processor() or ''}, python {platform.python_version()}")
    print(f"TUM frame: {valid.sum()} valid pixels, {edges.sum()} at depth edges\n")
    print("| method | MAE all (mm) | MAE at edges (mm) | invented depths at edges (%) | ms 640x480 | ms 1920x1440 |")
    print("|---|---|---|---|---|---|")
    for name, fn in methods().items():
        t = time.perf_counter()
        out = fn(low, rgb)
        ms = 1000 * (time.perf_counter() - t)
        t = time.perf_counter()
        fn(low, big)
        ms_big = 1000 * (time.perf_counter() - t)
        both = valid & (out > 0)
        err = np.abs(out - truth)
        e = edges & (out > 0)
        flying = invented(out, truth, e)
        print(f"| {name} | {1000 * err[both].mean():.1f} | {1000 * err[e].mean():.1f} | {flying:.1f} "
              f"| {ms:.0f} | {ms_big:.0f} |")


if __name__ == "__main__":
    main()
