"""How many CPU threads torch may use: one budget per process, set once, leaving a core to the rest.

torch's default takes every core for each operation. On a small machine that is the worst choice as
soon as anything else runs (the studio's own UI and live view, a browser, a second job): every
parallel region then waits for its slowest thread, and steps collapse (benchmarks/RESULTS.md,
"Thread budget"). ``default_threads()`` leaves one core free; ``apply_threads(n)`` sets torch's
intra-op pool (any thread, any time: a thread started later takes the new value) and, once per
process, its inter-op pool (torch refuses to change that one after it has been used).

The intra-op budget is not shared between threads: each Python thread that runs torch ops gets an OpenMP team
of its own, of the size the process value had when that thread ran its first op. A second thread rendering
beside the training (the studio's live preview) would therefore run ``n`` more threads on the same cores;
``limit_this_thread(side_threads())`` gives it the cores the training leaves free instead
(benchmarks/RESULTS.md, "Live preview ... threads").
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_interop_set = False
_budget: int | None = None
"""The last ``apply_threads`` value (None: never called)."""


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

    global _interop_set, _budget
    n = default_threads() if threads is None else int(threads)
    if n < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    with _lock:
        _budget = n
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
        if not _interop_set:
            _interop_set = True
            try:
                torch.set_num_interop_threads(n)
            except RuntimeError:  # inter-op work already ran in this process: torch keeps its pool
                pass
    return n


def side_threads(training: bool = True) -> int | None:
    """Threads for a thread that runs torch beside a training of the process budget (``apply_threads``): the
    cores that budget leaves free, at least 1 (``training`` False: no training runs, the whole budget). None
    when no budget was applied (torch's own default)."""
    with _lock:
        if _budget is None:
            return None
        return max(1, available_cores() - _budget) if training else _budget


def limit_this_thread(threads: int | None) -> None:
    """Give the calling thread ``threads`` intra-op threads (None: leave it as it is), leaving the process value
    (what threads that have not run an op yet take) as it was.

    ``torch.set_num_threads`` sets both this thread's OpenMP team size and the process value; the process value
    is put back from a short-lived helper thread (whose own team size dies with it). A thread that runs its first
    op in the microseconds between the two takes ``threads`` too (harmless: every trainer applies its own).
    """
    import torch

    if threads is None:
        return
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    with _lock:
        if torch.get_num_threads() == threads:  # also this thread's first use, which would later reset it
            return
        process = _in_new_thread(torch.get_num_threads)  # a new thread starts from the process value
        torch.set_num_threads(threads)
        _in_new_thread(lambda: torch.set_num_threads(process))


def _in_new_thread(fn):  # noqa: ANN001, ANN202 - a tiny helper
    """``fn()`` run on a new thread (torch keeps thread-local state), its result returned here."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()), name="torch-threads")
    t.start()
    t.join()
    return out[0] if out else None
