"""``RemoteTrainer``: a training run on a Ray cluster, driven through the local Trainer's interface.

The CLI and the studio use the same members of it as of ``nerf.trainer.Trainer``: ``render``, ``scene``,
``config``, ``step_count``, ``view_camera``, and ``control`` (here the RemoteTrainer itself) with the
members of ``nerf.train_loop.LoopControl``: ``run(on_snapshot)`` (blocks until the run ends),
``pause``/``resume``/``stop`` (from any thread), ``request_render``, ``state``, ``snapshot``, ``elapsed_s``. Underneath, ``run`` polls a ``TrainerActor`` and mirrors its run folder into
``run_dir`` on this machine (``RunSync``).

Faults: the actor is detached and named, with ``max_restarts``. When its node dies Ray starts it
again elsewhere; this client sends it the last checkpoint it mirrored and starts it, and says so in
the snapshots' ``messages``. A client that goes away (a lost connection, a closed laptop) leaves the
actor training; ``continue_run`` attaches to it again (RUN/cluster.json names it).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.cluster.connect import NAMESPACE, connect
from app.cluster.run_sync import RunSync, read_attachment
from devices.errors import InputError
from nerf import Camera, RenderResult, TrainSnapshot

POLL_S = 0.25
"""Seconds between two polls of the remote trainer."""
POLL_TIMEOUT_S = 20.0
REMOTE_CHECKPOINT_EVERY_S = 30.0
"""Remote runs checkpoint (and so mirror their checkpoint here) at least this often."""
GIVE_UP_S = 600.0
"""Out of contact with the trainer this long (no node to restart it on?): the run fails, its checkpoint kept."""


@dataclass(frozen=True)
class ClusterTarget:
    """Where and with what a remote run trains.

    Attributes:
        address: ``ray://HOST:10001`` (Ray Client) or ``HOST:6379`` (this machine is a cluster node).
        num_cpus, num_gpus: resources of the trainer actor (a GPU when ``num_gpus`` > 0).
        token_file: file holding the cluster's token (else $RAY_AUTH_TOKEN, ~/.ray/auth_token).
        max_restarts: restarts of the trainer on another node when its node dies.
        prefer_node: a Ray node id to start on when it has room (soft affinity), else anywhere.
    """

    address: str
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    token_file: Path | None = None
    max_restarts: int = 3
    prefer_node: str | None = None


class RemoteTrainer:
    """See the module docstring. Build with ``start`` (a new run) or ``continue_run`` (an existing one)."""

    def __init__(self, scene: Any, config: Any, run_dir: Path, target: ClusterTarget) -> None:
        self._ray = connect(target.address, target.token_file)
        self._scene, self._config, self.target = scene, config, target
        self.run_dir = Path(run_dir)
        self.sync = RunSync(self.run_dir)
        self.actor_name = ""
        self._actor: Any = None
        self._scene_ref: Any = None
        self._info: dict[str, Any] | None = None
        self._messages: list[str] = []
        self._stop_requested = False
        self._lost_since: float | None = None
        self._node: str | None = None
        self._local: Any = None
        self._known_lines: set[str] | None = None
        self.control = self
        """A remote run is its own loop: the commands a local Trainer's ``control`` takes are methods here."""
        self.step_lock: Any = None
        """Accepted as LoopControl's (a remote step never races a local export render)."""

    # ------------------------------------------------------------------ building
    @classmethod
    def start(cls, scene: Any, config: Any, run_dir: Path, target: ClusterTarget) -> RemoteTrainer:
        """A new run of ``scene`` with ``config`` on the cluster; its folder is ``run_dir`` on this machine."""
        from nerf import run_dir as rd

        threads = max(1, int(target.num_cpus)) if target.num_gpus == 0 else config.threads
        # mirrored checkpoints are what a restart on another node continues from: keep them recent
        every = min(config.reporting.checkpoint_every_s, REMOTE_CHECKPOINT_EVERY_S)
        self = cls(scene, config.replace(threads=threads, checkpoint_every_s=every), run_dir, target)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        rd.write_metrics(self.run_dir, [])  # a new run: no curves of an older one
        self._spawn(None)
        self._config = rd.read_run_json(self.run_dir)[1]  # as the trainer completed it (a preset applied)
        return self

    @classmethod
    def continue_run(cls, run_dir: Path, target: ClusterTarget, minutes: float | None = None,
                     steps: int | None = None) -> RemoteTrainer:
        """The run in ``run_dir``: attached to its remote trainer if that still runs, else continued on the
        cluster from its local checkpoint (``minutes``/``steps``: a new total budget)."""
        from app.runs import check_run_folder
        from nerf import load_scene
        from nerf import run_dir as rd

        run_dir = Path(run_dir)
        source, config = rd.read_run_json(run_dir)
        if source is None or not Path(source.path).exists():
            check_run_folder(run_dir)  # says which
        config.preset = None  # applied when the run started: run.json holds the final config
        budget = config.budget
        same_budget = (minutes is None and steps is None) or (minutes, steps) == (budget.minutes, budget.steps)
        if minutes is not None or steps is not None:
            budget.minutes, budget.steps = minutes, steps
        scene = load_scene(source.path, split=source.split, downscale=source.downscale)
        self = cls(scene, config, run_dir, target)
        attached = read_attachment(run_dir)
        if attached is not None and self._attach(attached["actor"]):  # it never stopped (the client went away)
            if not same_budget:
                raise InputError(run_dir, "is still training on the cluster with its own budget: attach to it "
                                          "with --resume and no new --minutes / --steps")
            return self
        check_run_folder(run_dir)
        self._spawn(self.sync.checkpoint_bytes())
        self.sync.new_incarnation(self._require_info()["step"])
        return self

    def _spawn(self, checkpoint: bytes | None) -> None:
        from app.cluster.actor import remote_class

        ray, t = self._ray, self.target
        opts: dict[str, Any] = dict(name=f"sparsenerf-{uuid.uuid4().hex[:12]}", namespace=NAMESPACE,
                                    lifetime="detached", max_restarts=t.max_restarts, max_task_retries=0,
                                    num_cpus=t.num_cpus, num_gpus=t.num_gpus)
        if t.prefer_node:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(t.prefer_node, soft=True)
        if self._scene_ref is None:
            self._scene_ref = ray.put(self._scene)  # shipped once through the object store
        self.actor_name = opts["name"]
        self._actor = remote_class().options(**opts).remote(self._scene_ref, self._config, checkpoint)
        self.sync.write_attachment(self.target.address, self.actor_name)
        self._info = None
        self._require_info()

    def _attach(self, name: str) -> bool:
        """Attach to the running actor ``name``; False when it is gone."""
        try:
            self._actor = self._ray.get_actor(name, namespace=NAMESPACE)
        except ValueError:
            return False
        self.actor_name = name
        path = self.run_dir / "metrics.jsonl"
        self._known_lines = set(path.read_text().splitlines(keepends=True)) if path.is_file() else set()
        self._messages.append(f"attached again to the training running on the cluster ({name})")
        self._require_info()
        return True

    def _require_info(self) -> dict[str, Any]:
        """Poll until the actor answers (it is built: the scene loaded, the field created)."""
        deadline = time.monotonic() + GIVE_UP_S
        while self._info is None:
            self._poll()
            if self._info is None:
                if time.monotonic() > deadline:
                    raise InputError(None, f"the cluster at {self.target.address} did not start the trainer "
                                           f"in {GIVE_UP_S:.0f} s (not enough free CPUs/GPUs?)")
                time.sleep(POLL_S)
        return self._info

    # ------------------------------------------------------------------ the Trainer interface
    @property
    def scene(self) -> Any:
        return self._scene

    @property
    def config(self) -> Any:
        return self._config

    @property
    def use_prior(self) -> bool:
        return bool(self._config.losses.depth_prior and self._scene.depths is not None)

    @property
    def device(self) -> str:
        info = self._info or {}
        return f"{info.get('device', '?')} on Ray node {str(info.get('node', '?'))[:8]}"

    @property
    def node(self) -> str | None:
        """Ray node id of the node training now."""
        return self._node

    @property
    def snapshot(self) -> TrainSnapshot | None:
        snap = None if self._info is None else self._info["snapshot"]
        if snap is not None and self._messages:
            snap = replace(snap, messages=tuple(snap.messages) + tuple(self._messages[-5:]))
        return snap

    @property
    def state(self) -> str:
        if self._info is None:
            return "idle"
        return self._info["state"]

    @property
    def step_count(self) -> int:
        return 0 if self._info is None else int(self._info["step"])

    @property
    def elapsed_s(self) -> float:
        """Training seconds so far (from the snapshots)."""
        snap = self.snapshot
        return 0.0 if snap is None else float(snap.elapsed_s)

    def view_camera(self, i: int) -> Camera:
        from nerf import view_camera

        return view_camera(self._scene, i)

    def pause(self) -> None:
        self._tell("pause")

    def resume(self) -> None:
        self._tell("resume")

    def stop(self) -> None:
        self._stop_requested = True
        self._tell("stop")

    def _tell(self, method: str) -> None:
        if self._actor is not None:
            getattr(self._actor, method).remote()  # fire and forget; the loop acts between two steps

    def request_render(self, camera: Camera, callback: Any, on_error: Any = None) -> None:
        """Render ``camera`` (blocking this thread) and call ``callback(result)``; nothing when superseded.
        A failed render goes to ``on_error`` (else raises)."""
        try:
            result = self.render(camera)
        except Exception as exc:  # noqa: BLE001 - as Trainer.request_render: the caller decides
            if on_error is None:
                raise
            on_error(exc)
            return
        if result is not None:
            callback(result)

    def render(self, camera: Camera, chunk: int | None = None) -> RenderResult | None:
        """Render on the cluster while the remote trainer lives, else locally from the mirrored checkpoint."""
        actor = self._actor
        if actor is not None:
            try:
                return self._ray.get(actor.render.remote(camera), timeout=POLL_TIMEOUT_S * 3)
            except Exception:  # noqa: BLE001 - its node died / it just finished: fall back to the local copy
                if self._actor is not None and self.sync.checkpoint_bytes() is None:
                    raise
        if self._local is None:
            from nerf import Trainer

            self._local = Trainer.from_run_dir(self.run_dir, scene=self._scene)
        return self._local.render(camera, chunk)

    # ------------------------------------------------------------------ the loop
    def run(self, on_snapshot: Any = None) -> TrainSnapshot:
        """Train until the budget or ``stop()``, mirroring the run folder; returns the last snapshot."""
        if self._actor is None:  # continuing after an earlier run() ended: a new actor from the checkpoint
            self._stop_requested = False
            self._spawn(self.sync.checkpoint_bytes())
            self.sync.new_incarnation(self._require_info()["step"])
        self._local = None
        self._actor.start.remote()
        last_key = None
        while True:
            info = self._poll(on_snapshot)
            if info is not None:
                snap = self.snapshot
                key = None if snap is None else (snap.step, snap.state, snap.elapsed_s, len(self._messages))
                if snap is not None and key != last_key and on_snapshot is not None:
                    last_key = key
                    on_snapshot(snap)
                if info["done"] and info["started"]:
                    break
            time.sleep(POLL_S)
        if info["error"]:
            raise RuntimeError(f"the training on the cluster failed: {info['error']}")
        self.close()
        return self.snapshot

    def _poll(self, on_snapshot: Any = None) -> dict[str, Any] | None:
        """One poll: mirror what is new; on a restarted actor send it the checkpoint. None: no answer."""
        ray = self._ray
        try:
            info = ray.get(self._actor.poll.remote(self.sync.metrics_from, self.sync.checkpoint_version),
                           timeout=POLL_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - GetTimeoutError, RayActorError, a dropped connection
            self._lost(exc, on_snapshot)
            return None
        if info["restarted"] and not info["started"] and not info["done"]:
            return self._recover(info)
        if self._known_lines is not None:  # attached again: skip the lines mirrored before the connection broke
            info = dict(info, metrics=[ln for ln in info["metrics"] if ln not in self._known_lines])
            self._known_lines = None
        self.sync.apply(info)
        self._info, self._node, self._lost_since = info, info["node"], None
        return info

    def _lost(self, exc: BaseException, on_snapshot: Any) -> None:
        now = time.monotonic()
        if self._lost_since is None:
            self._lost_since = now
            self._messages.append(f"lost contact with the trainer on node {str(self._node)[:8]} "
                                  f"({exc.__class__.__name__}); waiting for Ray to restart it")
            if on_snapshot is not None and self.snapshot is not None:
                on_snapshot(self.snapshot)
        try:
            self._ray.get_actor(self.actor_name, namespace=NAMESPACE)
        except Exception:  # noqa: BLE001 - gone for good (no restarts left)
            self._actor = None
            raise RuntimeError(f"the trainer on the cluster is gone ({exc.__class__.__name__}); the run folder "
                               f"{self.run_dir} keeps its last checkpoint: continue it with --resume") from None
        if now - self._lost_since > GIVE_UP_S:
            raise RuntimeError(f"no contact with the trainer for {GIVE_UP_S:.0f} s; the run folder {self.run_dir} "
                               "keeps its last checkpoint: continue it with --resume")

    def _recover(self, info: dict[str, Any]) -> dict[str, Any] | None:
        """Ray restarted the actor (its node died): continue from the checkpoint mirrored here.

        Returns None, or a final poll dict ("stopped") when a stop was asked for meanwhile.
        """
        ckpt = self.sync.checkpoint_bytes()
        step = 0
        if ckpt is not None:
            step = self._ray.get(self._actor.restore.remote(ckpt), timeout=GIVE_UP_S)
        self.sync.new_incarnation(step)
        self.sync.checkpoint_version = 0
        old = str(self._node)[:8]
        self._node = info["node"]
        self._messages.append(f"the node running the training ({old}) died: Ray restarted it on node "
                              f"{str(info['node'])[:8]}, continuing from the checkpoint at step {step}")
        if self._stop_requested:  # nothing to train: the checkpoint here is the run's last state
            self._info = dict(info, done=True, started=True, state="stopped", error=None, step=step)
            return self._info
        self._actor.start.remote()
        return None

    def close(self) -> None:
        """End the remote trainer (the run folder here is complete); safe to call twice."""
        actor, self._actor = self._actor, None
        if actor is None:
            return
        try:
            self._ray.get(actor.close.remote(), timeout=POLL_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - best effort: its node may be gone
            pass
        self._ray.kill(actor, no_restart=True)
        self.sync.clear_attachment()
