"""devices.camera_geometry: one test class per function, values worked out by hand, and each function
against the copy it replaced (nerf.paths, nerf.trainer, the studio's camera_math, the virtual sensor)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from devices.axes import is_rigid
from devices.camera_geometry import (
    WORLD_UP,
    average_pose,
    look_at,
    lookat_centre,
    lookat_centre_ahead,
    mean_up,
)

DTU = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "dtu_scan24"


def _ring(n: int = 5, radius: float = 2.0, target=(0.0, 0.0, 0.0), height: float = 0.6) -> np.ndarray:
    """n cameras on an arc around ``target`` (world z up), above it, looking at it. [n, 4, 4]."""
    target = np.asarray(target, float)
    angles = np.linspace(-0.8, 0.8, n)
    return np.stack([look_at(target + np.array([radius * np.sin(a), -radius * np.cos(a), height]), target)
                     for a in angles])


# The implementations this module replaced, kept verbatim as references.
def _old_virtual_look_at(eye, target, roll_rad=0.0):
    forward = np.asarray(target, dtype=np.float64) - np.asarray(eye, dtype=np.float64)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, WORLD_UP)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    right, down = c * right + s * down, -s * right + c * down
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, down, forward, eye
    return c2w


def _old_nerf_look_at(position, target, down):
    def unit(v):
        return np.asarray(v, np.float64) / np.linalg.norm(v)

    z = unit(target - position)
    x = unit(np.cross(down, z))
    out = np.eye(4)
    out[:3, 0], out[:3, 1], out[:3, 2], out[:3, 3] = x, np.cross(z, x), z, position
    return out


def _old_paths_lookat_centre(c2w):
    a, b = np.zeros((3, 3)), np.zeros(3)
    for m in c2w:
        d = m[:3, 2] / np.linalg.norm(m[:3, 2])
        proj = np.eye(3) - np.outer(d, d)
        a += proj
        b += proj @ m[:3, 3]
    return np.linalg.lstsq(a, b, rcond=None)[0]


class TestLookAt:
    def test_horizontal_camera(self):
        # From (0, -2, 1) looking at (0, 0, 1): forward +y, right +x, down -z (world z up).
        c2w = look_at(np.array([0.0, -2, 1]), np.array([0.0, 0, 1]))
        np.testing.assert_allclose(c2w[:3, :3], [[1, 0, 0], [0, 0, 1], [0, -1, 0]], atol=1e-12)
        np.testing.assert_allclose(c2w[:3, 3], [0, -2, 1])
        assert is_rigid(c2w)

    def test_roll(self):
        # A quarter turn of roll: the camera's x axis becomes the old down axis.
        c2w = look_at(np.array([0.0, -2, 1]), np.array([0.0, 0, 1]), roll_rad=np.pi / 2)
        np.testing.assert_allclose(c2w[:3, 0], [0, 0, -1], atol=1e-12)
        np.testing.assert_allclose(c2w[:3, 2], [0, 1, 0], atol=1e-12)
        assert is_rigid(c2w)

    def test_another_up(self):
        # World y down (OpenCV-like world): up = -y. From (0, 0, -2) looking at the origin: z = +z, y = +y.
        c2w = look_at(np.array([0.0, 0, -2]), np.zeros(3), up=np.array([0.0, -1, 0]))
        np.testing.assert_allclose(c2w[:3, :3], np.eye(3), atol=1e-12)

    def test_looking_along_up_is_refused(self):
        with pytest.raises(ValueError, match="straight up or down"):
            look_at(np.array([0.0, 0, 5]), np.zeros(3))
        with pytest.raises(ValueError, match="at its target"):
            look_at(np.ones(3), np.ones(3))

    def test_same_numbers_as_the_virtual_sensors_copy(self):
        rng = np.random.default_rng(0)
        for _ in range(20):
            eye, target, roll = rng.normal(size=3), rng.normal(size=3), rng.uniform(-0.3, 0.3)
            np.testing.assert_array_equal(look_at(eye, target, WORLD_UP, roll), _old_virtual_look_at(eye, target, roll))

    def test_same_numbers_as_the_video_paths_copy(self):
        # nerf.paths took the camera's "down" hint; the shared function takes up = -down.
        rng = np.random.default_rng(1)
        for _ in range(20):
            eye, target, down = rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)
            np.testing.assert_array_equal(look_at(eye, target, -down), _old_nerf_look_at(eye, target, down))


class TestMeanUp:
    def test_upright_cameras(self):
        c2w = np.stack([np.eye(4)] * 2)
        c2w[1, :3, :3] = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]  # turned about y, still upright
        np.testing.assert_allclose(mean_up(c2w), [0.0, -1.0, 0.0])  # OpenCV y points down: up is -y

    def test_ring_looking_down_gives_world_up_tilted_towards_the_views(self):
        up = mean_up(_ring())
        assert abs(np.linalg.norm(up) - 1) < 1e-12 and up[2] > 0.9

    def test_cancelling_cameras_fall_back_to_world_up(self):
        c2w = np.stack([np.eye(4), np.diag([-1.0, -1.0, 1.0, 1.0])])  # the second one upside down
        np.testing.assert_array_equal(mean_up(c2w), WORLD_UP)

    def test_same_direction_as_the_studios_copy(self):
        c2w = _ring(7)
        old = -c2w[:, :3, 1].mean(0)
        np.testing.assert_allclose(mean_up(c2w), old / np.linalg.norm(old), atol=1e-15)


class TestLookatCentre:
    def test_recovers_the_target(self):
        np.testing.assert_allclose(lookat_centre(_ring(5, target=(0.1, 0.2, 3.0))), [0.1, 0.2, 3.0], atol=1e-9)

    def test_two_crossing_axes(self):
        # Camera at (2, 0, 0) looking along -x and at (0, 3, 1) looking along -y: closest point (0, 0, 0.5).
        a = look_at(np.array([2.0, 0, 0]), np.zeros(3))
        b = look_at(np.array([0.0, 3, 1]), np.array([0.0, 0, 1]))
        np.testing.assert_allclose(lookat_centre(np.stack([a, b])), [0, 0, 0.5], atol=1e-12)

    def test_scaled_rotations_give_the_same_point(self):
        c2w = _ring(4, target=(0.5, -0.5, 1.0))
        scaled = c2w.copy()
        scaled[:, :3, :3] *= np.array([1.003, 0.998, 1.01, 0.99])[:, None, None]
        np.testing.assert_allclose(lookat_centre(scaled), [0.5, -0.5, 1.0], atol=1e-9)

    def test_same_numbers_as_the_video_paths_copy(self):
        c2w = _ring(6, target=(0.3, 0.1, 0.7))
        c2w[:, :3, 3] += np.random.default_rng(2).normal(scale=0.05, size=(6, 3))  # axes no longer meet
        np.testing.assert_allclose(lookat_centre(c2w), _old_paths_lookat_centre(c2w), rtol=0, atol=1e-13)

    @pytest.mark.skipif(not (DTU / "cameras.npz").is_file(), reason="../shared/data/dtu_scan24 is absent")
    def test_same_numbers_as_the_trainers_copy_on_dtu_scan24(self):
        from nerf.loaders import load_scene

        scene = load_scene(DTU, split="3view")
        c2w = scene.c2w[scene.train_ids]
        a, b = np.zeros((3, 3)), np.zeros(3)  # the trainer's scene_centre (nerf.trainer, then nerf.smoothness), verbatim
        for m in c2w:
            o, d = m[:3, 3], m[:3, 2]
            p = np.eye(3) - np.outer(d, d)
            a, b = a + p, b + p @ o
        old = np.linalg.lstsq(a, b, rcond=None)[0]
        np.testing.assert_allclose(lookat_centre(c2w), old, rtol=0, atol=1e-14)
        # The trainer's smoothness term uses it through float32 rays: identical there.
        np.testing.assert_array_equal(lookat_centre(c2w).astype(np.float32), old.astype(np.float32))


class TestLookatCentreAhead:
    def test_two_cameras_facing_the_origin(self):
        c2w = np.stack([look_at(np.array([2.0, 0, 0]), np.zeros(3)), look_at(np.array([0.0, 3, 0]), np.zeros(3))])
        np.testing.assert_allclose(lookat_centre_ahead(c2w), [0, 0, 0], atol=1e-9)

    def test_parallel_cameras_have_none(self):
        c2w = np.stack([look_at(np.zeros(3), np.array([0.0, 5, 0])), look_at(np.array([1.0, 0, 0]), np.array([1.0, 5, 0]))])
        assert lookat_centre_ahead(c2w) is None
        assert np.all(np.isfinite(lookat_centre(c2w)))  # the plain one still gives its least-squares point

    def test_one_camera_has_none(self):
        assert lookat_centre_ahead(_ring(1)) is None

    def test_a_point_behind_the_cameras_is_none(self):
        c2w = _ring(5)
        c2w[:, :3, 2] *= -1  # every camera turned round (not a rotation any more, but the axes are the same lines)
        c2w[:, :3, 0] *= -1
        assert lookat_centre_ahead(c2w) is None
        assert lookat_centre_ahead(_ring(5)) is not None


class TestAveragePose:
    def test_translated_identity_cameras(self):
        c2w = np.stack([np.eye(4)] * 3)
        c2w[:, :3, 3] = [[0, 0, 0], [1, 0, 0], [2, 3, 0]]
        np.testing.assert_allclose(average_pose(c2w), [[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]], atol=1e-12)

    def test_is_rigid_and_looks_the_mean_way(self):
        avg = average_pose(_ring(5))
        assert is_rigid(avg)
        np.testing.assert_allclose(avg[:3, 2], _ring(5)[:, :3, 2].mean(0) / np.linalg.norm(_ring(5)[:, :3, 2].mean(0)))

    def test_opposite_cameras_are_refused(self):
        c2w = np.stack([np.eye(4), np.diag([-1.0, 1.0, -1.0, 1.0])])
        with pytest.raises(ValueError, match="no common viewing direction"):
            average_pose(c2w)

    def test_same_rotation_as_the_dtu_authors_copy(self):
        c2w = _ring(5, target=(0.2, 0.1, 0.4))
        z = c2w[:, :3, 2].mean(0)  # dtu_layouts.authors_normalisation's mean pose, verbatim
        z /= np.linalg.norm(z)
        x = np.cross(c2w[:, :3, 1].mean(0), z)
        x /= np.linalg.norm(x)
        old = np.eye(4)
        old[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
        old[:3, 3] = c2w[:, :3, 3].mean(0)
        np.testing.assert_allclose(average_pose(c2w), old, atol=1e-14)
