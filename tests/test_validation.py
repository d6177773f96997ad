"""Bad values inside input files become one error line naming the file and the problem (issue 14, items
4-6): never a traceback, never a wrong result (NaN, 0 % depth, a bare NaN in JSON), never a file outside
the scene read."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from tests.import_checks import assert_import_fails
from tests.iphone_samples import r3d_metadata, tum_frames, write_polycam, write_r3d, write_stray
from tests.test_cli_bad_input import capture, llff_from, one_error_line

NAN = float("nan")


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    return capture(tmp_path_factory.mktemp("valid") / "scene", frames=4)


def edited(scene: Path, tmp: Path, edit) -> Path:
    import shutil

    copy = shutil.copytree(scene, tmp / "scene")
    doc = json.loads((copy / "transforms.json").read_text())
    edit(doc)
    (copy / "transforms.json").write_text(json.dumps(doc))
    return copy


def put(*path_and_value):
    *path, value = path_and_value

    def edit(doc):
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


TRANSFORMS_CASES = {
    "scale_text": (put("depth_unit_scale_factor", "0.001"), "depth_unit_scale_factor must be a finite number"),
    "scale_list": (put("depth_unit_scale_factor", [0.001]), "depth_unit_scale_factor must be a finite number"),
    "scale_1e30": (put("depth_unit_scale_factor", 1e30), "depth_unit_scale_factor must be a finite number"),
    "frame_meta_not_object": (put("frames", 0, "sparsenerf", 5), "frame 0 (images/000000.png): sparsenerf must be an object"),
    "window_zero": (put("sparsenerf", "ranking_window", [0, 0]), "sparsenerf.ranking_window must be"),
    "window_negative": (put("sparsenerf", "ranking_window", [-5, 5]), "sparsenerf.ranking_window must be"),
    "window_text": (put("sparsenerf", "ranking_window", "30x30"), "sparsenerf.ranking_window must be [height, width]"),
    "window_one_number": (put("sparsenerf", "ranking_window", 30), "sparsenerf.ranking_window must be [height, width]"),
    "train_not_list": (put("train_filenames", "images/000000.png"), "train_filenames must be a list of strings"),
    "k1_nan": (put("k1", NAN), "top level: k1 must be a finite number"),
    "k1_text": (put("k1", "0.1"), "top level: k1 must be a finite number"),
    "k1_huge": (put("k1", 1e6), "top level: k1 must be a finite number >= -1000 and <= 1000"),
    "depth_path_number": (put("frames", 0, "depth_file_path", 7), "depth_file_path must be a string"),
    "file_path_dict": (put("frames", 0, "file_path", {"a": 1}), "frame 0: file_path must be a string"),
    "translation_1e300": (put("frames", 1, "transform_matrix", 0, 3, 1e300), "transform_matrix"),
    "focal_1e12": (put("fl_x", 1e12), "top level: fl_x must be a finite number > 0"),
    "width_zero": (put("w", 0), "top level: w must be a finite number >= 8"),
    "absolute_path": (put("frames", 0, "file_path", "/etc/hostname"), "must be a relative path inside the scene folder"),
    "parent_path": (put("frames", 0, "depth_file_path", "../../outside.png"),
                    "must be a relative path inside the scene folder"),
}


@pytest.mark.parametrize("case", sorted(TRANSFORMS_CASES))
def test_bad_transforms_values(tmp_path, capsys, scene, case):
    edit, words = TRANSFORMS_CASES[case]
    folder = edited(scene, tmp_path, edit)
    run = tmp_path / "run"
    line = one_error_line(capsys, "train", folder, "--out", run, "--steps", "1", "--batch-rays", "64")
    assert line.startswith(f"error: {folder / 'transforms.json'}: ") and words in line, line
    assert not run.exists()


def test_json_nested_200k_deep(tmp_path, capsys, scene):
    folder = edited(scene, tmp_path, lambda d: None)
    (folder / "transforms.json").write_text('{"frames": ' + "[" * 200_000 + "]" * 200_000 + "}")
    line = one_error_line(capsys, "train", folder, "--out", tmp_path / "run", "--steps", "1")
    assert line == f"error: {folder / 'transforms.json'}: is nested too deeply to be a valid file"


def test_one_pixel_images(tmp_path, capsys, scene):
    def tiny(doc):
        doc["w"], doc["h"], doc["cx"], doc["cy"] = 1, 1, 0.5, 0.5

    folder = edited(scene, tmp_path, tiny)
    for png in (folder / "images").glob("*.png"):
        cv2.imwrite(str(png), np.zeros((1, 1, 3), np.uint8))
    line = one_error_line(capsys, "train", folder, "--out", tmp_path / "run", "--steps", "1")
    assert "w must be a finite number >= 8" in line


def test_a_path_outside_the_scene_reveals_nothing(tmp_path, capsys, scene):
    """The error for ../secret.png is the same whether it exists, is a folder or is missing."""
    lines = set()
    for kind in ("missing", "file", "folder"):
        secret = tmp_path / "secret.png"
        if kind == "file":
            secret.write_bytes(b"private")
        elif kind == "folder":
            secret.mkdir()
        folder = edited(scene, tmp_path / kind, put("frames", 0, "file_path", "../../secret.png"))
        lines.add(one_error_line(capsys, "train", folder, "--out", tmp_path / "run", "--steps", "1")
                  .replace(str(folder), "SCENE"))
        if secret.is_dir():
            secret.rmdir()
        else:
            secret.unlink(missing_ok=True)
    assert len(lines) == 1 and "relative path inside the scene folder" in lines.pop()


def test_a_symlink_out_of_the_scene_is_refused(tmp_path, capsys, scene):
    folder = edited(scene, tmp_path, lambda d: None)
    (tmp_path / "elsewhere").mkdir()
    cv2.imwrite(str(tmp_path / "elsewhere" / "x.png"), np.zeros((48, 64, 3), np.uint8))
    (folder / "images" / "000000.png").unlink()
    (folder / "images" / "000000.png").symlink_to(tmp_path / "elsewhere" / "x.png")
    line = one_error_line(capsys, "train", folder, "--out", tmp_path / "run", "--steps", "1")
    assert "leads outside the scene folder" in line


def test_pair_sampler_failure_is_one_line_and_leaves_no_run(tmp_path, capsys, scene):
    """Depth in one corner only: no ranking window holds enough of it. Said before run.json is written."""
    folder = edited(scene, tmp_path, lambda d: None)
    for png in (folder / "depth").glob("*.png"):
        d = np.zeros((48, 64), np.uint16)
        d[0, :4] = 1000
        cv2.imwrite(str(png), d)
    run = tmp_path / "run"
    line = one_error_line(capsys, "train", folder, "--out", run, "--steps", "2", "--batch-rays", "64")
    assert line.startswith(f"error: {folder}: training view") and "too little valid depth" in line
    assert not (run / "run.json").exists()
    assert main(["train", str(folder), "--out", str(run), "--steps", "1", "--batch-rays", "64",
                 "--no-depth-prior"]) == 0


# ----------------------------------------------------------------------------------------- iPhone
@pytest.fixture(scope="module")
def phone():
    return tum_frames(2)


@pytest.mark.parametrize("field,value,words", [
    ("h", 0, "metadata h must be a finite number >= 8"), ("w", float("inf"), "metadata w must be a finite number"),
    ("w", 1e9, "metadata w must be a finite number >= 8 and <= 16384"),
    ("h", 1e9, "metadata h must be a finite number"), ("fps", NAN, "metadata fps must be a finite number"),
])
def test_r3d_metadata(tmp_path, capsys, phone, field, value, words):
    meta = r3d_metadata(phone)
    meta[field] = value
    path = write_r3d(tmp_path / "rec.r3d", phone, meta)
    assert_import_fails(path, tmp_path, capsys, Path(f"{path}:metadata"), words)


def test_r3d_member_with_an_absurd_declared_size(tmp_path, capsys, phone):
    """A small archive whose depth member inflates to 300 MiB is refused before anything is allocated."""
    import tracemalloc

    good = write_r3d(tmp_path / "rec.r3d", phone)
    bomb = tmp_path / "bomb.r3d"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            if name != "rgbd/0.depth":
                dst.writestr(name, src.read(name))
        with dst.open("rgbd/0.depth", "w", force_zip64=True) as fh:  # 300 MiB of zeros: 0.3 MB deflated
            block = b"\0" * (1 << 20)
            for _ in range(300):
                fh.write(block)
    assert bomb.stat().st_size < 5 << 20
    tracemalloc.start()
    assert_import_fails(bomb, tmp_path, capsys, Path(f"{bomb}:rgbd/0.depth"), "declares 314572800 bytes")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 200 << 20, f"peak Python allocation {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("field,value", [("width", 0), ("width", "inf"), ("height", NAN), ("blur_score", "sharp")])
def test_polycam_camera_values(tmp_path, capsys, phone, field, value):
    root = write_polycam(tmp_path / "export", phone, [80.0, 80.0], with_raw=False)
    cam = sorted((root / "keyframes" / "corrected_cameras").glob("*.json"))[0]
    doc = json.loads(cam.read_text())
    doc[field] = float(value) if value == "inf" else value
    cam.write_text(json.dumps(doc))
    assert_import_fails(root, tmp_path, capsys, cam, field)


def test_polycam_and_stray_all_zero_depth(tmp_path, capsys, phone):
    zero = [type(f)(rgb=f.rgb, depth=np.zeros_like(f.depth), conf=f.conf) for f in phone]
    poly = write_polycam(tmp_path / "p" / "export", zero, [80.0, 80.0], with_raw=False)
    assert_import_fails(poly, tmp_path / "p", capsys, poly, "no frame has valid depth")
    stray = write_stray(tmp_path / "s" / "stray", zero)
    assert_import_fails(stray, tmp_path / "s", capsys, stray, "no frame has valid depth")


def test_stray_odometry_not_utf8(tmp_path, capsys, phone):
    root = write_stray(tmp_path / "stray", phone)
    odo = root / "odometry.csv"
    odo.write_bytes(odo.read_bytes().replace(b"timestamp", b"timest\xffmp", 1))
    assert_import_fails(root, tmp_path, capsys, odo, "not UTF-8")


# ----------------------------------------------------------------------------------------- Kinect
def _calibration(edit) -> bytes:
    import av

    from tests.kinect_samples import read_real_packets, real_recording

    with av.open(str(real_recording())) as src:
        doc = json.loads(read_real_packets(src).calibration)
    edit(doc["CalibrationInformation"]["Cameras"][1])
    return json.dumps(doc).encode()


@pytest.mark.parametrize("case", ["huge_sensor", "nan_rotation"])
def test_kinect_calibration(tmp_path, capsys, case):
    from tests.kinect_samples import write_recording

    def edit(cam):
        if case == "huge_sensor":
            cam["SensorWidth"] = cam["SensorHeight"] = 10**9
        else:
            cam["Rt"]["Rotation"][4] = NAN

    rec = write_recording(tmp_path / "rec.mkv", [(0, ("COLOR", "DEPTH", "IR"))], calibration_json=_calibration(edit))
    assert_import_fails(rec, tmp_path, capsys, rec, "SensorWidth" if case == "huge_sensor" else "Rotation")


# ----------------------------------------------------------------------------------------- LLFF / DTU
def test_poses_bounds_of_strings_or_an_npz(tmp_path, capsys, scene):
    src = llff_from(scene, tmp_path / "llff")
    pb = src / "poses_bounds.npy"
    good = np.load(pb)
    np.save(pb, good.astype(str))
    assert one_error_line(capsys, "train", src, "--out", tmp_path / "run").startswith(
        f"error: {pb}: expected numbers, got an array of dtype <U")
    with open(pb, "wb") as fh:
        np.savez(fh, poses=good)
    assert one_error_line(capsys, "train", src, "--out", tmp_path / "run") == \
        f"error: {pb}: is an .npz archive, not the single N x 17 .npy array LLFF uses"


def test_llff_cameras_facing_opposite_ways(tmp_path, capsys, scene):
    from devices.llff_format import read_poses_bounds, write_poses_bounds

    src = llff_from(scene, tmp_path / "llff")
    pb = read_poses_bounds(src / "poses_bounds.npy")
    c2w = pb.c2w.copy()
    c2w[:, :3, :3] = np.eye(3)
    c2w[1::2, :3, :3] = np.diag([-1.0, 1.0, -1.0])  # a half turn: looking the other way
    c2w[:, :3, 3] = 0.0
    c2w[:, 0, 3] = np.arange(len(c2w)) * 0.1
    if len(c2w) % 2:
        c2w = c2w[:-1]
        (sorted((src / "images").iterdir())[-1]).unlink()
    write_poses_bounds(src / "poses_bounds.npy", c2w, pb.hwf[: len(c2w)], pb.bounds[: len(c2w)])
    line = one_error_line(capsys, "train", src, "--out", tmp_path / "run", "--steps", "1")
    assert line.startswith(f"error: {src / 'poses_bounds.npy'}: the cameras have no common viewing direction")


def test_dtu_cameras_with_object_arrays(tmp_path, capsys):
    root = tmp_path / "scan1"
    root.mkdir()
    cams = {}
    for v in range(3):
        cv2.imwrite(str(root / f"{v:06d}_rgb.png"), np.full((32, 32, 3), 128, np.uint8))
        cams[f"world_mat_{v}"] = np.array([np.eye(4), "payload"], dtype=object)
        cams[f"scale_mat_{v}"] = np.eye(4)
    np.savez(root / "cameras.npz", **cams)
    line = one_error_line(capsys, "train", root, "--out", tmp_path / "run", "--steps", "1")
    assert line.startswith(f"error: {root / 'cameras.npz'}: ")


def test_flipped_matroska_header_bytes(tmp_path, capsys):
    """Flipped bytes in the EBML header, track entries and tags: a scene or one error line, never a traceback."""
    from tests.fuzz_cases import check_command
    from tests.kinect_samples import write_recording

    data = write_recording(tmp_path / "rec.mkv", [(0, ("COLOR", "DEPTH", "IR"))]).read_bytes()
    statuses = []
    for k, pos in enumerate([5, 17, 45, 90, 200, 500]):
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        rec = tmp_path / f"flip{k}.mkv"
        rec.write_bytes(bytes(bad))
        statuses.append(check_command("flipped header", ["import", rec, tmp_path / f"out{k}", "--no-poses"],
                                      tmp_path / f"out{k}"))
    assert 2 in statuses


def test_poses_bounds_with_a_near_bound_of_almost_zero(tmp_path, capsys, scene):
    """Found by benchmarks/fuzz_inputs.py: near 1e-30 scaled the poses to 1e30 and the field to a traceback."""
    src = llff_from(scene, tmp_path / "llff")
    arr = np.load(src / "poses_bounds.npy")
    arr[0, 15] = 1e-30
    np.save(src / "poses_bounds.npy", arr)
    line = one_error_line(capsys, "train", src, "--out", tmp_path / "run", "--steps", "1")
    assert line.startswith(f"error: {src / 'poses_bounds.npy'}: row 0: bounds must satisfy 0 < near < far <= 1e6 x near")
