"""A slow, literal, per-pixel transcription of the Azure Kinect SDK's depth -> colour transformation.

Written from the SDK's C sources (microsoft/Azure-Kinect-Sensor-SDK):
``src/transformation/intrinsic_transformation.c`` (project, iterative unproject),
``src/transformation/transformation.c`` (xy table), ``src/transformation/rgbz.c``
(correspondences, quad patching, the depth-edge test, the triangle test, the z-buffer), one point
and one pixel at a time in plain Python, with no vectorisation, so that it can be checked line by
line against the C. Python floats are doubles where the SDK uses float32, so rounding to the
millimetre can differ on a few pixels; everything else is the same algorithm.

It is the reference that ``devices.kinect.align`` (the fast, vectorised implementation) is tested
against, since pyk4a / libk4a cannot be installed here.
"""

from __future__ import annotations

import math

import numpy as np

from devices.kinect.calibration import RATIONAL_6KT, CameraModel, KinectCalibration

FLT_MAX = 3.4028234663852886e38


def project_internal(cam: CameraModel, x: float, y: float, want_jacobian: bool):
    """transformation_project_internal: returns (u, v, valid, J or None)."""
    cx, cy, fx, fy = cam.cx, cam.cy, cam.fx, cam.fy
    k1, k2, k3, k4, k5, k6 = cam.k
    codx, cody, p1, p2 = cam.codx, cam.cody, cam.p1, cam.p2
    xp = x - codx
    yp = y - cody
    xp2 = xp * xp
    yp2 = yp * yp
    xyp = xp * yp
    rs = xp2 + yp2
    if rs > cam.metric_radius * cam.metric_radius:
        return 0.0, 0.0, 0, None
    rss = rs * rs
    rsc = rss * rs
    a = 1.0 + k1 * rs + k2 * rss + k3 * rsc
    b = 1.0 + k4 * rs + k5 * rss + k6 * rsc
    bi = 1.0 / b if b != 0.0 else 1.0
    d = a * bi
    xp_d = xp * d
    yp_d = yp * d
    rs_2xp2 = rs + 2.0 * xp2
    rs_2yp2 = rs + 2.0 * yp2
    if cam.model == RATIONAL_6KT:
        xp_d += rs_2xp2 * p2 + xyp * p1
        yp_d += rs_2yp2 * p1 + xyp * p2
    else:
        xp_d += rs_2xp2 * p2 + 2.0 * xyp * p1
        yp_d += rs_2yp2 * p1 + 2.0 * xyp * p2
    u = (xp_d + codx) * fx + cx
    v = (yp_d + cody) * fy + cy
    if not want_jacobian:
        return u, v, 1, None
    dudrs = k1 + 2.0 * k2 * rs + 3.0 * k3 * rss
    dvdrs = k4 + 2.0 * k5 * rs + 3.0 * k6 * rss
    bis = bi * bi
    dddrs = (dudrs * b - a * dvdrs) * bis
    dddrs_2 = dddrs * 2.0
    xp_dddrs_2 = xp * dddrs_2
    yp_xp_dddrs_2 = yp * xp_dddrs_2
    if cam.model == RATIONAL_6KT:
        J = [fx * (d + xp * xp_dddrs_2 + 6.0 * xp * p2 + yp * p1),
             fx * (yp_xp_dddrs_2 + 2.0 * yp * p2 + xp * p1),
             fy * (yp_xp_dddrs_2 + 2.0 * xp * p1 + yp * p2),
             fy * (d + yp * yp * dddrs_2 + 6.0 * yp * p1 + xp * p2)]
    else:
        J = [fx * (d + xp * xp_dddrs_2 + 6.0 * xp * p2 + 2.0 * yp * p1),
             fx * (yp_xp_dddrs_2 + 2.0 * yp * p2 + 2.0 * xp * p1),
             fy * (yp_xp_dddrs_2 + 2.0 * xp * p1 + 2.0 * yp * p2),
             fy * (d + yp * yp * dddrs_2 + 6.0 * yp * p1 + 2.0 * xp * p2)]
    return u, v, 1, J


def iterative_unproject(cam: CameraModel, u: float, v: float, x: float, y: float, max_passes: int = 20):
    """transformation_iterative_unproject: returns (x, y, valid)."""
    best_x, best_y, best_err = 0.0, 0.0, FLT_MAX
    for pass_ in range(max_passes):
        pu, pv, valid, J = project_internal(cam, x, y, True)
        if valid == 0:
            return x, y, 0
        err_x = u - pu
        err_y = v - pv
        err = err_x * err_x + err_y * err_y
        if err >= best_err:
            x, y = best_x, best_y
            break
        best_err, best_x, best_y = err, x, y
        det = J[0] * J[3] - J[1] * J[2]
        inv_det = 1.0 / det
        Jinv = [inv_det * J[3], -inv_det * J[1], -inv_det * J[2], inv_det * J[0]]
        if pass_ + 1 == max_passes or best_err < 1e-22:
            break
        x += Jinv[0] * err_x + Jinv[1] * err_y
        y += Jinv[2] * err_x + Jinv[3] * err_y
    return x, y, 0 if best_err > 1e-6 else 1


def unproject_internal(cam: CameraModel, u: float, v: float):
    """transformation_unproject_internal: initial guess, then the iteration. Returns (x, y, valid)."""
    k1, k2, k3, k4, k5, k6 = cam.k
    xp_d = (u - cam.cx) / cam.fx - cam.codx
    yp_d = (v - cam.cy) / cam.fy - cam.cody
    rs = xp_d * xp_d + yp_d * yp_d
    rss = rs * rs
    rsc = rss * rs
    a = 1.0 + k1 * rs + k2 * rss + k3 * rsc
    b = 1.0 + k4 * rs + k5 * rss + k6 * rsc
    ai = 1.0 / a if a != 0.0 else 1.0
    di = ai * b
    x = xp_d * di
    y = yp_d * di
    two_xy = 2.0 * x * y
    xx = x * x
    yy = y * y
    x -= (yy + 3.0 * xx) * cam.p2 + two_xy * cam.p1
    y -= (xx + 3.0 * yy) * cam.p1 + two_xy * cam.p2
    x += cam.codx
    y += cam.cody
    return iterative_unproject(cam, u, v, x, y)


class Correspondence:
    __slots__ = ("x", "y", "depth", "valid")

    def __init__(self, x=0.0, y=0.0, depth=0.0, valid=0):
        self.x, self.y, self.depth, self.valid = x, y, depth, valid


def compute_correspondence(cal: KinectCalibration, R, t, xy_table, row: int, col: int, depth: int) -> Correspondence:
    """transformation_compute_correspondence for one depth pixel."""
    xt, yt = xy_table[row][col]
    if depth == 0 or math.isnan(xt):
        return Correspondence()
    z = float(depth)
    p = (xt * z, yt * z, z)
    c = [R[i][0] * p[0] + R[i][1] * p[1] + R[i][2] * p[2] + t[i] for i in range(3)]
    out = Correspondence(depth=c[2])
    if c[2] <= 0.0:
        return out
    u, v, valid, _ = project_internal(cal.color, c[0] / c[2], c[1] / c[2], False)
    out.x, out.y, out.valid = u, v, valid
    return out


def _mid(a: Correspondence, b: Correspondence) -> Correspondence:
    return Correspondence((a.x + b.x) * 0.5, (a.y + b.y) * 0.5, (a.depth + b.depth) * 0.5, a.valid & b.valid)


def check_valid_correspondences(tl, tr, br, bl):
    """transformation_check_valid_correspondences: returns (valid, vtl, vtr, vbr, vbl)."""
    vtl, vtr, vbr, vbl = tl, tr, br, bl
    num_invalid = 0
    if tl.valid == 0:
        num_invalid += 1
        vtl = _mid(tr, bl)
    if tr.valid == 0:
        num_invalid += 1
        vtr = br
        vbr = _mid(br, bl)
    if br.valid == 0:
        num_invalid += 1
        vbr = _mid(tr, bl)
    if bl.valid == 0:
        num_invalid += 1
        vbl = br
        vbr = _mid(tr, br)
    valid = num_invalid < 2
    ds = (vtl.depth, vtr.depth, vbr.depth, vbl.depth)
    if max(ds) - min(ds) > 0.04693441759 * min(ds):
        valid = False
    return valid, vtl, vtr, vbr, vbl


def area(a, b, px, py):
    """transformation_area_function with c = (px, py)."""
    return (py - a.y) * (b.x - a.x) - (px - a.x) * (b.y - a.y)


def point_inside_quad(vtl, vtr, vbr, vbl, px, py):
    """transformation_point_inside_quad + _triangle: returns the depth or None."""
    area_intermediate = area(vtl, vbr, px, py)
    ccw = area_intermediate >= 0.0
    mid = vbl if ccw else vtr
    area_tl = area(mid, vtl, px, py)
    area_br = area(vbr, mid, px, py)
    if not ccw:
        area_tl, area_br, area_intermediate = -area_tl, -area_br, -area_intermediate
    if area_tl >= 0.0 and area_br > 0.0:
        s = area_tl + area_intermediate + area_br
        s = 1.0 / s if s != 0.0 else 0.0
        return (area_tl * vbr.depth + area_intermediate * mid.depth + area_br * vtl.depth) * s
    return None


def depth_to_color(cal: KinectCalibration, depth: np.ndarray, window: tuple[int, int, int, int] | None = None):
    """transformation_depth_to_color: uint16 [Hd, Wd] -> uint16 [Hc, Wc].

    ``window`` (row0, row1, col0, col1) restricts the loops to depth pixels inside it (pass the
    support of ``depth`` plus one pixel to get the same result as the whole image, faster).
    """
    Hc, Wc = cal.color.height, cal.color.width
    Hd, Wd = depth.shape
    r0, r1, c0, c1 = window or (0, Hd, 0, Wd)
    R, t = cal.depth_to_color
    R, t = R.tolist(), t.tolist()
    table = {}
    for r in range(r0, r1):
        for c in range(c0, c1):
            x, y, valid = unproject_internal(cal.depth, float(c), float(r))
            table[(r, c)] = (x, y) if valid else (math.nan, 0.0)
    xy_table = _Table(table)
    depth_list = depth.tolist()
    out = [[0] * Wc for _ in range(Hc)]
    vertex_row = [compute_correspondence(cal, R, t, xy_table, r0, c, depth_list[r0][c]) for c in range(c0, c1)]
    for r in range(r0 + 1, r1):
        top_left = vertex_row[0]
        bottom_left = compute_correspondence(cal, R, t, xy_table, r, c0, depth_list[r][c0])
        vertex_row[0] = bottom_left
        for j, c in enumerate(range(c0 + 1, c1), start=1):
            top_right = vertex_row[j]
            bottom_right = compute_correspondence(cal, R, t, xy_table, r, c, depth_list[r][c])
            ok, vtl, vtr, vbr, vbl = check_valid_correspondences(top_left, top_right, bottom_right, bottom_left)
            if ok:
                _draw(out, vtl, vtr, vbr, vbl, Wc, Hc)
            vertex_row[j] = bottom_right
            top_left = top_right
            bottom_left = bottom_right
    return np.array(out, dtype=np.uint16)


class _Table:
    def __init__(self, d):
        self.d = d

    def __getitem__(self, r):
        return _Row(self.d, r)


class _Row:
    def __init__(self, d, r):
        self.d, self.r = d, r

    def __getitem__(self, c):
        return self.d[(self.r, c)]


def _draw(out, vtl, vtr, vbr, vbl, W, H):
    """transformation_compute_bounding_box + transformation_draw_rectangle."""
    xs = (vtl.x, vtr.x, vbr.x, vbl.x)
    ys = (vtl.y, vtr.y, vbr.y, vbl.y)
    x0, y0 = max(math.ceil(min(xs)), 0), max(math.ceil(min(ys)), 0)
    x1, y1 = min(math.ceil(max(xs)), W), min(math.ceil(max(ys)), H)
    for y in range(y0, y1):
        row = out[y]
        for x in range(x0, x1):
            d = point_inside_quad(vtl, vtr, vbr, vbl, float(x), float(y))
            if d is None:
                continue
            value = int(d + 0.5)
            if row[x] == 0 or value < row[x]:
                row[x] = value
