"""ZED 2 through the SDK's pyzed.sl: tested against tests/fake_pyzed (the SDK's documented API, no CUDA).

The fake plays REAL RGB-D frames (the TUM frame of ../shared/data) as the SDK would deliver them:
BGRA images, depth with NaN/inf where invalid, poses in the coordinate system asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from devices.errors import InputError, MissingDependencyError
from devices.importers import detect_format
from devices.scene_folder import read_scene
from devices.zed import ZedConfig, ZedSource
from devices.zed.sdk import load_sl
from tests.conftest import shared_path
from tests.import_checks import assert_import_fails

FAKE = Path(__file__).parent / "fake_pyzed" / "pyzed"
S = np.sqrt(0.5)
# Ground-truth camera-to-world poses in OpenCV axes: identity; 10 cm to the right; turned 90 deg about y.
TRUTH = [
    np.eye(4),
    np.array([[1, 0, 0, 0.1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float),
    np.array([[0, 0, 1, 0.2], [0, 1, 0, 0], [-1, 0, 0, 0.5], [0, 0, 0, 1]], dtype=float),
]
STATES = ["OK", "SEARCHING", "OK"]  # tracking lost on the middle frame


def _load(name: str, path: Path, monkeypatch):
    """Import ``path`` as module ``name`` through sys.modules (monkeypatch removes it after the test)."""
    package = path.name == "__init__.py"
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(path.parent)] if package else None)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sl(monkeypatch):
    """The fake pyzed.sl, injected through sys.modules (removed again after the test)."""
    pkg = _load("pyzed", FAKE / "__init__.py", monkeypatch)
    sl = _load("pyzed.sl", FAKE / "sl.py", monkeypatch)
    monkeypatch.setattr(pkg, "sl", sl, raising=False)
    return sl


@pytest.fixture(scope="module")
def tum():
    root = shared_path("open3d_rgbd", "real_single_frames_TUM_SUN_NYU")
    rgb = cv2.cvtColor(cv2.imread(str(root / "TUM_color.png"), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    depth = cv2.imread(str(root / "TUM_depth.png"), cv2.IMREAD_UNCHANGED).astype(np.float32) / 5000.0
    return rgb, depth


def recording(sl, tum, n: int = 3, **kw):
    """A fake SDK recording of ``n`` frames of the real TUM frame; invalid depth as NaN, a band as +inf."""
    rgb, depth = tum
    frames = []
    for i in range(n):
        d = np.where(depth > 0, depth, np.nan).astype(np.float32)
        d[10 * i : 10 * i + 5, :] = np.inf  # out of range, as the SDK reports too-far pixels
        bgra = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
        frames.append(sl.FakeFrame(bgra, d, TRUTH[i % 3], sl.POSITIONAL_TRACKING_STATE[STATES[i % 3]],
                                   1_000_000_000 + 33_333_333 * i))
    return sl.FakeRecording(fx=525.0, fy=526.0, cx=319.5, cy=239.5, disto=[0.0] * 12, fps=30, frames=frames, **kw)


def svo_file(sl, tum, path: Path, **kw) -> Path:
    path.write_bytes(b"SVO2 stand-in")  # a real file on disk; the fake SDK plays the registered frames
    sl.RECORDINGS[str(path)] = recording(sl, tum, **kw)
    return path


class TestSvoImport:
    @pytest.fixture
    def imported(self, sl, tum, tmp_path):
        svo = svo_file(sl, tum, tmp_path / "desk.svo2")
        out = tmp_path / "scene"
        assert main(["import", str(svo), str(out)]) == 0
        return read_scene(out), out

    def test_detected(self, sl, tum, tmp_path):
        assert detect_format(svo_file(sl, tum, tmp_path / "a.svo")).name == "zed-svo"
        assert detect_format(svo_file(sl, tum, tmp_path / "b.SVO2")).name == "zed-svo"

    def test_sdk_asked_for_metres_y_up_neural(self, sl, imported):
        init = sl.OPENED[-1].init
        assert init.coordinate_units is sl.UNIT.METER
        assert init.coordinate_system is sl.COORDINATE_SYSTEM.RIGHT_HANDED_Y_UP
        assert init.depth_mode is sl.DEPTH_MODE.NEURAL and init.svo_real_time_mode is False

    def test_intrinsics_from_left_cam(self, imported):
        scene, _ = imported
        intr = scene.frames[0].intrinsics
        assert (intr.fx, intr.fy, intr.cx, intr.cy, intr.width, intr.height) == (525.0, 526.0, 319.5, 239.5, 640, 480)
        assert intr.distortion is None  # the rectified left image has no distortion

    def test_poses_converted_once(self, imported):
        scene, out = imported
        for f, truth in zip(scene.frames, TRUTH):
            np.testing.assert_allclose(f.c2w, truth, atol=1e-12)
        # By hand: the SDK's y-up pose of frame 2 is TRUTH[2] @ diag(1,-1,-1,1); transforms.json stores that
        # OpenGL matrix again.
        gl = np.array([[0, 0, -1, 0.2], [0, -1, 0, 0], [-1, 0, 0, 0.5], [0, 0, 0, 1]], dtype=float)
        np.testing.assert_allclose(json.loads((out / "transforms.json").read_text())["frames"][2]["transform_matrix"], gl)

    def test_tracking_state_flagged(self, imported):
        scene, _ = imported
        assert [f.meta["tracking_state"] for f in scene.frames] == STATES
        assert [f.meta["tracking_ok"] for f in scene.frames] == [True, False, True]

    def test_depth_metres_invalid_zero(self, imported, tum):
        scene, _ = imported
        rgb, depth = tum
        for i in range(3):
            d = scene.load_depth(i)
            expected = depth.copy()
            expected[10 * i : 10 * i + 5, :] = 0  # inf -> 0
            np.testing.assert_allclose(d, expected, atol=0.0005 + 1e-6)  # NaN -> 0 where TUM had no depth
            assert np.all(d[depth == 0] == 0)
        np.testing.assert_array_equal(scene.load_rgb(0), rgb)  # BGRA -> RGB, lossless PNG

    def test_metadata(self, imported):
        scene, _ = imported
        assert scene.sensor == "zed2" and scene.ranking_window == (30, 30) and scene.depth_kind.value == "metric"
        assert scene.extra["depth_mode"] == "NEURAL"
        assert [f.timestamp for f in scene.frames] == pytest.approx([0.0, 1 / 30, 2 / 30], abs=1e-6)


class TestZedSource:
    def test_depth_mode_configurable(self, sl, tum, tmp_path):
        svo = svo_file(sl, tum, tmp_path / "a.svo2")
        with ZedSource(ZedConfig(svo=svo, depth_mode="ultra")) as src:
            assert src.info.frame_count == 3 and src.info.extra["depth_mode"] == "ULTRA"
            assert len(list(src)) == 3
        assert sl.OPENED[-1].init.depth_mode is sl.DEPTH_MODE.ULTRA

    def test_distortion_of_left_cam(self, sl, tum, tmp_path):
        svo = svo_file(sl, tum, tmp_path / "a.svo2")
        disto = [0.1, -0.05, 0.001, 0.002, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # SDK 4: 12 coefficients
        sl.RECORDINGS[str(svo)].disto = disto
        with ZedSource(ZedConfig(svo=svo)) as src:
            frame = next(iter(src))
        np.testing.assert_array_equal(frame.distortion, disto[:8])  # k1 k2 p1 p2 k3 k4 k5 k6 (OpenCV order)

    def test_unknown_depth_mode(self, sl, tum, tmp_path):
        svo = svo_file(sl, tum, tmp_path / "a.svo2")
        with pytest.raises(InputError, match="unknown ZED depth mode 'SHARP'.*NEURAL"):
            ZedSource(ZedConfig(svo=svo, depth_mode="SHARP")).open()

    def test_without_tracking(self, sl, tum, tmp_path):
        svo = svo_file(sl, tum, tmp_path / "a.svo2")
        with ZedSource(ZedConfig(svo=svo, tracking=False)) as src:
            frames = list(src)
        assert all(f.c2w is None and f.meta == {} for f in frames)

    def test_live_capture_cli(self, sl, tum, tmp_path):
        sl.LIVE.append(recording(sl, tum, n=3))
        out = tmp_path / "live"
        assert main(["capture", "zed", str(out), "--frames", "2", "--depth-mode", "QUALITY"]) == 0
        scene = read_scene(out)
        assert len(scene) == 2 and scene.sensor == "zed2"
        init = sl.OPENED[-1].init
        assert init.svo_input is None and init.camera_resolution is sl.RESOLUTION.HD720 and init.camera_fps == 30
        assert init.depth_mode is sl.DEPTH_MODE.QUALITY

    def test_live_unplugged_keeps_frames(self, sl, tum, tmp_path, capsys):
        sl.LIVE.append(recording(sl, tum, n=3))  # the fake's 4th grab fails like an unplugged camera
        out = tmp_path / "live"
        assert main(["capture", "zed", str(out), "--frames", "10"]) == 2
        assert "CAMERA_NOT_DETECTED" in capsys.readouterr().err
        assert len(read_scene(out)) == 3

    def test_no_camera(self, sl, tmp_path, capsys):
        assert main(["capture", "zed", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert "ZED camera" in err and "CAMERA_NOT_DETECTED" in err and not (tmp_path / "o").exists()


class TestSvoBadInput:
    def _fails(self, svo, tmp_path, capsys, *words):
        assert_import_fails(svo, tmp_path, capsys, None, *words)

    def test_unreadable_svo(self, sl, tmp_path, capsys):
        svo = tmp_path / "broken.svo2"
        svo.write_bytes(b"\x00" * 64)  # not a recording the SDK can open
        self._fails(svo, tmp_path, capsys, str(svo), "INVALID_SVO_FILE")

    def test_corrupt_frame_midway_leaves_nothing(self, sl, tum, tmp_path, capsys):
        svo = svo_file(sl, tum, tmp_path / "a.svo2", fail_at=2)
        self._fails(svo, tmp_path, capsys, str(svo), "CORRUPTED_FRAME")


class TestMissingSdk:
    @pytest.fixture
    def clean_modules(self, monkeypatch):
        for name in ("pyzed", "pyzed.sl"):
            monkeypatch.delitem(sys.modules, name, raising=False)
        yield monkeypatch
        for name in ("pyzed", "pyzed.sl"):
            sys.modules.pop(name, None)
        importlib.invalidate_caches()

    def test_sdk_missing(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "pyzed", None)  # import pyzed fails as when nothing is installed
        with pytest.raises(MissingDependencyError) as exc:
            load_sl()
        msg = str(exc.value)
        assert "ZED SDK" in msg and "get_python_api.py" in msg and "\n" not in msg

    def test_unrelated_pypi_module(self, clean_modules, tmp_path):
        (tmp_path / "pyzed.py").write_text('"""A data-lake client that happens to be called pyzed."""\n')
        clean_modules.syspath_prepend(str(tmp_path))
        with pytest.raises(MissingDependencyError) as exc:
            load_sl()
        msg = str(exc.value)
        assert "unrelated" in msg and "pip uninstall pyzed" in msg and "get_python_api.py" in msg
        assert str(tmp_path / "pyzed.py") in msg

    def test_unrelated_pypi_package_via_cli(self, clean_modules, tmp_path, capsys):
        (tmp_path / "site" / "pyzed").mkdir(parents=True)
        (tmp_path / "site" / "pyzed" / "__init__.py").write_text("")
        clean_modules.syspath_prepend(str(tmp_path / "site"))
        svo = tmp_path / "a.svo2"
        svo.write_bytes(b"x")
        assert main(["import", str(svo), str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "pip uninstall pyzed" in err[-1] and not (tmp_path / "out").exists()

    def test_sdk_present_but_broken(self, clean_modules, tmp_path):
        pkg = tmp_path / "site" / "pyzed"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "sl.py").write_text("raise ImportError('libcudart.so.12: cannot open shared object file')\n")
        clean_modules.syspath_prepend(str(tmp_path / "site"))
        with pytest.raises(MissingDependencyError, match="installed .* but fails to load .*libcudart"):
            load_sl()
