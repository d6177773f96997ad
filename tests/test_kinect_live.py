"""Live Azure Kinect capture against a stand-in pyk4a module (no hardware here).

The stand-in replaces only pyk4a's thin Python surface (PyK4A, Config, enums, exceptions,
connected_device_count) and serves the real recording's frames and calibration; it is installed in
sys.modules for one test at a time.
"""

from __future__ import annotations

import enum
import sys
import types

import cv2
import numpy as np
import pytest

from app.cli import main
from devices.errors import InputError, MissingDependencyError
from devices.kinect.live import KinectLive, KinectLiveConfig, import_pyk4a
from devices.kinect.mkv import MkvRecording
from devices.scene_folder import read_scene
from tests.conftest import shared_path
from tests.kinect_samples import real_recording


def _fake_pyk4a(fail_after: int | None, devices: int = 1) -> types.ModuleType:
    with MkvRecording(real_recording()) as rec:
        cap = next(rec.captures())
    raw = shared_path("kinect_pyk4a", "calibration.json").read_text()
    bgra = cv2.cvtColor(cap.color, cv2.COLOR_RGB2BGRA)
    mod = types.ModuleType("pyk4a")

    class K4AException(Exception):
        pass

    class K4ATimeoutException(K4AException):
        pass

    mod.K4AException, mod.K4ATimeoutException = K4AException, K4ATimeoutException
    mod.ColorResolution = enum.IntEnum("ColorResolution", "OFF RES_720P RES_1080P RES_1440P RES_1536P RES_2160P RES_3072P")
    mod.DepthMode = enum.IntEnum("DepthMode", "OFF NFOV_2X2BINNED NFOV_UNBINNED WFOV_2X2BINNED WFOV_UNBINNED PASSIVE_IR")
    mod.FPS = enum.IntEnum("FPS", "FPS_5 FPS_15 FPS_30")
    mod.ImageFormat = enum.IntEnum("ImageFormat", "COLOR_MJPG COLOR_NV12 COLOR_YUY2 COLOR_BGRA32 DEPTH16 IR16")
    mod.Config = lambda **kw: types.SimpleNamespace(**kw)
    mod.connected_device_count = lambda: devices

    class Capture:
        def __init__(self, i: int):
            self.color, self.depth = bgra.copy(), cap.depth.copy()
            self.depth_timestamp_usec = 1_000_000 + i * 33_333

    class PyK4A:
        instances: list = []

        def __init__(self, config=None, device_id: int = 0):
            self.config, self.device_id, self.calls, self.stopped = config, device_id, 0, False
            PyK4A.instances.append(self)

        def start(self):
            pass

        def stop(self):
            self.stopped = True

        @property
        def calibration_raw(self) -> str:
            return raw

        @property
        def serial(self) -> str:
            return "000000000042"

        def get_capture(self, timeout=-1):
            self.calls += 1
            if fail_after is not None and self.calls > fail_after:
                raise K4AException("device lost")  # what libk4a reports when the cable is pulled
            return Capture(self.calls)

    mod.PyK4A = PyK4A
    return mod


def test_unplugged_mid_capture_keeps_a_scene_that_loads(tmp_path, monkeypatch, capsys):
    fake = _fake_pyk4a(fail_after=3)
    monkeypatch.setitem(sys.modules, "pyk4a", fake)
    out = tmp_path / "live"
    code = main(["capture", "kinect", str(out), "--frames", "10", "--no-poses", "--keep-distortion"])
    err = capsys.readouterr().err
    assert code == 2 and "after 3 frames" in err
    scene = read_scene(out)  # every frame written before the device vanished, in a scene that loads
    assert len(scene) == 3
    assert scene.sensor == "azure_kinect"
    assert scene.load_depth(2).shape == (720, 1280)
    assert fake.PyK4A.instances[-1].stopped  # the device is released


def test_modes_reach_pyk4a(monkeypatch):
    fake = _fake_pyk4a(fail_after=None)
    monkeypatch.setitem(sys.modules, "pyk4a", fake)
    cfg = KinectLiveConfig(device=0, color_resolution="720p", depth_mode="NFOV_UNBINNED", fps=15)
    with KinectLive(cfg) as live:
        frames = [f for _, f in zip(range(2), live)]
        k4a = fake.PyK4A.instances[-1]
        assert k4a.config.color_resolution == fake.ColorResolution.RES_720P
        assert k4a.config.depth_mode == fake.DepthMode.NFOV_UNBINNED
        assert k4a.config.camera_fps == fake.FPS.FPS_15
        assert k4a.config.color_format == fake.ImageFormat.COLOR_BGRA32
    assert frames[0].distortion is None and frames[0].depth.shape == (720, 1280)
    assert frames[1].timestamp == pytest.approx(0.033333)
    assert np.nanmax(frames[0].depth) < 10.0  # metres


def test_device_index_out_of_range(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyk4a", _fake_pyk4a(fail_after=None, devices=1))
    with pytest.raises(InputError, match="no Azure Kinect at index 2"):
        KinectLive(KinectLiveConfig(device=2)).open()


def test_missing_pyk4a_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyk4a", None)  # `import pyk4a` -> ModuleNotFoundError
    with pytest.raises(MissingDependencyError, match="needs pyk4a"):
        import_pyk4a()


def test_missing_libk4a_is_told_apart(monkeypatch, tmp_path):
    pkg = tmp_path / "pyk4a"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        'raise ImportError("Cannot import k4a_module. Make sure `libk4a.so` can be found.")\n')
    monkeypatch.delitem(sys.modules, "pyk4a", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingDependencyError, match="cannot load Microsoft's libk4a") as err:
        import_pyk4a()
    assert "\n" not in str(err.value)
