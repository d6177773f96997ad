"""Pure camera geometry shared by devices, nerf and the studio: one function per concept.

Every pose here is a camera-to-world float64 [4, 4] (or a stack [N, 4, 4]) in OpenCV camera axes:
x right, y down, z forward (the optical axis), as everywhere inside the project (``devices.axes``
converts to and from OpenGL axes at the edges). A camera's "up" in the world is therefore minus the
second column of its rotation, and it looks along the third column.

Here because both ``devices`` (the virtual sensor's path) and ``nerf`` (video paths, the trainer's
smoothness centre, the field's environment-map up) need it, and ``devices`` never imports ``nerf``.
"""

from __future__ import annotations

import numpy as np

WORLD_UP = np.array([0.0, 0.0, 1.0])
"""Up when nothing else says: world +z (the virtual sensor's world; the fallback of ``mean_up``)."""


def look_at(
    eye: np.ndarray,  # [3]
    target: np.ndarray,  # [3]
    up: np.ndarray = WORLD_UP,  # [3] world direction the camera's -y should lean towards
    roll_rad: float = 0.0,
) -> np.ndarray:
    """OpenCV camera-to-world [4, 4] of a camera at ``eye`` looking at ``target``.

    Its z axis points at the target, its x axis is perpendicular to ``up`` (horizontal when ``up`` is
    the world's up) and its y axis points as nearly along -``up`` as the z axis allows; then the
    camera turns by ``roll_rad`` about its optical axis (positive turns x towards y).

    Raises:
        ValueError: when the camera looks along ``up`` (its roll is undefined) or eye == target.
    """
    forward = np.asarray(target, dtype=np.float64) - np.asarray(eye, dtype=np.float64)
    f_norm = np.linalg.norm(forward)
    if not f_norm > 0:
        raise ValueError("look_at: the camera is at its target; its direction is undefined")
    forward = forward / f_norm
    up = np.asarray(up, dtype=np.float64)
    right = np.cross(forward, up)
    r_norm = np.linalg.norm(right)
    if not r_norm > 1e-9 * np.linalg.norm(up):
        raise ValueError("look_at: the camera looks straight up or down (along `up`); its roll is undefined")
    right = right / r_norm
    down = np.cross(forward, right)
    if roll_rad:
        c, s = np.cos(roll_rad), np.sin(roll_rad)
        right, down = c * right + s * down, -s * right + c * down
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, down, forward, eye
    return c2w


def mean_up(c2w: np.ndarray) -> np.ndarray:
    """The world's up as the cameras see it: the normalised sum of their up axes (minus their y). [3].

    c2w: [N, 4, 4] OpenCV. People hold cameras roughly upright and rigs (DTU's arm) keep them so.
    Falls back to ``WORLD_UP`` when the cameras' ups cancel out (e.g. two cameras upside down to each other).
    """
    up = -np.asarray(c2w, dtype=np.float64)[:, :3, 1].sum(0)
    n = float(np.linalg.norm(up))
    return up / n if n > 1e-6 else WORLD_UP.copy()


def _axes_normal_equations(c2w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A [3, 3], b [3] of min_p sum_i |(I - d_i d_i^T)(p - o_i)|^2 over the optical axes (o_i, d_i)."""
    c2w = np.asarray(c2w, dtype=np.float64)
    origins, dirs = c2w[:, :3, 3], c2w[:, :3, 2]
    dirs = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)  # some data sets' rotations are not quite orthonormal
    proj = np.eye(3)[None] - dirs[:, :, None] * dirs[:, None, :]  # [N, 3, 3], removes the along-axis part
    return proj.sum(0), np.einsum("nij,nj->i", proj, origins)


def lookat_centre(c2w: np.ndarray) -> np.ndarray:
    """The point the cameras look at: the least-squares closest point to their optical axes. [3].

    c2w: [N, 4, 4] OpenCV (the z axes are normalised here). With (near) parallel axes the system is singular
    and this returns its minimum-norm least-squares solution; ``lookat_centre_ahead`` says None instead.
    """
    a, b = _axes_normal_equations(c2w)
    return np.linalg.lstsq(a, b, rcond=None)[0]


def lookat_centre_ahead(c2w: np.ndarray, max_condition: float = 1e4) -> np.ndarray | None:
    """``lookat_centre`` when it is well defined, else None. [3] or None.

    Well defined: the optical axes are not near parallel (condition number of the normal equations at
    most ``max_condition``) and the point lies in front of the median camera. c2w: [N, 4, 4] OpenCV.
    """
    if len(c2w) < 2:
        return None
    a, b = _axes_normal_equations(c2w)
    if np.linalg.cond(a) > max_condition:
        return None
    point = np.linalg.lstsq(a, b, rcond=None)[0]
    c2w = np.asarray(c2w, dtype=np.float64)
    ahead = np.einsum("ni,ni->n", point[None] - c2w[:, :3, 3], c2w[:, :3, 2])  # signed distance along each axis
    return point if np.median(ahead) > 0 else None


def average_pose(c2w: np.ndarray) -> np.ndarray:
    """LLFF's average pose (``poses_avg``) in OpenCV axes: mean centre, mean forward, mean down. [4, 4].

    c2w: [N, 4, 4]. The forward axis is the normalised sum of the cameras' z axes; x is perpendicular to
    it and to the summed y axes; y completes the right-handed frame.

    Raises:
        ValueError: when the cameras have no common viewing direction (they face opposite ways).
    """
    c2w = np.asarray(c2w, dtype=np.float64)
    centre = c2w[:, :3, 3].mean(0)
    forward = _unit_or_raise(c2w[:, :3, 2].sum(0))
    down = c2w[:, :3, 1].sum(0)
    right = _unit_or_raise(np.cross(down, forward))
    out = np.eye(4)
    out[:3, 0], out[:3, 1], out[:3, 2], out[:3, 3] = right, np.cross(forward, right), forward, centre
    return out


def _unit_or_raise(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if not n > 1e-6 * max(1.0, float(np.abs(v).max())):
        raise ValueError("the cameras have no common viewing direction (they face opposite ways), so their "
                         "average pose is undefined")
    return v / n
