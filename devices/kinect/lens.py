"""The Azure Kinect lens model, vectorised: projection, iterative unprojection, the depth camera's ray table.

A float32 transcription of the SDK's ``src/transformation/intrinsic_transformation.c`` (same
operations in the same order, so results agree with the SDK to float32 rounding), applied to whole
arrays instead of one point at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.kinect.calibration import RATIONAL_6KT, CameraModel

f32 = np.float32


@dataclass(frozen=True)
class Projection:
    """Distorted pixel coordinates of normalised points; all arrays share the input's shape."""

    u: np.ndarray
    """float32 pixel x."""
    v: np.ndarray
    """float32 pixel y."""
    valid: np.ndarray
    """bool: inside the model's metric radius."""


def _safe_reciprocal(a: np.ndarray) -> np.ndarray:
    """1 / a, and 1 where a == 0 (the SDK's guard against a vanishing rational denominator)."""
    if a.all():
        return f32(1) / a
    return np.where(a != 0, f32(1) / np.where(a != 0, a, f32(1)), f32(1)).astype(f32)


def _params(cam: CameraModel) -> tuple[np.float32, ...]:
    k1, k2, k3, k4, k5, k6 = (f32(k) for k in cam.k)
    return (f32(cam.cx), f32(cam.cy), f32(cam.fx), f32(cam.fy), k1, k2, k3, k4, k5, k6,
            f32(cam.codx), f32(cam.cody), f32(cam.p1), f32(cam.p2))


def project_normalized(cam: CameraModel, x: np.ndarray, y: np.ndarray, *, jacobian: bool = False):
    """Distort and scale normalised points (x = X/Z, y = Y/Z) to pixels.

    Args:
        cam: a pixel (mode-specific) camera.
        x, y: float32 [...] normalised coordinates.
        jacobian: also return d(u, v)/d(x, y) as four float32 [...] arrays (J00, J01, J10, J11).

    Returns:
        Projection (and the Jacobian tuple when asked). Points beyond the metric radius are invalid
        (their u, v are still computed but mean nothing).
    """
    cx, cy, fx, fy, k1, k2, k3, k4, k5, k6, codx, cody, p1, p2 = _params(cam)
    xp = np.asarray(x, dtype=f32) - codx
    yp = np.asarray(y, dtype=f32) - cody
    xp2, yp2, xyp = xp * xp, yp * yp, xp * yp
    rs = xp2 + yp2
    valid = ~(rs > f32(cam.metric_radius) * f32(cam.metric_radius))
    rss = rs * rs
    rsc = rss * rs
    a = f32(1) + k1 * rs + k2 * rss + k3 * rsc
    b = f32(1) + k4 * rs + k5 * rss + k6 * rsc
    bi = _safe_reciprocal(b)
    d = a * bi
    two = f32(1) if cam.model == RATIONAL_6KT else f32(2)  # 6KT lacks the factor 2 on the xy term
    rs_2xp2 = rs + f32(2) * xp2
    rs_2yp2 = rs + f32(2) * yp2
    xp_d = xp * d + (rs_2xp2 * p2 + two * xyp * p1)
    yp_d = yp * d + (rs_2yp2 * p1 + two * xyp * p2)
    proj = Projection(u=(xp_d + codx) * fx + cx, v=(yp_d + cody) * fy + cy, valid=valid)
    if not jacobian:
        return proj
    dudrs = k1 + f32(2) * k2 * rs + f32(3) * k3 * rss
    dvdrs = k4 + f32(2) * k5 * rs + f32(3) * k6 * rss
    dddrs_2 = (dudrs * b - a * dvdrs) * (bi * bi) * f32(2)
    yx = yp * (xp * dddrs_2)
    J = (
        fx * (d + xp * (xp * dddrs_2) + f32(6) * xp * p2 + two * yp * p1),
        fx * (yx + f32(2) * yp * p2 + two * xp * p1),
        fy * (yx + f32(2) * xp * p1 + two * yp * p2),
        fy * (d + yp * yp * dddrs_2 + f32(6) * yp * p1 + two * xp * p2),
    )
    return proj, J


def _initial_guess(cam: CameraModel, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form radial inverse plus an approximate tangential correction (the SDK's start point)."""
    cx, cy, fx, fy, k1, k2, k3, k4, k5, k6, codx, cody, p1, p2 = _params(cam)
    xp_d = (u - cx) / fx - codx
    yp_d = (v - cy) / fy - cody
    rs = xp_d * xp_d + yp_d * yp_d
    rss = rs * rs
    rsc = rss * rs
    a = f32(1) + k1 * rs + k2 * rss + k3 * rsc
    b = f32(1) + k4 * rs + k5 * rss + k6 * rsc
    ai = _safe_reciprocal(a)
    x = xp_d * (ai * b)
    y = yp_d * (ai * b)
    two_xy = f32(2) * x * y
    xx, yy = x * x, y * y
    x = x - ((yy + f32(3) * xx) * p2 + two_xy * p1)
    y = y - ((xx + f32(3) * yy) * p1 + two_xy * p2)
    return x + codx, y + cody


def unproject_pixels(cam: CameraModel, u: np.ndarray, v: np.ndarray, max_passes: int = 20):
    """Undistort pixels to normalised (x, y) by the SDK's Gauss-Newton iteration.

    Each point stops on its own, as in the SDK: when the error stops decreasing (keeping the best
    estimate), below 1e-22, or after ``max_passes``; it is invalid when it leaves the metric radius
    or ends with a squared pixel error above 1e-6.

    Args:
        u, v: float32 [N] pixel coordinates (0 = centre of the first pixel).

    Returns:
        (x float32 [N], y float32 [N], valid bool [N]).
    """
    u = np.asarray(u, dtype=f32)
    v = np.asarray(v, dtype=f32)
    x, y = _initial_guess(cam, u, v)
    n = u.shape
    best_x, best_y = np.zeros(n, f32), np.zeros(n, f32)
    best_err = np.full(n, np.finfo(np.float32).max, f32)
    active = np.ones(n, bool)
    valid = np.ones(n, bool)
    out_of_radius = np.zeros(n, bool)
    for it in range(max_passes):
        proj, (j00, j01, j10, j11) = project_normalized(cam, x, y, jacobian=True)
        gone = active & ~proj.valid
        out_of_radius |= gone
        active &= proj.valid
        ex, ey = u - proj.u, v - proj.v
        err = ex * ex + ey * ey
        worse = active & (err >= best_err)
        x = np.where(worse, best_x, x)
        y = np.where(worse, best_y, y)
        active &= ~worse
        best_err = np.where(active, err, best_err)
        best_x = np.where(active, x, best_x)
        best_y = np.where(active, y, best_y)
        active &= ~((it + 1 == max_passes) | (best_err < f32(1e-22)))
        inv_det = f32(1) / (j00 * j11 - j01 * j10)
        dx = (inv_det * j11) * ex + (-inv_det * j01) * ey
        dy = (-inv_det * j10) * ex + (inv_det * j00) * ey
        x = np.where(active, x + dx, x)
        y = np.where(active, y + dy, y)
        if not active.any():
            break
    valid &= ~out_of_radius & ~(best_err > f32(1e-6))
    return x, y, valid


def ray_table(cam: CameraModel) -> tuple[np.ndarray, np.ndarray]:
    """The SDK's xy table: normalised (x, y) of every pixel, NaN in x where unprojection is invalid.

    Returns:
        (x float32 [H, W], y float32 [H, W]); the 3D point of depth d at pixel (r, c) is
        (x[r, c] * d, y[r, c] * d, d).
    """
    vv, uu = np.mgrid[0 : cam.height, 0 : cam.width].astype(f32)
    x, y, valid = unproject_pixels(cam, uu.ravel(), vv.ravel())
    x = np.where(valid, x, np.nan).astype(f32).reshape(cam.height, cam.width)
    y = np.where(valid, y, f32(0)).astype(f32).reshape(cam.height, cam.width)
    return x, y
