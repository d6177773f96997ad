"""The procedural room of the virtual sensor: its shapes, ray casting with a z-buffer, and shading.

World axes: metres, z up, the floor at z = 0, the scene centre above the origin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.virtual import textures as tx
from devices.virtual.primitives import Box, Cylinder, Plane, Sphere

Shape = Plane | Sphere | Cylinder | Box


@dataclass(frozen=True)
class Hit:
    """What each of N rays hits first.

    Attributes:
        t: float [N] ray parameter of the hit (inf: no hit). For camera rays with z = 1 in camera
            axes this is the depth along the optical axis.
        points: float [N, 3] world hit points (nan where there is no hit).
        normals: float [N, 3] unit normals facing the ray (0 where there is no hit).
        albedo: float [N, 3] linear albedo in [0, 1] (0 where there is no hit).
        shape_id: int [N] index into ``Scene.shapes`` (-1: no hit).
    """

    t: np.ndarray
    points: np.ndarray
    normals: np.ndarray
    albedo: np.ndarray
    shape_id: np.ndarray


@dataclass(frozen=True)
class Scene:
    """Shapes and one point light. ``raycast`` is exact: it is the ground truth of the depth."""

    shapes: tuple[Shape, ...]
    names: tuple[str, ...]
    light: tuple[float, float, float] = (0.6, -0.8, 2.4)
    """Position of the point light (a ceiling lamp)."""
    ambient: float = 0.28
    """Light reaching every surface regardless of its orientation."""
    centre: tuple[float, float, float] = (0.0, 0.25, 0.45)
    """The point the camera path circles and looks at."""

    def raycast(self, origins: np.ndarray, dirs: np.ndarray) -> Hit:
        """First hit of each ray. origins: float [N, 3] or [3]; dirs: float [N, 3] (any length)."""
        dirs = np.asarray(dirs, dtype=np.float64)
        origins = np.asarray(origins, dtype=np.float64)
        n = len(dirs)
        t = np.full(n, np.inf)
        shape_id = np.full(n, -1, dtype=np.int64)
        for k, shape in enumerate(self.shapes):  # z-buffer: keep the nearest hit
            tk = shape.intersect(origins, dirs)
            nearer = tk < t
            np.copyto(t, tk, where=nearer)
            np.copyto(shape_id, k, where=nearer)
        hit = np.isfinite(t)
        points = origins + np.where(hit, t, np.nan)[:, None] * dirs
        normals = np.zeros((n, 3))
        albedo = np.zeros((n, 3))
        for k, shape in enumerate(self.shapes):
            idx = np.flatnonzero(shape_id == k)
            if idx.size:
                nk, uv = shape.surface(points[idx])
                normals[idx], albedo[idx] = nk, shape.texture(uv)
        facing = np.einsum("ij,ij->i", normals, dirs) > 0
        normals[facing] *= -1.0
        return Hit(t=t, points=points, normals=normals, albedo=albedo, shape_id=shape_id)

    def shade(self, hit: Hit) -> np.ndarray:
        """Lambertian shading under the point light: linear RGB float [N, 3] (may exceed 1)."""
        to_light = np.asarray(self.light) - np.nan_to_num(hit.points)
        dist2 = np.einsum("ij,ij->i", to_light, to_light)
        cos = np.einsum("ij,ij->i", hit.normals, to_light) / np.sqrt(np.maximum(dist2, 1e-12))
        direct = np.maximum(cos, 0.0) * 6.5 / (dist2 + 1.0)
        return hit.albedo * (self.ambient + direct)[:, None]


def _room(seed: int) -> list[tuple[str, Shape]]:
    """Floor, ceiling and four walls of a 6 m x 6 m x 2.6 m room, normals pointing inwards."""
    floor = tx.Multiply(tx.Checker(0.5, (0.62, 0.6, 0.55), (0.34, 0.3, 0.27)),
                        tx.ValueNoise(0.35, (1.0, 1.0, 1.0), 0.25, seed + 1))
    back = tx.Multiply(tx.PrintedPattern(0.1, ((0.85, 0.2, 0.15), (0.15, 0.35, 0.8), (0.95, 0.85, 0.2), (0.2, 0.6, 0.3)),
                                         seed + 2, border=(0.8, 0.78, 0.72), size=1.6, centre=(0.0, 1.3)),
                       tx.ValueNoise(0.6, (1.0, 1.0, 1.0), 0.15, seed + 3))
    side = tx.Stripes(0.3, 90.0, (0.7, 0.66, 0.6), (0.45, 0.5, 0.6), duty=0.6)
    front = tx.ValueNoise(0.4, (0.55, 0.62, 0.5), 0.45, seed + 4)
    ceiling = tx.Solid((0.85, 0.85, 0.85))
    return [
        ("floor", Plane((0, 0, 1), 0.0, (1, 0, 0), floor)),
        ("ceiling", Plane((0, 0, -1), -2.6, (1, 0, 0), ceiling)),
        ("back wall", Plane((0, -1, 0), -3.0, (1, 0, 0), back)),
        ("front wall", Plane((0, 1, 0), -3.0, (1, 0, 0), front)),
        ("left wall", Plane((1, 0, 0), -3.0, (0, 1, 0), side)),
        ("right wall", Plane((-1, 0, 0), -3.0, (0, 1, 0), side)),
    ]


def _objects(seed: int) -> list[tuple[str, Shape]]:
    """Textured objects at different depths around the scene centre, one of them too dark for the depth sensor."""
    wood = tx.Multiply(tx.Stripes(0.045, 10.0, (0.7, 0.5, 0.3), (0.55, 0.36, 0.2), duty=0.4),
                       tx.ValueNoise(0.2, (1.0, 1.0, 1.0), 0.2, seed + 10))
    printed = tx.PrintedPattern(0.05, ((0.1, 0.1, 0.1), (0.95, 0.95, 0.95), (0.9, 0.3, 0.1)), seed + 11,
                                border=(0.95, 0.95, 0.95), size=0.25)
    return [
        ("table", Box((0.0, 0.35, 0.35), (0.5, 0.3, 0.35), 15.0, wood)),
        ("printed cube", Box((0.05, 0.35, 0.85), (0.15, 0.15, 0.15), -25.0, printed)),
        ("checker ball", Sphere((-0.85, -0.2, 0.3), 0.3, tx.Checker(0.12, (0.9, 0.9, 0.85), (0.75, 0.12, 0.12)))),
        ("striped column", Cylinder(0.95, 0.85, 0.18, 0.0, 0.7, tx.Stripes(0.08, 0.0, (0.2, 0.45, 0.8), (0.9, 0.9, 0.9)))),
        ("noise ball", Sphere((0.95, 0.85, 0.92), 0.22, tx.ValueNoise(0.08, (0.3, 0.7, 0.35), 0.6, seed + 12))),
        ("dark box", Box((-0.95, 1.1, 0.25), (0.25, 0.25, 0.25), 30.0, tx.Solid((0.03, 0.03, 0.035)))),
        ("near crate", Box((0.75, -0.95, 0.15), (0.15, 0.2, 0.15), -10.0,
                           tx.Multiply(tx.Checker(0.06, (0.95, 0.8, 0.3), (0.6, 0.45, 0.15)),
                                       tx.ValueNoise(0.1, (1.0, 1.0, 1.0), 0.2, seed + 13)))),
    ]


def default_scene(seed: int = 0) -> Scene:
    """The virtual sensor's room. The layout is fixed; ``seed`` varies the random textures."""
    named = _room(seed) + _objects(seed)
    return Scene(shapes=tuple(s for _, s in named), names=tuple(n for n, _ in named))
