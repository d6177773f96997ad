"""The one run-state vocabulary of a training run, shared by the loop (nerf) and the studio (app).

``RunState`` is a ``StrEnum``: a state compares equal to its plain string ("running" == RunState.RUNNING),
so snapshots written to metrics.jsonl and read back, and run folders from before this enum, keep working.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ACTIVE_STATES", "ENDED_STATES", "RunState"]


class RunState(StrEnum):
    """Where a training run is.

    The loop (``nerf.train_loop.LoopControl``) itself moves IDLE -> RUNNING <-> PAUSED -> STOPPED | FINISHED;
    LOADING (building the trainer), STOPPING (a stop asked, the current step still running) and FAILED
    (an error ended it) are the states a driver around the loop (the studio's TrainingSession) adds.
    """

    IDLE = "idle"
    LOADING = "loading"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """True while a training thread is alive (loading, running, paused or stopping)."""
        return self in ACTIVE_STATES

    @property
    def ended(self) -> bool:
        """True once a loop has ended with a model to show (stopped or finished)."""
        return self in ENDED_STATES


ACTIVE_STATES = frozenset({RunState.LOADING, RunState.RUNNING, RunState.PAUSED, RunState.STOPPING})
"""States in which the training thread is alive."""
ENDED_STATES = frozenset({RunState.STOPPED, RunState.FINISHED})
"""States after a loop ended normally (a checkpoint was saved on the way out)."""
