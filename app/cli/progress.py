"""A dependency-free progress bar for the command line (stderr, redrawn in place on a terminal)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class Progress:
    """Progress over ``total`` units; prints at most ~10 times a second, and once per 10 % when not a tty."""

    def __init__(self, total: int | None, label: str, stream=None):
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._last_decile = -1

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.tty and now - self._last_draw < 0.1 and self.done != self.total:
            return
        if not self.tty:
            decile = int(10 * self.done / self.total) if self.total else self.done // 50
            if decile == self._last_decile:
                return
            self._last_decile = decile
        self._last_draw = now
        self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = now - self.start
        if self.total:
            frac = min(1.0, self.done / self.total)
            bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
            eta = elapsed / frac - elapsed if frac > 0 else 0.0
            text = f"{self.label} [{bar}] {self.done}/{self.total} {elapsed:5.1f}s eta {eta:5.1f}s"
        else:
            text = f"{self.label} {self.done} {elapsed:5.1f}s"
        self.stream.write(("\r" + text) if self.tty else text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def track(items: Iterable[T], total: int | None, label: str) -> Iterator[T]:
    """Iterate ``items`` while drawing a progress bar."""
    bar = Progress(total, label)
    try:
        for item in items:
            yield item
            bar.update()
    finally:
        bar.close()
