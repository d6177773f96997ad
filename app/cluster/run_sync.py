"""Mirroring a remote training run into its run folder on this machine, as the training goes.

The folder ends up as a local run's: run.json, metrics.jsonl and checkpoints/latest.pt (each written
atomically), so ``sparsenerf eval``, ``render`` and the studio open it as any other run. While a
remote trainer is attached, RUN/cluster.json says where it runs (address, actor name), so a client
that lost its connection can attach to it again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devices.atomic import atomic_write_bytes
from nerf import run_dir as rd

CLUSTER_JSON = "cluster.json"


class RunSync:
    """Applies the ``TrainerActor.poll`` dicts of one run to ``run_dir``; counts what it has."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.metrics_from = 0
        """metrics.jsonl lines of the current actor incarnation already mirrored."""
        self.checkpoint_version = 0
        self._run_json: str | None = None

    def apply(self, info: dict[str, Any]) -> None:
        """Write what ``info`` (one poll) brings: run.json when it changed, new metrics lines, a newer checkpoint."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if info["run_json"] != self._run_json:
            atomic_write_bytes(self.run_dir / rd.RUN_JSON, info["run_json"].encode())
            self._run_json = info["run_json"]
        if info["metrics"]:
            with open(self.run_dir / rd.METRICS, "a") as fh:
                fh.write("".join(info["metrics"]))
        self.metrics_from = info["metrics_total"]
        if info["checkpoint"] is not None:
            atomic_write_bytes(self.run_dir / rd.CHECKPOINT, info["checkpoint"])
            self.checkpoint_version = info["checkpoint_version"]

    def new_incarnation(self, checkpoint_step: int) -> None:
        """The actor restarted from the checkpoint at ``checkpoint_step``: drop the curves logged after it."""
        records = rd.read_metrics(self.run_dir)
        kept = [r for r in records if r.get("step", 0) <= checkpoint_step]
        if len(kept) != len(records):
            rd.write_metrics(self.run_dir, kept)
        self.metrics_from = 0

    def checkpoint_bytes(self) -> bytes | None:
        path = self.run_dir / rd.CHECKPOINT
        return path.read_bytes() if path.is_file() else None

    def write_attachment(self, address: str, actor_name: str) -> None:
        doc = {"address": address, "actor": actor_name}
        atomic_write_bytes(self.run_dir / CLUSTER_JSON, json.dumps(doc, indent=2).encode())

    def clear_attachment(self) -> None:
        (self.run_dir / CLUSTER_JSON).unlink(missing_ok=True)


def read_attachment(run_dir: Path) -> dict[str, str] | None:
    """RUN/cluster.json ({"address", "actor"}) of a run whose remote trainer may still be running, or None."""
    path = Path(run_dir) / CLUSTER_JSON
    try:
        doc = json.loads(path.read_text())
        return {"address": str(doc["address"]), "actor": str(doc["actor"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None
