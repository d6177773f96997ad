"""A lock that serves its waiters in arrival order, for the training loop's step lock.

The training thread takes the step lock around every step and takes it again a few microseconds after
letting it go. With a plain ``threading.Lock`` the waiting preview thread is woken but rarely runs first,
so it waited ~0.7 s (several steps) per frame for a 2 ms copy of the field (benchmarks/RESULTS.md, "Live
preview ... third pass"). Tickets make the hand-over fair: whoever asked first gets it next.
"""

from __future__ import annotations

import threading


class FairLock:
    """A non-reentrant mutex that hands itself to waiters first come, first served (ticket lock).

    Use it as ``with lock:``; ``acquire``/``release`` as on ``threading.Lock`` (blocking acquire only).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._next_ticket = 0
        self._now_serving = 0
        self._given_up: set[int] = set()  # tickets whose waiter left while waiting (an exception)

    def acquire(self) -> bool:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            try:
                while ticket != self._now_serving:
                    self._cond.wait()
            except BaseException:  # KeyboardInterrupt in the main thread: give the turn up, or nobody gets it again
                if ticket == self._now_serving:
                    self._advance()
                else:
                    self._given_up.add(ticket)
                raise
        return True

    def release(self) -> None:
        with self._cond:
            if self._now_serving >= self._next_ticket:
                raise RuntimeError("release of an unlocked FairLock")
            self._advance()

    def _advance(self) -> None:
        """Serve the next ticket whose waiter is still there (called holding ``_cond``)."""
        self._now_serving += 1
        while self._now_serving in self._given_up:
            self._given_up.discard(self._now_serving)
            self._now_serving += 1
        self._cond.notify_all()

    def locked(self) -> bool:
        with self._cond:
            return self._now_serving < self._next_ticket

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
