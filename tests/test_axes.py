"""OpenCV <-> OpenGL camera axes, checked on cameras worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from devices.axes import is_rigid, matrix_to_quat, opencv_to_opengl, opengl_to_opencv, quat_to_matrix

# A camera at (0, 0, 5) looking at the origin, world y up in the image.
# OpenCV: x right = +x, y down = -y, z forward = -z.
CV = np.array([[1.0, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 5], [0, 0, 0, 1]])
# OpenGL: x right = +x, y up = +y, looking down its -z, so its z axis is +z: the identity rotation.
GL = np.array([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 5], [0, 0, 0, 1]])
K = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])


def project_cv(c2w: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Pixel (u, v) of a world point seen by an OpenCV camera."""
    w2c = np.linalg.inv(c2w)
    cam = w2c[:3, :3] @ point + w2c[:3, 3]
    assert cam[2] > 0, "point behind the camera"
    uv = K @ (cam / cam[2])
    return uv[:2]


class TestOpenCVToOpenGL:
    def test_known_camera(self):
        np.testing.assert_allclose(opencv_to_opengl(CV), GL)
        np.testing.assert_allclose(opengl_to_opencv(GL), CV)

    def test_axes_in_world(self):
        # OpenCV looks along its +z; OpenGL along its -z: both are world (0, 0, -1) for this camera.
        np.testing.assert_allclose(CV[:3, 2], [0, 0, -1])
        np.testing.assert_allclose(-GL[:3, 2], [0, 0, -1])
        # Same centre, same right axis.
        np.testing.assert_allclose(CV[:3, 3], GL[:3, 3])
        np.testing.assert_allclose(CV[:3, 0], GL[:3, 0])

    def test_projection(self):
        # The origin is straight ahead: the principal point.
        np.testing.assert_allclose(project_cv(CV, np.zeros(3)), [50, 40])
        # World +x is to the right (u grows), world +y is up in the image (v shrinks): f * 1 / 5 = 20 px.
        np.testing.assert_allclose(project_cv(CV, np.array([1.0, 0, 0])), [70, 40])
        np.testing.assert_allclose(project_cv(CV, np.array([0, 1.0, 0])), [50, 20])
        # The OpenGL pose, converted back, projects the same.
        np.testing.assert_allclose(project_cv(opengl_to_opencv(GL), np.array([1.0, 1, 0])), [70, 20])

    def test_round_trip_and_batch(self):
        rng = np.random.default_rng(0)
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        q *= np.sign(np.linalg.det(q))
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = q, rng.normal(size=3)
        batch = np.stack([m, CV])
        np.testing.assert_allclose(opengl_to_opencv(opencv_to_opengl(batch)), batch)
        np.testing.assert_allclose(opencv_to_opengl(batch)[1], GL)


class TestIsRigid:
    def test_rigid(self):
        assert is_rigid(CV) and is_rigid(GL)

    @pytest.mark.parametrize(
        "change",
        [
            lambda m: m.__setitem__((0, 3), np.nan),
            lambda m: m.__setitem__((0, 0), 2.0),  # scaled
            lambda m: m.__setitem__((slice(None), 0), -m[:, 0]),  # reflection: det -1
            lambda m: m.__setitem__((3, 0), 1.0),  # bad last row
        ],
    )
    def test_not_rigid(self, change):
        m = CV.copy()
        change(m)
        assert not is_rigid(m)


class TestQuaternions:
    def test_quarter_turn_about_z(self):
        s = np.sqrt(0.5)
        r = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])  # x -> y
        np.testing.assert_allclose(quat_to_matrix([0, 0, s, s]), r, atol=1e-15)
        np.testing.assert_allclose(matrix_to_quat(r), [0, 0, s, s], atol=1e-15)

    @pytest.mark.parametrize("axis", [0, 1, 2])
    def test_half_turns_take_the_diagonal_branch(self, axis):
        r = -np.eye(3)
        r[axis, axis] = 1.0  # 180 degrees about ``axis``: trace -1
        q = matrix_to_quat(r)
        np.testing.assert_allclose(np.abs(q), np.eye(4)[axis], atol=1e-15)
        np.testing.assert_allclose(quat_to_matrix(q), r, atol=1e-15)

    def test_round_trip_on_random_rotations(self):
        rng = np.random.default_rng(0)
        for _ in range(50):
            q = rng.normal(size=4)
            q /= np.linalg.norm(q)
            back = matrix_to_quat(quat_to_matrix(q))
            np.testing.assert_allclose(back * np.sign(back @ q), q, atol=1e-12)  # q and -q are one rotation
