"""`sparsenerf train SCENE --out RUN`: train SparseNeRF on a scene folder, DTU, LLFF or NVS-RGBD scene."""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

from app.cli.config_options import TrainOptions, option_message, to_train_config
from nerf import TrainConfig


@dataclass
class Train:
    """Train a few-shot NeRF with the SparseNeRF depth-ranking prior.

    SCENE may be a scene folder (transforms.json), a DTU scan (cameras.npz, IDR/MonoSDF form) or an
    LLFF / NVS-RGBD folder (poses_bounds.npy). The run folder gets run.json, checkpoints/latest.pt
    and metrics.jsonl; Ctrl-C stops cleanly and saves a checkpoint. Continue a run with --resume.
    Every training setting is an option below; those left out take the data set's values
    (nerf/profiles.py), which run.json then records.

    Examples: `sparsenerf train scenes/desk --out runs/desk --minutes 5` (--field auto: the sensor field for a
    capture with metric depth, the fast field for DTU / LLFF);
    `sparsenerf train dtu_scan24 --out runs/scan24 --field mipnerf --preset faithful` (for a GPU).
    """

    scene: Annotated[tyro.conf.Positional[Path], tyro.conf.arg(metavar="SCENE")]
    """Scene to train on (any supported layout)."""
    out: Path
    """Run folder to create (checkpoints, metrics, run.json)."""
    split: Annotated[str | None, tyro.conf.arg(
        metavar="{3view,6view,9view,all,Nview}",
        help_behavior_hint="(default: the scene's own: DTU 3view, LLFF / NVS-RGBD the authors', a scene folder its "
                           "transforms.json split)")] = None
    """Scene split: DTU 3view / 6view / 9view / all; LLFF / NVS-RGBD Nview (N training views, e.g. 3view);
    scene folder all (every view trains)."""
    downscale: Annotated[int | None, tyro.conf.arg(
        help_behavior_hint="(default: 1; LLFF / NVS-RGBD: the authors')")] = None
    """Integer image downscale."""
    resume: bool = False
    """Continue the run already in --out from its last checkpoint (--minutes / --steps set a new total budget)."""
    overwrite: bool = False
    """Start a new run in --out even though it already holds one (its run.json, checkpoint and metrics are replaced)."""
    cluster: str | None = None
    """Train on a Ray cluster: ray://HOST:10001 (from any machine) or HOST:6379 (from a cluster node); the run
    folder is written here as it trains. Needs the cluster's token ($RAY_AUTH_TOKEN or --token-file)."""
    cluster_cpus: float = 1.0
    """CPUs the remote trainer asks for (with --cluster)."""
    cluster_gpus: float = 0.0
    """GPUs the remote trainer asks for (with --cluster; 1 = a whole GPU)."""
    token_file: Path | None = None
    """File holding the Ray cluster's token (with --cluster; default $RAY_AUTH_TOKEN, ~/.ray/auth_token)."""
    config: Annotated[TrainOptions, tyro.conf.arg(name="")] = dataclasses.field(  # type: ignore[valid-type]
        default_factory=TrainOptions)
    """The training settings (nerf.train_config.TrainConfig)."""

    @property
    def threads(self) -> int | None:
        return self.config.threads

    @property
    def minutes(self) -> float | None:
        return self.config.budget.minutes

    @property
    def steps(self) -> int | None:
        return self.config.budget.steps

    def check_options(self) -> None:
        """InputError for option values that cannot work, before anything is loaded or written."""
        from devices.errors import InputError

        if self.minutes is not None and self.steps is not None:
            raise InputError(None, "give either --minutes or --steps, not both")
        for name, value, low in (("--minutes", self.minutes, 0.0), ("--steps", self.steps, 0),
                                 ("--batch-rays", self.config.sampler.batch_rays, 0), ("--downscale", self.downscale, 0)):
            if value is not None and value <= low:
                raise InputError(None, f"{name} must be positive, got {value}")
        try:
            self.config.check()
        except ValueError as exc:  # "losses.rank_weight must ..." -> "--rank-weight must ..."
            raise InputError(None, option_message(str(exc))) from None
        if self.out.exists() and not self.out.is_dir():
            raise InputError(self.out, "is a file, not a run folder")
        started = (self.out / "run.json").exists() and (self.out / "checkpoints" / "latest.pt").exists()
        if not self.resume and not self.overwrite and started:  # run.json alone: killed before its first save
            raise InputError(self.out, "already holds a training run: continue it with --resume, "
                                       "replace it with --overwrite, or choose another --out")

    def train_config(self) -> TrainConfig:
        """The nerf.train_config.TrainConfig of a new run from these options (a plain TrainConfig)."""
        return to_train_config(self.config)

    def run(self) -> int:
        from nerf import Trainer, load_scene

        self.check_options()
        if self.cluster is not None:
            from app.cluster.cli import train_remote

            return train_remote(self)
        if self.resume:
            from app.runs import load_run_checked

            trainer = load_run_checked(self.out)
            if self.minutes is not None or self.steps is not None:  # a new budget for the continued run
                from nerf import run_dir as rd

                trainer.config.budget.minutes, trainer.config.budget.steps = self.minutes, self.steps
                # a later --resume keeps it
                rd.write_run_json(self.out, rd.read_run_json(self.out)[0], trainer.config, trainer.run_id)
        else:
            scene = load_scene(self.scene, split=self.split, downscale=self.downscale)
            trainer = Trainer.create(scene, self.train_config(), self.out)
        return self.train_and_report(trainer)

    def train_and_report(self, trainer) -> int:
        """Run ``trainer`` (local or remote) with the status line and Ctrl-C handling; the exit status."""
        s = trainer.scene
        print(f"training {trainer.config.field} on {s.name}: {len(s.train_ids)} train / {len(s.test_ids)} test views, "
              f"{s.width}x{s.height}, depth prior {'on' if trainer.use_prior else 'off'}, device {trainer.device}")
        printer = _ProgressLine(trainer)
        previous = signal.signal(signal.SIGINT, _stop_on_interrupt(trainer))
        try:
            snap = trainer.control.run(printer)
        except Exception:
            if not self.resume and trainer.step_count == 0:  # failed before training: no run to block a retry
                from nerf import run_dir as rd

                rd.discard_run(self.out)
            raise
        finally:
            signal.signal(signal.SIGINT, previous)
            printer.close()
        if snap.state == "stopped":
            print(f"stopped at step {snap.step}; checkpoint saved in {self.out / 'checkpoints'} (continue with --resume)")
            return 130
        check_finite(snap, self.scene if not self.resume else self.out)
        test = f", held-out PSNR {snap.test_psnr:.2f} dB" if snap.test_psnr is not None else ""
        print(f"done: {snap.step} steps in {snap.elapsed_s:.0f} s{test}; run saved in {self.out}")
        return 0


def check_finite(snap, where: Path) -> None:
    """InputError when training ended with a PSNR that is not a number (a scene whose values overflow)."""
    from devices.errors import InputError

    name, value = ("held-out", snap.test_psnr) if snap.test_psnr is not None else ("training", snap.train_psnr)
    if value is not None and not math.isfinite(value):
        raise InputError(where, f"training diverged: {name} PSNR is {value} dB after {snap.step} steps "
                                "(check the scene's depth scale, poses and intrinsics)")


def _stop_on_interrupt(trainer):
    """SIGINT handler: the first Ctrl-C stops after the current step (and saves); a second one aborts."""

    def handler(signum, frame) -> None:
        if trainer.control.state == "stopped" or getattr(handler, "fired", False):
            raise KeyboardInterrupt
        handler.fired = True
        sys.stderr.write("\nstopping after this step (Ctrl-C again to abort without saving)\n")
        trainer.control.stop()

    return handler


class _ProgressLine:
    """One status line (step, loss, PSNR, ETA), redrawn in place on a terminal."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.tty = sys.stderr.isatty()
        self._last_print = -math.inf

    def __call__(self, snap) -> None:
        if not self.tty and snap.elapsed_s - self._last_print < 10.0:
            return
        self._last_print = snap.elapsed_s
        eta = snap.eta_s if snap.eta_s is not None else float("nan")
        test = f" test {snap.test_psnr:5.2f} dB" if snap.test_psnr is not None else ""
        loss = snap.losses.get("total", float("nan"))
        text = (f"step {snap.step:6d}  loss {loss:.4f}  train {snap.train_psnr:5.2f} dB{test}  "
                f"{snap.elapsed_s:6.0f} s  eta {eta:5.0f} s")
        if snap.skipped_steps:
            text += f"  skipped {snap.skipped_steps}"
        sys.stderr.write(("\r" + text) if self.tty else text + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


COMMAND = Annotated[Train, tyro.conf.subcommand("train")]
