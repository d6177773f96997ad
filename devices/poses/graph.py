"""Loop closure between overlapping keyframes and pose-graph optimisation (Open3D, Levenberg-Marquardt)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from devices.poses.config import PoseConfig
from devices.poses.geometry import rigid_inverse, rotation_angle
from devices.poses.recovery import second_opinion
from devices.poses.rgbd import Edge, PreparedFrame, odometry


def frustum_overlap(points: np.ndarray, b_to_a: np.ndarray, a: PreparedFrame) -> float:
    """Fraction of ``points`` (camera b, float [M, 3]) that land in front of camera ``a`` and inside its image.

    Args:
        b_to_a: float [4, 4] maps camera-b points into camera a (``inv(c2w_a) @ c2w_b``).
    """
    if len(points) == 0:
        return 0.0
    q = points @ b_to_a[:3, :3].T + b_to_a[:3, 3]
    z = q[:, 2]
    front = z > 1e-6
    u = a.K[0, 0] * q[front, 0] / z[front] + a.K[0, 2]
    v = a.K[1, 1] * q[front, 1] / z[front] + a.K[1, 2]
    w, h = a.size
    inside = (u >= -0.5) & (u <= w - 0.5) & (v >= -0.5) & (v <= h - 0.5)
    return float(np.count_nonzero(inside)) / len(points)


def loop_candidates(keyframes: list[int], c2w: dict[int, np.ndarray], prepared: dict[int, PreparedFrame],
                    config: PoseConfig) -> list[tuple[int, int]]:
    """(earlier keyframe a, later keyframe b) pairs, not adjacent in the keyframe list, whose views overlap.

    Overlap: camera centres within ``loop_max_distance``, viewing directions within
    ``loop_max_angle``, and at least ``loop_min_overlap`` of b's depth points inside a's frustum.
    Up to ``loop_max_candidates`` per b, nearest first.
    """
    pairs: list[tuple[int, int]] = []
    for bi, b in enumerate(keyframes):
        pts = None
        found: list[tuple[float, int]] = []
        for a in keyframes[: max(0, bi - 1)]:
            rel = rigid_inverse(c2w[a]) @ c2w[b]
            dist = float(np.linalg.norm(rel[:3, 3]))
            if dist > config.loop_max_distance or rotation_angle(rel) > config.loop_max_angle:
                continue
            pts = prepared[b].points() if pts is None else pts
            if frustum_overlap(pts, rel, prepared[a]) >= config.loop_min_overlap:
                found.append((dist, a))
        pairs += [(a, b) for _, a in sorted(found)[: config.loop_max_candidates]]
    return pairs


@dataclass
class LoopClosure:
    """Loop-closure edges tried and kept."""

    accepted: list[Edge] = field(default_factory=list)
    rejected: list[tuple[int, int, str]] = field(default_factory=list)
    """(a, b, reason) for every candidate that failed verification or was pruned by the optimiser."""


def close_loops(keyframes: list[int], c2w: dict[int, np.ndarray], prepared: dict[int, PreparedFrame],
                config: PoseConfig) -> LoopClosure:
    """Verify every loop candidate by odometry (initialised with the current estimate, or failing that
    with a PnP pose from matched features) and its fitness."""
    out = LoopClosure()
    for a, b in loop_candidates(keyframes, c2w, prepared, config):
        e = odometry(prepared[b], prepared[a], rigid_inverse(c2w[a]) @ c2w[b], config)
        if config.relocalise and not e.accepted(config.loop_min_fitness, config.min_correspondences):
            # drift since the two views may be too large for odometry alone: start from a feature pose
            e = second_opinion(prepared[b], prepared[a], e, config)
        if e.accepted(config.loop_min_fitness, config.min_correspondences):
            out.accepted.append(e)
        else:
            why = "did not converge" if not e.success else f"fitness {e.fitness:.2f}, {e.correspondences} correspondences"
            out.rejected.append((a, b, why))
    return out


def optimise(keyframes: list[int], odometry_edges: list[Edge], loops: LoopClosure,
             c2w: dict[int, np.ndarray], config: PoseConfig) -> dict[int, np.ndarray]:
    """Optimise the keyframe poses over odometry (certain) and loop (uncertain) edges.

    Open3D ``global_optimization`` with Levenberg-Marquardt; the first keyframe stays fixed. Loop
    edges the optimiser prunes move from ``loops.accepted`` to ``loops.rejected``.

    Returns:
        keyframe -> optimised c2w [4, 4].
    """
    if not loops.accepted:
        return {k: c2w[k] for k in keyframes}  # a chain of odometry edges is already optimal
    import open3d as o3d

    reg = o3d.pipelines.registration
    node = {k: n for n, k in enumerate(keyframes)}
    graph = reg.PoseGraph()
    for k in keyframes:
        graph.nodes.append(reg.PoseGraphNode(c2w[k]))
    for e, uncertain in [(e, False) for e in odometry_edges] + [(e, True) for e in loops.accepted]:
        graph.edges.append(reg.PoseGraphEdge(node[e.source], node[e.target], e.T, e.information, uncertain=uncertain))
    option = reg.GlobalOptimizationOption(
        max_correspondence_distance=config.graph_max_correspondence_distance,
        edge_prune_threshold=config.graph_edge_prune_threshold,
        preference_loop_closure=config.graph_preference_loop_closure,
        reference_node=0,
    )
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        reg.global_optimization(graph, reg.GlobalOptimizationLevenbergMarquardt(),
                                reg.GlobalOptimizationConvergenceCriteria(), option)
    kept = {(keyframes[ge.source_node_id], keyframes[ge.target_node_id]) for ge in graph.edges if ge.uncertain}
    survivors = []
    for e in loops.accepted:
        if (e.source, e.target) in kept:
            survivors.append(e)
        else:
            loops.rejected.append((e.target, e.source, "pruned by pose-graph optimisation"))
    loops.accepted = survivors
    return {k: np.asarray(graph.nodes[node[k]].pose, dtype=np.float64) for k in keyframes}
