"""A stand-in for the part of the ZED SDK's ``pyzed.sl`` that devices/zed uses (tests only).

Names and signatures follow the SDK's Python API documentation (ZED SDK 4.x): ``Camera.open(
InitParameters) -> ERROR_CODE``, ``grab(RuntimeParameters) -> ERROR_CODE``, ``retrieve_image(Mat,
VIEW)``, ``retrieve_measure(Mat, MEASURE)``, ``get_position(Pose, REFERENCE_FRAME) ->
POSITIONAL_TRACKING_STATE``, ``Pose.pose_data(Transform) -> Transform`` (``.m`` 4x4),
``get_camera_information().camera_configuration.calibration_parameters.left_cam``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class ERROR_CODE(enum.Enum):
    SUCCESS = 0
    FAILURE = 1
    CAMERA_NOT_DETECTED = 4
    INVALID_SVO_FILE = 12
    END_OF_SVOFILE_REACHED = 16
    CORRUPTED_FRAME = 30


class DEPTH_MODE(enum.Enum):
    NONE = 0
    PERFORMANCE = 1
    QUALITY = 2
    ULTRA = 3
    NEURAL = 4
    NEURAL_PLUS = 5


class UNIT(enum.Enum):
    MILLIMETER = 0
    CENTIMETER = 1
    METER = 2


class COORDINATE_SYSTEM(enum.Enum):
    IMAGE = 0
    LEFT_HANDED_Y_UP = 1
    RIGHT_HANDED_Y_UP = 2
    RIGHT_HANDED_Z_UP = 3
    LEFT_HANDED_Z_UP = 4
    RIGHT_HANDED_Z_UP_X_FWD = 5


class RESOLUTION(enum.Enum):
    HD2K = 0
    HD1080 = 1
    HD1200 = 2
    HD720 = 3
    SVGA = 4
    VGA = 5
    AUTO = 6


class VIEW(enum.Enum):
    LEFT = 0
    RIGHT = 1


class MEASURE(enum.Enum):
    DISPARITY = 0
    DEPTH = 1


class REFERENCE_FRAME(enum.Enum):
    WORLD = 0
    CAMERA = 1


class TIME_REFERENCE(enum.Enum):
    IMAGE = 0
    CURRENT = 1


class POSITIONAL_TRACKING_STATE(enum.Enum):
    SEARCHING = 0
    OK = 1
    OFF = 2
    FPS_TOO_LOW = 3
    SEARCHING_FLOOR_PLANE = 4
    UNAVAILABLE = 5


@dataclass
class FakeFrame:
    """One recorded frame as the fake plays it (not part of the SDK)."""

    bgra: np.ndarray  # uint8 [H, W, 4]
    depth_m: np.ndarray  # float32 [H, W] metres; NaN / inf where invalid, as the SDK reports
    c2w_opencv: np.ndarray  # float64 [4, 4] ground truth in OpenCV axes
    state: POSITIONAL_TRACKING_STATE
    timestamp_ns: int


@dataclass
class FakeRecording:
    """An .svo "file" (not part of the SDK): calibration and frames."""

    fx: float
    fy: float
    cx: float
    cy: float
    disto: list[float]
    fps: int
    frames: list[FakeFrame]
    serial_number: int = 12345678
    fail_at: int | None = None  # grab() of this frame returns CORRUPTED_FRAME


RECORDINGS: dict[str, FakeRecording] = {}  # by svo path, registered by the tests
LIVE: list[FakeRecording] = []  # LIVE[0] is "the plugged-in camera"
OPENED: list[Camera] = []  # every Camera opened, so tests can inspect its InitParameters


class InitParameters:
    def __init__(self, camera_resolution=RESOLUTION.AUTO, camera_fps=0, depth_mode=DEPTH_MODE.NEURAL,
                 coordinate_units=UNIT.MILLIMETER, coordinate_system=COORDINATE_SYSTEM.IMAGE,
                 svo_real_time_mode=False, **kwargs):
        self.camera_resolution = camera_resolution
        self.camera_fps = camera_fps
        self.depth_mode = depth_mode
        self.coordinate_units = coordinate_units
        self.coordinate_system = coordinate_system
        self.svo_real_time_mode = svo_real_time_mode
        self.svo_input: str | None = None
        for k, v in kwargs.items():
            setattr(self, k, v)

    def set_from_svo_file(self, svo_input_filename: str) -> None:
        self.svo_input = svo_input_filename

    def set_from_serial_number(self, serial_number: int) -> None:
        self.serial_number = serial_number


class PositionalTrackingParameters:
    pass


class RuntimeParameters:
    pass


class Mat:
    def __init__(self):
        self._data = np.zeros((0, 0), np.uint8)

    def get_data(self) -> np.ndarray:
        return self._data

    def get_width(self) -> int:
        return int(self._data.shape[1])

    def get_height(self) -> int:
        return int(self._data.shape[0])


class Transform:
    def __init__(self):
        self.m = np.eye(4)


class Pose:
    def __init__(self):
        self._m = np.eye(4)

    def pose_data(self, pose_data: Transform | None = None) -> Transform:
        out = pose_data if pose_data is not None else Transform()
        out.m = self._m.copy()
        return out


class Timestamp:
    def __init__(self, ns: int):
        self._ns = ns

    def get_nanoseconds(self) -> int:
        return self._ns

    def get_milliseconds(self) -> int:
        return self._ns // 1_000_000


@dataclass
class Resolution:
    width: int
    height: int


@dataclass
class CameraParameters:
    fx: float
    fy: float
    cx: float
    cy: float
    disto: list[float]
    image_size: Resolution


@dataclass
class CalibrationParameters:
    left_cam: CameraParameters


@dataclass
class CameraConfiguration:
    resolution: Resolution
    fps: float
    calibration_parameters: CalibrationParameters


@dataclass
class CameraInformation:
    serial_number: int
    camera_configuration: CameraConfiguration
    camera_model: str = "ZED2"
    extra: dict = field(default_factory=dict)


_OPENCV_TO = {  # right- and left-multiplied axis changes from OpenCV to the asked coordinate system
    COORDINATE_SYSTEM.IMAGE: np.eye(4),
    COORDINATE_SYSTEM.RIGHT_HANDED_Y_UP: np.diag([1.0, -1.0, -1.0, 1.0]),
}
_UNIT_SCALE = {UNIT.MILLIMETER: 1000.0, UNIT.CENTIMETER: 100.0, UNIT.METER: 1.0}


class Camera:
    def __init__(self):
        self._rec: FakeRecording | None = None
        self._i = -1
        self._tracking = False
        self.init: InitParameters | None = None

    def open(self, py_init: InitParameters) -> ERROR_CODE:
        self.init = py_init
        if py_init.svo_input is not None:
            self._rec = RECORDINGS.get(py_init.svo_input)
            if self._rec is None:
                return ERROR_CODE.INVALID_SVO_FILE
        elif LIVE:
            self._rec = LIVE[0]
        else:
            return ERROR_CODE.CAMERA_NOT_DETECTED
        OPENED.append(self)
        return ERROR_CODE.SUCCESS

    def close(self) -> None:
        self._rec = None

    def enable_positional_tracking(self, py_tracking: PositionalTrackingParameters) -> ERROR_CODE:
        self._tracking = True
        return ERROR_CODE.SUCCESS

    def disable_positional_tracking(self, area_file_path: str = "") -> None:
        self._tracking = False

    def get_svo_number_of_frames(self) -> int:
        return len(self._rec.frames) if self.init.svo_input is not None else -1

    def get_camera_information(self, resizer=None) -> CameraInformation:
        r = self._rec
        h, w = r.frames[0].bgra.shape[:2]
        left = CameraParameters(r.fx, r.fy, r.cx, r.cy, list(r.disto), Resolution(w, h))
        conf = CameraConfiguration(Resolution(w, h), float(r.fps), CalibrationParameters(left))
        return CameraInformation(r.serial_number, conf)

    def grab(self, py_runtime: RuntimeParameters | None = None) -> ERROR_CODE:
        self._i += 1
        if self._rec.fail_at == self._i:
            return ERROR_CODE.CORRUPTED_FRAME
        if self._i >= len(self._rec.frames):
            if self.init.svo_input is None:
                return ERROR_CODE.CAMERA_NOT_DETECTED  # a live camera never ends: pretend it was unplugged
            return ERROR_CODE.END_OF_SVOFILE_REACHED
        return ERROR_CODE.SUCCESS

    def _frame(self) -> FakeFrame:
        return self._rec.frames[self._i]

    def retrieve_image(self, py_mat: Mat, view: VIEW = VIEW.LEFT, type=None, resolution=None) -> ERROR_CODE:
        assert view is VIEW.LEFT
        py_mat._data = self._frame().bgra.copy()
        return ERROR_CODE.SUCCESS

    def retrieve_measure(self, py_mat: Mat, measure: MEASURE = MEASURE.DEPTH, type=None, resolution=None) -> ERROR_CODE:
        assert measure is MEASURE.DEPTH
        py_mat._data = (self._frame().depth_m * _UNIT_SCALE[self.init.coordinate_units]).astype(np.float32)
        return ERROR_CODE.SUCCESS

    def get_timestamp(self, time_reference: TIME_REFERENCE) -> Timestamp:
        return Timestamp(self._frame().timestamp_ns)

    def get_position(self, py_pose: Pose, reference_frame: REFERENCE_FRAME = REFERENCE_FRAME.WORLD):
        if not self._tracking:
            return POSITIONAL_TRACKING_STATE.OFF
        assert reference_frame is REFERENCE_FRAME.WORLD
        flip = _OPENCV_TO[self.init.coordinate_system]  # NotImplemented systems raise KeyError
        m = self._frame().c2w_opencv @ flip  # same camera, axes of the asked system (world as recorded)
        m = m.copy()
        m[:3, 3] *= _UNIT_SCALE[self.init.coordinate_units]
        py_pose._m = m
        return self._frame().state
