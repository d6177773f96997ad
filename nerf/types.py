"""Small typed values passed between the NeRF library and its users (CLI, studio).

These are the contract the studio builds on; change them only together with app/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Camera:
    """A pinhole camera to render from.

    Attributes:
        K: float64 [3, 3] intrinsics at (width, height).
        c2w: float64 [4, 4] camera-to-world, OpenCV axes (x right, y down, z forward), in the
            scene's world frame (the frame of Scene.c2w).
        width, height: image size in pixels.
    """

    K: np.ndarray
    c2w: np.ndarray
    width: int
    height: int

    def scaled(self, factor: float) -> Camera:
        """The same camera at ``factor`` times the resolution (for small previews)."""
        w, h = max(1, round(self.width * factor)), max(1, round(self.height * factor))
        K = self.K.copy()
        K[0] *= w / self.width
        K[1] *= h / self.height
        return Camera(K=K, c2w=self.c2w, width=w, height=h)


@dataclass(frozen=True)
class RenderResult:
    """One rendered view.

    Attributes:
        rgb: uint8 [H, W, 3].
        depth: float32 [H, W] expected depth along the optical axis in scene units (metric space)
            or NDC ray parameter (forward-facing scenes); see ``depth_is_ndc``.
        acc: float32 [H, W] accumulated opacity in [0, 1].
    """

    rgb: np.ndarray
    depth: np.ndarray
    acc: np.ndarray
    camera: Camera
    step: int
    depth_is_ndc: bool = False


@dataclass(frozen=True)
class TrainSnapshot:
    """What a UI needs to show training progress; produced at a bounded rate (a few per second at most).

    Attributes:
        step: optimisation steps done.
        max_steps: the step budget, or None with a time budget.
        elapsed_s: training seconds so far (pauses excluded).
        budget_s: the time budget in seconds, or None with a step budget.
        losses: latest loss terms by name ("rgb", "rank", "cont", "total", ...).
        train_psnr: PSNR of the latest training batch (dB).
        test_psnr: latest held-out PSNR (dB), or None if not evaluated yet.
        skipped_steps: steps skipped because the loss was not finite.
        preview: an optional small render of a fixed view (``reporting.preview_width``; none by default).
        state: the loop's ``nerf.run_state.RunState`` ("running", "paused", "stopped" or "finished"; a plain
            string equal to it when read back from metrics.jsonl).
        messages: the latest warnings of the loop (skipped steps, failed preview renders).
        eta_s: seconds left (nerf.train_loop.LoopControl.eta_s), or None while unknown.
    """

    step: int
    max_steps: int | None
    elapsed_s: float
    budget_s: float | None
    losses: dict[str, float]
    train_psnr: float
    test_psnr: float | None = None
    skipped_steps: int = 0
    preview: RenderResult | None = None
    state: str = "running"
    messages: tuple[str, ...] = field(default_factory=tuple)
    eta_s: float | None = None


@dataclass(frozen=True)
class StepStats:
    """What one training step did.

    Attributes:
        step: steps done after this one (skipped steps count too).
        losses: loss terms by name (floats; NaN/inf when skipped).
        train_psnr: PSNR of the batch's fine colour (dB).
        skipped: True when the loss was not finite and no update was made.
        rays: rays in the batch.
        seconds: wall time of the step.
    """

    step: int
    losses: dict[str, float]
    train_psnr: float
    skipped: bool
    rays: int
    seconds: float
