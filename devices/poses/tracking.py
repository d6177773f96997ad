"""Frame-to-keyframe RGB-D tracking with keyframe selection by motion, overlap and sharpness."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from devices.frame import Frame
from devices.poses.config import PoseConfig
from devices.poses.geometry import rigid_inverse, rotation_angle
from devices.poses.recovery import recover, second_opinion
from devices.poses.rgbd import Edge, PreparedFrame, odometry, prepare_frame, with_information_of

FrameGetter = Callable[[int], Frame]
"""get(i) -> frame i of the sequence (frames are loaded one at a time, so memory stays bounded)."""
Tick = Callable[[], None]
"""Called once per frame processed."""


@dataclass
class Tracking:
    """What tracking found, before the pose graph.

    Attributes:
        keyframes: keyframe indices in order; the first is the reference.
        edges: accepted odometry edge of every posed frame except the reference, from the frame
            (source) to its anchor keyframe (target). A keyframe's edge joins it to an earlier keyframe.
        failures: frame -> (reason, the rejected edge or None when no odometry was attempted).
        how: posed frame -> how its edge was found: "odometry" (to its keyframe), "fallback" (to
            another keyframe after the current one failed), "relocalised" (ORB + PnP, then odometry) or
            "backtracked" (lost, then tracked backwards from a later frame that found the map again).
        prepared: the prepared keyframes (loop closure needs their images).
        sharpness, valid_depth: per frame (index -> value).
    """

    keyframes: list[int] = field(default_factory=list)
    edges: dict[int, Edge] = field(default_factory=dict)
    failures: dict[int, tuple[str, Edge | None]] = field(default_factory=dict)
    how: dict[int, str] = field(default_factory=dict)
    prepared: dict[int, PreparedFrame] = field(default_factory=dict)
    sharpness: dict[int, float] = field(default_factory=dict)
    valid_depth: dict[int, float] = field(default_factory=dict)

    def chain_poses(self) -> dict[int, np.ndarray]:
        """c2w [4, 4] of every posed frame from the odometry chain, reference keyframe = identity."""
        c2w: dict[int, np.ndarray] = {self.keyframes[0]: np.eye(4)} if self.keyframes else {}
        for k in self.keyframes[1:]:
            e = self.edges[k]
            c2w[k] = c2w[e.target] @ e.T
        for i, e in self.edges.items():
            if i not in c2w:
                c2w[i] = c2w[e.target] @ e.T
        return c2w


def _describe(e: Edge, config: PoseConfig, min_fitness: float) -> str:
    if not e.success:
        return f"odometry to frame {e.target} did not converge"
    if e.fitness < min_fitness:
        return f"odometry to frame {e.target}: fitness {e.fitness:.2f} < {min_fitness:.2f}"
    return f"odometry to frame {e.target}: {e.correspondences} correspondences < {config.min_correspondences}"


class _Tracker:
    """The state of one tracking pass (see ``track``)."""

    def __init__(self, get: FrameGetter, n: int, config: PoseConfig, tick: Tick | None):
        self.get, self.n, self.config, self.tick = get, n, config, tick
        self.out = Tracking()
        self.recent: deque[tuple[PreparedFrame, Edge]] = deque(maxlen=max(1, config.sharpness_window))
        self.kf_c2w: dict[int, np.ndarray] = {}  # keyframe poses along the odometry chain so far
        self.last_c2w = np.eye(4)  # pose of the last posed frame (the prediction for a lost one)
        self.current = -1  # the keyframe forward tracking registers to (the newest but for back-tracked ones)

    def load(self, i: int) -> PreparedFrame | None:
        """Prepare frame ``i``; None (and a recorded failure) when its depth is unusable."""
        p = prepare_frame(self.get(i), self.config)
        p.index = i
        self.out.sharpness[i], self.out.valid_depth[i] = p.sharpness, p.valid_depth
        if p.valid_depth < self.config.min_valid_depth:
            self.out.failures[i] = (f"only {100 * p.valid_depth:.1f} % of pixels have valid depth", None)
            self.done()
            return None
        return p

    def done(self) -> None:
        """One more frame is finished (posed or failed)."""
        if self.tick is not None:
            self.tick()

    def accept(self, e: Edge) -> bool:
        return e.accepted(self.config.min_fitness, self.config.min_correspondences)

    def add_keyframe(self, p: PreparedFrame, current: bool = True) -> None:
        """Make ``p`` (posed by its edge, or the reference) a keyframe; ``current``: forward tracking goes on
        against it (False for keyframes taken while tracking back, ``backtrack``)."""
        e = self.out.edges.get(p.index)
        if e is not None:  # a keyframe edge weighs in the pose graph: it needs its information matrix
            e = self.out.edges[p.index] = with_information_of(e, p, self.out.prepared[e.target], self.config)
        self.kf_c2w[p.index] = np.eye(4) if e is None else self.kf_c2w[e.target] @ e.T
        self.out.keyframes.append(p.index)
        self.out.prepared[p.index] = p
        if current:
            self.current = p.index
            self.recent.clear()

    def start(self) -> int:
        """Choose the reference keyframe (the sharpest of the first valid frames); returns the next index."""
        cfg, window = self.config, []
        i = 0
        while i < self.n and len(window) <= cfg.sharpness_window:
            p = self.load(i)
            i += 1
            if p is not None:
                window.append(p)
        if not window:
            return self.n
        ref = window[0]
        best = max(window, key=lambda q: q.sharpness)
        if ref.sharpness < cfg.blur_ratio * best.sharpness:
            ref = best
        self.add_keyframe(ref)
        self.done()
        # frames of the window before the reference: track them backwards from it
        init = np.eye(4)
        for p in reversed([q for q in window if q.index < ref.index]):
            e = odometry(p, ref, init, cfg, with_information=False)
            if self.accept(e):
                self.out.edges[p.index], init = e, e.T
            else:
                self.out.failures[p.index] = (_describe(e, cfg, cfg.min_fitness), e)
            self.done()
        # frames of the window after it: track forwards as usual
        self.last_rel = np.eye(4)
        for p in [q for q in window if q.index > ref.index]:
            self.step(p)
        return i

    def step(self, p: PreparedFrame) -> None:
        """Track one valid frame against the current keyframe; take new keyframes as needed."""
        self._step(p)
        self.done()

    def _step(self, p: PreparedFrame) -> None:
        cfg, kf = self.config, self.out.prepared[self.current]
        e = odometry(p, kf, self.last_rel, cfg, with_information=False)
        how = "odometry"
        if cfg.relocalise and e.fitness < cfg.second_opinion_fitness and self.big_step(e):
            e = second_opinion(p, kf, e, cfg)
        if not self.accept(e) and self.recent:
            # lost against the keyframe: promote the last tracked frame and try again from it
            self.add_keyframe(self.recent[-1][0])
            kf = self.out.prepared[self.current]
            self.last_rel = np.eye(4)
            e = odometry(p, kf, self.last_rel, cfg, with_information=False)
        if not self.accept(e):
            found = recover(p, self.kf_c2w, self.out.prepared, self.last_c2w, cfg, self.accept)
            if found is None:
                self.out.failures[p.index] = (_describe(e, cfg, cfg.min_fitness) + "; no other keyframe or "
                                              "relocalisation succeeded", e)
                return
            e, how = found
        self.out.edges[p.index] = e
        self.out.how[p.index] = how
        self.last_c2w = self.kf_c2w[e.target] @ e.T
        if how != "odometry":  # re-anchored: the frame starts a new keyframe, tracked on from here
            self.add_keyframe(p)
            self.last_rel = np.eye(4)
            self.backtrack(p)
            return
        self.last_rel = e.T
        self.recent.append((p, e))
        if self.needs_keyframe(e):
            chosen = self.choose_keyframe()
            self.add_keyframe(chosen)
            self.last_rel = rigid_inverse(self.out.edges[chosen.index].T) @ e.T  # current frame in the new keyframe

    def backtrack(self, anchor: PreparedFrame) -> None:
        """Pose the frames lost just before ``anchor`` (which found the map again) by tracking them backwards
        from it: a stretch the map had not seen (the camera left the mapped area and came back) hangs on the
        map through ``anchor``. Stops at the first frame that still does not register (it stays flagged)."""
        cfg, lost = self.config, []
        j = anchor.index - 1
        while j in self.out.failures and self.out.failures[j][1] is not None:  # tried and failed, depth valid
            lost.append(j)
            j -= 1
        kf, rel, last = anchor, np.eye(4), None  # last: the last frame tracked back (a keyframe candidate)
        for j in lost:
            q = prepare_frame(self.get(j), cfg)
            q.index = j
            e = self._checked(q, kf, rel)
            if not self.accept(e) and last is not None:  # too far from the keyframe: the last one becomes one
                self.add_keyframe(last, current=False)
                kf, rel = last, np.eye(4)
                e = self._checked(q, kf, rel)
            if not self.accept(e):
                return
            del self.out.failures[j]
            self.out.edges[j], self.out.how[j] = e, "backtracked"
            rel, last = e.T, q
            if self.needs_keyframe(e):
                self.add_keyframe(q, current=False)
                kf, rel, last = q, np.eye(4), None

    def _checked(self, q: PreparedFrame, kf: PreparedFrame, start: np.ndarray) -> Edge:
        """Odometry from ``q`` to ``kf`` from ``start``, always checked against odometry from a feature (PnP)
        pose (``second_opinion``): tracking back has no motion to go by, and on plain surfaces geometric
        odometry slides (on the 7-Scenes walk a 5 cm step came out 30 cm off at fitness 0.63)."""
        e = odometry(q, kf, start, self.config, with_information=False)
        return second_opinion(q, kf, e, self.config) if self.config.relocalise else e

    def needs_keyframe(self, e: Edge) -> bool:
        """Whether the frame ``e`` registered has moved far enough from its keyframe, or overlaps it too little,
        for tracking to go on from a new keyframe (forwards and backwards alike)."""
        cfg = self.config
        moved = np.linalg.norm(e.T[:3, 3]) >= cfg.keyframe_translation or rotation_angle(e.T) >= cfg.keyframe_rotation
        return bool(moved or e.fitness < cfg.keyframe_min_fitness)

    def big_step(self, e: Edge) -> bool:
        """Whether odometry failed or moved the frame far from where it started (the previous frame's pose)."""
        if not e.success:
            return True
        step = rigid_inverse(self.last_rel) @ e.T
        cfg = self.config
        return bool(np.linalg.norm(step[:3, 3]) >= cfg.second_opinion_step or rotation_angle(step) >= cfg.second_opinion_angle)

    def choose_keyframe(self) -> PreparedFrame:
        """The newest tracked frame, or its sharpest recent neighbour when it is blurry."""
        newest = self.recent[-1][0]
        best = max((p for p, _ in self.recent), key=lambda q: q.sharpness)
        return best if newest.sharpness < self.config.blur_ratio * best.sharpness else newest


def track(get: FrameGetter, n: int, config: PoseConfig, tick: Tick | None = None) -> Tracking:
    """Track ``n`` frames against keyframes with RGB-D odometry, choosing keyframes as it goes.

    Each frame is registered to the current keyframe (initialised with the previous frame's
    motion). A new keyframe is taken when the motion from the current one passes
    ``keyframe_translation`` / ``keyframe_rotation`` or the overlap drops below
    ``keyframe_min_fitness``; a blurry candidate gives way to its sharpest recent neighbour. When a
    frame cannot be registered, the last tracked frame becomes a keyframe and the frame is tried
    against it, then other keyframes and relocalisation (``recovery.recover``); a frame that still fails
    is recorded in ``failures``, never dropped silently. Once a later frame finds the map again, the
    frames lost just before it are tracked backwards from it (``backtrack``).
    """
    tracker = _Tracker(get, n, config, tick)
    i = tracker.start()
    for j in range(i, n):
        p = tracker.load(j)
        if p is not None and tracker.out.keyframes:
            tracker.step(p)
    return tracker.out
