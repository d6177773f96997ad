"""Depth-to-colour alignment with the semantics of the SDK's ``k4a_transformation_depth_image_to_color_camera``.

What the SDK does (``src/transformation/rgbz.c``), and what this module reproduces with whole-array
numpy operations:

1. Every depth pixel with a valid ray becomes a vertex: 3D point in the depth camera (mm), moved
   into the colour camera by the extrinsics, projected with the colour lens model. The vertex keeps
   its colour-camera z, which is the value written out (mm along the colour optical axis).
2. Each 2x2 block of neighbouring depth pixels is a quad. A quad with one invalid vertex is patched
   by substituting neighbours (it becomes a triangle); with two or more it is dropped. A quad whose
   depth range exceeds 0.04693441759 * its nearest depth is dropped: that is a depth edge, not a
   slanted surface, and must not be bridged.
3. Every colour pixel centre inside the quad's bounding box is tested against the quad's two
   triangles (split along the top-left/bottom-right diagonal; top/left edges inclusive, bottom/right
   exclusive) and gets the barycentric depth, rounded to the millimetre.
4. Where quads overlap, the nearest depth wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.frame import check_shape
from devices.kinect.calibration import KinectCalibration
from devices.kinect.lens import f32, project_normalized, ray_table

SKIP_INTERPOLATION_RATIO = np.float32(0.04693441759)  # rgbz.c: sin(120/512 deg) / cos(85 deg)
BAND_ROWS = 64  # depth rows per band: ~40k vertices, temporaries of ~160 kB


@dataclass(frozen=True)
class Vertices:
    """Projected depth pixels; float32 / bool arrays of the depth image's shape [H, W]."""

    u: np.ndarray
    v: np.ndarray
    z: np.ndarray
    """Depth along the colour camera's optical axis, mm."""
    valid: np.ndarray


@dataclass(frozen=True)
class Quads:
    """Surviving quads, each vertex's (u, v, z) as float32 [Q] arrays, after the SDK's patching."""

    tl: tuple[np.ndarray, np.ndarray, np.ndarray]
    tr: tuple[np.ndarray, np.ndarray, np.ndarray]
    br: tuple[np.ndarray, np.ndarray, np.ndarray]
    bl: tuple[np.ndarray, np.ndarray, np.ndarray]

    def take(self, idx: np.ndarray) -> Quads:
        return Quads(*(tuple(a[idx] for a in corner) for corner in (self.tl, self.tr, self.br, self.bl)))


class DepthToColor:
    """Align Azure Kinect depth images to the colour camera of one calibration (mode-specific).

    Build once per recording (it computes the depth camera's ray table), then call per frame.
    """

    def __init__(self, calibration: KinectCalibration):
        if calibration.depth.normalised or calibration.color.normalised:
            raise ValueError("DepthToColor needs a mode-specific calibration (KinectCalibration.for_modes)")
        self.calibration = calibration
        self.x_table, self.y_table = ray_table(calibration.depth)
        self._ray_ok = ~np.isnan(self.x_table)
        self._x = np.nan_to_num(self.x_table)
        R, t = calibration.depth_to_color
        self.R = R.astype(np.float32)
        self.t = t.astype(np.float32)
        self.out_shape = (calibration.color.height, calibration.color.width)
        self._zbuf = np.empty(self.out_shape[0] * self.out_shape[1], np.int32)

    def vertices(self, depth: np.ndarray, rows: slice = slice(None)) -> Vertices:
        """Project depth pixels (of ``rows``) into the colour image (transformation_compute_correspondence)."""
        depth = depth[rows]
        d = depth.astype(np.float32)
        valid = (depth != 0) & self._ray_ok[rows]
        a = self._x[rows] * d
        b = self.y_table[rows] * d
        R, t = self.R, self.t
        X = R[0, 0] * a + R[0, 1] * b + R[0, 2] * d + t[0]
        Y = R[1, 0] * a + R[1, 1] * b + R[1, 2] * d + t[1]
        Z = R[2, 0] * a + R[2, 1] * b + R[2, 2] * d + t[2]
        valid &= Z > 0
        Zs = np.where(valid, Z, f32(1))
        proj = project_normalized(self.calibration.color, X / Zs, Y / Zs)
        return Vertices(u=proj.u, v=proj.v, z=Z, valid=valid & proj.valid)

    def covered(self, depth: np.ndarray, rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """(flat colour pixel int32 [M], depth int32 [M]) drawn by the quads whose top row is in ``rows``."""
        stop = rows.stop if rows.stop is not None else depth.shape[0]
        full, keep, patched = build_quads(self.vertices(depth, slice(rows.start, min(stop + 1, depth.shape[0]))))
        pix_a, val_a = rasterize(full, self.out_shape, keep)
        pix_b, val_b = rasterize(patched, self.out_shape)
        return np.concatenate([pix_a, pix_b]), np.concatenate([val_a, val_b])

    def __call__(self, depth: np.ndarray) -> np.ndarray:
        """uint16 [Hd, Wd] depth (mm, 0 = none) -> uint16 [Hc, Wc] depth in the colour camera (mm, 0 = none)."""
        check_shape("depth", depth, (self.calibration.depth.height, self.calibration.depth.width))
        # Bands of rows keep every temporary array small (cache-resident, recycled by malloc instead
        # of fresh pages from the OS each time): the same work, about a third faster.
        zbuf = self._zbuf
        zbuf.fill(_EMPTY)
        for r in range(0, depth.shape[0] - 1, BAND_ROWS):
            _zbuffer_min_into(zbuf, *self.covered(depth, slice(r, r + BAND_ROWS)))
        out = zbuf.astype(np.uint16)  # _EMPTY is 65536: wraps to 0, "no depth"
        return out.reshape(self.out_shape)


def _mid(p: tuple, q: tuple, sel: np.ndarray) -> tuple:
    return tuple((a[sel] + b[sel]) * f32(0.5) for a, b in zip(p, q))


def _patch_one_invalid(tl, tr, br, bl, bad: tuple[np.ndarray, ...]) -> None:
    """In place: the SDK's substitution for quads with exactly one invalid vertex (clockwise order kept)."""
    bad_tl, bad_tr, bad_br, bad_bl = bad
    new_tl = _mid(tr, bl, bad_tl)  # computed from the unpatched corners, as in the SDK
    new_tr, new_br_tr = tuple(a[bad_tr] for a in br), _mid(br, bl, bad_tr)
    new_br_br = _mid(tr, bl, bad_br)
    new_bl, new_br_bl = tuple(a[bad_bl] for a in br), _mid(tr, br, bad_bl)
    for k in range(3):
        tl[k][bad_tl] = new_tl[k]
        tr[k][bad_tr] = new_tr[k]
        br[k][bad_tr] = new_br_tr[k]
        br[k][bad_br] = new_br_br[k]
        bl[k][bad_bl] = new_bl[k]
        br[k][bad_bl] = new_br_bl[k]


def build_quads(vx: Vertices) -> tuple[Quads, np.ndarray, Quads]:
    """The quads the SDK rasterises (transformation_check_valid_correspondences).

    Quad ``i`` has its top-left corner at flat depth pixel ``i`` (so its corners are i, i+1, i+W+1,
    i+W): the common case, four valid corners, needs no gathering at all, only shifted views.

    Returns:
        (full, keep, patched): ``full`` holds every quad of the grid as views, float32 [(H-1)*W-1];
        ``keep`` (bool, same length) marks those with four valid corners and no depth edge;
        ``patched`` holds the quads with one invalid corner after the SDK's substitution, already
        filtered for depth edges.
    """
    H, W = vx.valid.shape
    m = (H - 1) * W - 1
    offsets = (0, 1, W + 1, W)  # tl, tr, br, bl
    flat = (vx.u.ravel(), vx.v.ravel(), vx.z.ravel())
    full = Quads(*(tuple(a[o : o + m] for a in flat) for o in offsets))
    ok = vx.valid.ravel().astype(np.int8)
    n_valid = ok[0:m] + ok[1 : m + 1] + ok[W + 1 : W + 1 + m] + ok[W : W + m]
    n_valid[W - 1 :: W] = 0  # a "quad" whose right column wraps to the next row
    keep = (n_valid == 4) & _flat(full)
    three = np.flatnonzero(n_valid == 3)
    corners = [three + o for o in offsets]
    tl, tr, br, bl = ([a[i] for a in flat] for i in corners)
    vflat = vx.valid.ravel()
    _patch_one_invalid(tl, tr, br, bl, tuple(~vflat[i] for i in corners))
    patched = Quads(tuple(tl), tuple(tr), tuple(br), tuple(bl))
    return full, keep, patched.take(np.flatnonzero(_flat(patched)))


def _flat(q: Quads) -> np.ndarray:
    """bool: the quad's depth range is within the SDK's slanted-surface threshold (no depth edge)."""
    z = (q.tl[2], q.tr[2], q.br[2], q.bl[2])
    zmin = np.minimum(np.minimum(z[0], z[1]), np.minimum(z[2], z[3]))
    zmax = np.maximum(np.maximum(z[0], z[1]), np.maximum(z[2], z[3]))
    return ~((zmax - zmin) > SKIP_INTERPOLATION_RATIO * zmin)


def _inside_and_depth(q: Quads, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The SDK's quad test at pixel centres (px, py), float32 [M] each, for quads ``q`` of the same length.

    Branch-free: the triangle choice is a 0/1 blend, exact for finite values.

    Returns:
        (inside bool [M], depth float32 [M]; inf or nan where the triangle is degenerate).
    """
    (tlx, tly, tlz), (trx, try_, trz), (brx, bry, brz), (blx, bly, blz) = q.tl, q.tr, q.br, q.bl
    area_int = (py - tly) * (brx - tlx) - (px - tlx) * (bry - tly)
    ccw = (area_int >= 0).astype(np.float32)  # right of the diagonal: the bottom-left triangle
    cw = f32(1) - ccw
    ix = blx * ccw + trx * cw
    iy = bly * ccw + try_ * cw
    iz = blz * ccw + trz * cw
    sign = ccw + ccw - f32(1)
    area_tl = ((py - iy) * (tlx - ix) - (px - ix) * (tly - iy)) * sign
    area_br = ((py - bry) * (ix - brx) - (px - brx) * (iy - bry)) * sign
    area_int = area_int * sign
    inside = (area_tl >= 0) & (area_br > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = f32(1) / (area_tl + area_int + area_br)
        depth = (area_tl * brz + area_int * iz + area_br * tlz) * inv
    return inside, depth


def rasterize(q: Quads, shape: tuple[int, int], keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres covered by quads ``q`` (only those marked in ``keep``), with their depth.

    Each quad is tested at the pixel centres of its bounding box (ceil of the min, ceil of the max
    exclusive, clipped to the image), one pass per offset inside the box (most boxes are 1-2
    pixels wide and tall).

    Returns:
        (flat pixel index int [M], depth int32 [M] as (uint16)(d + 0.5)), pixels may repeat.
    """
    H, W = shape
    us = (q.tl[0], q.tr[0], q.br[0], q.bl[0])
    vs = (q.tl[1], q.tr[1], q.br[1], q.bl[1])
    x0 = np.maximum(np.ceil(np.minimum(np.minimum(us[0], us[1]), np.minimum(us[2], us[3]))), 0).astype(np.int32)
    y0 = np.maximum(np.ceil(np.minimum(np.minimum(vs[0], vs[1]), np.minimum(vs[2], vs[3]))), 0).astype(np.int32)
    x1 = np.minimum(np.ceil(np.maximum(np.maximum(us[0], us[1]), np.maximum(us[2], us[3]))), W).astype(np.int32)
    y1 = np.minimum(np.ceil(np.maximum(np.maximum(vs[0], vs[1]), np.maximum(vs[2], vs[3]))), H).astype(np.int32)
    bw, bh = x1 - x0, y1 - y0
    if keep is not None:  # dropped quads get an empty box
        bw *= keep
        bh *= keep
    pix_parts, val_parts = [], []
    for dy in range(int(bh.max(initial=0))):
        for dx in range(int(bw.max(initial=0))):
            if dx == 0 and dy == 0:  # every quad has this candidate: no gathering
                sub, px, py = q, x0, y0
                inside, depth = _inside_and_depth(sub, px.astype(np.float32), py.astype(np.float32))
                inside &= (bw > 0) & (bh > 0)
            else:
                sel = np.flatnonzero((bh > dy) & (bw > dx))
                sub, px, py = q.take(sel), x0[sel] + dx, y0[sel] + dy
                inside, depth = _inside_and_depth(sub, px.astype(np.float32), py.astype(np.float32))
            hit = np.flatnonzero(inside)
            pix_parts.append((py[hit] * W + px[hit]).astype(np.int32))
            val_parts.append(depth[hit] + f32(0.5))
    if not pix_parts:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    pix, val = np.concatenate(pix_parts), np.concatenate(val_parts)
    good = np.isfinite(val)
    if not good.all():
        pix, val = pix[good], val[good]
    return pix, val.astype(np.int32)


_EMPTY = np.int32(1 << 16)  # z-buffer value of "no depth yet": above every uint16 depth


def _zbuffer_min_into(zbuf: np.ndarray, pix: np.ndarray, val: np.ndarray) -> None:
    """zbuf[p] = min(zbuf[p], v) for each (pixel int [M], value int32 [M]) pair; values <= 0 are ignored.

    Repeated scatter: one write per pixel wins arbitrarily, the pairs that beat it are written
    again, until none is left (two or three rounds; overlaps only happen along occlusions).
    """
    better = (val > 0) & (val < zbuf[pix])  # a 0 mm result never masks a real depth
    pix, val = pix[better], val[better]
    while len(pix):
        zbuf[pix] = val
        lost = np.flatnonzero(zbuf[pix] > val)
        pix, val = pix[lost], val[lost]


def zbuffer_min(pix: np.ndarray, val: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Per-pixel minimum of (flat pixel, value) pairs as uint16 [H, W], 0 where no pair lands."""
    zbuf = np.full(shape[0] * shape[1], _EMPTY, np.int32)
    _zbuffer_min_into(zbuf, pix, val)
    return zbuf.astype(np.uint16).reshape(shape)
