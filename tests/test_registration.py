"""The one 7-Scenes rig (devices.registration): where it puts a known point, its frame convention, and
that the importer and the NeRF loader register and pose the same frame identically."""

from __future__ import annotations

import numpy as np

from devices.registration import Rig, register_depth, register_depth_m, seven_scenes_rig
from tests.conftest import shared_path


def test_identity_rig_copies_the_depth():
    # quads join pixel centres and never bridge a depth edge, so a region loses a one-pixel band at its
    # bottom / right and along edges; every pixel it writes is the original depth, none is invented
    d = np.zeros((48, 64), np.float32)
    d[10:30, 20:40] = 1.5
    d[15:20, 25:30] = 1.0  # a nearer box inside: its edge is not bridged
    K = np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]])
    out = register_depth_m(d, Rig(K, K, np.eye(4), (64, 48)))
    seen = out > 0
    np.testing.assert_allclose(out[seen], d[seen], atol=1e-5)
    assert not out[d == 0].any() and seen.sum() >= 0.8 * (d > 0).sum()
    np.testing.assert_allclose(out[10:14, 20:39], d[10:14, 20:39], atol=1e-5)


def test_seven_scenes_rig_maps_a_known_point():
    rig = seven_scenes_rig()
    # a small patch 2 m in front of the depth camera's centre pixel (320, 240)
    depth = np.zeros((480, 640), np.uint16)
    depth[238:243, 318:323] = 2000
    out = register_depth(depth, rig)
    v, u = np.nonzero(out)
    # the point (0, 0, 2) of the depth camera is (-0.0225, 0, 2) in the colour camera:
    # u = 525 * -0.0225 / 2 + 320 = 314.1, and its 5x5 depth pixels span 5 * 525 / 585 = 4.5 colour pixels
    assert abs(u.mean() - (320 + 525 * -0.0225 / 2)) < 0.6 and abs(v.mean() - 240) < 0.6
    assert u.max() - u.min() <= 5 and set(np.unique(out[v, u])) == {2000}


def test_frame_convention_colour_pose_from_depth_pose():
    rig = seven_scenes_rig()
    a = np.radians(30.0)
    depth_c2w = np.eye(4)
    depth_c2w[:3, :3] = [[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]]
    depth_c2w[:3, 3] = [1.0, 2.0, 3.0]
    color_c2w = rig.color_c2w(depth_c2w)
    # the colour camera's centre is 22.5 mm along the depth camera's x axis, same orientation
    np.testing.assert_allclose(color_c2w[:3, 3], depth_c2w[:3, 3] + 0.0225 * depth_c2w[:3, 0], atol=1e-12)
    np.testing.assert_allclose(color_c2w[:3, :3], depth_c2w[:3, :3], atol=1e-12)
    np.testing.assert_allclose(rig.depth_c2w(color_c2w), depth_c2w, atol=1e-12)
    # a world point seen by the depth camera at p is seen by the colour camera at depth_to_color @ p
    p = np.array([0.3, -0.2, 1.7, 1.0])
    world = depth_c2w @ p
    np.testing.assert_allclose(np.linalg.inv(color_c2w) @ world, rig.depth_to_color @ p, atol=1e-12)


def test_importer_and_nerf_loader_share_one_registration():
    from devices.sequences.seven_scenes import _frames, read_intrinsics, read_pose
    from nerf.loaders.seven_scenes import load_seven_scenes

    root = shared_path("7scenes_redkitchen")
    K_depth = read_intrinsics(root)
    frame = next(_frames(root, [500], K_depth, [read_pose(root / "frame-000500.pose.txt")]))
    scene = load_seven_scenes(root, every=1, count=1, n_train=1, downscale=1)
    # the importer also makes the file's rotation exactly orthonormal (7 digits stored): 1e-4 apart
    np.testing.assert_allclose(scene.c2w[0], frame.c2w, atol=5e-4)
    np.testing.assert_allclose(scene.K[0], frame.K, atol=1e-9)
    np.testing.assert_array_equal(scene.depths[0], frame.depth)


def test_hand_eye_error_removes_a_fixed_camera_offset_a_rigid_alignment_cannot():
    from devices.poses.geometry import absolute_trajectory_error, hand_eye_trajectory_error

    rig = seven_scenes_rig()
    rng = np.random.default_rng(3)
    depth_poses = []
    for k in range(40):  # a walk that turns up to +-40 degrees about two axes
        a, b = np.radians(40 * np.sin(k / 6)), np.radians(25 * np.cos(k / 9))
        Ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        Rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
        c2w = np.eye(4)
        c2w[:3, :3], c2w[:3, 3] = Ry @ Rx, [0.05 * k, 0.3 * np.sin(k / 5), 0.02 * k] + rng.normal(0, 0.001, 3)
        depth_poses.append(c2w)
    truth = np.stack(depth_poses)
    colour = np.stack([rig.color_c2w(p) for p in truth])  # what a tracker on registered depth estimates
    assert np.sqrt(np.mean(absolute_trajectory_error(colour, truth) ** 2)) > 0.005
    err, x = hand_eye_trajectory_error(colour, truth)
    assert err.max() < 1e-6
    np.testing.assert_allclose(x, rig.depth_to_color[:3, 3], atol=1e-6)  # the depth camera, seen from colour
    # mapping the estimate back with the rig is the same as comparing in the depth camera's frame
    back = np.stack([rig.depth_c2w(p) for p in colour])
    assert absolute_trajectory_error(back, truth).max() < 1e-9
