"""`sparsenerf batch SCENE... --out DIR`: train and evaluate many scenes at once on Ray."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import tyro


@dataclass
class Batch:
    """Train and evaluate each SCENE as one Ray task (one per CPU slot, or per GPU with --gpus-per-run), with a
    progress table; each run lands in DIR/<scene>/ (run.json, metrics.jsonl, checkpoints, eval.json) and
    DIR/summary.csv + DIR/summary.md hold, per scene: steps, time, PSNR, SSIM, masked PSNR/SSIM, depth error.

    Without --cluster it starts a private Ray instance on this machine. Needs Ray:
    pip install 'sparsenerf-studio[cluster]'.

    Example: `sparsenerf batch scenes/* --out sweeps/a --minutes 5 --cluster ray://gpu-box:10001 --gpus-per-run 1`.
    """

    scenes: Annotated[tyro.conf.Positional[list[Path]], tyro.conf.arg(metavar="SCENE")]
    """Scenes to train (any layout `sparsenerf train` reads)."""
    out: Path
    """Folder for the runs and the summary."""
    cluster: str | None = None
    """Ray cluster address (ray://HOST:10001 or HOST:6379); default: a private Ray instance on this machine."""
    gpus_per_run: float = 0.0
    """GPUs per scene (0: CPU only; 0.5: two scenes share a GPU)."""
    cpus_per_run: float = 1.0
    """CPUs per scene (torch threads of each run)."""
    minutes: float | None = None
    """Training time budget per scene."""
    steps: int | None = None
    """Step budget per scene (default 3000 when neither --minutes nor --steps is given)."""
    field: Literal["fast", "mipnerf"] = "fast"
    """Field to train (see `sparsenerf train --help`)."""
    no_depth_prior: bool = False
    """Train without the depth-ranking prior."""
    batch_rays: int = 4096
    """Rays per step."""
    seed: int = 0
    """Random seed (the same for every scene)."""
    token_file: Path | None = None
    """File holding the cluster's token (with --cluster; default $RAY_AUTH_TOKEN, ~/.ray/auth_token)."""
    overwrite: bool = False
    """Replace runs already in DIR."""

    def check_options(self) -> list[str]:
        from app.cluster.batch import unique_names
        from devices.errors import InputError

        if self.minutes is not None and self.steps is not None:
            raise InputError(None, "give either --minutes or --steps, not both")
        for name, value in (("--minutes", self.minutes), ("--steps", self.steps), ("--batch-rays", self.batch_rays),
                            ("--cpus-per-run", self.cpus_per_run)):
            if value is not None and value <= 0:
                raise InputError(None, f"{name} must be positive, got {value}")
        if self.gpus_per_run < 0:
            raise InputError(None, f"--gpus-per-run must be 0 or more, got {self.gpus_per_run}")
        if not self.scenes:
            raise InputError(None, "give at least one SCENE")
        if self.out.exists() and not self.out.is_dir():
            raise InputError(self.out, "is a file, not a folder")
        names = unique_names(self.scenes)
        for name in names:
            if not self.overwrite and (self.out / name / "run.json").exists():
                raise InputError(self.out / name, "already holds a run: choose another --out or pass --overwrite")
        return names

    def run(self) -> int:
        from app.cluster.batch import print_table, run_batch, table_text
        from app.cluster.connect import connect, disconnect, import_ray, start_local
        from nerf import TrainConfig, load_scene

        names = self.check_options()
        import_ray()  # says how to install Ray before minutes of scene loading
        scenes = [load_scene(path) for path in self.scenes]  # bad scenes fail here, one line each
        config = TrainConfig.from_flat(
            field=self.field, minutes=self.minutes, steps=self.steps, depth_prior=not self.no_depth_prior,
            batch_rays=self.batch_rays, seed=self.seed, threads=max(1, int(self.cpus_per_run)),
            device="auto" if self.gpus_per_run > 0 else "cpu")
        where = self.cluster or "a private Ray instance on this machine"
        if self.cluster:
            connect(self.cluster, self.token_file)
        else:
            start_local(num_cpus=os.cpu_count())
        print(f"batch of {len(scenes)} scenes on {where}; runs land in {self.out}")
        t0 = time.monotonic()
        try:
            rows = run_batch(scenes, names, config, self.out, cpus_per_run=self.cpus_per_run,
                             gpus_per_run=self.gpus_per_run, on_table=print_table)
        finally:
            disconnect()
        print(table_text(rows))
        failed = [r for r in rows if r.status != "done"]
        print(f"{len(rows) - len(failed)} of {len(rows)} scenes done in {time.monotonic() - t0:.0f} s; "
              f"summary in {self.out / 'summary.csv'} and {self.out / 'summary.md'}")
        return 1 if failed else 0


COMMAND = Annotated[Batch, tyro.conf.subcommand("batch")]
