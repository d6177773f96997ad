"""Analytic ray intersection with the shapes of the virtual scene (vectorised numpy).

Rays are ``origins`` float [N, 3] (or [3], shared) and ``dirs`` float [N, 3], not necessarily unit
length: every ``intersect`` returns the ray parameter ``t`` [N] with ``hit = origin + t * dir``
(``inf`` where the ray misses). With camera rays whose direction has z = 1 in camera axes, ``t``
is the depth along the optical axis. ``surface`` gives, at hit points [M, 3], the outward unit
normal [M, 3] and 2-D texture coordinates in metres [M, 2].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Texture = Callable[[np.ndarray], np.ndarray]
"""uv float [N, 2] metres -> linear albedo float [N, 3] in [0, 1] (see textures.py)."""

T_MIN = 1e-6
"""Hits nearer than this along the ray are ignored (the ray's own start)."""


def dot(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise ``a @ v`` for a [..., K] and v [K], without BLAS.

    Per-pixel products are done elementwise on purpose: a multi-threaded BLAS on these tall,
    thin products is no faster, and on a busy machine its threads stall a frame many times over.
    """
    v = np.asarray(v, dtype=np.float64)
    out = a[..., 0] * v[0]
    for k in range(1, v.shape[0]):
        out = out + a[..., k] * v[k]
    return out


def matmul(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``a @ m`` for a [..., 3] and m [3, 3], without BLAS (see ``dot``)."""
    return np.stack([dot(a, m[:, k]) for k in range(m.shape[1])], axis=-1)


def _first_positive(*ts: np.ndarray) -> np.ndarray:
    """Elementwise smallest t > T_MIN among candidate arrays; inf where none."""
    best = np.full(np.broadcast(*ts).shape, np.inf)
    for t in ts:
        best = np.where((t > T_MIN) & (t < best), t, best)
    return best


@dataclass(frozen=True)
class Plane:
    """The infinite plane ``normal . x = offset``, seen from the side the unit ``normal`` points to."""

    normal: tuple[float, float, float]
    offset: float
    u_axis: tuple[float, float, float]
    """In-plane direction of the texture's u (v is normal x u_axis)."""
    texture: Texture

    def intersect(self, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        n = np.asarray(self.normal)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (self.offset - dot(origins, n)) / dot(dirs, n)
        return _first_positive(np.nan_to_num(t, nan=-1.0))

    def surface(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, u = np.asarray(self.normal), np.asarray(self.u_axis)
        v = np.cross(n, u)
        normals = np.broadcast_to(n, points.shape).copy()
        return normals, np.stack([dot(points, u), dot(points, v)], axis=1)


@dataclass(frozen=True)
class Sphere:
    centre: tuple[float, float, float]
    radius: float
    texture: Texture

    def intersect(self, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        oc = origins - np.asarray(self.centre)
        a = np.einsum("ij,ij->i", dirs, dirs)
        b = (oc * dirs).sum(axis=-1)
        c = (oc * oc).sum(axis=-1) - self.radius**2
        disc = b * b - a * c
        root = np.sqrt(np.maximum(disc, 0.0))
        near, far = (-b - root) / a, (-b + root) / a
        return np.where(disc >= 0, _first_positive(near, far), np.inf)

    def surface(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = (points - np.asarray(self.centre)) / self.radius
        lon = np.arctan2(n[:, 1], n[:, 0])
        lat = np.arcsin(np.clip(n[:, 2], -1.0, 1.0))
        return n, np.stack([lon * self.radius, lat * self.radius], axis=1)


@dataclass(frozen=True)
class Cylinder:
    """A closed cylinder with a vertical (world z) axis through (``x``, ``y``), from ``z0`` to ``z1``."""

    x: float
    y: float
    radius: float
    z0: float
    z1: float
    texture: Texture

    def intersect(self, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        o = np.broadcast_to(origins, dirs.shape)
        ox, oy = o[:, 0] - self.x, o[:, 1] - self.y
        dx, dy = dirs[:, 0], dirs[:, 1]
        a = dx * dx + dy * dy
        b = ox * dx + oy * dy
        c = ox * ox + oy * oy - self.radius**2
        disc = b * b - a * c
        root = np.sqrt(np.maximum(disc, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            sides = [(-b - root) / a, (-b + root) / a]
            caps = [(z - o[:, 2]) / dirs[:, 2] for z in (self.z0, self.z1)]
            cands = []
            for t in sides:
                z = o[:, 2] + t * dirs[:, 2]
                cands.append(np.where((disc >= 0) & (a > 0) & (z >= self.z0) & (z <= self.z1), t, -1.0))
            for t in caps:
                px, py = ox + t * dx, oy + t * dy
                cands.append(np.where(px * px + py * py <= self.radius**2, t, -1.0))
        return _first_positive(*[np.nan_to_num(t, nan=-1.0) for t in cands])

    def surface(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = points - np.array([self.x, self.y, 0.0])
        radial = np.hypot(rel[:, 0], rel[:, 1])
        on_cap = np.minimum(np.abs(points[:, 2] - self.z0), np.abs(points[:, 2] - self.z1)) < 1e-6 * (
            1.0 + np.abs(points[:, 2])
        )
        on_cap &= radial < self.radius * (1 - 1e-9)
        side_n = np.stack([rel[:, 0], rel[:, 1], np.zeros(len(rel))], axis=1) / np.maximum(radial, 1e-12)[:, None]
        cap_sign = np.where(np.abs(points[:, 2] - self.z1) < np.abs(points[:, 2] - self.z0), 1.0, -1.0)
        cap_n = np.stack([np.zeros(len(rel)), np.zeros(len(rel)), cap_sign], axis=1)
        normals = np.where(on_cap[:, None], cap_n, side_n)
        theta = np.arctan2(rel[:, 1], rel[:, 0])
        uv_side = np.stack([theta * self.radius, points[:, 2]], axis=1)
        return normals, np.where(on_cap[:, None], rel[:, :2], uv_side)


@dataclass(frozen=True)
class Box:
    """A box centred at ``centre`` with half sizes ``half``, turned by ``yaw_deg`` about world z."""

    centre: tuple[float, float, float]
    half: tuple[float, float, float]
    yaw_deg: float
    texture: Texture

    @property
    def rotation(self) -> np.ndarray:
        """float [3, 3] whose columns are the box's local axes in world coordinates."""
        a = np.deg2rad(self.yaw_deg)
        return np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])

    def intersect(self, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        r, h = self.rotation, np.asarray(self.half)
        o = matmul(origins - np.asarray(self.centre), r)
        d = matmul(dirs, r)
        o = np.broadcast_to(o, d.shape)
        t_near, t_far = np.full(len(d), -np.inf), np.full(len(d), np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            for k in range(3):  # slabs, one axis at a time (per-column ops are far faster than [N, 3] reductions)
                inv = 1.0 / d[:, k]
                t1, t2 = (-h[k] - o[:, k]) * inv, (h[k] - o[:, k]) * inv
                t_near = np.fmax(t_near, np.fmin(t1, t2))
                t_far = np.fmin(t_far, np.fmax(t1, t2))
        return np.where(t_near <= t_far, _first_positive(t_near, t_far), np.inf)

    def surface(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r, h = self.rotation, np.asarray(self.half)
        local = matmul(points - np.asarray(self.centre), r)
        axis = np.argmax(np.abs(local) / h, axis=1)
        rows = np.arange(len(points))
        n_local = np.zeros_like(local)
        n_local[rows, axis] = np.sign(local[rows, axis])
        other = np.array([[1, 2], [0, 2], [0, 1]])[axis]  # the two in-face axes
        uv = np.stack([local[rows, other[:, 0]], local[rows, other[:, 1]]], axis=1)
        return matmul(n_local, r.T), uv
