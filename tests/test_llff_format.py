"""devices.llff_format: poses_bounds.npy axes, intrinsics, file matching and splits, worked by hand."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.axes import opencv_to_opengl
from devices.errors import InputError
from devices.llff_format import (
    depth_candidates,
    find_depth,
    image_folders,
    llff_holdout_split,
    llff_to_opencv,
    read_llff_scene,
    read_poses_bounds,
    split_by_name,
    write_poses_bounds,
)

# One LLFF row worked by hand: the camera sits at (1, 2, 3); its "down" axis is world -z, its
# "right" axis world +x, so "backwards" = down x right = world -y: it looks along world +y with +z up.
DOWN, RIGHT, BACK, T = [0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [1.0, 2.0, 3.0]
HWF = [3024.0, 4032.0, 3000.0]  # full-size images 4032 x 3024, focal 3000 px


def _row(near: float = 1.5, far: float = 20.0) -> np.ndarray:
    mat = np.stack([DOWN, RIGHT, BACK, T, HWF], axis=1)  # [3, 5]: columns as LLFF stores them
    return np.concatenate([mat.reshape(15), [near, far]])


def _scene(tmp_path: Path, names: list[str], rows: int | None = None, folder: str = "images",
           size: tuple[int, int] = (32, 24)) -> Path:
    root = tmp_path / "scene"
    (root / folder).mkdir(parents=True)
    for n in names:
        cv2.imwrite(str(root / folder / n), np.full((size[1], size[0], 3), 128, np.uint8))
    np.save(root / "poses_bounds.npy", np.stack([_row()] * (len(names) if rows is None else rows)))
    return root


def test_axes_hand_worked(tmp_path):
    path = tmp_path / "poses_bounds.npy"
    np.save(path, _row()[None])
    pb = read_poses_bounds(path)
    c2w = pb.c2w[0]
    # OpenCV: x = right = +x, y = down = -z, z = forward = +y; translation unchanged.
    np.testing.assert_allclose(c2w[:3, 0], [1, 0, 0])
    np.testing.assert_allclose(c2w[:3, 1], [0, 0, -1])
    np.testing.assert_allclose(c2w[:3, 2], [0, 1, 0])
    np.testing.assert_allclose(c2w[:3, 3], [1, 2, 3])
    np.testing.assert_allclose(pb.hwf[0], HWF)
    np.testing.assert_allclose(pb.bounds[0], [1.5, 20.0])


def test_projection_of_world_points(tmp_path):
    """A point 5 units ahead projects to the centre; one unit world-right goes right, world-up goes up."""
    path = tmp_path / "poses_bounds.npy"
    np.save(path, _row()[None])
    pb = read_poses_bounds(path)
    intr = pb.intrinsics(0, 504, 378)  # images_8
    w2c = np.linalg.inv(pb.c2w[0])

    def project(p):
        x, y, z = (w2c @ np.array([*p, 1.0]))[:3]
        return intr.fx * x / z + intr.cx, intr.fy * y / z + intr.cy, z

    u, v, z = project([1, 7, 3])
    assert (u, v, z) == pytest.approx((252.0, 189.0, 5.0))
    u, v, _ = project([2, 7, 3])
    assert (u, v) == pytest.approx((252.0 + 375.0 / 5, 189.0))
    u, v, _ = project([1, 7, 4])
    assert (u, v) == pytest.approx((252.0, 189.0 - 375.0 / 5))


def test_matches_llff_reordering_to_opengl(tmp_path):
    """LLFF code bases reorder [down, right, back] to [right, -down, back] (OpenGL); ours must agree."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))
    poses = np.concatenate([q, rng.normal(size=(3, 1))], axis=1)[None]
    opengl_llff = np.concatenate([poses[:, :, 1:2], -poses[:, :, 0:1], poses[:, :, 2:]], axis=2)
    np.testing.assert_allclose(opencv_to_opengl(llff_to_opencv(poses))[0, :3], opengl_llff[0])


def test_intrinsics_scale_with_image_size(tmp_path):
    np.save(tmp_path / "p.npy", _row()[None])
    intr = read_poses_bounds(tmp_path / "p.npy").intrinsics(0, 504, 378)
    assert (intr.fx, intr.fy, intr.cx, intr.cy, intr.width, intr.height) == (375.0, 375.0, 252.0, 189.0, 504, 378)


def test_round_trip_write(tmp_path):
    np.save(tmp_path / "a.npy", np.stack([_row(1.0, 9.0), _row(2.0, 8.0)]))
    a = read_poses_bounds(tmp_path / "a.npy")
    write_poses_bounds(tmp_path / "b.npy", a.c2w, a.hwf, a.bounds)
    np.testing.assert_allclose(np.load(tmp_path / "b.npy"), np.load(tmp_path / "a.npy"))


def test_scene_split_folders_and_depth_names(tmp_path):
    names = ["a.png", "b_train.png", "c.png", "d_train.png"]
    root = _scene(tmp_path, names, folder="images_4")
    (root / "images").mkdir()
    (root / "depth_maps").mkdir()
    for n in names:
        cv2.imwrite(str(root / "depth_maps" / n), np.zeros((24, 32), np.uint16))
    assert [(f.path.name, f.factor) for f in image_folders(root)] == [("images", 1), ("images_4", 4)]
    scene = read_llff_scene(root, factor=4)
    assert [p.name for p in scene.images] == names
    assert (scene.train_ids, scene.test_ids) == ([1, 3], [0, 2])
    assert [p.name for p in scene.depth] == names


def test_iphone_depth_names(tmp_path):
    assert depth_candidates("IMG_0001_train.jpg")[2] == "IMG_0001-depth_train.jpg"
    assert depth_candidates("IMG_0002.jpg")[2] == "IMG_0002-depth.jpg"
    (tmp_path / "IMG_0001-depth_train.jpg").write_bytes(b"x")
    assert find_depth(tmp_path, "images/IMG_0001_train.jpg").name == "IMG_0001-depth_train.jpg"
    with pytest.raises(InputError, match="no depth map for IMG_0002.jpg"):
        find_depth(tmp_path, "IMG_0002.jpg")


def test_splits():
    assert split_by_name(["x_train.jpg", "y.jpg", "z_train.JPG"]) == ([0, 2], [1])
    # 20 images: test 0, 8, 16; the other 17 indexed 0..16, picks linspace(0, 16, 3) = 0, 8, 16.
    assert llff_holdout_split(20, 3) == ([1, 10, 19], [0, 8, 16])
    # 10 images: rest = 1..7, 9; linspace(0, 7, 4) = 0, 2.33, 4.67, 7 -> 0, 2, 5, 7.
    assert llff_holdout_split(10, 4) == ([1, 3, 6, 9], [0, 8])


@pytest.mark.parametrize(
    "array, problem",
    [
        (np.zeros((3, 16)), "N x 17"),
        (np.stack([_row()] * 2)[:, :17] * np.nan, "NaN"),
        (np.stack([_row(5.0, 1.0)]), "near < far"),
        (np.concatenate([np.eye(3, 5).reshape(15) * 2, [1, 2]])[None], "rotation"),
    ],
)
def test_bad_poses_file(tmp_path, array, problem):
    np.save(tmp_path / "poses_bounds.npy", array)
    with pytest.raises(InputError, match=problem):
        read_poses_bounds(tmp_path / "poses_bounds.npy")


def test_missing_and_truncated_poses_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_poses_bounds(tmp_path / "poses_bounds.npy")
    (tmp_path / "poses_bounds.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(InputError, match="cannot be read"):
        read_poses_bounds(tmp_path / "poses_bounds.npy")


def test_fewer_and_more_rows_than_images(tmp_path):
    root = _scene(tmp_path, ["a.png", "b.png", "c.png"], rows=2)
    with pytest.raises(InputError, match="has 2 rows but images/ has 3 images"):
        read_llff_scene(root)
    np.save(root / "poses_bounds.npy", np.stack([_row()] * 4))
    with pytest.raises(InputError, match="has 3 images but poses_bounds.npy has 4 rows"):
        read_llff_scene(root)


def test_missing_depth_map(tmp_path):
    root = _scene(tmp_path, ["a.png", "b.png"])
    (root / "depth_maps").mkdir()
    cv2.imwrite(str(root / "depth_maps" / "a.png"), np.zeros((24, 32), np.uint16))
    with pytest.raises(InputError, match="no depth map for b.png"):
        read_llff_scene(root)
    assert read_llff_scene(root, with_depth=False).depth is None
