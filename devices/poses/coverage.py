"""Few-shot training views that cover the scene: greedy maximum coverage of the fused depth.

Every candidate view's depth is lifted into the world and binned into cells of ``voxel`` metres,
each cell also keyed by the side it is seen from (the dominant axis of the viewing ray, 6 bins), so
that a view of the same surface from another side still counts as new. The first view is the one
covering the most cells, each next one the view adding the most cells no chosen view has: three
views from the ends and the middle of a straight sweep, but also the view that looks into a corner
the others miss. Each pick is explained in one line (``"sparsenerf": {"split_reasons": ...}``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from devices.poses.geometry import rigid_inverse, rotation_angle


@dataclass(frozen=True)
class CoverageSplit:
    """Training and test view indices (sorted) and, per training view, why it was picked."""

    train: list[int]
    test: list[int]
    reasons: dict[int, str]


def view_cells(depth: np.ndarray, K: np.ndarray, c2w: np.ndarray, voxel: float, step: int = 8) -> np.ndarray:
    """int64 [M] unique (cell, side) keys of a view's depth (float [H, W] metres, 0 = none), every ``step``-th pixel."""
    d = depth[::step, ::step]
    v, u = np.nonzero(d > 0)
    if len(u) == 0:
        return np.zeros(0, np.int64)
    z = d[v, u].astype(np.float64)
    u, v = u * step, v * step
    cam = np.stack([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z], 1)
    world = cam @ c2w[:3, :3].T + c2w[:3, 3]
    ray = world - c2w[:3, 3]
    axis = np.argmax(np.abs(ray), axis=1)
    side = axis * 2 + (ray[np.arange(len(ray)), axis] > 0)
    cell = np.clip(np.floor(world / voxel).astype(np.int64) + (1 << 16), 0, (1 << 17) - 1)  # +-3 km at 5 cm
    keys = ((cell[:, 0] << 34) | (cell[:, 1] << 17) | cell[:, 2]) * 6 + side  # < 2**54
    return np.unique(keys)


def coverage_split(c2w: Sequence[np.ndarray], load_depth: Callable[[int], np.ndarray | None],
                   K: Sequence[np.ndarray], k: int, *, voxel: float = 0.05, max_candidates: int = 120,
                   max_test: int | None = 24) -> CoverageSplit:
    """Pick ``k`` training views by greedy maximum coverage of the fused depth; the rest are test views.

    Args:
        c2w: per frame, float [4, 4] OpenCV camera-to-world (all frames posed).
        load_depth: i -> float [H, W] metric depth of frame i (None or empty when it has none).
        K: per frame, float [3, 3] intrinsics of that depth.
        k: training views (clipped to n - 1).
        max_candidates: frames considered (evenly spaced in capture order; loading is the cost).
        max_test: at most this many test views, evenly spaced (None keeps all).
    """
    n = len(c2w)
    if n < 2:
        raise ValueError(f"a scene needs at least 2 frames for a train/test split, got {n}")
    k = max(1, min(k, n - 1))
    cands = sorted(set(np.linspace(0, n - 1, min(n, max_candidates)).round().astype(int).tolist()))
    cells = {}
    for i in cands:
        d = load_depth(i)
        cells[i] = view_cells(d, np.asarray(K[i]), np.asarray(c2w[i]), voxel) if d is not None else np.zeros(0, np.int64)
    total = len(np.unique(np.concatenate(list(cells.values())))) if cells else 0
    train, reasons, seen = [], {}, np.zeros(0, np.int64)
    for pick in range(k):
        gains = {i: len(np.setdiff1d(c, seen, assume_unique=True)) for i, c in cells.items() if i not in train}
        best = max(gains, key=lambda i: (gains[i], -i)) if gains else None
        if best is None or (gains[best] == 0 and pick > 0):
            break
        reasons[best] = _reason(pick, best, gains[best], total, train, c2w)
        train.append(best)
        seen = np.union1d(seen, cells[best])
    for i in range(n):  # fewer views added anything new (or no depth): fill evenly
        if len(train) >= k:
            break
        if i not in train and i % max(1, n // k) == 0:
            train.append(i)
            reasons[i] = "added to reach the requested number of views (the others add no new depth)"
    rest = [i for i in range(n) if i not in train]
    if max_test is not None and len(rest) > max_test:
        rest = [rest[int(j)] for j in np.linspace(0, len(rest) - 1, max_test).round()]
    return CoverageSplit(sorted(train), sorted(set(rest)), reasons)


def _reason(pick: int, i: int, gain: int, total: int, chosen: list[int], c2w: Sequence[np.ndarray]) -> str:
    share = 100.0 * gain / max(1, total)
    if pick == 0:
        return f"sees {share:.0f} % of the fused depth (5 cm cells by viewing side), more than any other frame"
    near = min(chosen, key=lambda j: float(np.linalg.norm(c2w[j][:3, 3] - c2w[i][:3, 3])))
    rel = rigid_inverse(c2w[near]) @ c2w[i]
    angle = rotation_angle(rel)
    dist = float(np.linalg.norm(rel[:3, 3]))
    return (f"adds {share:.0f} % of the fused depth no earlier pick sees; {dist:.2f} m and {angle:.0f} deg "
            f"from the nearest picked view")


def scene_coverage_split(scene, k: int, max_test: int | None = 24) -> CoverageSplit | None:
    """``coverage_split`` of a scene folder (``devices.scene_folder.SceneFolder``) whose frames all
    have a pose and metric depth; None otherwise (the caller falls back to spreading views along the path)."""
    from devices.frame import DepthKind

    frames = scene.frames
    if len(frames) < 2 or scene.depth_kind is not DepthKind.METRIC:
        return None
    if any(f.c2w is None or f.depth_path is None for f in frames):
        return None
    return coverage_split([f.c2w for f in frames], scene.load_depth, [f.intrinsics.K for f in frames], k,
                          max_test=max_test)


def coverage_or_spread_split(scene, k: int) -> CoverageSplit:
    """``scene_coverage_split`` of a posed scene folder, or, where it has none (no metric depth), ``k`` views
    spread along the camera path (``devices.capture.spread_split``) with no reasons."""
    chosen = scene_coverage_split(scene, k)
    if chosen is not None:
        return chosen
    from devices.capture import spread_split

    train, test = spread_split(np.stack([f.c2w[:3, 3] for f in scene.frames]), k)
    return CoverageSplit(list(train), list(test), {})
