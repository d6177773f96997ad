"""Cost of one DPT-Hybrid monocular depth prediction (`sparsenerf depth`) at the network's usual sizes.

The full-size network (123 M parameters) is built with random weights (no checkpoint can be
downloaded here; the arithmetic and therefore the time are the same as with the official weights)
and times ``MonoDepth.predict``-equivalent work: preprocessing, the forward pass and the bicubic
resize back to the image. Prints a Markdown table for benchmarks/RESULTS.md.

    python benchmarks/mono_depth.py [--runs 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.mono_depth.dpt import DPT_HYBRID, DPTHybrid  # noqa: E402
from devices.mono_depth.estimate import network_size, prepare  # noqa: E402

# (label, image width, image height): LLFF at the authors' 1/8, a 640x480 sensor frame, DTU at 1/4.
SIZES = [("LLFF 1/8", 504, 378), ("VGA frame", 640, 480), ("DTU 1/4", 400, 300)]


def main() -> None:
    import torch
    import torch.nn.functional as F

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="timed runs per size (after one warm-up)")
    parser.add_argument("--device", default="cpu", help="torch device")
    args = parser.parse_args()

    torch.manual_seed(0)
    model = DPTHybrid(DPT_HYBRID).eval().to(args.device)
    rng = np.random.default_rng(0)
    print(f"machine: {platform.machine()} {platform.processor() or ''}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}")
    print("| image | network input | seconds per frame (mean of runs) |")
    print("|---|---|---|")
    for label, w, h in SIZES:
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        times = []
        for run in range(args.runs + 1):
            t0 = time.perf_counter()
            x = torch.from_numpy(prepare(rgb)).to(args.device)
            with torch.inference_mode():
                pred = F.interpolate(model(x)[:, None], size=(h, w), mode="bicubic", align_corners=False)
                pred.cpu()
            if run:  # the first run is a warm-up
                times.append(time.perf_counter() - t0)
        nw, nh = network_size(w, h)
        print(f"| {label} {w}x{h} | {nw}x{nh} | {np.mean(times):.2f} |")


if __name__ == "__main__":
    main()
