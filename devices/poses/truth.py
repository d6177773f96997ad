"""Ground-truth poses that imported data sets carry in each frame's metadata, and the error against them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from devices.poses.geometry import absolute_trajectory_error

GROUND_TRUTH_KEY = "ground_truth_c2w"
"""Frame meta key: the data set's camera-to-world pose (OpenCV axes, metres) as a 4x4 nested list."""


def ground_truth(meta: dict[str, Any]) -> np.ndarray | None:
    """The ground-truth c2w [4, 4] recorded in a frame's metadata, or None."""
    gt = meta.get(GROUND_TRUTH_KEY)
    return None if gt is None else np.asarray(gt, dtype=np.float64)


@dataclass(frozen=True)
class TruthError:
    """Absolute trajectory error of estimated poses against ground truth (rigid alignment, no scale).

    Attributes:
        rmse, max: metres, over ``compared`` frames (posed and with ground truth).
        compared: frames in the comparison; ``with_truth``: frames that have ground truth.
    """

    rmse: float
    max: float
    compared: int
    with_truth: int

    def describe(self) -> str:
        return (f"ATE against the ground truth: RMSE {1000 * self.rmse:.1f} mm, max {1000 * self.max:.1f} mm "
                f"over {self.compared} posed frames of {self.with_truth} with ground truth (rigid alignment)")


def truth_error(c2w: Sequence[np.ndarray | None], metas: Sequence[dict[str, Any]]) -> TruthError | None:
    """ATE of ``c2w`` (per frame [4, 4] or None) against the ground truth in ``metas``; None when fewer
    than 3 frames have both."""
    truths = [ground_truth(m) for m in metas]
    both = [i for i, (p, t) in enumerate(zip(c2w, truths)) if p is not None and t is not None]
    if len(both) < 3:
        return None
    err = absolute_trajectory_error(np.stack([c2w[i] for i in both]), np.stack([truths[i] for i in both]))
    return TruthError(float(np.sqrt(np.mean(err**2))), float(err.max()), len(both),
                      sum(t is not None for t in truths))
