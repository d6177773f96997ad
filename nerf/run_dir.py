"""The run folder of a training run: run.json, checkpoints/latest.pt, metrics.jsonl.

    RUN/
      run.json              {"version", "scene": {"path", "split", "downscale"} | null, "config": TrainConfig}
      checkpoints/latest.pt field, optimizer, sampler and RNG state, step, elapsed time
      metrics.jsonl         one JSON line per snapshot (no images)

Everything is written through ``devices.atomic`` (temporary name, fsync, rename), so a crash never leaves
a half-written file, and a full disk keeps the previous checkpoint and names the file.

Run folders get shared and downloaded, so they are data only: the checkpoint is read with
``torch.load(weights_only=True)`` (tensors, numbers, strings, lists, dicts; a pickled object that would
run code is refused), and run.json and the checkpoint carry the same ``run_id``, so a checkpoint of
another run (an ``--overwrite`` cut short, files copied together by hand) is refused too.
"""

from __future__ import annotations

import io
import json
import pickle
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from devices.atomic import atomic_write_bytes, recover_leftovers, remove_file
from devices.errors import InputError
from nerf.train_config import TrainConfig

RUN_JSON = "run.json"
CHECKPOINT = Path("checkpoints") / "latest.pt"
METRICS = "metrics.jsonl"
VERSION = 1


@dataclass(frozen=True)
class SceneSource:
    """How to load the scene again: ``nerf.loaders.load_scene(path, split=split, downscale=downscale)``."""

    path: str
    split: str | None = None
    downscale: int | None = None


def new_run_id() -> str:
    """A fresh random id shared by run.json and the checkpoints of one run."""
    return uuid.uuid4().hex


def start_run(run_dir: Path, source: SceneSource | None, config: TrainConfig) -> str:
    """Begin a new run in ``run_dir`` (replacing any run there): the old checkpoint and metrics go first, then
    run.json with a new run id is written. Returns the id. Whenever this is cut short, run.json and the
    checkpoint never disagree: a checkpoint left over carries the old id and is refused."""
    run_dir = Path(run_dir)
    remove_file(run_dir / CHECKPOINT)
    remove_file(run_dir / METRICS)
    run_id = new_run_id()
    write_run_json(run_dir, source, config, run_id)
    return run_id


def discard_run(run_dir: Path) -> None:
    """Remove run.json, the checkpoint and the metrics of ``run_dir`` (a run that failed before training)."""
    for name in (CHECKPOINT, METRICS, RUN_JSON):
        remove_file(Path(run_dir) / name)


def write_run_json(run_dir: Path, source: SceneSource | None, config: TrainConfig, run_id: str | None) -> None:
    doc = {"version": VERSION, "run_id": run_id, "scene": None if source is None else vars(source),
           "config": config.to_json()}
    atomic_write_bytes(Path(run_dir) / RUN_JSON, json.dumps(doc, indent=2).encode())


def read_run_json(run_dir: Path) -> tuple[SceneSource | None, TrainConfig]:
    """(scene source, config) of a run folder. Raises InputError when it is not one."""
    source, config, _ = read_run_doc(run_dir)
    return source, config


def read_run_doc(run_dir: Path) -> tuple[SceneSource | None, TrainConfig, str | None]:
    """(scene source, config, run id or None for runs from before run ids) of a run folder."""
    path = Path(run_dir) / RUN_JSON
    if not path.is_file():
        raise InputError(path, "not found: this folder is not a training run (sparsenerf train --out RUN)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
            raise TypeError("not an object with a 'config' object")
        scene = doc.get("scene")
        if scene is not None and not (isinstance(scene, dict) and isinstance(scene.get("path"), str)):
            raise TypeError("'scene' must be an object with a 'path' string")
        source = None if scene is None else SceneSource(**scene)
        run_id = doc.get("run_id")
        if run_id is not None and not isinstance(run_id, str):
            raise TypeError("'run_id' must be a string")
        return source, TrainConfig.from_json(doc["config"]), run_id
    except (ValueError, KeyError, TypeError, RecursionError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not a valid run description ({exc.__class__.__name__}: {exc})") from None


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> Path:
    """torch.save ``state`` atomically to RUN/checkpoints/latest.pt; returns the path. On a full disk the
    previous checkpoint stays and the WriteError names latest.pt."""
    buf = io.BytesIO()
    torch.save(state, buf)
    path = Path(run_dir) / CHECKPOINT
    recover_leftovers(path)  # the temporary file of a process killed mid-save
    atomic_write_bytes(path, buf.getvalue())
    return path


def load_checkpoint(run_dir: Path, map_location: torch.device | str, run_id: str | None = None) -> dict[str, Any]:
    """The checkpoint of ``run_dir``, read as data only (``weights_only=True``: no pickled code runs).

    Args:
        run_id: the run.json's id; a checkpoint with another id (or none) is refused.
    Raises:
        InputError: missing, unreadable, holding anything but tensors and plain values, or of another run.
    """
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise InputError(path, "not found: the run has no checkpoint yet")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" not in str(exc).lower():  # e.g. a truncated file
            raise InputError(path, f"cannot be read as a checkpoint ({exc.__class__.__name__})") from None
        raise InputError(path, "holds something other than tensors and plain values (a pickled object "
                               "that could run code); refused, it is not a checkpoint of SparseNeRF Studio") from None
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file becomes one clear message
        raise InputError(path, f"cannot be read as a checkpoint ({exc.__class__.__name__})") from None
    if not isinstance(state, dict):
        raise InputError(path, "cannot be read as a checkpoint (not a dictionary)")
    if run_id is not None and state.get("run_id") != run_id:
        raise InputError(path, f"belongs to another run than {Path(run_dir) / RUN_JSON} (run ids differ: "
                               "an --overwrite cut short, or files mixed by hand); train again with --overwrite")
    return state


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The records of RUN/metrics.jsonl ([] without one); a torn last line (a crash mid-write) is dropped."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def write_metrics(run_dir: Path, records: list[dict[str, Any]]) -> None:
    """Replace RUN/metrics.jsonl with ``records`` (atomically; no records: no file)."""
    path = Path(run_dir) / METRICS
    if not records:
        path.unlink(missing_ok=True)
        return
    atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in records).encode())


def append_metrics(run_dir: Path, record: dict[str, Any]) -> None:
    """Append one JSON line to RUN/metrics.jsonl.

    The one write here that is not atomic, on purpose: an append-only log rewritten whole would cost
    O(run length) per snapshot, and a line cut by a crash is skipped by ``read_metrics``.
    """
    with open(Path(run_dir) / METRICS, "a") as fh:
        fh.write(json.dumps(record) + "\n")
