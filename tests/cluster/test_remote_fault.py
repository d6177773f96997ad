"""Faults on a real two-node Ray cluster: the node running a training is killed mid-way; Ray restarts the
trainer on the other node, which continues from the last mirrored checkpoint and finishes the run."""

from __future__ import annotations

import json
import threading
import time

import pytest
import torch

from tests.studio.helpers import tiny_train_config

pytestmark = pytest.mark.slow


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def test_killed_node_training_finishes_from_checkpoint_on_the_other(ray_cluster, virtual_scenes, tmp_path):
    from app.cluster.connect import connect
    from app.cluster.remote_trainer import ClusterTarget, RemoteTrainer
    from nerf.loaders import load_scene
    from nerf.trainer import Trainer

    connect(ray_cluster.address)
    worker = ray_cluster.ensure_worker()
    worker_id = ray_cluster.node_id_of(worker)
    run_dir = tmp_path / "run"
    config = tiny_train_config(steps=700, checkpoint_every_s=0.5, snapshot_interval_s=0.2)
    target = ClusterTarget(ray_cluster.address, prefer_node=worker_id)
    trainer = RemoteTrainer.start(load_scene(virtual_scenes[1]), config, run_dir, target)
    assert trainer.node == worker_id  # it trains on the worker node, the one we will kill
    snaps, result = [], []
    thread = threading.Thread(target=lambda: result.append(trainer.control.run(snaps.append)))
    thread.start()
    try:
        ckpt = run_dir / "checkpoints" / "latest.pt"
        wait_for(lambda: ckpt.is_file() and snaps and snaps[-1].step >= 120, 120, "no checkpoint mirrored")
        saved = torch.load(ckpt, weights_only=False)["step"]
        assert 0 < saved < 700
        worker.kill()  # the node dies: raylet, its workers and the actor with them
        thread.join(240)
        assert not thread.is_alive(), "the run did not finish after the node died"
    finally:
        if thread.is_alive():
            trainer.control.stop()
            thread.join(60)
    final = result[0]
    assert final.state == "finished" and final.step == 700
    assert trainer.node != worker_id  # restarted elsewhere: the head node
    said = " ".join(final.messages)
    assert "died" in said and "continuing from the checkpoint at step" in said  # the user is told
    restored = int(said.split("checkpoint at step ")[1].split()[0])
    assert restored >= saved  # from the checkpoint mirrored before the kill (or a later one), not from 0
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 700  # curves kept up to the checkpoint, then continued
    assert Trainer.from_run_dir(run_dir).step_count == 700  # the local run folder holds the finished model


def test_lost_client_does_not_stop_training_and_resume_attaches(ray_cluster, virtual_scenes, tmp_path, capsys):
    import os
    import signal
    import subprocess
    import sys

    from app.cli import main
    from app.cluster.connect import connect
    from app.cluster.run_sync import read_attachment

    run_dir = tmp_path / "run"
    args = ["train", str(virtual_scenes[0]), "--out", str(run_dir), "--cluster", ray_cluster.address,
            "--steps", "500", "--batch-rays", "512"]
    env = dict(os.environ, PYTHONPATH=str(ray_cluster.env["PYTHONPATH"]), OMP_NUM_THREADS="1")
    client = subprocess.Popen([sys.executable, "-m", "app.cli", *args], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        metrics = run_dir / "metrics.jsonl"
        wait_for(lambda: metrics.is_file() and '"step": ' in metrics.read_text()
                 and json.loads(metrics.read_text().splitlines()[-1])["step"] >= 30, 180, "the remote run never started")
    finally:
        os.killpg(client.pid, signal.SIGKILL)  # the laptop goes away without a word
        client.wait(30)
    attached = read_attachment(run_dir)
    assert attached is not None
    ray = connect(ray_cluster.address)
    actor = ray.get_actor(attached["actor"], namespace="sparsenerf")
    step = ray.get(actor.poll.remote(0, 0))["step"]
    time.sleep(2.0)
    later = ray.get(actor.poll.remote(0, 0))
    assert later["step"] > step or later["done"]  # it kept training with nobody connected
    from app.cluster.connect import disconnect

    disconnect()
    assert main([*args, "--resume"]) == 0  # attaches to the same trainer and sees the run to its end
    out = capsys.readouterr()
    assert "attached again" in out.err and "done: 500 steps" in out.out
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 500 and records[-1]["state"] == "finished"
    steps = [r["step"] for r in records]
    assert steps == sorted(steps) and len(steps) == len(set(map(json.dumps, records)))  # no duplicated lines
    assert not (run_dir / "cluster.json").exists()
