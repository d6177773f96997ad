"""Small rigid-transform helpers and trajectory error (pure numpy)."""

from __future__ import annotations

import math

import numpy as np

from devices.frame import check_shape


def rotation_angle(T: np.ndarray) -> float:
    """Rotation angle in degrees of the rotation block of ``T`` [4, 4] (or [3, 3])."""
    R = np.asarray(T, dtype=np.float64)[:3, :3]
    c = (np.trace(R) - 1.0) / 2.0
    return math.degrees(math.acos(float(np.clip(c, -1.0, 1.0))))


def rigid_inverse(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid transform [4, 4] (rotation transposed, translation rotated back)."""
    T = np.asarray(T, dtype=np.float64)
    out = np.eye(4)
    out[:3, :3] = T[:3, :3].T
    out[:3, 3] = -T[:3, :3].T @ T[:3, 3]
    return out


def umeyama_alignment(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The rigid transform (rotation and translation, no scale) that best maps ``src`` onto ``dst``.

    Least squares over point pairs (Umeyama 1991 with the scale fixed to 1; Horn's method).

    Args:
        src: float [N, 3] points, N >= 1 (N >= 3 non-collinear for a unique rotation).
        dst: float [N, 3] corresponding points.

    Returns:
        float64 [4, 4] T with ``dst ~= T[:3, :3] @ src + T[:3, 3]``; a proper rotation (det +1).
    """
    src, dst = np.asarray(src, dtype=np.float64), np.asarray(dst, dtype=np.float64)
    check_shape("src", src, (None, 3))
    check_shape("dst", dst, (src.shape[0], 3))
    if src.shape[0] == 0:
        raise ValueError("umeyama_alignment needs at least one point pair")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    cov = (dst - mu_d).T @ (src - mu_s) / src.shape[0]
    U, _, Vt = np.linalg.svd(cov)
    S = np.eye(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        S[2, 2] = -1.0  # reflection -> nearest proper rotation
    T = np.eye(4)
    T[:3, :3] = U @ S @ Vt
    T[:3, 3] = mu_d - T[:3, :3] @ mu_s
    return T


def absolute_trajectory_error(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-frame camera-centre error after rigidly aligning ``estimate`` onto ``truth``.

    Args:
        estimate: float [N, 4, 4] estimated camera-to-world poses.
        truth: float [N, 4, 4] ground-truth camera-to-world poses (any world frame).

    Returns:
        float64 [N] distances (in the poses' units); ATE RMSE is ``sqrt(mean(err**2))``.
    """
    estimate, truth = np.asarray(estimate, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    check_shape("estimate", estimate, (None, 4, 4))
    check_shape("truth", truth, (estimate.shape[0], 4, 4))
    p_est, p_gt = estimate[:, :3, 3], truth[:, :3, 3]
    T = umeyama_alignment(p_est, p_gt)
    aligned = p_est @ T[:3, :3].T + T[:3, 3]
    return np.linalg.norm(aligned - p_gt, axis=1)


def hand_eye_trajectory_error(estimate: np.ndarray, truth: np.ndarray, iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Camera-centre error after a rigid world alignment AND a fixed offset on the camera side.

    ``absolute_trajectory_error`` cannot absorb a constant offset between the estimated camera and
    the camera the truth describes (a rig's other sensor, a tracker's body frame): its lever arm turns
    with the camera. Here the estimate's centres are taken at ``c2w_i @ [x, 1]`` for one unknown
    camera-side point x, found jointly with the world alignment (Gauss-Newton from Horn's alignment;
    3 more parameters than the rigid ATE).

    Args:
        estimate, truth: float [N, 4, 4] camera-to-world poses (N >= 3, rotations varied enough).

    Returns:
        (float64 [N] distances after the alignment, float64 [3] the offset x in the estimate's camera).
    """
    estimate, truth = np.asarray(estimate, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    check_shape("estimate", estimate, (None, 4, 4))
    check_shape("truth", truth, (estimate.shape[0], 4, 4))
    R, t, g = estimate[:, :3, :3], estimate[:, :3, 3], truth[:, :3, 3]
    x = np.zeros(3)
    T = umeyama_alignment(t, g)
    RA, tA = T[:3, :3], T[:3, 3]
    n = len(g)
    for _ in range(iterations):  # Gauss-Newton on (world rotation increment, world shift, x)
        p = t + R @ x
        q = p @ RA.T
        r = (q + tA - g).reshape(-1)
        J = np.zeros((n, 3, 9))
        J[:, :, :3] = -_skew(q)  # d(exp(w) R_A p)/dw at 0 = -[R_A p]x
        J[:, :, 3:6] = np.eye(3)
        J[:, :, 6:] = RA @ R
        step = np.linalg.lstsq(J.reshape(-1, 9), -r, rcond=None)[0]
        RA = _exp_so3(step[:3]) @ RA
        tA, x = tA + step[3:6], x + step[6:]
        if np.linalg.norm(step) < 1e-12:
            break
    c = t + R @ x
    return np.linalg.norm(c @ RA.T + tA - g, axis=1), x


def _skew(v: np.ndarray) -> np.ndarray:
    """float [..., 3] -> [..., 3, 3] cross-product matrices."""
    out = np.zeros(v.shape[:-1] + (3, 3))
    out[..., 0, 1], out[..., 0, 2], out[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    out[..., 1, 0], out[..., 2, 0], out[..., 2, 1] = v[..., 2], -v[..., 1], v[..., 0]
    return out


def _exp_so3(w: np.ndarray) -> np.ndarray:
    """Rotation [3, 3] of the rotation vector w [3] (Rodrigues)."""
    angle = float(np.linalg.norm(w))
    if angle < 1e-15:
        return np.eye(3) + _skew(w)
    k = _skew(w / angle)
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k
