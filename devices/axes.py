"""Camera axis conventions. Internally every pose is OpenCV camera-to-world (x right, y down, z forward).

OpenGL / nerfstudio / ARKit cameras use x right, y up, looking down -z. The two differ by a flip of
the camera's y and z axes, which is its own inverse.
"""

from __future__ import annotations

import numpy as np

# Right-multiplying a camera-to-world matrix by this flips the camera's y and z axes.
_FLIP_YZ = np.diag([1.0, -1.0, -1.0, 1.0])


def opencv_to_opengl(c2w: np.ndarray) -> np.ndarray:
    """Camera-to-world [..., 4, 4] from OpenCV axes to OpenGL axes (same camera, same world)."""
    return np.asarray(c2w, dtype=np.float64) @ _FLIP_YZ


def opengl_to_opencv(c2w: np.ndarray) -> np.ndarray:
    """Camera-to-world [..., 4, 4] from OpenGL axes to OpenCV axes (same camera, same world)."""
    return np.asarray(c2w, dtype=np.float64) @ _FLIP_YZ


def is_rigid(c2w: np.ndarray, tol: float = 1e-3) -> bool:
    """True when ``c2w`` [4, 4] is finite, has a rotation block with det +1, and a [0 0 0 1] last row."""
    m = np.asarray(c2w, dtype=np.float64)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        return False
    r = m[:3, :3]
    return (
        np.allclose(r @ r.T, np.eye(3), atol=tol)
        and abs(np.linalg.det(r) - 1.0) < tol
        and np.allclose(m[3], [0, 0, 0, 1], atol=tol)
    )


def matrix_to_quat(r: np.ndarray) -> np.ndarray:
    """Unit quaternion in (qx, qy, qz, qw) order of a rotation matrix (Shepperd's method); the inverse of
    ``quat_to_matrix`` up to the quaternion's sign.

    Args:
        r: float [3, 3] rotation.
    Returns:
        float64 [4].
    """
    m = np.asarray(r, dtype=np.float64)
    tr = np.trace(m)
    if tr > 0:
        s = 2 * np.sqrt(tr + 1)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    else:  # the largest diagonal element keeps the square root away from 0
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2 * np.sqrt(1 + m[i, i] - m[j, j] - m[k, k])
        q = [0.0] * 4
        q[3] = (m[k, j] - m[j, k]) / s
        q[i] = 0.25 * s
        q[j] = (m[j, i] + m[i, j]) / s
        q[k] = (m[k, i] + m[i, k]) / s
    q = np.asarray(q)
    return q / np.linalg.norm(q)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a quaternion in (qx, qy, qz, qw) order (normalised here).

    Args:
        q: float [4].
    Returns:
        float64 [3, 3].
    """
    x, y, z, w = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
