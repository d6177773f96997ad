"""NVS-RGBD and LLFF import: samples laid out as the data set lays them out, from real RGB-D frames.

Colour and depth are the real TUM RGB-D and SUN RGB-D frames of ../shared/data; the poses are
hand-made LLFF rows whose OpenCV form is worked out by hand below.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from devices.errors import InputError
from devices.frame import DepthKind
from devices.importers import ImportOptions, detect_format
from devices.nvs_rgbd.importer import import_llff_like
from devices.scene_folder import read_scene
from tests.conftest import shared_path

FRAMES = "open3d_rgbd/real_single_frames_TUM_SUN_NYU"
HWF = [480.0, 640.0, 500.0]  # full-size images 640 x 480, focal 500 px
# Row 0: down = -z, right = +x -> backwards = down x right = -y: looks along +y, at (1, 2, 3).
# Row 1: down = -z, right = +y -> backwards = down x right = +x: looks along -x, at (4, 5, 6).
LLFF_ROWS = [([0, 0, -1], [1, 0, 0], [0, -1, 0], [1, 2, 3]), ([0, 0, -1], [0, 1, 0], [1, 0, 0], [4, 5, 6])]
# The same cameras in OpenCV axes: columns x = right, y = down, z = forward = -backwards.
OPENCV = [
    np.array([[1, 0, 0, 1], [0, 0, 1, 2], [0, -1, 0, 3], [0, 0, 0, 1]], float),
    np.array([[0, 0, -1, 4], [1, 0, 0, 5], [0, -1, 0, 6], [0, 0, 0, 1]], float),
]
BOUNDS = [(0.5, 9.0), (0.8, 7.5)]


def _real_frames() -> list[tuple[np.ndarray, np.ndarray]]:
    """[(bgr uint8 [480, 640, 3], depth uint16 millimetres [480, 640])] of the TUM and SUN frames."""
    folder = shared_path(FRAMES)
    tum = cv2.imread(str(folder / "TUM_depth.png"), cv2.IMREAD_UNCHANGED)  # 5000 units per metre
    sun = cv2.imread(str(folder / "SUN_depth.png"), cv2.IMREAD_UNCHANGED)  # mm, bits rotated by 3
    sun_mm = ((sun >> 3) | (sun << 13)).astype(np.uint16)
    tum_mm = np.round(tum.astype(np.float64) / 5.0).astype(np.uint16)
    return [(cv2.imread(str(folder / "TUM_color.png")), tum_mm), (cv2.imread(str(folder / "SUN_color.jpg")), sun_mm)]


def _poses(rows: int = 2) -> np.ndarray:
    out = []
    for (down, right, back, t), (near, far) in list(zip(LLFF_ROWS, BOUNDS))[:rows]:
        mat = np.stack([down, right, back, t, HWF], axis=1).astype(float)
        out.append(np.concatenate([mat.reshape(15), [near, far]]))
    return np.stack(out)


def _inverse_u8(mm: np.ndarray) -> np.ndarray:
    """A disparity-like 8-bit map (larger = nearer, 0 = invalid) made from real metric depth."""
    valid = mm > 0
    inv = np.zeros(mm.shape, np.float64)
    inv[valid] = 255.0 * mm[valid].min() / mm[valid]
    return np.round(inv).astype(np.uint8)


def build_sample(base: Path, sensor: str) -> tuple[Path, list[np.ndarray]]:
    """``base/<sensor>/scene01`` as NVS-RGBD lays it out; returns it and the depth maps as written."""
    root = base / sensor / "scene01"
    factor, ext = (8, ".jpg") if sensor == "iphone" else (2, ".png")
    for sub in ("images", f"images_{factor}", "depth_maps"):
        (root / sub).mkdir(parents=True)
    written = []
    for k, (bgr, mm) in enumerate(_real_frames()):
        stem = f"frame{k:02d}" + ("_train" if k == 0 else "")
        cv2.imwrite(str(root / "images" / (stem + ext)), bgr)
        small = cv2.resize(bgr, (640 // factor, 480 // factor), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(root / f"images_{factor}" / (stem + ext)), small)
        if sensor == "kinect":
            depth_file, depth = root / "depth_maps" / (stem + ext), mm
        elif sensor == "zed2":
            depth_file, depth = root / "depth_maps" / (stem + ext), _inverse_u8(mm)
        else:  # iPhone: lower-resolution JPEG named <stem>-depth.jpg / <stem>-depth_train.jpg
            name = stem.replace("_train", "-depth_train") if k == 0 else stem + "-depth"
            depth_file = root / "depth_maps" / (name + ".jpg")
            depth = cv2.resize(_inverse_u8(mm), (160, 120), interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(depth_file), depth)
        written.append(cv2.imread(str(depth_file), cv2.IMREAD_ANYDEPTH))  # what the file holds (JPEG is lossy)
    np.save(root / "poses_bounds.npy", _poses())
    return root, written


def _block_mean(a: np.ndarray, f: int) -> np.ndarray:
    h, w = a.shape
    return a.astype(np.float64).reshape(h // f, f, w // f, f).mean(axis=(1, 3))


@pytest.mark.parametrize(
    "sensor, name, kind, window, size",
    [
        ("kinect", "azure_kinect", DepthKind.METRIC, (5, 5), (320, 240)),
        ("zed2", "zed2", DepthKind.INVERSE, (30, 30), (320, 240)),
        ("iphone", "iphone", DepthKind.INVERSE, (30, 30), (80, 60)),
    ],
)
def test_import_each_sensor(tmp_path, sensor, name, kind, window, size):
    root, written = build_sample(tmp_path, sensor)
    fmt = detect_format(root)
    assert fmt.name == "nvs-rgbd"
    scene = fmt.run(root, tmp_path / "out", ImportOptions(), None)
    scene = read_scene(tmp_path / "out")  # everything as it reads back from disk
    assert (scene.sensor, scene.depth_kind, scene.ranking_window) == (name, kind, window)
    ext = ".png"  # the scene folder stores PNGs under the source's stems
    assert [scene.frames[i].image_path for i in scene.train_ids] == [f"images/frame00_train{ext}"]
    assert [scene.frames[i].image_path for i in scene.test_ids] == [f"images/frame01{ext}"]

    w, h = size
    f = 500.0 * w / 640  # focal of the full-size images scaled to the imported folder
    for i, frame in enumerate(scene.frames):
        intr = frame.intrinsics
        assert (intr.fx, intr.fy, intr.cx, intr.cy, intr.width, intr.height) == (f, f, w / 2, h / 2, w, h)
        np.testing.assert_allclose(frame.c2w, OPENCV[i], atol=1e-12)
        assert (frame.meta["near"], frame.meta["far"]) == BOUNDS[i]
        assert scene.load_rgb(i).shape == (h, w, 3)

        depth = scene.load_depth(i)
        assert depth.shape == (h, w)
        src = written[i]
        if sensor == "kinect":  # millimetres -> metres, nearest resampling by 2: every other pixel
            np.testing.assert_allclose(depth, src[::2, ::2] / 1000.0, atol=1e-6)
        else:  # kept as-is, bilinear halving = mean of each 2x2 block; stored with a per-frame scale
            scale = scene.frames[i].depth_scale
            expected = _block_mean(src, src.shape[1] // w)
            np.testing.assert_allclose(depth, expected, atol=scale * 0.5 + 1e-4)
            assert scale == pytest.approx(expected.max() / 65535.0, rel=1e-5)


def test_cli_says_which_format(tmp_path, capsys):
    root, _ = build_sample(tmp_path, "kinect")
    assert main(["import", str(root), str(tmp_path / "out")]) == 0
    assert "detected format: NVS-RGBD scene" in capsys.readouterr().out
    assert len(read_scene(tmp_path / "out")) == 2


def test_unknown_path_lists_supported_formats(tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    with pytest.raises(InputError) as err:
        detect_format(tmp_path / "notes")
    msg = str(err.value)
    assert "unknown format. Supported:" in msg and "nvs-rgbd: NVS-RGBD" in msg and "llff: LLFF" in msg
    assert main(["import", str(tmp_path / "notes"), str(tmp_path / "out")]) == 2
    assert "Supported:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_llff_scene_imports_without_depth(tmp_path):
    """An RGB-only LLFF folder: no depth, every-8th split with the requested number of training views."""
    root, _ = build_sample(tmp_path, "kinect")
    for extra in range(2, 10):  # 10 views: LLFF holds out 0 and 8, trains on rest[round(linspace(0, 7, 2))]
        for sub in ("images", "images_2"):
            src = root / sub / "frame01.png"
            (root / sub / f"frame{extra:02d}.png").write_bytes(src.read_bytes())
    (root / "images" / "frame00_train.png").rename(root / "images" / "frame00.png")
    (root / "images_2" / "frame00_train.png").rename(root / "images_2" / "frame00.png")
    for p in (root / "depth_maps").iterdir():
        p.unlink()
    (root / "depth_maps").rmdir()
    np.save(root / "poses_bounds.npy", np.concatenate([_poses()] * 5))
    fmt = detect_format(root)
    assert fmt.name == "llff"
    fmt.run(root, tmp_path / "out", ImportOptions(train_views=2), None)
    scene = read_scene(tmp_path / "out")
    assert not scene.has_depth and scene.sensor == "llff"
    assert (scene.train_ids, scene.test_ids) == ([1, 9], [0, 8])
    assert scene.frames[0].intrinsics.width == 640  # no images_8 (the LLFF default): the full-size images/


def _bad(tmp_path: Path, problem: str) -> None:
    out = tmp_path / "out"
    with pytest.raises(InputError, match=problem):
        import_llff_like(tmp_path / "kinect" / "scene01", out)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging folder left


def test_missing_poses_file(tmp_path):
    root, _ = build_sample(tmp_path, "kinect")
    (root / "poses_bounds.npy").unlink()
    _bad(tmp_path, "poses_bounds.npy")


def test_poses_file_with_fewer_rows_than_frames(tmp_path):
    root, _ = build_sample(tmp_path, "kinect")
    np.save(root / "poses_bounds.npy", _poses(rows=1))
    _bad(tmp_path, "has 1 rows but images_2/ has 2 images")


def test_depth_of_unexpected_size(tmp_path):
    root, _ = build_sample(tmp_path, "kinect")
    cv2.imwrite(str(root / "depth_maps" / "frame01.png"), np.full((300, 300), 1000, np.uint16))
    _bad(tmp_path, "depth is 300x300, which does not fit its 320x240 image")


def test_missing_depth_map(tmp_path):
    root, _ = build_sample(tmp_path, "kinect")
    (root / "depth_maps" / "frame01.png").unlink()
    _bad(tmp_path, "no depth map for frame01.png")


def test_all_zero_and_8bit_kinect_depth(tmp_path):
    root, _ = build_sample(tmp_path, "kinect")
    cv2.imwrite(str(root / "depth_maps" / "frame01.png"), np.zeros((480, 640), np.uint16))
    _bad(tmp_path, "no valid depth")
    cv2.imwrite(str(root / "depth_maps" / "frame01.png"), np.full((480, 640), 9, np.uint8))
    _bad(tmp_path, "16-bit PNG in millimetres")
