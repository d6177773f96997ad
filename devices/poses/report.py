"""What pose estimation returns: poses, keyframes, and a quality record for every frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FrameQuality:
    """How one frame was posed. Every input frame has one; a failure is recorded here, never dropped.

    Attributes:
        index: the frame's position in the input sequence.
        keyframe: True for keyframes (the pose-graph nodes).
        anchor: the keyframe this frame's pose was measured against by odometry (for a keyframe,
            the previous keyframe); None for the reference keyframe and for failed frames.
        success: Open3D's odometry success flag for that edge.
        fitness: inlier ratio of the edge: correspondences / valid depth pixels of the frame.
        correspondences: inlier correspondences of the edge (the diagonal of its translation information).
        information: smallest eigenvalue of the edge's 6x6 information matrix (how well it constrains the pose).
        sharpness: variance of the Laplacian of the frame's grey image (larger is sharper).
        valid_depth: fraction of pixels with usable depth.
        translation: distance to the anchor in metres (0 when failed).
        rotation: angle to the anchor in degrees (0 when failed).
        loop_edges: keyframes joined to this keyframe by accepted loop-closure edges.
        loops_rejected: loop-closure attempts from this keyframe that failed verification or were pruned.
        method: how the pose was found: "reference", "odometry" (to its keyframe), "fallback"
            (odometry to another keyframe after the current one failed), "relocalised" (ORB features +
            PnP/RANSAC, refined by odometry), "backtracked" (lost, then posed by odometry backwards from a
            later frame that found the map again) or "failed".
        confidence: 0-1, how far the edge's inlier share lies above the acceptance threshold
            (1 for the reference, 0 for a failed frame).
        failed: True when the frame has no pose.
        reason: why it failed (empty when it did not).
    """

    index: int
    keyframe: bool = False
    anchor: int | None = None
    success: bool = False
    fitness: float = 0.0
    correspondences: int = 0
    information: float = 0.0
    sharpness: float = 0.0
    valid_depth: float = 0.0
    translation: float = 0.0
    rotation: float = 0.0
    loop_edges: tuple[int, ...] = ()
    loops_rejected: int = 0
    method: str = "odometry"
    confidence: float = 0.0
    failed: bool = False
    reason: str = ""

    @property
    def status(self) -> str:
        """"failed", "reference" (the keyframe the others are measured against) or "ok"."""
        if self.failed:
            return "failed"
        return "reference" if self.anchor is None else "ok"

    def to_meta(self) -> dict[str, Any]:
        """A small JSON-ready record for a scene frame's ``meta`` (written under its "sparsenerf" key)."""
        out: dict[str, Any] = {
            "status": self.status,
            "keyframe": self.keyframe,
            "anchor": self.anchor,
            "fitness": round(self.fitness, 4),
            "correspondences": self.correspondences,
            "sharpness": round(self.sharpness, 2),
            "method": self.method,
            "confidence": round(self.confidence, 3),
        }
        if self.loop_edges:
            out["loop_edges"] = list(self.loop_edges)
        if self.failed:
            out["failed"] = True
            out["reason"] = self.reason
        return out


@dataclass
class PoseResult:
    """Estimated poses of a sequence.

    Attributes:
        c2w: per input frame, float64 [4, 4] camera-to-world in OpenCV axes, or None when the frame
            failed. The world is the first posed frame's camera (its c2w is the identity).
        report: per input frame, its FrameQuality.
        keyframes: indices of the keyframes, in order.
        loop_closures: (keyframe, keyframe) pairs joined by loop-closure edges that survived optimisation.
        seconds: wall-clock time of the estimation.
    """

    c2w: list[np.ndarray | None]
    report: list[FrameQuality]
    keyframes: list[int]
    loop_closures: list[tuple[int, int]] = field(default_factory=list)
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.c2w)

    @property
    def failed(self) -> list[int]:
        """Indices of the frames that have no pose."""
        return [q.index for q in self.report if q.failed]

    def methods(self) -> dict[str, int]:
        """How many frames each method posed (see ``FrameQuality.method``)."""
        out: dict[str, int] = {}
        for q in self.report:
            out[q.method] = out.get(q.method, 0) + 1
        return out

    def summary(self) -> str:
        """One line: frames posed, keyframes, recoveries, loop closures, failures, time and rate."""
        n, bad = len(self.c2w), self.failed
        m = self.methods()
        back = f"{m['backtracked']} tracked back from a later frame, " if m.get("backtracked") else ""
        text = (f"{n - len(bad)}/{n} frames posed, {len(self.keyframes)} keyframes, "
                f"{m.get('fallback', 0)} by a fallback keyframe, {m.get('relocalised', 0)} relocalised, {back}"
                f"{len(self.loop_closures)} loop closures, {len(bad)} failed")
        if bad:
            shown = ", ".join(str(i) for i in bad[:10]) + (", ..." if len(bad) > 10 else "")
            text += f" ({shown})"
        rate = f" ({n / self.seconds:.1f} frames/s)" if self.seconds > 0 else ""
        return text + f", {self.seconds:.1f} s{rate}"
