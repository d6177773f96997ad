"""Procedural textures: albedo as a function of 2-D surface coordinates in metres.

Every texture maps ``uv`` float [N, 2] (metres along the surface) to linear albedo float [N, 3] in
[0, 1]. They are pure functions of their parameters (random ones take a seed), so frames are
reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _rgb(c: tuple[float, float, float]) -> np.ndarray:
    return np.asarray(c, dtype=np.float64)


def luminance(albedo: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance of linear RGB [..., 3] -> [...]."""
    return albedo[..., 0] * 0.2126 + albedo[..., 1] * 0.7152 + albedo[..., 2] * 0.0722


@dataclass(frozen=True)
class Solid:
    """One colour everywhere."""

    colour: tuple[float, float, float]

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        return np.broadcast_to(_rgb(self.colour), (len(uv), 3)).copy()


@dataclass(frozen=True)
class Checker:
    """A checkerboard of ``size``-metre squares."""

    size: float
    a: tuple[float, float, float]
    b: tuple[float, float, float]

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        cell = np.floor(uv / self.size).astype(np.int64).sum(axis=1) & 1
        return np.where(cell[:, None] == 0, _rgb(self.a), _rgb(self.b))


@dataclass(frozen=True)
class Stripes:
    """Parallel stripes of ``period`` metres at ``angle_deg``; ``duty`` is the fraction in colour ``a``."""

    period: float
    angle_deg: float
    a: tuple[float, float, float]
    b: tuple[float, float, float]
    duty: float = 0.5

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        ang = np.deg2rad(self.angle_deg)
        s = (uv[:, 0] * np.cos(ang) + uv[:, 1] * np.sin(ang)) / self.period
        return np.where(((s - np.floor(s)) < self.duty)[:, None], _rgb(self.a), _rgb(self.b))


@dataclass(frozen=True)
class ValueNoise:
    """Smooth random blotches (bilinear value noise, two octaves) modulating ``colour`` by +-``amount``."""

    scale: float
    """Size of a noise cell in metres."""
    colour: tuple[float, float, float]
    amount: float
    seed: int
    _lattice: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lattice", np.random.default_rng(self.seed).random((64, 64)))

    def _octave(self, uv: np.ndarray) -> np.ndarray:
        x, y = uv[:, 0], uv[:, 1]
        x0, y0 = np.floor(x), np.floor(y)
        fx, fy = x - x0, y - y0
        fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)  # smoothstep: no visible lattice
        i0, j0 = x0.astype(np.int64) & 63, y0.astype(np.int64) & 63
        i1, j1 = (i0 + 1) & 63, (j0 + 1) & 63
        g = self._lattice
        top = g[i0, j0] * (1 - fx) + g[i1, j0] * fx
        bot = g[i0, j1] * (1 - fx) + g[i1, j1] * fx
        return top * (1 - fy) + bot * fy

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        n = 0.65 * self._octave(uv / self.scale) + 0.35 * self._octave(uv / (0.31 * self.scale) + 17.0)
        factor = 1.0 + self.amount * (2.0 * n - 1.0)
        return np.clip(_rgb(self.colour) * factor[:, None], 0.0, 1.0)


@dataclass(frozen=True)
class PrintedPattern:
    """A printed poster: a random mosaic of palette-coloured cells (like a QR code) framed by a border."""

    cell: float
    """Cell size in metres."""
    palette: tuple[tuple[float, float, float], ...]
    seed: int
    border: tuple[float, float, float] = (0.9, 0.9, 0.88)
    size: float = 0.8
    """Side of the printed square in metres; outside it the border colour."""
    centre: tuple[float, float] = (0.0, 0.0)
    """Where the square's centre sits in uv."""
    _codes: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = max(1, int(round(self.size / self.cell)))
        codes = np.random.default_rng(self.seed).integers(0, len(self.palette), size=(n, n))
        object.__setattr__(self, "_codes", codes)

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        n = self._codes.shape[0]
        half = 0.5 * n * self.cell
        ij = np.floor((uv - np.asarray(self.centre) + half) / self.cell).astype(np.int64)
        inside = np.all((ij >= 0) & (ij < n), axis=1)
        ij = np.clip(ij, 0, n - 1)
        colours = np.asarray(self.palette, dtype=np.float64)[self._codes[ij[:, 0], ij[:, 1]]]
        return np.where(inside[:, None], colours, _rgb(self.border))


@dataclass(frozen=True)
class Multiply:
    """The product of two textures (e.g. a checker dirtied by noise)."""

    a: object
    b: object

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        return self.a(uv) * self.b(uv)  # type: ignore[operator]
