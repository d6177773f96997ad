"""`sparsenerf train --cluster` against a real two-node Ray cluster on 127.0.0.1: the run folder lands here
and `sparsenerf eval` works on it; without the cluster's token nothing connects."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.cli import main

pytestmark = pytest.mark.slow

TINY = ["--steps", "40", "--batch-rays", "512"]


def test_cli_remote_run_lands_locally_and_evaluates(ray_cluster, virtual_scenes, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(virtual_scenes[0]), "--out", str(out), "--cluster", ray_cluster.address, *TINY]) == 0
    printed = capsys.readouterr()
    assert "training on the Ray cluster at ray://127.0.0.1" in printed.out
    assert "on Ray node" in printed.out and "done: 40 steps" in printed.out
    # the run folder is a local run's: run.json naming the local scene, metrics, checkpoint
    doc = json.loads((out / "run.json").read_text())
    assert doc["scene"]["path"] == str(virtual_scenes[0])
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 40 and records[-1]["state"] == "finished"
    assert (out / "checkpoints" / "latest.pt").is_file()
    assert not (out / "cluster.json").exists()  # the remote trainer is gone: nothing to attach to
    report = tmp_path / "eval.json"
    assert main(["eval", str(out), "--json", str(report)]) == 0
    means = json.loads(report.read_text())["mean"]
    assert means["psnr"] > 8.0  # a trained (if tiny) model, evaluated here from the mirrored checkpoint
    from app.cluster.connect import connect

    ray = connect(ray_cluster.address)
    assert not [a for a in ray.util.list_named_actors(all_namespaces=True) if "sparsenerf-" in str(a)]


def test_cli_refuses_without_the_token(ray_cluster, virtual_scenes, tmp_path, monkeypatch):
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("RAY_")}
    env["HOME"] = str(tmp_path)  # no ~/.ray/auth_token either
    cmd = [sys.executable, "-m", "app.cli", "train", str(virtual_scenes[0]), "--out", str(tmp_path / "r"),
           "--cluster", ray_cluster.gcs_address, *TINY]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "no token for the Ray cluster" in result.stderr and "Traceback" not in result.stderr
    env["RAY_AUTH_TOKEN"] = "not-the-cluster-token-0123456789"
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 2, result.stderr
    assert "cannot connect to the Ray cluster" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r" / "run.json").exists()
