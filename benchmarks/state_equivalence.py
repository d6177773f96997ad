"""Tensor-by-tensor check that a refactor kept training identical, also when it renamed state_dict keys.

``refactor_equivalence.py`` hashes the trained parameters WITH their names, so a change that only renames or
regroups keys (old checkpoints mapped in ``load_state_dict``) shows a different digest. This script trains the
same cases (same steps, seed 0, one thread) with the code of the tree it lives in and saves each field's
state_dict; ``--compare OLD_DIR`` loads the states another tree saved into a fresh field of this tree (through
its ``load_state_dict``, i.e. the old -> new key mapping) and counts the tensors that are bit-equal.

    # in a checkout of the old commit (copy this file there), then here:
    .venv/bin/python benchmarks/state_equivalence.py --save /tmp/old --steps 300
    .venv/bin/python benchmarks/state_equivalence.py --save /tmp/new --steps 300 --compare /tmp/old
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def train_and_save(case: str, steps: int, out: Path, dtu: Path, room: Path):
    import refactor_equivalence as req
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    scene_name, overrides = req.CASES[case]
    scene = req.load(scene_name, dtu, room)
    trainer = req.make_trainer(scene, overrides, steps)
    for _ in range(steps):
        trainer.step()
    torch.save(trainer.field.state_dict(), out / f"{case}.pt")
    return trainer


def compare(field, old_state: dict, new_state: dict) -> tuple[int, int, float]:
    """(bit-equal tensors, tensors, max |difference|) between ``new_state`` and ``old_state`` loaded into ``field``."""
    field.load_state_dict(old_state)
    mapped = field.state_dict()
    equal = sum(bool((mapped[k] == v).all()) for k, v in new_state.items())
    diff = max(float((mapped[k].float() - v.float()).abs().max()) for k, v in new_state.items())
    return equal, len(new_state), diff


def main(argv: list[str] | None = None) -> int:
    import refactor_equivalence as req
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--save", type=Path, required=True, help="folder for CASE.pt (the trained field states)")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--cases", default=",".join(req.CASES))
    ap.add_argument("--compare", type=Path, default=None, help="a folder another tree's run of this script saved")
    ap.add_argument("--dtu", type=Path, default=ROOT.parent / "shared/data/dtu_scan24")
    ap.add_argument("--room", type=Path, default=Path("/tmp/sparsenerf_equiv_room"))
    args = ap.parse_args(argv)
    args.save.mkdir(parents=True, exist_ok=True)
    print("| case | steps | bit-equal tensors | max abs difference |\n|---|---|---|---|")
    for case in args.cases.split(","):
        trainer = train_and_save(case, args.steps, args.save, args.dtu, args.room)
        if args.compare is not None:
            new = {k: v.clone() for k, v in trainer.field.state_dict().items()}
            eq, n, diff = compare(trainer.field, torch.load(args.compare / f"{case}.pt"), new)
            print(f"| {case} | {args.steps} | {eq} of {n} | {diff:.2e} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
