"""Poses for RGB-D sequences that have none: tracking, loop closure, pose graph, quality report."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import numpy as np

from devices.errors import InputError
from devices.frame import DepthKind, Frame
from devices.poses.config import PoseConfig
from devices.poses.geometry import rigid_inverse, rotation_angle
from devices.poses.graph import LoopClosure, close_loops, optimise
from devices.poses.report import FrameQuality, PoseResult
from devices.poses.tracking import Tracking, track
from devices.scene_folder import TRANSFORMS, SceneFolder, read_scene
from devices.scene_writer import update_scene

ProgressFn = Callable[[int, int | None], None]
"""progress(done, total): called as frames are processed (the importers' convention)."""


def estimate_poses(
    frames: Sequence[Frame] | SceneFolder,
    config: PoseConfig | None = None,
    progress: ProgressFn | None = None,
) -> PoseResult:
    """Camera-to-world poses of an RGB-D sequence with metric depth, by RGB-D odometry and a pose graph.

    Args:
        frames: the sequence in capture order: Frames (depth aligned to colour, metres) or a scene
            folder (its frames are loaded one at a time).
        config: thresholds; ``PoseConfig()`` when None.
        progress: called with (frames done, total) as frames are tracked.

    Returns:
        A PoseResult with one pose (OpenCV camera-to-world; the first posed frame is the identity)
        and one FrameQuality per input frame. Frames that cannot be registered (no valid depth,
        odometry that fails) have ``c2w`` None and a report that says why.

    Raises:
        InputError: the depth is not metric, or there are no frames.
    """
    config = config or PoseConfig()
    start = time.perf_counter()
    get, n = _frame_getter(frames)
    if n == 1:
        return PoseResult([np.eye(4)], [FrameQuality(0, keyframe=True, success=True, method="reference", confidence=1.0)], [0],
                          seconds=time.perf_counter() - start)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, n)

    with _Prefetch(get, n) as ahead:
        tracking = track(ahead, n, config, tick)
    c2w = tracking.chain_poses()
    loops = LoopClosure()
    if config.loop_closure and len(tracking.keyframes) > 2:
        loops = close_loops(tracking.keyframes, c2w, tracking.prepared, config)
    kf_edges = [tracking.edges[k] for k in tracking.keyframes[1:]]
    kf_pose = optimise(tracking.keyframes, kf_edges, loops, c2w, config)
    poses = _all_poses(tracking, kf_pose, n)
    report = _report(tracking, loops, n, config.min_fitness)
    return PoseResult(poses, report, list(tracking.keyframes),
                      loop_closures=[(e.target, e.source) for e in loops.accepted],
                      seconds=time.perf_counter() - start)


class _Prefetch:
    """get(i), with frame i + 1 read in a background thread meanwhile (decoding PNGs releases the GIL,
    so reading overlaps odometry on a second core). Tracking reads frames in order."""

    def __init__(self, get: Callable[[int], Frame], n: int):
        from concurrent.futures import ThreadPoolExecutor

        self.get, self.n = get, n
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pose-prefetch")
        self.pending: dict[int, Future] = {}
        self.high = -1  # the highest frame asked for so far

    def __call__(self, i: int) -> Frame:
        fut = self.pending.pop(i, None) or self.pool.submit(self.get, i)
        j = i + 1  # read the next frame while this one is tracked (not while tracking goes back)
        if i >= self.high and j < self.n and j not in self.pending:
            self.pending[j] = self.pool.submit(self.get, j)
        self.high = max(self.high, i)
        return fut.result()

    def __enter__(self) -> _Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        for fut in self.pending.values():
            fut.cancel()
        self.pool.shutdown(wait=True)


def _frame_getter(frames: Sequence[Frame] | SceneFolder) -> tuple[Callable[[int], Frame], int]:
    if isinstance(frames, SceneFolder):
        where = frames.root / TRANSFORMS
        if frames.depth_kind is not DepthKind.METRIC:
            raise InputError(where, f"depth is {frames.depth_kind.value}, not metric: "
                                    "pose estimation by RGB-D odometry needs metric depth")
        missing = [f.image_path for f in frames.frames if f.depth_path is None]
        if missing:
            raise InputError(where, f"{len(missing)} frames have no depth map (first: {missing[0]}); "
                                    "pose estimation needs metric depth for every frame")
        get, n = frames.frame, len(frames)
    else:
        seq = frames

        def get(i: int) -> Frame:  # checked as each frame is loaded: a lazy sequence is read once
            f = seq[i]
            if f.depth_kind is not DepthKind.METRIC:
                raise InputError(None, f"frame {f.index} has {f.depth_kind.value} depth, not metric: "
                                       "pose estimation by RGB-D odometry needs metric depth")
            return f

        n = len(frames)
    if n == 0:
        raise InputError(None, "no frames to estimate poses for")
    return get, n


def _all_poses(tracking: Tracking, kf_pose: dict[int, np.ndarray], n: int) -> list[np.ndarray | None]:
    """Keyframes from the graph, other frames by their odometry to their keyframe; world = first posed frame."""
    poses: list[np.ndarray | None] = [None] * n
    for k, pose in kf_pose.items():
        poses[k] = pose
    for i, e in tracking.edges.items():
        if poses[i] is None:
            poses[i] = kf_pose[e.target] @ e.T
    first = next((p for p in poses if p is not None), None)
    if first is None:
        return poses
    to_first = rigid_inverse(first)
    return [None if p is None else to_first @ p for p in poses]


def _confidence(fitness: float, min_fitness: float) -> float:
    """0 at the acceptance threshold, 1 when every valid pixel is an inlier."""
    return float(np.clip((fitness - min_fitness) / max(1e-6, 1.0 - min_fitness), 0.0, 1.0))


def _report(tracking: Tracking, loops: LoopClosure, n: int, min_fitness: float) -> list[FrameQuality]:
    kfs = set(tracking.keyframes)
    partners: dict[int, list[int]] = {}
    for e in loops.accepted:
        partners.setdefault(e.source, []).append(e.target)
        partners.setdefault(e.target, []).append(e.source)
    rejected: dict[int, int] = {}
    for _a, b, _why in loops.rejected:
        rejected[b] = rejected.get(b, 0) + 1
    out = []
    for i in range(n):
        base = FrameQuality(i, keyframe=i in kfs, sharpness=tracking.sharpness.get(i, 0.0),
                            valid_depth=tracking.valid_depth.get(i, 0.0),
                            loop_edges=tuple(sorted(partners.get(i, ()))), loops_rejected=rejected.get(i, 0))
        if i in tracking.failures:
            reason, e = tracking.failures[i]
            q = replace(base, failed=True, reason=reason, method="failed")
            if e is not None:
                q = replace(q, success=e.success, fitness=e.fitness, correspondences=e.correspondences,
                            information=e.strength)
        elif i in tracking.edges:
            e = tracking.edges[i]
            q = replace(base, anchor=e.target, success=True, fitness=e.fitness, correspondences=e.correspondences,
                        information=e.strength, translation=float(np.linalg.norm(e.T[:3, 3])),
                        rotation=rotation_angle(e.T), method=tracking.how.get(i, "odometry"),
                        confidence=_confidence(e.fitness, min_fitness))
        elif tracking.keyframes and i == tracking.keyframes[0]:
            q = replace(base, success=True, method="reference", confidence=1.0)
        else:  # never happens: every frame is either posed, the reference or a recorded failure
            q = replace(base, failed=True, reason="not reached by tracking", method="failed")
        out.append(q)
    return out


def estimate_scene_poses(
    scene_dir: str | Path | SceneFolder,
    config: PoseConfig | None = None,
    progress: ProgressFn | None = None,
    *,
    keyframes_only: bool = False,
    train_views: int = 3,
) -> tuple[SceneFolder, PoseResult]:
    """Estimate (or re-estimate) the poses of a scene folder and rewrite its transforms.json atomically.

    Every frame gets its pose and a quality record in its meta (``"pose"`` under the frame's
    "sparsenerf" key; failed frames have ``"failed": true`` and no pose but stay listed). The
    train/test split is kept (less failed frames) when the scene has one; otherwise, or when it no
    longer has a training view, ``spread_split`` picks ``train_views`` views along the path.

    Args:
        scene_dir: a scene folder with metric depth (or the SceneFolder already read from it).
        keyframes_only: list only the keyframes in transforms.json (the other images stay on disk).
        train_views: training views of a new split.

    Returns:
        (the scene as rewritten, the PoseResult over all its original frames).
    """
    scene = scene_dir if isinstance(scene_dir, SceneFolder) else read_scene(scene_dir)
    result = estimate_poses(scene, config, progress)
    if all(c is None for c in result.c2w):  # keep the poses the scene has rather than write none
        first = result.report[0] if result.report else None
        why = f" (frame 0: {first.reason})" if first is not None and first.reason else ""
        raise InputError(scene.root / TRANSFORMS, f"no frame could be posed{why}; the file is left unchanged")
    frames = [replace(f, c2w=result.c2w[i], meta={**f.meta, "pose": result.report[i].to_meta()})
              for i, f in enumerate(scene.frames)]
    keep = list(result.keyframes) if keyframes_only else list(range(len(frames)))
    old_to_new = {old: new for new, old in enumerate(keep)}
    frames = [frames[i] for i in keep]
    posed = [j for j, f in enumerate(frames) if f.c2w is not None]
    train = [old_to_new[i] for i in scene.train_ids if i in old_to_new and frames[old_to_new[i]].c2w is not None]
    test = [old_to_new[i] for i in scene.test_ids if i in old_to_new and frames[old_to_new[i]].c2w is not None]
    reasons = {k: v for k, v in scene.split_reasons.items() if k in {f.image_path for f in frames}}
    if not train:
        train, test, reasons = _new_split(scene, frames, posed, train_views)
    extra = {**scene.extra, "poses": {"method": "open3d-rgbd-odometry", "keyframes": result.keyframes,
                                      "loop_closures": [list(p) for p in result.loop_closures],
                                      "failed": result.failed}}
    return update_scene(scene, frames=frames, train_ids=train, test_ids=test, extra=extra,
                        split_reasons=reasons), result


def _new_split(scene: SceneFolder, frames: list, posed: list[int],
               train_views: int) -> tuple[list[int], list[int], dict[str, str]]:
    """(train, test, reasons by file_path) over the posed frames: coverage of the fused depth."""
    from devices.poses.coverage import coverage_or_spread_split

    if len(posed) < 2:
        return list(posed), [], {}
    chosen = coverage_or_spread_split(replace(scene, frames=[frames[j] for j in posed]), train_views)
    reasons = {frames[posed[t]].image_path: why for t, why in chosen.reasons.items()}
    return [posed[t] for t in chosen.train], [posed[t] for t in chosen.test], reasons
