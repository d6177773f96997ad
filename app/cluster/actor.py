"""``TrainerActor``: a ``nerf.trainer.Trainer`` running as a Ray actor on a cluster node.

The actor trains in a thread of its own, in a private run folder on its node (the Trainer writes
run.json, metrics.jsonl and checkpoints there as it does locally); ``poll`` hands the client what is
new in that folder, so the client can mirror the run folder on the user's machine. Commands (pause,
resume, stop, render) are plain method calls served concurrently (a threaded actor), and act
between steps as they do locally.

When Ray restarts the actor on another node (its node died), the constructor runs again with the
original arguments; the actor then reports ``restarted`` and waits, untrained, for the client to
send back the last checkpoint (``restore``) and ``start`` it again.

No Qt and no Ray at import time: ``remote_class()`` wraps the class with ``ray.remote`` on demand.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from nerf import Camera, RenderResult

LINGER_S = 600.0
"""A finished actor nobody has polled for this long removes itself (its client is gone for good)."""
RENDER_TIMEOUT_S = 120.0


class TrainerActor:
    """Trains ``scene`` with ``config`` on this node; ``checkpoint`` (bytes of latest.pt) continues a run."""

    def __init__(self, scene: Any, config: Any, checkpoint: bytes | None = None) -> None:
        import ray

        from nerf import Trainer

        ctx = ray.get_runtime_context()
        self.node_id = ctx.get_node_id()
        self.restarted = bool(ctx.was_current_actor_reconstructed)
        self.incarnation = uuid.uuid4().hex
        self.workdir = Path(tempfile.mkdtemp(prefix="sparsenerf-remote-"))
        self.trainer = Trainer.create(scene, config, self.workdir)
        self._thread: threading.Thread | None = None
        self._done = False
        self._error: str | None = None
        self._last_poll = time.monotonic()
        self._render_seq = 0
        self._render_lock = threading.Lock()
        if checkpoint is not None and not self.restarted:
            self.restore(checkpoint)
        threading.Thread(target=self._linger_watch, daemon=True, name="linger").start()

    # ------------------------------------------------------------------ commands
    def restore(self, checkpoint: bytes) -> int:
        """Continue from ``checkpoint`` (the bytes of a RUN/checkpoints/latest.pt); returns its step."""
        from devices.atomic import atomic_write_bytes
        from nerf import run_dir as rd

        if self._thread is not None:
            raise RuntimeError("cannot restore a checkpoint while training")
        path = self.workdir / rd.CHECKPOINT
        atomic_write_bytes(path, checkpoint)
        state = rd.load_checkpoint(self.workdir, self.trainer.device)  # data only, as a local resume
        self.trainer.load_state_dict(state)
        # the run keeps its id: run.json and the checkpoints mirrored from here go on agreeing
        self.trainer.run_id = state.get("run_id")
        source, config, _ = rd.read_run_doc(self.workdir)
        rd.write_run_json(self.workdir, source, config, self.trainer.run_id)
        rd.write_metrics(self.workdir, [])  # the client keeps the curves up to the checkpoint
        return self.trainer.step_count

    def start(self) -> None:
        """Run the training loop in a thread (no-op while it runs)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._done = False
        self._thread = threading.Thread(target=self._loop, daemon=True, name="train")
        self._thread.start()

    def _loop(self) -> None:
        try:
            self.trainer.control.run(None)  # saves the final checkpoint on its way out
        except Exception as exc:  # noqa: BLE001 - reported to the client in poll()
            self._error = f"{exc.__class__.__name__}: {exc}"
        finally:
            self._done = True

    def pause(self) -> None:
        self.trainer.control.pause()

    def resume(self) -> None:
        self.trainer.control.resume()

    def stop(self) -> None:
        self.trainer.control.stop()

    def render(self, camera: Camera) -> RenderResult | None:
        """Render ``camera``: between two steps while training (the loop serves it), else at once.

        Latest request wins: None when a newer request replaced this one before it was served.
        """
        with self._render_lock:
            self._render_seq += 1
            seq = self._render_seq
        done, box = threading.Event(), []
        self.trainer.control.request_render(camera, lambda r: (box.append(r), done.set()))
        deadline = time.monotonic() + RENDER_TIMEOUT_S
        while not done.wait(0.05):
            if self._render_seq != seq and not box:
                return None  # superseded while pending: the loop dropped it for the newer one
            if time.monotonic() > deadline:
                raise TimeoutError(f"no render within {RENDER_TIMEOUT_S:.0f} s")
        return box[0]

    # ------------------------------------------------------------------ progress
    def poll(self, metrics_from: int, checkpoint_version: int) -> dict[str, Any]:
        """What is new since the client's last poll.

        Args:
            metrics_from: metrics.jsonl lines the client already has (of this incarnation).
            checkpoint_version: ``checkpoint_version`` of the checkpoint the client has (0: none).
        Returns a dict: node, incarnation, restarted, state, done, error, step, snapshot (TrainSnapshot or
        None), run_json (text), metrics (new complete lines), metrics_total, checkpoint (bytes or None,
        only when newer), checkpoint_version.
        """
        from nerf import run_dir as rd

        self._last_poll = time.monotonic()
        done = self._done  # read first: when True, the files below are complete
        text = (self.workdir / rd.METRICS).read_text() if (self.workdir / rd.METRICS).is_file() else ""
        lines = text.splitlines(keepends=True)
        lines = [ln for ln in lines if ln.endswith("\n")]  # the last one may be half-written
        ckpt, version = None, checkpoint_version
        path = self.workdir / rd.CHECKPOINT
        if path.is_file():
            with open(path, "rb") as fh:
                stamp = os.fstat(fh.fileno()).st_mtime_ns
                if stamp != checkpoint_version:
                    ckpt, version = fh.read(), stamp
        snap = self.trainer.control.snapshot
        return {
            "node": self.node_id, "incarnation": self.incarnation, "restarted": self.restarted,
            "state": self.trainer.control.state, "done": done, "started": self._thread is not None, "error": self._error, "step": self.trainer.step_count,
            "snapshot": snap, "run_json": (self.workdir / rd.RUN_JSON).read_text(),
            "metrics": lines[metrics_from:], "metrics_total": len(lines),
            "checkpoint": ckpt, "checkpoint_version": version, "device": str(self.trainer.device),
        }

    def _linger_watch(self) -> None:
        """Remove this actor once finished and unpolled for LINGER_S (the client will not come back)."""
        import ray

        while True:
            time.sleep(5.0)
            if self._done and time.monotonic() - self._last_poll > LINGER_S:
                shutil.rmtree(self.workdir, ignore_errors=True)
                ray.kill(ray.get_runtime_context().current_actor, no_restart=True)
                return

    def close(self) -> None:
        """Delete this node's copy of the run folder (the client has its own)."""
        shutil.rmtree(self.workdir, ignore_errors=True)


def remote_class() -> Any:
    """``TrainerActor`` wrapped by ``ray.remote`` (threaded: commands and polls run beside the training)."""
    import ray

    return ray.remote(max_concurrency=4)(TrainerActor)
