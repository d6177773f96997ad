"""``LatestSlot``: a thread-safe one-value channel where the newest value wins (no Qt).

A moving camera asking for previews, or a fast sensor delivering frames, must never build a backlog:
the producer ``put``s, the consumer ``take``s whatever is newest, and anything older is dropped.
The training loop uses it for its pending render request, the studio's workers for frames.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

__all__ = ["LatestSlot"]

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds only the newest value put into it (older ones are dropped). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: T | None = None

    def put(self, value: T) -> bool:
        """Store ``value`` (replacing any value not yet taken); True when the slot was empty (the consumer
        needs a wake-up)."""
        with self._lock:
            was_empty = self._value is None
            self._value = value
            return was_empty

    def take(self) -> T | None:
        """The newest value, or None when there is none; the slot is empty afterwards."""
        with self._lock:
            value, self._value = self._value, None
            return value

    def pending(self) -> bool:
        """True when a value waits to be taken."""
        with self._lock:
            return self._value is not None
