"""Azure Kinect depth -> colour alignment: time per 720p frame on one core (target: 30 ms or less).

Times ``DepthToColor`` on the real recording in ../shared/data/kinect_pyk4a (NFOV_UNBINNED depth
640x576 -> 1280x720 colour) and its three stages, pinned to one CPU core. Wall time suffers when
other processes share the core; the CPU-time column (this process only) does not.

    python benchmarks/kinect_align.py [--frames 30] [--reference] [--overlay docs/kinect_alignment_overlay.png]

--reference also runs the literal SDK transcription in tests/kinect_sdk_reference.py (~7 s) and
prints coverage and agreement; --overlay writes the colour image with the aligned depth's edges.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.kinect import align as A  # noqa: E402
from devices.kinect.calibration import DepthMode  # noqa: E402
from devices.kinect.mkv import MkvRecording  # noqa: E402

DATA = Path(os.environ.get("SPARSENERF_DATA", ROOT.parent / "shared" / "data")) / "kinect_pyk4a" / "recording.mkv"


def load() -> tuple[A.DepthToColor, np.ndarray, np.ndarray]:
    with MkvRecording(DATA) as rec:
        cap = next(rec.captures())
        cal = rec.calibration.for_modes(DepthMode(rec.info.depth.mode), rec.info.color.height)
    return A.DepthToColor(cal), cap.depth, cap.color


def stages(align: A.DepthToColor, depth: np.ndarray) -> dict[str, tuple[float, float]]:
    """(wall ms, cpu ms) of each stage of one alignment, summed over the row bands as ``align`` runs them."""
    out: dict[str, list[float]] = {}
    t, c = time.perf_counter(), time.process_time()

    def lap(name: str) -> None:
        nonlocal t, c
        t2, c2 = time.perf_counter(), time.process_time()
        acc = out.setdefault(name, [0.0, 0.0])
        acc[0] += (t2 - t) * 1e3
        acc[1] += (c2 - c) * 1e3
        t, c = t2, c2

    zbuf = np.full(align.out_shape[0] * align.out_shape[1], A._EMPTY, np.int32)
    for r in range(0, depth.shape[0] - 1, A.BAND_ROWS):
        vx = align.vertices(depth, slice(r, min(r + A.BAND_ROWS + 1, depth.shape[0])))
        lap("project depth pixels")
        full, keep, patched = A.build_quads(vx)
        lap("quads + edge test")
        pa, va = A.rasterize(full, align.out_shape, keep)
        pb, vb = A.rasterize(patched, align.out_shape)
        lap("rasterise")
        A._zbuffer_min_into(zbuf, np.concatenate([pa, pb]), np.concatenate([va, vb]))
        lap("z-buffer")
    zbuf.astype(np.uint16)
    lap("z-buffer")
    return {k: (v[0], v[1]) for k, v in out.items()}


def benchmark(frames: int) -> None:
    align, depth, _ = load()
    align(depth)  # warm-up
    rows: dict[str, list[tuple[float, float]]] = {}
    totals = []
    for _ in range(frames):
        for k, v in stages(align, depth).items():
            rows.setdefault(k, []).append(v)
        t, c = time.perf_counter(), time.process_time()
        align(depth)
        totals.append(((time.perf_counter() - t) * 1e3, (time.process_time() - c) * 1e3))
    print(f"{platform.processor() or platform.machine()}, numpy {np.__version__}, OpenCV {cv2.__version__}, "
          f"{frames} frames, pinned to 1 core")
    print("| stage | median wall ms | median CPU ms |")
    print("|---|---|---|")
    for k, v in list(rows.items()) + [("**total: DepthToColor(depth), 720p**", totals)]:
        w, c = np.median(np.array(v), axis=0)
        print(f"| {k} | {w:.1f} | {c:.1f} |")


def reference() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import kinect_sdk_reference as sdk

    align, depth, _ = load()
    fast = align(depth)
    t = time.perf_counter()
    slow = sdk.depth_to_color(align.calibration, depth)
    secs = time.perf_counter() - t
    both = (fast > 0) & (slow > 0)
    diff = np.abs(fast[both].astype(int) - slow[both].astype(int))
    print(f"coverage: fast {(fast > 0).mean():.4%}, SDK transcription {(slow > 0).mean():.4%} "
          f"(transcription took {secs:.1f} s)")
    print(f"where both have depth ({both.sum()} px): equal to the mm {(diff == 0).mean():.4%}, "
          f"max difference {diff.max()} mm, pixels differing {(diff > 0).sum()}")


def overlay(path: Path) -> None:
    """Colour with the aligned depth drawn on it, for looking at.

    Left, the whole frame: depth discontinuities (> 4 %) magenta, borders of depth holes green.
    Right, the mug at 1.5x: depth holes tinted red. The glossy mug saturates the depth camera in a
    vertical band, but its printed ink does not, so inside the band the drawing's strokes keep their
    depth: where they are untinted exactly on the printed strokes, depth and colour line up.
    """
    align, depth, rgb = load()
    d = align(depth).astype(np.float32)
    valid = d > 0
    kernel = np.ones((3, 3), np.uint8)
    grown = cv2.dilate(d, kernel)
    shrunk = cv2.erode(np.where(valid, d, 1e9).astype(np.float32), kernel)
    jump = valid & (grown - shrunk > 0.04 * shrunk)
    hole_border = valid & (cv2.erode(valid.astype(np.uint8), kernel) == 0)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    full = bgr.copy()
    full[hole_border] = (0, 255, 0)
    full[jump] = (255, 0, 255)
    y0, y1, x0, x1 = 360, 640, 240, 520  # the mug
    crop = bgr[y0:y1, x0:x1].copy()
    tint = crop.copy()
    tint[~valid[y0:y1, x0:x1]] = (0, 0, 255)
    mug = cv2.addWeighted(crop, 0.55, tint, 0.45, 0)
    mug[jump[y0:y1, x0:x1]] = (255, 0, 255)
    mug = cv2.resize(mug, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_NEAREST)
    h = mug.shape[0]
    small = cv2.resize(full, (round(h * full.shape[1] / full.shape[0]), h), interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.hstack([small, mug]))
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--reference", action="store_true", help="compare with the literal SDK transcription")
    ap.add_argument("--overlay", type=Path, help="write the alignment overlay picture here")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    cv2.setNumThreads(1)
    benchmark(args.frames)
    if args.reference:
        reference()
    if args.overlay:
        overlay(args.overlay)


if __name__ == "__main__":
    main()
