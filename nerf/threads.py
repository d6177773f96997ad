"""How many CPU threads torch may use: one budget per process, set once, leaving a core to the rest.

torch's default takes every core for each operation. On a small machine that is the worst choice as
soon as anything else runs (the studio's own UI and live view, a browser, a second job): every
parallel region then waits for its slowest thread, and steps collapse (benchmarks/RESULTS.md,
"Thread budget"). ``default_threads()`` leaves one core free; ``apply_threads(n)`` sets torch's
intra-op pool (any thread, any time: a thread started later takes the new value) and, once per
process, its inter-op pool (torch refuses to change that one after it has been used).
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_interop_set = False


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """The default thread budget: every core but one (at least 1), so a UI or a second job keeps a core."""
    return max(1, available_cores() - 1)


def apply_threads(threads: int | None = None) -> int:
    """Give torch ``threads`` CPU threads (None: ``default_threads()``); returns the number set.

    Raises:
        ValueError: ``threads`` is not positive.
    """
    import torch

    global _interop_set
    n = default_threads() if threads is None else int(threads)
    if n < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    with _lock:
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
        if not _interop_set:
            _interop_set = True
            try:
                torch.set_num_interop_threads(n)
            except RuntimeError:  # inter-op work already ran in this process: torch keeps its pool
                pass
    return n
