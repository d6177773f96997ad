"""The run folder of a training run: run.json, checkpoints/latest.pt, metrics.jsonl.

    RUN/
      run.json              {"version", "scene": {"path", "split", "downscale"} | null, "config": TrainConfig}
      checkpoints/latest.pt field, optimizer, sampler and RNG state, step, elapsed time
      metrics.jsonl         one JSON line per snapshot (no images)

Everything is written through a temporary name and ``os.replace``, so a crash never leaves a
half-written file.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through ``path.tmp`` + fsync + os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_run_json(run_dir: Path, source: SceneSource | None, config: TrainConfig) -> None:
    doc = {"version": VERSION, "scene": None if source is None else vars(source), "config": config.to_json()}
    atomic_write_bytes(run_dir / RUN_JSON, json.dumps(doc, indent=2).encode())


def read_run_json(run_dir: Path) -> tuple[SceneSource | None, TrainConfig]:
    """(scene source, config) of a run folder. Raises InputError when it is not one."""
    path = Path(run_dir) / RUN_JSON
    if not path.is_file():
        raise InputError(path, "not found: this folder is not a training run (sparsenerf train --out RUN)")
    try:
        doc = json.loads(path.read_text())
        source = None if doc.get("scene") is None else SceneSource(**doc["scene"])
        return source, TrainConfig.from_json(doc["config"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(path, f"is not a valid run description ({exc.__class__.__name__}: {exc})") from None


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> Path:
    """torch.save ``state`` atomically to RUN/checkpoints/latest.pt; returns the path."""
    buf = io.BytesIO()
    torch.save(state, buf)
    path = Path(run_dir) / CHECKPOINT
    atomic_write_bytes(path, buf.getvalue())
    return path


def load_checkpoint(run_dir: Path, map_location: torch.device | str) -> dict[str, Any]:
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise InputError(path, "not found: the run has no checkpoint yet")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file becomes one clear message
        raise InputError(path, f"cannot be read as a checkpoint ({exc.__class__.__name__})") from None


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
    """Append one JSON line to RUN/metrics.jsonl."""
    with open(Path(run_dir) / METRICS, "a") as fh:
        fh.write(json.dumps(record) + "\n")
