"""The preview camera's orbit / pan / dolly and view choice, with values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from app.studio import camera_math as cm

UP = np.array([0.0, 0.0, 1.0])


def look_at(pos, target=(0.0, 0.0, 0.0)) -> np.ndarray:
    """OpenCV c2w: z towards the target, y down (= -UP), x = y cross z."""
    pos = np.asarray(pos, float)
    z = np.asarray(target, float) - pos
    z /= np.linalg.norm(z)
    y = -UP - np.dot(-UP, z) * z
    y /= np.linalg.norm(y)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = np.cross(y, z), y, z, pos
    return m


def test_axis_rotation_quarter_turn_about_z_takes_x_to_y():
    np.testing.assert_allclose(cm.axis_rotation(UP, np.pi / 2) @ [1.0, 0, 0], [0, 1.0, 0], atol=1e-12)


def test_look_at_helper_matches_the_hand_worked_camera():
    # camera at (2, 0, 0) looking at the origin: z = (-1, 0, 0), y = (0, 0, -1), x = y x z = (0, 1, 0)
    np.testing.assert_allclose(look_at([2, 0, 0])[:3, :3], [[0, 0, -1], [1, 0, 0], [0, -1, 0]], atol=1e-12)


def test_orbit_quarter_yaw_moves_the_camera_round_the_target_still_looking_at_it():
    out = cm.orbit(look_at([2, 0, 0]), np.zeros(3), UP, yaw=np.pi / 2, pitch=0.0)
    np.testing.assert_allclose(out[:3, 3], [0, 2, 0], atol=1e-12)
    np.testing.assert_allclose(out[:3, 2], [0, -1, 0], atol=1e-12)  # still facing the origin
    np.testing.assert_allclose(out[:3, :3] @ out[:3, :3].T, np.eye(3), atol=1e-12)


def test_orbit_pitch_keeps_the_distance_to_the_target():
    target = np.array([0.5, -0.2, 0.1])
    out = cm.orbit(look_at([2, 1, 1], target), target, UP, yaw=0.3, pitch=-0.4)
    assert np.linalg.norm(out[:3, 3] - target) == pytest.approx(np.linalg.norm([1.5, 1.2, 0.9]))


def test_pan_moves_camera_and_target_together_along_the_camera_axes():
    c2w = look_at([2, 0, 0])
    out, target = cm.pan(c2w, np.zeros(3), dx=0.5, dy=0.25)
    # x axis (0, 1, 0) * 0.5 + y axis (0, 0, -1) * 0.25
    np.testing.assert_allclose(out[:3, 3], [2, 0.5, -0.25], atol=1e-12)
    np.testing.assert_allclose(target, [0, 0.5, -0.25], atol=1e-12)
    np.testing.assert_allclose(out[:3, :3], c2w[:3, :3])


def test_dolly_halves_the_distance():
    np.testing.assert_allclose(cm.dolly(look_at([2, 0, 0]), np.zeros(3), 0.5)[:3, 3], [1, 0, 0], atol=1e-12)


def test_nearest_view_picks_the_closest_pose():
    views = np.stack([look_at([2, 0, 0]), look_at([0, 2, 0]), look_at([-2, 0, 0])])
    assert cm.nearest_view(look_at([1.8, 0.3, 0.0]), views) == 0
    assert cm.nearest_view(views[2], views) == 2
