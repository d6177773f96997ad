"""`sparsenerf batch` on a real two-node Ray cluster: three scenes spread over both nodes, each run folder
landing here, the summary as CSV and Markdown."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.cluster.batch import read_summary, unique_names

pytestmark = pytest.mark.slow


def test_batch_of_three_scenes_across_both_nodes(ray_cluster, virtual_scenes, tmp_path, capsys):
    out = tmp_path / "batch"
    code = main(["batch", *map(str, virtual_scenes), "--out", str(out), "--cluster", ray_cluster.address,
                 "--steps", "30", "--batch-rays", "512"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "3 of 3 scenes done" in printed.out
    # the progress table was shown while it ran (30 steps can pass between two refreshes: any unfinished state)
    assert any(state in printed.err for state in ("queued", "training", "evaluating"))
    rows = read_summary(out)
    assert [r["scene"] for r in rows] == ["scene0", "scene1", "scene2"]
    assert all(r["status"] == "done" and r["steps"] == "30" for r in rows)
    assert all(8.0 < float(r["psnr"]) < 60 and 0 < float(r["ssim"]) <= 1 for r in rows)
    assert all(r["depth_abs_rel"] != "" for r in rows)  # virtual-sensor depth is metric: depth error computed
    assert all(r["psnr_masked"] == "" for r in rows)  # no object masks: not applicable
    assert len({r["node"] for r in rows}) == 2  # one CPU slot per node: the tasks ran on both
    md = (out / "summary.md").read_text()
    assert md.startswith("| scene | status | steps |") and md.count("| done |") == 3
    for row in rows:  # each run folder is a local run: eval works on it here
        run = out / row["scene"]
        assert json.loads((run / "run.json").read_text())["scene"]["path"].endswith(row["scene"])
        assert json.loads((run / "eval.json").read_text())["step"] == 30
    assert main(["eval", str(out / "scene1")]) == 0


def test_batch_refuses_to_replace_runs(tmp_path, virtual_scenes, capsys):
    (tmp_path / "scene0").mkdir()
    (tmp_path / "scene0" / "run.json").write_text("{}")
    assert main(["batch", str(virtual_scenes[0]), "--out", str(tmp_path), "--steps", "5"]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_unique_names():
    from pathlib import Path

    assert unique_names([Path("a/s"), Path("b/s"), Path("c/t")]) == ["s", "s-2", "t"]


def test_batch_without_cluster_starts_a_private_ray(virtual_scenes, tmp_path):
    """No --cluster: a private Ray instance on this machine (its own token), gone when the command ends."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("ray")
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(PYTHONPATH=str(root), OMP_NUM_THREADS="1", HOME=str(tmp_path), RAY_USAGE_STATS_ENABLED="0")
    out = tmp_path / "b"
    cmd = [sys.executable, "-m", "app.cli", "batch", str(virtual_scenes[0]), "--out", str(out), "--steps", "10",
           "--batch-rays", "256"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=root)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "a private Ray instance on this machine" in result.stdout and "1 of 1 scenes done" in result.stdout
    assert read_summary(out)[0]["status"] == "done"
    assert not (tmp_path / ".ray").exists()  # its token lived in the environment, not in ~/.ray
