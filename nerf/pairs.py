"""The SparseNeRF pair sampler: which pixels of a training batch form depth-ranking quadruples.

Follows sparsenerf.md ("Pair sampling"). A batch comes from ONE training image. Each quadruple is
``[near point, far point, neighbour of near, neighbour of far]``:

1. a ``window`` (h x w) is placed uniformly in the image; with sensor depth it is redrawn until it
   holds more than ``min_valid`` valid pixels (depth > 0);
2. two valid pixels are drawn uniformly in it and ordered so the first is NEARER according to the
   coarse depth (metric / relative: smaller is nearer; inverse: larger is nearer);
3. a neighbour of a point is drawn uniformly among the closest ``neighbour_fraction`` (10 of 36) of
   the valid pixels of the ``neighbour_size`` x ``neighbour_size`` window around it (clipped at the
   border, the point itself included), closeness being |coarse(p) - coarse(point)|.

The sampler returns explicit indices (``PairBatch``); the losses take them as arguments, so nothing
relies on an implicit ray layout. All randomness comes from one ``numpy.random.Generator`` whose
state is part of the checkpoint (``state_dict`` / ``load_state_dict``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from devices.frame import DepthKind


@dataclass(frozen=True)
class PairSamplerConfig:
    """Settings of the pair sampler (defaults are the original's)."""

    window: tuple[int, int] = (30, 30)
    """(height, width) of the ranking window in pixels; clipped to the image."""
    min_valid: int = 10
    """A window must hold MORE than this many valid pixels, else it is redrawn."""
    neighbour_size: int = 6
    """Side of the square window a neighbour is drawn from (offsets -size//2 .. size - size//2 - 1)."""
    neighbour_fraction: float = 0.3
    """A neighbour is drawn among the closest int(fraction * count) pixels of that window (10 of 36)."""
    max_redraws: int = 1000
    """Give up redrawing windows / pixels after this many rounds (then the view has too little valid depth)."""


@dataclass(frozen=True)
class PairBatch:
    """The pixels of one training batch and the ranking quadruples among them.

    Attributes:
        view: index of the scene view all pixels come from.
        ys, xs: int64 [B] pixel rows and columns of the batch's rays.
        near_idx, far_idx, nb_near_idx, nb_far_idx: int64 [Q] indices into the batch (0..B-1) of the
            nearer point, the farther point and their neighbours; Q = 0 without a ranking prior.
    """

    view: int
    ys: np.ndarray
    xs: np.ndarray
    near_idx: np.ndarray
    far_idx: np.ndarray
    nb_near_idx: np.ndarray
    nb_far_idx: np.ndarray

    @property
    def num_quads(self) -> int:
        return int(self.near_idx.shape[0])

    def __len__(self) -> int:
        return int(self.ys.shape[0])


def order_by_depth(
    depth_a: np.ndarray,  # [Q]
    depth_b: np.ndarray,  # [Q]
    kind: DepthKind,
) -> np.ndarray:
    """True where point a is the nearer one (ties keep a first). Returns bool [Q]."""
    return depth_a >= depth_b if kind.larger_is_nearer else depth_a <= depth_b


def neighbour_offsets(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets int64 [size * size] of the neighbour window, centre (0, 0) included."""
    r = np.arange(size) - size // 2
    dy, dx = np.meshgrid(r, r, indexing="ij")
    return dy.ravel(), dx.ravel()


def draw_neighbours(
    depth: np.ndarray,  # [H, W], 0 = invalid
    ys: np.ndarray,  # [Q]
    xs: np.ndarray,  # [Q]
    rng: np.random.Generator,
    *,
    size: int = 6,
    fraction: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """A neighbour for each point: uniform among the closest ``fraction`` of its valid window pixels.

    Returns:
        (rows, cols) int64 [Q] of the chosen neighbours.
    """
    h, w = depth.shape
    dy, dx = neighbour_offsets(size)
    ny, nx = ys[:, None] + dy[None], xs[:, None] + dx[None]  # [Q, size^2]
    inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
    cy, cx = np.clip(ny, 0, h - 1), np.clip(nx, 0, w - 1)
    cand = depth[cy, cx]
    usable = inside & (cand > 0)
    diff = np.where(usable, np.abs(cand - depth[ys, xs][:, None]), np.inf)
    order = np.argsort(diff, axis=1, kind="stable")  # closest first, unusable last
    k = np.maximum(1, (fraction * usable.sum(axis=1)).astype(np.int64))  # [Q]
    pick = np.minimum((rng.random(len(ys)) * k).astype(np.int64), k - 1)
    col = order[np.arange(len(ys)), pick]
    return cy[np.arange(len(ys)), col], cx[np.arange(len(ys)), col]


class PairSampler:
    """Draws training batches of pixels (with ranking quadruples) from the training views of a scene."""

    def __init__(
        self,
        depths: np.ndarray | None,  # [N, H, W] coarse depth (0 = invalid), or None
        depth_kind: DepthKind,
        train_ids: list[int],
        config: PairSamplerConfig,
        *,
        image_size: tuple[int, int],  # (H, W)
        seed: int = 0,
        sensor_depth: bool | None = None,
    ):
        self.depths, self.kind, self.train_ids, self.config = depths, depth_kind, list(train_ids), config
        self.h, self.w = image_size
        self.rng = np.random.default_rng(seed)
        self.sensor_depth = depth_kind is DepthKind.METRIC if sensor_depth is None else sensor_depth
        self._valid_sat = {}  # view -> summed-area table of the valid mask [H + 1, W + 1]
        if depths is not None:
            bh, bw = min(config.window[0], self.h), min(config.window[1], self.w)
            for v in self.train_ids:
                valid = (depths[v] > 0).astype(np.int64)
                sat = self._valid_sat[v] = np.pad(valid.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
                best = (sat[bh:, bw:] - sat[:-bh, bw:] - sat[bh:, :-bw] + sat[:-bh, :-bw]).max()
                if best <= config.min_valid:  # said now, not as a failure at the first step
                    raise ValueError(f"training view {v} has too little valid depth: no {bh}x{bw} ranking window "
                                     f"holds more than {config.min_valid} valid pixels")

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["bit_generator"]

    # ------------------------------------------------------------------ batches
    def uniform(self, batch: int) -> PairBatch:
        """``batch`` pixels uniformly from ONE training view, no quadruples (colour loss only)."""
        view = int(self.train_ids[self.rng.integers(len(self.train_ids))])
        ys, xs = self.rng.integers(self.h, size=batch), self.rng.integers(self.w, size=batch)
        empty = np.zeros(0, np.int64)
        return PairBatch(view, ys.astype(np.int64), xs.astype(np.int64), empty, empty, empty, empty)

    def ranking(self, batch: int) -> PairBatch:
        """A batch with quadruples: ``batch // 8`` quadruples plus random pixels with sensor depth,
        ``batch // 4`` quadruples (the whole batch) with monocular depth.
        """
        if self.depths is None:
            raise ValueError("ranking batches need a depth prior")
        view = int(self.train_ids[self.rng.integers(len(self.train_ids))])
        depth = self.depths[view]
        q = batch // 8 if self.sensor_depth else batch // 4
        (ay, ax), (by, bx) = self._window_pairs(view, q)
        a_near = order_by_depth(depth[ay, ax], depth[by, bx], self.kind)
        ny, nx = np.where(a_near, ay, by), np.where(a_near, ax, bx)
        fy, fx = np.where(a_near, by, ay), np.where(a_near, bx, ax)
        c = self.config
        nny, nnx = draw_neighbours(depth, ny, nx, self.rng, size=c.neighbour_size, fraction=c.neighbour_fraction)
        nfy, nfx = draw_neighbours(depth, fy, fx, self.rng, size=c.neighbour_size, fraction=c.neighbour_fraction)
        quad_y = np.stack([ny, fy, nny, nfy], axis=1).ravel()  # [4Q] in quadruple order
        quad_x = np.stack([nx, fx, nnx, nfx], axis=1).ravel()
        rest = batch - 4 * q if self.sensor_depth else 0
        ys = np.concatenate([quad_y, self.rng.integers(self.h, size=rest)]).astype(np.int64)
        xs = np.concatenate([quad_x, self.rng.integers(self.w, size=rest)]).astype(np.int64)
        base = 4 * np.arange(q, dtype=np.int64)
        return PairBatch(view, ys, xs, base, base + 1, base + 2, base + 3)

    def _window_pairs(self, view: int, q: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Two uniformly drawn valid pixels in each of ``q`` uniformly placed valid windows."""
        bh, bw = min(self.config.window[0], self.h), min(self.config.window[1], self.w)
        sat = self._valid_sat[view]
        y0, x0 = np.empty(q, np.int64), np.empty(q, np.int64)
        todo = np.arange(q)
        for _ in range(self.config.max_redraws):
            y0[todo] = self.rng.integers(self.h - bh + 1, size=len(todo))
            x0[todo] = self.rng.integers(self.w - bw + 1, size=len(todo))
            t, l = y0[todo], x0[todo]  # noqa: E741
            count = sat[t + bh, l + bw] - sat[t, l + bw] - sat[t + bh, l] + sat[t, l]
            todo = todo[count <= self.config.min_valid]
            if len(todo) == 0:
                break
        else:
            raise ValueError(f"view {view}: no {bh}x{bw} window holds more than {self.config.min_valid} valid depth pixels")
        valid = self.depths[view] > 0
        return self._valid_in(valid, y0, x0, bh, bw), self._valid_in(valid, y0, x0, bh, bw)

    def _valid_in(self, valid: np.ndarray, y0: np.ndarray, x0: np.ndarray, bh: int, bw: int) -> tuple[np.ndarray, np.ndarray]:
        """One valid pixel drawn uniformly inside each window (rejection sampling)."""
        ys, xs = np.empty_like(y0), np.empty_like(x0)
        todo = np.arange(len(y0))
        for _ in range(self.config.max_redraws * 10):
            ys[todo] = y0[todo] + self.rng.integers(bh, size=len(todo))
            xs[todo] = x0[todo] + self.rng.integers(bw, size=len(todo))
            todo = todo[~valid[ys[todo], xs[todo]]]
            if len(todo) == 0:
                return ys, xs
        raise ValueError("could not draw valid depth pixels in the ranking windows")
