"""ZED 2 (Stereolabs) as a FrameSource: the live camera or an .svo / .svo2 recording, through ``pyzed.sl``.

Axes: we ask the SDK for ``COORDINATE_SYSTEM.RIGHT_HANDED_Y_UP`` with ``UNIT.METER``. Its
positional-tracking pose (``REFERENCE_FRAME.WORLD``) is then a camera-to-world matrix whose camera
axes are the OpenGL ones (x right, y up, looking down -z) in a gravity-aligned y-up world; it is
converted to our OpenCV camera axes once, in ``_read_pose``, with ``devices.axes.opengl_to_opencv``.

Depth (``MEASURE.DEPTH``) is z along the optical axis in metres, already in the rectified left
image's pixel grid; invalid pixels (NaN, +-inf, occlusions, too near / too far) become 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from devices.axes import opengl_to_opencv
from devices.errors import InputError
from devices.frame import DepthKind, Frame, FrameSource, SourceInfo
from devices.zed.sdk import load_sl

SENSOR = "zed2"
RANKING_WINDOW = (30, 30)  # SparseNeRF's window for the NVS-RGBD ZED 2 scenes (sparsenerf.md)


@dataclass(frozen=True)
class ZedConfig:
    """How to open the ZED 2 (live) or one of its recordings."""

    svo: Path | None = None
    """An .svo / .svo2 recording to play back; None opens the live camera."""
    depth_mode: str = "NEURAL"
    """sl.DEPTH_MODE member: NEURAL (default, best quality), NEURAL_PLUS, ULTRA, QUALITY or PERFORMANCE."""
    resolution: str = "HD720"
    """sl.RESOLUTION member for the live camera (HD2K, HD1080, HD720, VGA); recordings keep their own."""
    fps: int = 30
    """Frame rate of the live camera."""
    tracking: bool = True
    """Run the SDK's positional tracking and attach its pose to every frame."""
    serial_number: int | None = None
    """Open this camera when several are plugged in (live only)."""
    extra_init: dict[str, Any] = field(default_factory=dict)
    """Further sl.InitParameters attributes, set as given (e.g. {"depth_maximum_distance": 10})."""


def _member(enum: Any, name: str, what: str) -> Any:
    value = getattr(enum, name.upper(), None)
    if value is None:
        choices = ", ".join(m for m in dir(enum) if m.isupper() and not m.startswith("_"))
        raise InputError(None, f"unknown ZED {what} {name!r}; choose one of {choices}")
    return value


def bgra_to_rgb(bgra: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 4] BGRA (the SDK's image layout) -> a new uint8 [H, W, 3] RGB array."""
    return cv2.cvtColor(np.ascontiguousarray(bgra), cv2.COLOR_BGRA2RGB)


def clean_depth(depth: np.ndarray) -> np.ndarray:
    """float [H, W] SDK depth -> float32 metres with every non-finite or non-positive value set to 0."""
    d = np.asarray(depth, dtype=np.float32)
    return np.where(np.isfinite(d) & (d > 0), d, np.float32(0)).astype(np.float32)


class ZedSource(FrameSource):
    """The ZED 2's left image, depth in metres, intrinsics and tracked pose, live or from a recording."""

    def __init__(self, config: ZedConfig = ZedConfig()):
        self.config = config
        self._sl: Any = None
        self._cam: Any = None
        self._info: SourceInfo | None = None
        self._K = np.eye(3)
        self._dist: np.ndarray | None = None

    @property
    def where(self) -> Path | str:
        return self.config.svo if self.config.svo is not None else "ZED camera"

    @property
    def info(self) -> SourceInfo:
        if self._info is None:
            raise RuntimeError("open the ZedSource first")
        return self._info

    def _init_parameters(self, sl: Any) -> Any:
        init = sl.InitParameters()
        init.depth_mode = _member(sl.DEPTH_MODE, self.config.depth_mode, "depth mode")
        init.coordinate_units = sl.UNIT.METER
        init.coordinate_system = sl.COORDINATE_SYSTEM.RIGHT_HANDED_Y_UP  # see the module docstring
        if self.config.svo is not None:
            svo = Path(self.config.svo)
            if not svo.is_file():
                raise InputError(svo, "does not exist")
            init.set_from_svo_file(str(svo))
            init.svo_real_time_mode = False  # every recorded frame, as fast as we read them
        else:
            init.camera_resolution = _member(sl.RESOLUTION, self.config.resolution, "resolution")
            init.camera_fps = int(self.config.fps)
            if self.config.serial_number is not None:
                init.set_from_serial_number(int(self.config.serial_number))
        for key, value in self.config.extra_init.items():
            setattr(init, key, value)
        return init

    def open(self) -> None:
        sl = self._sl = load_sl()
        init = self._init_parameters(sl)
        cam = sl.Camera()
        err = cam.open(init)
        if err != sl.ERROR_CODE.SUCCESS:
            raise InputError(self.where, f"the ZED SDK cannot open it ({err})")
        self._cam = cam
        if self.config.tracking:
            err = cam.enable_positional_tracking(sl.PositionalTrackingParameters())
            if err != sl.ERROR_CODE.SUCCESS:
                self.close()
                raise InputError(self.where, f"the ZED SDK cannot start positional tracking ({err})")
        self._info = self._read_info(cam)

    def _read_info(self, cam: Any) -> SourceInfo:
        cam_info = cam.get_camera_information()
        conf = cam_info.camera_configuration
        left = conf.calibration_parameters.left_cam  # intrinsics of the rectified left image
        self._K = np.array([[left.fx, 0.0, left.cx], [0.0, left.fy, left.cy], [0.0, 0.0, 1.0]])
        disto = np.asarray(left.disto, dtype=np.float64).ravel()
        self._dist = disto[:8] if np.any(disto[:8] != 0) else None  # OpenCV order k1 k2 p1 p2 k3 [k4 k5 k6]
        svo = self.config.svo
        count = int(cam.get_svo_number_of_frames()) if svo is not None else None
        name = f"ZED 2 {Path(svo).name}" if svo is not None else f"ZED 2 (serial {cam_info.serial_number})"
        return SourceInfo(
            name=name, sensor=SENSOR, width=int(conf.resolution.width), height=int(conf.resolution.height),
            fps=float(conf.fps), depth_kind=DepthKind.METRIC, frame_count=count, has_poses=self.config.tracking,
            ranking_window=RANKING_WINDOW,
            extra={"depth_mode": self.config.depth_mode.upper(), "serial_number": int(cam_info.serial_number),
                   "sdk_coordinate_system": "RIGHT_HANDED_Y_UP (converted to OpenCV)"},
        )

    def close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            if self.config.tracking:
                cam.disable_positional_tracking()
            cam.close()

    def _read_pose(self, pose: Any) -> tuple[np.ndarray, str, bool]:
        """(OpenCV c2w [4, 4], tracking state name, state is OK) of the frame just grabbed."""
        sl = self._sl
        state = self._cam.get_position(pose, sl.REFERENCE_FRAME.WORLD)
        gl = np.array(pose.pose_data(sl.Transform()).m, dtype=np.float64)
        return opengl_to_opencv(gl), getattr(state, "name", str(state)), state == sl.POSITIONAL_TRACKING_STATE.OK

    def frames(self) -> Iterator[Frame]:
        if self._cam is None:
            raise RuntimeError("open the ZedSource first")
        sl, cam = self._sl, self._cam
        image, depth, pose, runtime = sl.Mat(), sl.Mat(), sl.Pose(), sl.RuntimeParameters()
        t0: int | None = None
        index = 0
        while True:
            err = cam.grab(runtime)
            if err == sl.ERROR_CODE.END_OF_SVOFILE_REACHED:
                return
            if err != sl.ERROR_CODE.SUCCESS:
                raise InputError(self.where, f"the ZED SDK stopped delivering frames ({err})")
            cam.retrieve_image(image, sl.VIEW.LEFT)
            cam.retrieve_measure(depth, sl.MEASURE.DEPTH)
            stamp = int(cam.get_timestamp(sl.TIME_REFERENCE.IMAGE).get_nanoseconds())
            t0 = stamp if t0 is None else t0
            c2w, meta = None, {}
            if self.config.tracking:
                c2w, state, ok = self._read_pose(pose)
                meta = {"tracking_state": state, "tracking_ok": bool(ok)}
            yield Frame(rgb=bgra_to_rgb(image.get_data()), depth=clean_depth(depth.get_data()), K=self._K.copy(),
                        c2w=c2w, timestamp=(stamp - t0) * 1e-9, depth_kind=DepthKind.METRIC,
                        distortion=self._dist, index=index, meta=meta)
            index += 1
