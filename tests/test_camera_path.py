"""Designed camera paths: interpolation through keyframes, nerfstudio's camera_path.json both ways."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from devices.axes import opencv_to_opengl
from devices.camera_geometry import look_at
from devices.errors import InputError
from nerf.camera_path import (
    CameraPath,
    Keyframe,
    camera_from_fov,
    keyframe_from_camera,
    retime,
    vertical_fov_deg,
)
from nerf.camera_path_json import load_camera_path, path_to_json, save_camera_path


def _keys(n: int = 4, radius: float = 2.0) -> list[Keyframe]:
    out = []
    for i, a in enumerate(np.linspace(0.0, 1.5 * np.pi, n, endpoint=False)):
        pos = np.array([radius * np.cos(a), -0.4 + 0.1 * i, radius * np.sin(a)])
        out.append(Keyframe(look_at(pos, np.zeros(3), np.array([0.0, -1.0, 0.0])), 40.0 + 5 * i, 1.5 * i))
    return out


def _rigid(m: np.ndarray) -> bool:
    return np.allclose(m[:3, :3] @ m[:3, :3].T, np.eye(3), atol=1e-9) and np.isclose(np.linalg.det(m[:3, :3]), 1.0)


@pytest.mark.parametrize("loop", [False, True])
def test_path_passes_through_keyframes_smoothly(loop):
    keys = _keys()
    path = CameraPath(tuple(keys), loop=loop, duration=6.0, fps=20, width=64, height=48)
    for k in keys:
        c2w, fov = path.pose_at(k.time)
        np.testing.assert_allclose(c2w, k.c2w, atol=1e-9)
        assert fov == pytest.approx(k.fov_deg)
    times = np.linspace(path.start, path.start + path.duration, 400)
    poses = np.stack([path.pose_at(t)[0] for t in times])
    assert all(_rigid(p) for p in poses)
    steps = np.linalg.norm(np.diff(poses[:, :3, 3], axis=0), axis=1)
    assert steps.max() < 4 * np.median(steps)  # no jumps: a smooth spline, not a teleport
    rot_steps = [np.arccos(np.clip((np.trace(a[:3, :3].T @ b[:3, :3]) - 1) / 2, -1, 1)) for a, b in zip(poses, poses[1:])]
    assert max(rot_steps) < 0.1
    if loop:  # the loop closes: the last sample is next to the first keyframe
        np.testing.assert_allclose(path.pose_at(path.start + path.duration)[0], keys[0].c2w, atol=1e-9)


def test_frame_sampling_and_durations():
    keys = _keys(3)
    open_path = CameraPath(tuple(keys), fps=10, width=64, height=48)
    assert open_path.duration == pytest.approx(3.0) and open_path.num_frames == 30
    cams = open_path.cameras()
    assert len(cams) == 30
    np.testing.assert_allclose(cams[-1].c2w, keys[-1].c2w, atol=1e-9)  # an open path ends on its last key
    loop = CameraPath(tuple(keys), loop=True, duration=4.5, fps=10, width=64, height=48)
    assert len(loop.cameras()) == 45
    np.testing.assert_allclose(loop.cameras()[0].c2w, keys[0].c2w, atol=1e-9)
    with pytest.raises(ValueError):
        CameraPath(tuple(keys), loop=True, duration=2.0)  # shorter than its keyframes
    reordered = retime([keys[2], keys[0], keys[1]])
    assert [k.time for k in reordered] == [0.0, 1.0, 2.0]
    assert reordered[0].c2w is keys[2].c2w


def test_fov_and_intrinsics():
    cam = camera_from_fov(np.eye(4), 60.0, 640, 480)
    assert cam.K[1, 1] == pytest.approx(240 / math.tan(math.radians(30)))
    assert (cam.K[0, 2], cam.K[1, 2]) == (320, 240)
    assert vertical_fov_deg(cam) == pytest.approx(60.0)
    assert keyframe_from_camera(cam, 2.0).fov_deg == pytest.approx(60.0)


@pytest.mark.parametrize("loop", [False, True])
def test_saved_path_loads_back_to_the_same_cameras(tmp_path, loop):
    path = CameraPath(tuple(_keys()), loop=loop, duration=6.0, fps=12, width=80, height=60)
    out = save_camera_path(path, tmp_path / "camera_path.json")
    loaded = load_camera_path(out)
    want = path.cameras()
    assert len(loaded.cameras) == len(want) and loaded.fps == 12
    for a, b in zip(loaded.cameras, want):
        np.testing.assert_allclose(a.c2w, b.c2w, atol=1e-6)
        np.testing.assert_allclose(a.K, b.K, atol=1e-6)
        assert (a.width, a.height) == (b.width, b.height)
    assert loaded.path.loop == loop and loaded.path.duration == pytest.approx(path.duration)
    for a, b in zip(loaded.path.keyframes, path.keyframes):
        np.testing.assert_allclose(a.c2w, b.c2w, atol=1e-6)
        assert (a.fov_deg, a.time) == pytest.approx((b.fov_deg, b.time))
    doc = json.loads(out.read_text())  # nerfstudio's keys and conventions
    assert doc["camera_type"] == "perspective" and doc["render_width"] == 80 and doc["is_cycle"] == loop
    first = np.asarray(doc["camera_path"][0]["camera_to_world"]).reshape(4, 4)
    np.testing.assert_allclose(first, opencv_to_opengl(want[0].c2w), atol=1e-12)  # OpenGL axes, row-major
    assert doc["keyframes"][1]["override_transition_sec"] == pytest.approx(1.5)
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def _nerfstudio_doc() -> dict:
    """A camera path as nerfstudio's viewer writes it (no "time" keys: times from the transitions)."""
    keys = _keys(3)
    return {
        "default_fov": 50.0, "default_transition_sec": 2.0,
        "keyframes": [{"matrix": [float(v) for v in opencv_to_opengl(k.c2w).reshape(-1)], "fov": 50.0, "aspect": 1.5,
                       "override_transition_enabled": i == 0, "override_transition_sec": 1.0} for i, k in enumerate(keys)],
        "camera_model": "perspective", "render_height": 40, "render_width": 60, "fps": 5, "seconds": 3.0,
        "is_cycle": False, "smoothness_value": 0.5,
        "camera_path": [{"camera_to_world": [float(v) for v in opencv_to_opengl(k.c2w).reshape(-1)], "fov": 50.0,
                         "aspect": 1.5} for k in keys],
    }


def test_nerfstudio_format_loads(tmp_path):
    doc = _nerfstudio_doc()
    f = tmp_path / "ns.json"
    f.write_text(json.dumps(doc))
    loaded = load_camera_path(f)
    assert [k.time for k in loaded.path.keyframes] == [0.0, 1.0, 3.0]  # override 1 s, then the default 2 s
    keys = _keys(3)
    for cam, k in zip(loaded.cameras, keys):
        np.testing.assert_allclose(cam.c2w, k.c2w, atol=1e-12)
        assert cam.K[1, 1] == pytest.approx(20 / math.tan(math.radians(25)))
    # The oldest viewer: keyframe matrices as three.js's column-major array in a string.
    old = {"render_height": 40, "render_width": 60, "keyframes": [
        {"matrix": json.dumps(list(opencv_to_opengl(k.c2w).T.reshape(-1))), "fov": 50, "aspect": 1.5} for k in keys]}
    f.write_text(json.dumps(old))
    loaded = load_camera_path(f)
    np.testing.assert_allclose(loaded.path.keyframes[1].c2w, keys[1].c2w, atol=1e-12)
    assert len(loaded.cameras) == 24 * 2  # sampled from the keyframes: 24 fps x 2 s


def test_dataparser_transform_maps_back_to_the_scene(tmp_path):
    keys = _keys(2)
    angle = 0.3
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1.0]])
    t, scale = np.array([0.5, -1.0, 2.0]), 0.25
    fwd = np.eye(4)
    fwd[:3, :3], fwd[:3, 3] = scale * rot, scale * t
    doc = {"render_height": 40, "render_width": 60, "camera_path": [
        {"camera_to_world": [float(v) for v in (fwd @ opencv_to_opengl(k.c2w)).reshape(-1)], "fov": 50, "aspect": 1.5}
        for k in keys]}
    (tmp_path / "p.json").write_text(json.dumps(doc))
    (tmp_path / "dataparser_transforms.json").write_text(json.dumps(
        {"transform": np.hstack([rot, t[:, None]]).tolist(), "scale": scale}))
    loaded = load_camera_path(tmp_path / "p.json", tmp_path / "dataparser_transforms.json")
    for cam, k in zip(loaded.cameras, keys):
        np.testing.assert_allclose(cam.c2w, k.c2w, atol=1e-9)


@pytest.mark.parametrize("content, problem", [
    ("{not json", "cannot be read as JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"render_height": 4, "render_width": 4}', "no keyframes and no camera_path"),
    ('{"render_width": 4, "camera_path": []}', "missing key 'render_height'"),
    ('{"render_height": 4, "render_width": 4, "camera_type": "fisheye", "camera_path": []}', "only perspective"),
    ('{"render_height": 4, "render_width": 4, "camera_path": [{"camera_to_world": [1, 2], "fov": 50}]}', "16"),
    ('{"render_height": 4, "render_width": 4, "camera_path": [{"camera_to_world": '
     '[1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1], "fov": 190}]}', "fov"),
])
def test_bad_camera_path_files(tmp_path, content, problem):
    f = tmp_path / "bad.json"
    f.write_text(content)
    with pytest.raises(InputError, match=problem) as err:
        load_camera_path(f)
    assert str(f) in str(err.value)


def test_path_to_json_without_frames_is_still_valid():
    doc = path_to_json(CameraPath(tuple(_keys(2)), fps=4, width=8, height=6))
    assert len(doc["camera_path"]) == 6 and len(doc["keyframes"]) == 2
