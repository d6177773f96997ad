"""Measure how responsive the UI thread is: a fast QTimer records the gaps between its ticks.

A tick late by more than the interval means the UI thread was busy (stalled) for that long. Used by
the tests (reported, never asserted) and by benchmarks/ui_responsiveness.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from PyQt6.QtCore import QObject, Qt, QTimer


@dataclass(frozen=True)
class StallStats:
    """Gaps between timer ticks on the UI thread, in milliseconds."""

    ticks: int
    max_gap_ms: float
    p99_gap_ms: float
    median_gap_ms: float
    interval_ms: int

    @property
    def max_stall_ms(self) -> float:
        """The longest time the UI thread could not run the timer beyond its interval."""
        return max(0.0, self.max_gap_ms - self.interval_ms)


class StallProbe(QObject):
    """``start()``, do things, ``stop()`` -> StallStats. Ticks every ``interval_ms`` on the UI thread."""

    def __init__(self, interval_ms: int = 5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last: float | None = None
        self._gaps: list[float] = []

    def start(self) -> None:
        self._gaps, self._last = [], time.perf_counter()
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self._gaps.append((now - self._last) * 1000.0)
        self._last = now

    def stop(self) -> StallStats:
        self._timer.stop()
        return self.stats()

    def stats(self) -> StallStats:
        g = np.asarray(self._gaps) if self._gaps else np.zeros(1)
        return StallStats(len(self._gaps), float(g.max()), float(np.percentile(g, 99)), float(np.median(g)),
                          self.interval_ms)
