"""7-Scenes: depth registered to colour, poses consistent across views (real redkitchen frames)."""

from __future__ import annotations

import numpy as np

from nerf.loaders import detect_layout
from nerf.loaders.seven_scenes import load_seven_scenes
from tests.conftest import shared_path


def test_real_walk_depth_agrees_across_views():
    root = shared_path("7scenes_redkitchen")
    assert detect_layout(root) == "seven_scenes"
    scene = load_seven_scenes(root, every=10, count=4, n_train=2)
    assert scene.images.shape == (4, 240, 320, 3) and scene.train_ids == [0, 3] and scene.test_ids == [1, 2]
    assert (scene.depths[0] > 0).mean() > 0.5
    # lift view 0's depth to the world, project into view 1 (10 frames later): where view 1 has depth too,
    # most points agree within 5 cm (registration, intrinsics and poses all have to be right for that)
    a, b = 0, 1
    v, u = np.nonzero(scene.depths[a] > 0)
    z = scene.depths[a][v, u]
    K = scene.K[a]
    pts = np.stack([(u + 0.5 - K[0, 2]) / K[0, 0] * z, (v + 0.5 - K[1, 2]) / K[1, 1] * z, z], -1)
    world = pts @ scene.c2w[a][:3, :3].T + scene.c2w[a][:3, 3]
    w2c = np.linalg.inv(scene.c2w[b])
    cam = world @ w2c[:3, :3].T + w2c[:3, 3]
    ub = np.floor(K[0, 0] * cam[:, 0] / cam[:, 2] + K[0, 2]).astype(int)
    vb = np.floor(K[1, 1] * cam[:, 1] / cam[:, 2] + K[1, 2]).astype(int)
    ok = (ub >= 0) & (ub < 320) & (vb >= 0) & (vb < 240)
    db = scene.depths[b][vb[ok], ub[ok]]
    has = db > 0
    assert has.sum() > 10000
    assert np.median(np.abs(db[has] - cam[ok, 2][has])) < 0.02
    assert (np.abs(db[has] - cam[ok, 2][has]) < 0.05).mean() > 0.8


def test_the_loader_and_the_importer_read_the_files_with_one_parser(tmp_path):
    """devices.seven_scenes_format serves both: the loader's old inline parsing gave the same bits on the real
    files, and a bad pose file is now a one-line error naming it (the importer's message)."""
    import pytest

    from devices.errors import InputError
    from devices.sequences import seven_scenes as importer
    from devices.seven_scenes_format import read_intrinsics, read_pose_matrix

    root = shared_path("7scenes_redkitchen")
    assert importer.read_intrinsics is read_intrinsics
    K = read_intrinsics(root)
    assert K.dtype == np.float64 and np.array_equal(K, np.loadtxt(root / "camera-intrinsics.txt").reshape(3, 3))
    for pose in sorted(root.glob("frame-*.pose.txt"))[::50]:
        assert np.array_equal(read_pose_matrix(pose), np.loadtxt(str(pose)).reshape(4, 4))
    bad = tmp_path / "frame-000000.pose.txt"
    bad.write_text("1 0 0\n0 1 0\n")
    with pytest.raises(InputError, match="4x4"):
        read_pose_matrix(bad)
