"""The scene folder: round trip, broken folders (one clear error each), and atomic writing."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import devices.scene_writer as sw
from devices.axes import opencv_to_opengl
from devices.errors import InputError, WriteError
from devices.frame import DepthKind, Frame
from devices.scene_folder import read_scene
from devices.scene_writer import SceneWriter, encode_depth

W, H = 32, 24


def make_frame(i: int, *, K: np.ndarray | None = None, kind: DepthKind = DepthKind.METRIC, **kw) -> Frame:
    rng = np.random.default_rng(i)
    depth = rng.uniform(0.3, 6.0, size=(H, W)).astype(np.float32)
    depth[0, :5] = 0.0  # unknown stays unknown
    a = 0.3 * i
    c2w = np.eye(4)
    c2w[:3, :3] = [[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]]
    c2w[:3, 3] = [i, -2.0 * i, 0.5]
    if K is None:
        K = np.array([[30.0, 0, 15.5], [0, 31.0, 11.5], [0, 0, 1]])
    return Frame(rgb=rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8), depth=depth, K=K, c2w=c2w,
                 timestamp=0.1 * i, depth_kind=kind, index=i, **kw)


def write_scene(root: Path, frames: list[Frame], split: tuple[list[int], list[int]] | None = None, **kw):
    with SceneWriter(root, sensor="test", ranking_window=(20, 20), **kw) as writer:
        for f in frames:
            writer.add(f)
        if split:
            writer.set_split(*split)
    return read_scene(root)


def transforms(root: Path) -> dict:
    return json.loads((root / "transforms.json").read_text())


class TestRoundTrip:
    def test_poses_intrinsics_depth(self, tmp_path):
        frames = [make_frame(i) for i in range(3)]
        scene = write_scene(tmp_path / "s", frames)
        assert len(scene) == 3 and scene.sensor == "test" and scene.ranking_window == (20, 20)
        assert scene.depth_kind is DepthKind.METRIC
        for i, f in enumerate(frames):
            back = scene.frame(i)
            np.testing.assert_allclose(back.c2w, f.c2w, atol=1e-12)
            np.testing.assert_allclose(back.K, f.K)
            np.testing.assert_array_equal(back.rgb, f.rgb)  # PNG is lossless
            assert np.abs(back.depth - f.depth).max() <= 0.0005 + 1e-6  # millimetres: within 0.5 mm
            np.testing.assert_array_equal(back.depth == 0, f.depth == 0)
            assert back.timestamp == pytest.approx(f.timestamp)

    def test_file_has_opengl_poses(self, tmp_path):
        frames = [make_frame(i) for i in range(2)]
        write_scene(tmp_path / "s", frames)
        doc = transforms(tmp_path / "s")
        for fd, f in zip(doc["frames"], frames):
            np.testing.assert_allclose(fd["transform_matrix"], opencv_to_opengl(f.c2w), atol=1e-12)
        assert doc["depth_unit_scale_factor"] == 0.001

    def test_shared_intrinsics_at_top_level(self, tmp_path):
        write_scene(tmp_path / "s", [make_frame(i) for i in range(2)])
        doc = transforms(tmp_path / "s")
        assert doc["fl_x"] == 30.0 and doc["fl_y"] == 31.0 and doc["w"] == W and doc["h"] == H
        assert all("fl_x" not in fd for fd in doc["frames"])

    def test_per_frame_intrinsics(self, tmp_path):
        Ks = [np.array([[30.0 + i, 0, 15.5], [0, 31.0, 11.5 + i], [0, 0, 1]]) for i in range(2)]
        scene = write_scene(tmp_path / "s", [make_frame(i, K=k) for i, k in enumerate(Ks)])
        doc = transforms(tmp_path / "s")
        assert "fl_x" not in doc and all("fl_x" in fd for fd in doc["frames"])
        for i, k in enumerate(Ks):
            np.testing.assert_allclose(scene.frame(i).K, k)

    @pytest.mark.parametrize(
        "coeffs, model",
        [((0.1, -0.02, 0.001, 0.002), "OPENCV"), ((0.1, -0.02, 0.001, 0.002, 0.01), "OPENCV"),
         ((0.1, -0.02, 0.001, 0.002, 0.01, 0.3, 0.02, 0.004), "FULL_OPENCV")],
    )
    def test_distortion(self, tmp_path, coeffs, model):
        scene = write_scene(tmp_path / "s", [make_frame(0, distortion=np.array(coeffs))])
        assert transforms(tmp_path / "s")["camera_model"] == model
        np.testing.assert_allclose(scene.frame(0).distortion, coeffs)

    def test_no_distortion(self, tmp_path):
        scene = write_scene(tmp_path / "s", [make_frame(0)])
        assert scene.frame(0).distortion is None and "k1" not in transforms(tmp_path / "s")

    def test_train_test_split(self, tmp_path):
        scene = write_scene(tmp_path / "s", [make_frame(i) for i in range(5)], split=([0, 2, 4], [1, 3]))
        assert scene.train_ids == [0, 2, 4] and scene.test_ids == [1, 3]
        doc = transforms(tmp_path / "s")
        assert doc["train_filenames"] == ["images/000000.png", "images/000002.png", "images/000004.png"]

    def test_confidence(self, tmp_path):
        conf = np.arange(W * H, dtype=np.uint32).reshape(H, W).astype(np.uint8)
        scene = write_scene(tmp_path / "s", [make_frame(0, confidence=conf)])
        np.testing.assert_array_equal(scene.frame(0).confidence, conf)

    def test_relative_depth_scale(self, tmp_path):
        f = make_frame(0, kind=DepthKind.RELATIVE)
        f = Frame(rgb=f.rgb, depth=f.depth * 7.3, K=f.K, c2w=f.c2w, depth_kind=DepthKind.RELATIVE)
        with SceneWriter(tmp_path / "s", sensor="mono", depth_kind=DepthKind.RELATIVE) as w:
            w.add(f)
        scene = read_scene(tmp_path / "s")
        assert scene.depth_kind is DepthKind.RELATIVE
        scale = transforms(tmp_path / "s")["frames"][0]["depth_unit_scale_factor"]
        assert scale == pytest.approx(f.depth.max() / 65535)
        assert np.abs(scene.load_depth(0) - f.depth).max() <= scale * 0.5 + 1e-5  # + float32 rounding

    def test_encode_depth_out_of_range_is_unknown(self):
        depth = np.array([[1.2346, 65.535, 70.0, np.nan, np.inf, -1.0]], dtype=np.float32)
        raw, scale = encode_depth(depth, DepthKind.METRIC)
        assert scale == 0.001 and raw.dtype == np.uint16
        assert raw.tolist() == [[1235, 65535, 0, 0, 0, 0]]  # past 65.535 m: unknown, never clipped


# ------------------------------------------------------------------------------------ broken folders


@pytest.fixture
def good(tmp_path) -> Path:
    write_scene(tmp_path / "s", [make_frame(i) for i in range(2)], split=([0], [1]))
    return tmp_path / "s"


def edit_json(root: Path, change) -> None:
    doc = transforms(root)
    change(doc)
    (root / "transforms.json").write_text(json.dumps(doc))


def expect_error(root: Path, names: str, match: str, *, load: int | None = None) -> None:
    with pytest.raises(InputError) as info:
        scene = read_scene(root)
        if load is not None:
            scene.frame(load)
    msg = str(info.value)
    assert "\n" not in msg, "the error must be one line"
    assert names in msg, f"the error must name {names}: {msg}"
    assert match in msg, msg


class TestBrokenFolder:
    def test_missing_transforms(self, good):
        (good / "transforms.json").unlink()
        expect_error(good, "transforms.json", "not a scene folder")

    def test_bad_json(self, good):
        (good / "transforms.json").write_text('{"frames": [')
        expect_error(good, "transforms.json", "invalid JSON")

    def test_missing_image(self, good):
        (good / "images" / "000001.png").unlink()
        expect_error(good, "000001.png", "missing")

    def test_missing_depth(self, good):
        (good / "depth" / "000000.png").unlink()
        expect_error(good, "depth/000000.png", "missing")

    def test_image_depth_size_mismatch(self, good):
        cv2.imwrite(str(good / "depth" / "000001.png"), np.zeros((H // 2, W // 2), np.uint16))
        expect_error(good, "depth/000001.png", f"is {W // 2}x{H // 2}")

    def test_image_vs_intrinsics_size(self, good):
        cv2.imwrite(str(good / "images" / "000000.png"), np.zeros((H + 2, W, 3), np.uint8))
        expect_error(good, "images/000000.png", "transforms.json says")

    def test_non_finite_pose(self, good):
        edit_json(good, lambda d: d["frames"][1]["transform_matrix"][0].__setitem__(3, float("nan")))
        expect_error(good, "transforms.json", "frame 1 (images/000001.png)")

    def test_non_rigid_pose(self, good):
        edit_json(good, lambda d: d["frames"][0]["transform_matrix"][0].__setitem__(0, 3.0))
        expect_error(good, "transforms.json", "not a finite rigid")

    def test_split_names_missing_frame(self, good):
        edit_json(good, lambda d: d.__setitem__("test_filenames", ["images/999999.png"]))
        expect_error(good, "transforms.json", "images/999999.png")

    def test_eight_bit_depth(self, good):
        cv2.imwrite(str(good / "depth" / "000000.png"), np.full((H, W), 7, np.uint8))
        expect_error(good, "depth/000000.png", "16-bit", load=0)

    def test_not_a_folder(self, tmp_path):
        expect_error(tmp_path / "nope", "nope", "not a folder")

    def test_no_frames(self, good):
        edit_json(good, lambda d: d.__setitem__("frames", []))
        expect_error(good, "transforms.json", "no 'frames'")


# ------------------------------------------------------------------------------------ atomic writer


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


class TestAtomicWriter:
    def test_exception_leaves_nothing(self, tmp_path):
        with pytest.raises(RuntimeError), SceneWriter(tmp_path / "s", sensor="test") as w:
            w.add(make_frame(0))
            raise RuntimeError("sensor unplugged")
        assert leftovers(tmp_path) == []

    def test_keep_partial_keeps_frames(self, tmp_path):
        with pytest.raises(RuntimeError), SceneWriter(tmp_path / "s", sensor="test", keep_partial=True) as w:
            w.add(make_frame(0))
            w.add(make_frame(1))
            raise RuntimeError("sensor unplugged")
        assert leftovers(tmp_path) == ["s"]
        assert len(read_scene(tmp_path / "s")) == 2

    def test_nothing_written_is_no_scene(self, tmp_path):
        with pytest.raises(InputError, match="no frames"), SceneWriter(tmp_path / "s", sensor="test"):
            pass
        assert leftovers(tmp_path) == []

    def test_existing_folder_refused(self, good):
        before = transforms(good)
        with pytest.raises(InputError, match="already exists"):
            SceneWriter(good, sensor="test")
        assert transforms(good) == before

    def test_overwrite_replaces(self, good):
        scene = write_scene(good, [make_frame(7)], overwrite=True)
        assert len(scene) == 1 and leftovers(good.parent) == ["s"]

    def test_staging_is_hidden_until_commit(self, tmp_path):
        with SceneWriter(tmp_path / "s", sensor="test") as w:
            w.add(make_frame(0))
            assert not (tmp_path / "s").exists()
            assert all(name.startswith(".s.partial") for name in leftovers(tmp_path))
        assert leftovers(tmp_path) == ["s"]

    @pytest.mark.parametrize("keep_partial", [False, True])
    @pytest.mark.parametrize("fail_after", [0, 3])
    def test_full_disk_leaves_no_scene(self, tmp_path, monkeypatch, keep_partial, fail_after):
        real, calls = sw.atomic_write_bytes, []

        def full_disk(path, data):
            calls.append(path)
            if len(calls) > fail_after:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            real(path, data)

        monkeypatch.setattr(sw, "atomic_write_bytes", full_disk)
        with pytest.raises(WriteError) as info, SceneWriter(tmp_path / "s", sensor="test", keep_partial=keep_partial) as w:
            for i in range(3):
                w.add(make_frame(i))
        assert str(info.value) == f"{tmp_path / 's'}: No space left on device"  # the folder asked for, not staging
        assert leftovers(tmp_path) == []
