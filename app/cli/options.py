"""Options several commands share: the CPU thread budget of the heavy ones."""

from __future__ import annotations

from typing import Annotated, Optional

import tyro

Threads = Annotated[Optional[int], tyro.conf.arg(
    metavar="N", help_behavior_hint="(default: every CPU core but one, at least 1)")]
"""``--threads N``: CPU threads for torch (rendering, training, evaluation); see nerf.threads."""

THREADS_HELP = "CPU threads for torch: fewer than the cores keeps the machine responsive for other work."


def apply_command_threads(command: object) -> int | None:
    """Set the process's torch thread budget from a command's ``threads`` field (commands without one: untouched)."""
    if not hasattr(command, "threads"):
        return None
    if getattr(command, "cluster", None):  # training runs on the cluster's nodes, which set their own budget
        return None
    from devices.errors import InputError
    from nerf import apply_threads

    threads = command.threads
    if threads is not None and threads < 1:
        raise InputError(None, f"--threads must be at least 1, got {threads}")
    return apply_threads(threads)
