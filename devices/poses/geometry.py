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
