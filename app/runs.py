"""Open a saved training run for the CLI and the studio, with every failure as one InputError line.

``nerf.trainer.Trainer.from_run_dir`` already names a missing run.json or checkpoint and a file torch cannot read;
what it lets through is a checkpoint torch reads but the current field cannot load (saved by an older,
incompatible version: missing or unexpected state keys, other tensor sizes), which surfaces as a
multi-line RuntimeError, and a run whose scene was moved, which names only the scene's path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from devices.errors import InputError


def load_run_checked(run_dir: str | Path) -> Any:
    """The ``nerf.trainer.Trainer`` of the run in ``run_dir`` at its latest checkpoint.

    Raises:
        InputError: not a run, its scene is gone, its checkpoint is missing, unreadable or incompatible.
    """
    from nerf import Trainer
    from nerf.run_dir import CHECKPOINT

    run_dir = Path(run_dir)
    check_run_folder(run_dir)
    try:
        return Trainer.from_run_dir(run_dir)
    except (RuntimeError, KeyError, ValueError) as exc:  # ValueError: torch's optimizer state does not fit
        raise InputError(run_dir / CHECKPOINT, incompatible_checkpoint_problem(exc)) from None


def check_run_folder(run_dir: Path) -> None:
    """Cheap checks of a run folder (no torch.load): a valid run.json, its scene still there, a checkpoint file.

    Raises:
        InputError: naming the file at fault.
    """
    from nerf.run_dir import CHECKPOINT, RUN_JSON, read_run_json

    source, _ = read_run_json(run_dir)
    if source is None:
        raise InputError(run_dir / RUN_JSON, "does not say where its scene is (trained on a scene built in memory); "
                                             "load it from Python with nerf.trainer.Trainer.from_run_dir(run, scene=...)")
    if not Path(source.path).exists():
        raise InputError(run_dir / RUN_JSON, f"the scene it was trained on, {source.path}, no longer exists "
                                             "(moved or deleted?)")
    if not (run_dir / CHECKPOINT).is_file():
        raise InputError(run_dir / CHECKPOINT, "not found: the run has no checkpoint yet")


def incompatible_checkpoint_problem(exc: BaseException) -> str:
    """One line saying why a checkpoint does not fit the current field (from torch's load_state_dict error)."""
    text = str(exc)
    details = []
    for label, pattern in (("missing", r"Missing key\(s\) in state_dict: ([^\n]*)"),
                           ("unexpected", r"Unexpected key\(s\) in state_dict: ([^\n]*)")):
        match = re.search(pattern, text)
        if match:
            keys = ", ".join(k.strip(' ".') for k in match.group(1).split(",") if k.strip(' ".'))
            details.append(f"{label} {keys}")
    if "size mismatch" in text:
        details.append("tensor sizes differ")
    if isinstance(exc, KeyError):
        details.append(f"missing {exc.args[0]!r}")
    why = "; ".join(details) if details else " ".join(text.split())[:160]
    return (f"was saved by an older, incompatible version of SparseNeRF Studio ({why}); "
            "train the scene again with `sparsenerf train`")
