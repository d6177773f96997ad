"""Behaviour check for refactors: fixed-step, seeded, single-thread training gives the same numbers.

A wall-clock benchmark on a shared 2-core box moves by several tenths of a dB from run to run, so it
cannot show that a redesign kept behaviour. This script removes the clock: each case trains a fixed
number of steps with seed 0 on one CPU thread, then reports the training loss of the last step, the
held-out PSNR on a fixed subsample of every test view and a digest of the trained parameters. Run it
before and after a change; identical digests mean identical training, equal PSNRs (to ~1e-3 dB)
mean the same behaviour up to floating-point reordering.

    .venv/bin/python benchmarks/refactor_equivalence.py --json benchmarks/results/refactor_after.json
    .venv/bin/python benchmarks/refactor_equivalence.py --compare benchmarks/results/refactor_before.json

Cases: DTU scan24 3-view (fast field, monocular depth ranking), the virtual room as ``make demo``
captures it (fast field and sensor field).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = {
    "dtu3_fast": ("dtu", {"field": "fast"}),
    "room_fast": ("room", {"field": "fast"}),
    "room_sensor": ("room", {"field": "sensor"}),
}
"""Case name -> (scene, TrainConfig overrides)."""
PIXELS = 2048
"""Pixels per test view in the held-out PSNR."""
ROOM_K_SHIFT = [0.0]
"""Subtracted from the room's principal point (``--room-k-shift``; 0.5 gives the rays the scene-folder loader gave
before it moved the principal point to nerf.rays' pixel centres, which the baselines were recorded with)."""


def load(name: str, dtu: Path, room: Path):
    from nerf.loaders import load_scene

    if name == "dtu":
        return load_scene(dtu, split="3view")
    if not (room / "transforms.json").is_file():
        from app.cli.capture import CaptureVirtual

        CaptureVirtual(out=room, frames=40, overwrite=True).run()
    scene = load_scene(room)
    scene.K[:, :2, 2] -= ROOM_K_SHIFT[0]
    scene.test_ids = [i for i in range(scene.num_views) if i not in scene.train_ids]
    return scene


def make_trainer(scene, overrides: dict, steps: int):
    """The one place that knows how to build a trainer (update it when the API changes)."""
    from nerf.trainer import TrainConfig, Trainer

    config = TrainConfig.from_json({**TrainConfig.from_flat(steps=steps, threads=1, seed=0).to_json(), **overrides})
    return Trainer.create(scene, config)


def digest(module) -> str:
    h = hashlib.sha256()
    for name, p in sorted(module.state_dict().items()):
        if hasattr(p, "detach"):
            h.update(name.encode())
            h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def run_case(case: str, steps: int, dtu: Path, room: Path) -> dict:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    scene_name, overrides = CASES[case]
    scene = load(scene_name, dtu, room)
    trainer = make_trainer(scene, overrides, steps)
    t0, loss = time.perf_counter(), float("nan")
    for _ in range(steps):
        loss = float(sum(trainer.step().losses.values()))
    seconds = time.perf_counter() - t0
    psnrs = [trainer.heldout_psnr(v, PIXELS) for v in scene.test_ids]
    return {"case": case, "steps": steps, "loss": loss, "heldout_psnr": float(np.mean(psnrs)),
            "digest": digest(trainer.field), "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=150, help="training steps per case")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma list of {', '.join(CASES)}")
    ap.add_argument("--dtu", type=Path, default=ROOT.parent / "shared/data/dtu_scan24")
    ap.add_argument("--room", type=Path, default=Path(tempfile.gettempdir()) / "sparsenerf_equiv_room")
    ap.add_argument("--json", type=Path, default=None, help="write the rows here")
    ap.add_argument("--compare", type=Path, default=None, help="a JSON written before the change: print both")
    ap.add_argument("--room-k-shift", type=float, default=0.0,
                    help="subtract from the room's cx, cy (0.5: the rays of baselines recorded before the half-pixel fix)")
    args = ap.parse_args(argv)
    ROOM_K_SHIFT[0] = args.room_k_shift
    rows = [run_case(c, args.steps, args.dtu, args.room) for c in args.cases.split(",")]
    before = {r["case"]: r for r in json.loads(args.compare.read_text())} if args.compare else {}
    print(f"| case | steps | sum of last losses | held-out PSNR (dB) | params digest | s |{' before PSNR | same digest |' if before else ''}")
    print(f"|---|---|---|---|---|---|{'---|---|' if before else ''}")
    for r in rows:
        extra = ""
        if r["case"] in before:
            b = before[r["case"]]
            extra = f" {b['heldout_psnr']:.4f} | {'yes' if b['digest'] == r['digest'] else 'no'} |"
        print(f"| {r['case']} | {r['steps']} | {r['loss']:.6f} | {r['heldout_psnr']:.4f} | {r['digest']} | "
              f"{r['seconds']:.0f} |{extra}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
