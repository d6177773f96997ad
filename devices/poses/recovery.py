"""Getting back on track when odometry to the current keyframe fails: other keyframes first (the
latest ones and those nearest the predicted pose), then relocalisation by features + PnP."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from devices.poses.config import PoseConfig
from devices.poses.geometry import rigid_inverse
from devices.poses.relocalise import pnp_pose
from devices.poses.rgbd import Edge, PreparedFrame, odometry


def candidate_keyframes(kf_c2w: dict[int, np.ndarray], predicted: np.ndarray, n: int) -> list[int]:
    """Up to ``2 n`` keyframes to try: the ``n`` latest, then the ``n`` nearest to ``predicted``
    (camera centres, [4, 4] c2w), without repeats, latest first."""
    keys = list(kf_c2w)
    latest = keys[::-1][:n]
    dist = sorted(keys, key=lambda k: float(np.linalg.norm(kf_c2w[k][:3, 3] - predicted[:3, 3])))
    out = list(latest)
    for k in dist:
        if len(out) >= 2 * n:
            break
        if k not in out:
            out.append(k)
    return out


def recover(p: PreparedFrame, kf_c2w: dict[int, np.ndarray], prepared: dict[int, PreparedFrame],
            predicted: np.ndarray, config: PoseConfig, accept: Callable[[Edge], bool]) -> tuple[Edge, str] | None:
    """An accepted edge from ``p`` to some keyframe, and how it was found ("fallback" or "relocalised").

    Args:
        kf_c2w: keyframe -> c2w [4, 4] along the odometry chain (insertion order = keyframe order).
        predicted: c2w [4, 4] guess for ``p`` (the last posed frame's pose).
        accept: the tracker's acceptance test of an edge.

    Returns:
        None when nothing registers (the caller flags the frame).
    """
    cands = candidate_keyframes(kf_c2w, predicted, max(1, config.recovery_keyframes))
    best: Edge | None = None
    for k in cands[1:] if cands and cands[0] == next(reversed(kf_c2w)) else cands:
        e = odometry(p, prepared[k], rigid_inverse(kf_c2w[k]) @ predicted, config, with_information=False)
        if accept(e) and (best is None or e.fitness > best.fitness):
            best = e
    if best is not None:
        return best, "fallback"
    if not config.relocalise:
        return None
    for k in cands:
        ref = prepared[k]
        pose = pnp_pose(p.features(), ref.features(), ref.depth, ref.K, config)
        if pose is None:
            continue
        e = odometry(p, ref, pose.T, config, with_information=False)
        if accept(e):
            return e, "relocalised"
    return None


def second_opinion(p: PreparedFrame, kf: PreparedFrame, e: Edge, config: PoseConfig) -> Edge:
    """``e`` or a better edge to the same keyframe, refined from a feature (PnP) pose.

    Weak overlap is where geometric odometry slides along planes into a wrong minimum that still
    has inliers; a PnP start from matched features is independent of that, and the refinement with
    the higher inlier share wins.
    """
    pose = pnp_pose(p.features(), kf.features(), kf.depth, kf.K, config)
    if pose is None:
        return e
    other = odometry(p, kf, pose.T, config, with_information=e.strength > 0)
    return other if other.success and other.fitness > e.fitness else e
