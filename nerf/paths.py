"""Camera paths for videos: the original's spiral, a smooth path through the training views, an orbit.

All poses are OpenCV camera-to-world (x right, y down, z forward) in the scene's world frame.
"""

from __future__ import annotations

import numpy as np

from devices.axes import matrix_to_quat, quat_to_matrix
from devices.camera_geometry import average_pose, look_at, lookat_centre, mean_up
from nerf.scene import Scene
from nerf.types import Camera

PATHS = ("spiral", "interp", "orbit")


def spiral_poses(c2w: np.ndarray, near: float, far: float, n_frames: int = 120, rotations: int = 2,
                 zrate: float = 0.5) -> np.ndarray:
    """The LLFF / RegNeRF render spiral: [n_frames, 4, 4].

    Around the average pose, with radii = the 90th percentile of the |camera positions| in the average
    pose's frame; every frame looks at the focus point at depth 1 / (0.25 / (0.9 near) + 0.75 / (5 far))
    in front of the average camera (the original's ``dt = 0.75`` blend of close and far depths).
    """
    avg = average_pose(c2w)
    local = (np.linalg.inv(avg)[None] @ c2w)[:, :3, 3]
    radii = np.percentile(np.abs(local), 90, axis=0)
    close, inf = near * 0.9, far * 5.0
    focus = 1.0 / (0.25 / close + 0.75 / inf)
    target = avg[:3, :3] @ np.array([0.0, 0.0, focus]) + avg[:3, 3]
    up = -avg[:3, 1]
    out = []
    for theta in np.linspace(0.0, 2 * np.pi * rotations, n_frames, endpoint=False):
        # The original's offsets (cos, -sin, -sin(zrate theta)) in OpenGL axes; y and z flip for OpenCV.
        offset = radii * np.array([np.cos(theta), np.sin(theta), np.sin(theta * zrate)])
        out.append(look_at(avg[:3, :3] @ offset + avg[:3, 3], target, up))
    return np.stack(out)


def interp_poses(c2w: np.ndarray, n_frames: int, loop: bool = True) -> np.ndarray:
    """A smooth path through the key poses ``c2w`` [K, 4, 4], in order: [n_frames, 4, 4].

    Positions follow a uniform Catmull-Rom spline (through every key position), rotations a quaternion
    slerp between consecutive keys. Key k is frame round(k * n_frames / segments) exactly.
    """
    keys = np.asarray(c2w, np.float64)
    k = len(keys)
    if k == 1:
        return np.repeat(keys, n_frames, axis=0)
    segments = k if loop else k - 1
    out = []
    for f in range(n_frames):
        s = f * segments / (n_frames if loop else max(n_frames - 1, 1))
        i = min(int(np.floor(s)), segments - 1)
        t = s - i
        idx = [(i - 1) % k, i % k, (i + 1) % k, (i + 2) % k] if loop else \
              [max(i - 1, 0), i, min(i + 1, k - 1), min(i + 2, k - 1)]
        p = catmull_rom(*(keys[j, :3, 3] for j in idx), t)
        q = _slerp(matrix_to_quat(keys[idx[1], :3, :3]), matrix_to_quat(keys[idx[2], :3, :3]), t)
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = quat_to_matrix(q), p
        out.append(pose)
    return np.stack(out)


def orbit_poses(c2w: np.ndarray, n_frames: int) -> np.ndarray:
    """A full circle around the look-at centre, at the cameras' mean distance and height: [n_frames, 4, 4].

    The circle lies in the plane perpendicular to the cameras' mean "up" and starts at the first camera's
    azimuth; every frame looks at the centre.
    """
    centre = lookat_centre(c2w)
    down = -mean_up(c2w)
    rel = c2w[:, :3, 3] - centre
    height = float((rel @ down).mean())
    radial = rel - np.outer(rel @ down, down)
    radius = float(np.linalg.norm(radial, axis=1).mean())
    e1 = _unit(radial[0]) if np.linalg.norm(radial[0]) > 1e-9 else _unit(np.cross(down, [1.0, 0, 0]))
    e2 = np.cross(down, e1)
    out = []
    for theta in np.linspace(0.0, 2 * np.pi, n_frames, endpoint=False):
        pos = centre + height * down + radius * (np.cos(theta) * e1 + np.sin(theta) * e2)
        out.append(look_at(pos, centre, -down))
    return np.stack(out)


def facing_orbit_poses(c2w: np.ndarray, n_frames: int) -> np.ndarray:
    """For forward-facing (NDC) scenes: a circle in the average camera's image plane, radius the 90th
    percentile of the cameras' offsets, every frame looking at the look-at centre: [n_frames, 4, 4].

    A full orbit would leave the frustum NDC covers; this one circles in front of the scene.
    """
    avg = average_pose(c2w)
    local = (np.linalg.inv(avg)[None] @ c2w)[:, :3, 3]
    radius = float(np.percentile(np.linalg.norm(local[:, :2], axis=1), 90))
    target = lookat_centre(c2w) if len(c2w) > 1 else avg[:3, 3] + avg[:3, 2]
    out = []
    for theta in np.linspace(0.0, 2 * np.pi, n_frames, endpoint=False):
        pos = avg[:3, 3] + avg[:3, :3] @ np.array([radius * np.cos(theta), radius * np.sin(theta), 0.0])
        out.append(look_at(pos, target, -avg[:3, 1]))
    return np.stack(out)


def camera_path(scene: Scene, kind: str, n_frames: int = 120, width: int | None = None) -> list[Camera]:
    """Cameras along path ``kind`` ("spiral", "interp", "orbit") with the first training view's intrinsics.

    spiral: over all views' poses (as the original); interp: through the training views in order
    (a loop); orbit: around the training views' look-at centre (forward-facing / NDC scenes: a circle
    in front of it, ``facing_orbit_poses``). ``width`` rescales the images.
    """
    train = scene.c2w[scene.train_ids]
    if kind == "spiral":
        poses = spiral_poses(scene.c2w, scene.near, scene.far, n_frames)
    elif kind == "interp":
        poses = interp_poses(train, n_frames, loop=True)
    elif kind == "orbit":
        keys = train if len(train) > 1 else scene.c2w
        poses = facing_orbit_poses(keys, n_frames) if scene.ndc else orbit_poses(keys, n_frames)
    else:
        raise ValueError(f"unknown path {kind!r} (expected one of {', '.join(PATHS)})")
    ref = scene.train_ids[0]
    base = Camera(K=scene.K[ref].copy(), c2w=np.eye(4), width=scene.width, height=scene.height)
    if width is not None and width != scene.width:
        base = base.scaled(width / scene.width)
    return [Camera(K=base.K, c2w=p, width=base.width, height=base.height) for p in poses]


def catmull_rom(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, t: float) -> np.ndarray:
    """The uniform Catmull-Rom spline through p1 (t = 0) and p2 (t = 1), tangents from p0 and p3. [3] each -> [3]."""
    return 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                  + (3 * p1 - p0 - 3 * p2 + p3) * t**3)


def _slerp(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    if np.dot(q0, q1) < 0:  # the shorter arc
        q1 = -q1
    cos = float(np.clip(np.dot(q0, q1), -1.0, 1.0))
    if cos > 0.9995:
        return _unit(q0 + t * (q1 - q0))
    ang = np.arccos(cos)
    return (np.sin((1 - t) * ang) * q0 + np.sin(t * ang) * q1) / np.sin(ang)


def _unit(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, np.float64) / np.linalg.norm(v)
