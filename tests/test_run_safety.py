"""Run folders are data only and never mix two runs (issue 14, items 1-3 for training runs).

A crafted checkpoint must not run code on eval, render, train --resume or when the studio opens the run;
train --overwrite drops the old checkpoint at once; a full disk keeps the previous good checkpoint.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from app.cli import main
from app.runs import load_run_checked
from devices.errors import InputError
from tests.test_cli_bad_input import CHECKPOINT, capture, copy_run, one_error_line


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("safety")
    return capture(root / "a", frames=4), capture(root / "b", frames=5)


@pytest.fixture(scope="module")
def run_a(tmp_path_factory, scenes) -> Path:
    run = tmp_path_factory.mktemp("runs") / "a"
    assert main(["train", str(scenes[0]), "--out", str(run), "--steps", "2", "--batch-rays", "128"]) == 0
    return run


class Payload:
    """Unpickling this object calls open(marker, "w"): a stand-in for any shell command."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant_payload(run: Path, marker: Path) -> None:
    state = torch.load(run / CHECKPOINT, weights_only=True)
    state["field"]["extra"] = Payload(marker)
    torch.save(state, run / CHECKPOINT)


def test_crafted_checkpoint_runs_no_code(tmp_path, capsys, scenes, run_a):
    run = copy_run(run_a, tmp_path / "run")
    marker = tmp_path / "PWNED"
    plant_payload(run, marker)
    argvs = (["eval", run], ["render", run, "--out", tmp_path / "v.mp4", "--frames", "2"],
             ["train", scenes[0], "--out", run, "--resume", "--steps", "3"])
    for argv in argvs:
        line = one_error_line(capsys, *argv)
        assert line.startswith(f"error: {run / CHECKPOINT}: holds something other than tensors"), line
        assert not marker.exists(), f"{argv[0]} ran code from the checkpoint"
    with pytest.raises(InputError, match="holds something other than tensors"):
        load_run_checked(run)  # what the studio calls when it opens a run folder
    assert not marker.exists() and not (tmp_path / "v.mp4").exists()


def test_overwrite_drops_the_old_checkpoint_at_once(tmp_path, capsys, monkeypatch, scenes, run_a):
    """A crash after `train --overwrite` started but before its first save: run.json of the new scene must
    never sit beside the old scene's checkpoint (eval / --resume would mix them silently)."""
    run = copy_run(run_a, tmp_path / "run")
    import nerf.train_loop

    def crash(self, on_snapshot=None):
        self.trainer.step_count = 1  # as if a step ran: the command keeps the run folder
        raise RuntimeError("power cut before the first checkpoint")

    monkeypatch.setattr(nerf.train_loop.LoopControl, "run", crash)
    with pytest.raises(RuntimeError):
        main(["train", str(scenes[1]), "--out", str(run), "--steps", "2", "--batch-rays", "128", "--overwrite"])
    monkeypatch.undo()
    assert json.loads((run / "run.json").read_text())["scene"]["path"] == str(scenes[1])
    assert not (run / CHECKPOINT).exists() and not (run / "metrics.jsonl").exists()
    assert one_error_line(capsys, "eval", run) == f"error: {run / CHECKPOINT}: not found: the run has no checkpoint yet"


def test_checkpoint_of_another_run_is_refused(tmp_path, capsys, scenes, run_a):
    run_b = tmp_path / "b"
    assert main(["train", str(scenes[1]), "--out", str(run_b), "--steps", "1", "--batch-rays", "128"]) == 0
    shutil.copy(run_a / CHECKPOINT, run_b / CHECKPOINT)  # files mixed by hand, or an old leftover
    for argv in (["eval", run_b], ["train", scenes[1], "--out", run_b, "--resume", "--steps", "2"]):
        assert one_error_line(capsys, *argv).startswith(f"error: {run_b / CHECKPOINT}: belongs to another run")


def test_failure_before_training_leaves_no_run_that_blocks_a_retry(tmp_path, capsys, monkeypatch, scenes):
    """A crash inside the pair sampler at the first step: the same command must work again afterwards."""
    import nerf.pairs

    run = tmp_path / "run"

    def broken(self, batch):
        raise ValueError("sampler bug")

    monkeypatch.setattr(nerf.pairs.PairSampler, "ranking", broken)
    with pytest.raises(ValueError):
        main(["train", str(scenes[0]), "--out", str(run), "--steps", "2", "--batch-rays", "128"])
    monkeypatch.undo()
    assert not (run / "run.json").exists() and not (run / CHECKPOINT).exists()
    assert main(["train", str(scenes[0]), "--out", str(run), "--steps", "2", "--batch-rays", "128"]) == 0


def test_full_disk_keeps_the_previous_checkpoint_and_names_it(tmp_path, capsys, monkeypatch, scenes, run_a):
    run = copy_run(run_a, tmp_path / "run")
    good = (run / CHECKPOINT).read_bytes()
    real = os.fsync

    def full(fd):
        if os.readlink(f"/proc/self/fd/{fd}").find("latest.pt") >= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", full)
    line = one_error_line(capsys, "train", scenes[0], "--out", run, "--resume", "--steps", "4")
    monkeypatch.undo()
    assert line == f"error: {run / CHECKPOINT}: No space left on device"
    assert (run / CHECKPOINT).read_bytes() == good
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["latest.pt"], "no temporary file left"
    assert main(["eval", str(run)]) == 0


def test_diverged_training_does_not_exit_0(tmp_path, capsys, monkeypatch, scenes):
    import nerf.trainer

    monkeypatch.setattr(nerf.trainer.Trainer, "heldout_psnr", lambda self, view=None, rays=None: float("nan"))
    line = one_error_line(capsys, "train", scenes[0], "--out", tmp_path / "run", "--steps", "2", "--batch-rays", "128")
    assert line.startswith(f"error: {scenes[0]}: training diverged: held-out PSNR is nan dB")
