"""The learning-rate schedule and the budget it runs over, as pure functions (no trainer, no clock).

The trainer multiplies each parameter group's base learning rate by ``LRSchedule.factor(progress, step)``
before every step; ``budget_progress`` says how far through its budget (steps or minutes) a run is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["LRSchedule", "budget_progress"]


def budget_progress(step: int, elapsed_s: float, max_steps: int | None, budget_s: float | None) -> float:
    """Fraction of the budget used, in [0, 1]: the larger of ``step / max_steps`` and ``elapsed_s / budget_s``
    (a missing or zero limit does not count)."""
    frac = 0.0
    if max_steps:
        frac = step / max_steps
    if budget_s:
        frac = max(frac, elapsed_s / budget_s)
    return min(1.0, frac)


@dataclass(frozen=True)
class LRSchedule:
    """Log-linear decay from 1 to ``final_ratio`` over the budget, times an optional sine-eased warm-up.

    Attributes:
        final_ratio: factor at the end of the budget (clamped to >= 1e-12).
        warmup_steps: steps of the warm-up from ``warmup_start`` to 1 (0: none; the mip-NeRF original: 512).
        warmup_start: factor at step 0 of the warm-up.
    """

    final_ratio: float = 0.1
    warmup_steps: int = 0
    warmup_start: float = 0.01

    def factor(self, progress: float, step: int) -> float:
        """Multiplier of the base learning rates at budget fraction ``progress`` in [0, 1] and step ``step``."""
        decay = math.exp(math.log(max(self.final_ratio, 1e-12)) * progress)
        if self.warmup_steps > 0:
            w = min(1.0, step / self.warmup_steps)
            decay *= self.warmup_start + (1 - self.warmup_start) * math.sin(0.5 * math.pi * w)
        return decay
