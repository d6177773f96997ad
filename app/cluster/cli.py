"""`sparsenerf train ... --cluster ADDRESS`: the CLI's training run on a Ray cluster."""

from __future__ import annotations

import sys
from typing import Any


def train_remote(cmd: Any) -> int:
    """Run ``cmd`` (an ``app.cli.train.Train``) on the cluster at ``cmd.cluster``; the exit status."""
    from app.cluster.connect import disconnect, import_ray
    from app.cluster.remote_trainer import ClusterTarget, RemoteTrainer
    from nerf import load_scene

    import_ray()  # without Ray: the install hint, before any scene is loaded
    target = ClusterTarget(cmd.cluster, num_cpus=cmd.cluster_cpus, num_gpus=cmd.cluster_gpus,
                           token_file=cmd.token_file)
    try:
        if cmd.resume:
            trainer = RemoteTrainer.continue_run(cmd.out, target, minutes=cmd.minutes, steps=cmd.steps)
        else:
            scene = load_scene(cmd.scene, split=cmd.split, downscale=cmd.downscale)
            trainer = RemoteTrainer.start(scene, cmd.train_config(), cmd.out, target)
        print(f"training on the Ray cluster at {cmd.cluster}; the run folder {cmd.out} is written here as it goes")
        return cmd.train_and_report(_Announcing(trainer))
    finally:
        disconnect()


class _Announcing:
    """The trainer, with each new message of its snapshots (a restart on another node...) printed once."""

    def __init__(self, trainer: Any) -> None:
        self._trainer = trainer
        self._said: set[str] = set()
        self.control = self  # as the RemoteTrainer: its own loop (run() here relays the messages)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trainer, name)

    def run(self, on_snapshot: Any = None) -> Any:
        def relay(snap: Any) -> None:
            for message in snap.messages:
                if message not in self._said:
                    self._said.add(message)
                    sys.stderr.write(f"\n{message}\n")
            if on_snapshot is not None:
                on_snapshot(snap)

        return self._trainer.run(relay)
