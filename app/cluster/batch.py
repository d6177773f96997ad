"""Many scenes at once: each scene trains and is evaluated as one Ray task, one per CPU slot or GPU.

The scenes are loaded here and shipped through Ray's object store; each task trains in a private
folder on its node, evaluates the held-out views, and returns the run folder's files, which land in
OUT/<scene>/ (run.json, metrics.jsonl, checkpoints/latest.pt, eval.json) as if trained here. Tasks
report progress to a small board actor; ``run_batch`` redraws a table from it, and writes
OUT/summary.csv and OUT/summary.md at the end. A task whose node dies is run again by Ray.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

COLUMNS = ("scene", "status", "steps", "seconds", "psnr", "ssim", "psnr_masked", "ssim_masked",
           "depth_abs_rel", "depth_rmse_m", "node")


@dataclass
class SceneRow:
    """One scene of a batch: its progress, then its results (None: not applicable or not yet)."""

    scene: str
    status: str = "queued"
    steps: int = 0
    seconds: float = 0.0
    psnr: float | None = None
    ssim: float | None = None
    psnr_masked: float | None = None
    ssim_masked: float | None = None
    depth_abs_rel: float | None = None
    depth_rmse_m: float | None = None
    node: str = ""
    error: str = ""


class ProgressBoard:
    """A Ray actor (no CPU) the tasks post their progress to: {scene: (status, step, seconds, node)}."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, int, float, str]] = {}

    def post(self, scene: str, status: str, step: int, seconds: float, node: str) -> None:
        self.rows[scene] = (status, step, seconds, node)

    def read(self) -> dict[str, tuple[str, int, float, str]]:
        return dict(self.rows)


def train_and_evaluate(name: str, scene: Any, config: Any, board: Any) -> dict[str, Any]:
    """The task body (runs on a cluster node): train ``scene``, evaluate it, return the run folder's files.

    Returns {"node", "files": {relative path: bytes}, "means": EvalReport.means(), "steps", "seconds"}.
    """
    import ray

    from nerf import Trainer, evaluate_views

    node = ray.get_runtime_context().get_node_id()
    work = Path(tempfile.mkdtemp(prefix="sparsenerf-batch-"))
    try:
        trainer = Trainer.create(scene, config, work)
        board.post.remote(name, "training", 0, 0.0, node)
        snap = trainer.control.run(lambda s: board.post.remote(name, "training", s.step, s.elapsed_s, node))
        board.post.remote(name, "evaluating", snap.step, snap.elapsed_s, node)
        report = evaluate_views(trainer.render, scene, lpips=None, step=trainer.step_count,
                          lpips_status="unavailable: not computed in batches")
        report.write_json(work / "eval.json")
        files = {str(p.relative_to(work)): p.read_bytes() for p in work.rglob("*") if p.is_file()}
        return {"node": node, "files": files, "means": report.means(), "steps": snap.step, "seconds": snap.elapsed_s}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def unique_names(scenes: list[Path]) -> list[str]:
    """Run folder names for ``scenes``: the folder name, with -2, -3 ... for repeats."""
    names: list[str] = []
    for path in scenes:
        base, k = Path(path).name or "scene", 1
        name = base
        while name in names:
            k += 1
            name = f"{base}-{k}"
        names.append(name)
    return names


def run_batch(scenes: list[Any], names: list[str], config: Any, out: Path, *, cpus_per_run: float = 1.0,
              gpus_per_run: float = 0.0, on_table: Callable[[list[SceneRow]], None] | None = None,
              refresh_s: float = 1.0) -> list[SceneRow]:
    """Train and evaluate every scene as a Ray task on the connected cluster; write OUT/<name>/ and summaries.

    ``on_table(rows)`` gets the table whenever it changes. Returns the final rows (status "done" or "failed").
    """
    import ray

    board = ray.remote(num_cpus=0)(ProgressBoard).remote()
    # SPREAD: scenes go to different nodes first (Ray's default packs a node before using the next)
    task = ray.remote(train_and_evaluate).options(num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=2,
                                                  scheduling_strategy="SPREAD")
    refs = {task.remote(n, ray.put(s), config, board): n for n, s in zip(names, scenes)}
    rows = {n: SceneRow(n) for n in names}
    pending, shown = list(refs), None
    while pending:
        done, pending = ray.wait(pending, num_returns=len(pending), timeout=refresh_s)
        for n, (status, step, seconds, node) in ray.get(board.read.remote()).items():
            if rows[n].status not in ("done", "failed"):
                rows[n].status, rows[n].steps, rows[n].seconds, rows[n].node = status, step, seconds, node[:8]
        for ref in done:
            _land(rows[refs[ref]], ref, out)
        table = [asdict(r) for r in rows.values()]
        if table != shown and on_table is not None:
            shown = table
            on_table(list(rows.values()))
    ray.kill(board)
    write_summary(list(rows.values()), out)
    return list(rows.values())


def _land(row: SceneRow, ref: Any, out: Path) -> None:
    """Write a finished task's files into OUT/<scene>/ and fill its row (or mark it failed with the reason)."""
    import ray

    try:
        result = ray.get(ref)
    except Exception as exc:  # noqa: BLE001 - a failed scene must not stop the others
        row.status, row.error = "failed", " ".join(str(exc).split())[-300:]
        return
    from devices.atomic import atomic_write_bytes

    for rel, data in result["files"].items():
        atomic_write_bytes(out / row.scene / rel, data)
    means = result["means"]
    row.status, row.steps, row.seconds, row.node = "done", result["steps"], result["seconds"], result["node"][:8]
    for key in ("psnr", "ssim", "psnr_masked", "ssim_masked", "depth_abs_rel", "depth_rmse_m"):
        row.__dict__[key] = means.get(key)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.2f}"
    return str(value)


def table_text(rows: list[SceneRow]) -> str:
    """The progress / results table as aligned text."""
    cells = [list(COLUMNS)] + [[_fmt(getattr(r, c)) for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells)


def write_summary(rows: list[SceneRow], out: Path) -> None:
    """OUT/summary.csv (machine-readable, empty cell = not applicable) and OUT/summary.md (a Markdown table)."""
    from devices.atomic import atomic_write_bytes

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS + ("error",))
    for r in rows:
        writer.writerow([("" if getattr(r, c) is None else getattr(r, c)) for c in COLUMNS] + [r.error])
    atomic_write_bytes(out / "summary.csv", buf.getvalue().encode())
    md = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    md += ["| " + " | ".join(_fmt(getattr(r, c)) for c in COLUMNS) + " |" for r in rows]
    failed = [f"- {r.scene}: {r.error}" for r in rows if r.error]
    text = "\n".join(md) + "\n" + ("\nFailed:\n" + "\n".join(failed) + "\n" if failed else "")
    atomic_write_bytes(out / "summary.md", text.encode())


def print_table(rows: list[SceneRow]) -> None:
    """The progress table on stderr (redrawn in place on a terminal)."""
    text = table_text(rows)
    if sys.stderr.isatty() and getattr(print_table, "lines", 0):
        sys.stderr.write(f"\x1b[{print_table.lines}F\x1b[J")
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
    print_table.lines = text.count("\n") + 1  # type: ignore[attr-defined]


def read_summary(out: Path) -> list[dict[str, str]]:
    """The rows of OUT/summary.csv (for tests and scripts)."""
    with open(Path(out) / "summary.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def eval_means(run_dir: Path) -> dict[str, Any]:
    """The ``mean`` block of RUN/eval.json."""
    return json.loads((Path(run_dir) / "eval.json").read_text())["mean"]
