"""Azure Kinect calibration: the ``calibration.json`` of a recording, read the way Microsoft's SDK reads it.

Conventions (from the SDK's ``src/calibration/calibration.c`` and ``src/transformation``):

- Each camera stores 14 model parameters in the order cx, cy, fx, fy, k1, k2, k3, k4, k5, k6, codx,
  cody, p2, p1 (note p2 before p1). cx, cy, fx, fy are *normalised* to the full sensor (divided by
  its width / height) with (0, 0) at the top-left *corner* of the top-left pixel.
- A recording mode (depth mode, colour resolution) selects a binned resolution, a crop offset and an
  output size. Pixel intrinsics = normalised * binned size - crop - 0.5, the 0.5 moving (0, 0) to
  the *centre* of the top-left pixel (OpenCV's convention, which the SDK uses from then on).
- Distortion is the rational Brown-Conrady model; a point is only projected while its normalised
  radius squared stays within ``metric_radius**2`` (0 in the JSON means "not estimated": 1.7).
- ``Rt`` of each camera maps the depth camera's frame (the device's "world") into that camera's frame;
  the JSON stores the translation in metres, the SDK works in millimetres.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from devices import validate
from devices.errors import InputError

BROWN_CONRADY = "CALIBRATION_LensDistortionModelBrownConrady"
RATIONAL_6KT = "CALIBRATION_LensDistortionModelRational6KT"
_DEFAULT_METRIC_RADIUS = 1.7  # the SDK's default (~120 degree field of view) when the JSON says 0


class DepthMode(str, enum.Enum):
    """Depth modes as written in the K4A_DEPTH_MODE track tag."""

    NFOV_2X2BINNED = "NFOV_2X2BINNED"
    NFOV_UNBINNED = "NFOV_UNBINNED"
    WFOV_2X2BINNED = "WFOV_2X2BINNED"
    WFOV_UNBINNED = "WFOV_UNBINNED"
    PASSIVE_IR = "PASSIVE_IR"


@dataclass(frozen=True)
class ModeInfo:
    """How a recording mode derives from the calibration's sensor: (width, height) pairs in pixels."""

    binned: tuple[int, int]
    """Size the normalised intrinsics are multiplied by."""
    crop: tuple[int, int]
    """Offset of the output window inside the binned image."""
    output: tuple[int, int]
    """Size of the images the mode delivers."""


# src/transformation/mode_specific_calibration.c
DEPTH_MODES: dict[DepthMode, ModeInfo] = {
    DepthMode.NFOV_2X2BINNED: ModeInfo((512, 512), (96, 90), (320, 288)),
    DepthMode.NFOV_UNBINNED: ModeInfo((1024, 1024), (192, 180), (640, 576)),
    DepthMode.WFOV_2X2BINNED: ModeInfo((512, 512), (0, 0), (512, 512)),
    DepthMode.WFOV_UNBINNED: ModeInfo((1024, 1024), (0, 0), (1024, 1024)),
    DepthMode.PASSIVE_IR: ModeInfo((1024, 1024), (0, 0), (1024, 1024)),
}
COLOR_MODES: dict[int, ModeInfo] = {  # keyed by output height ("720P" -> 720)
    720: ModeInfo((1280, 960), (0, 120), (1280, 720)),
    1080: ModeInfo((1920, 1440), (0, 180), (1920, 1080)),
    1440: ModeInfo((2560, 1920), (0, 240), (2560, 1440)),
    1536: ModeInfo((2048, 1536), (0, 0), (2048, 1536)),
    2160: ModeInfo((3840, 2880), (0, 360), (3840, 2160)),
    3072: ModeInfo((4096, 3072), (0, 0), (4096, 3072)),
}
# Legacy 16:9 colour calibrations are first re-expressed on the 4:3 sensor (still normalised).
_LEGACY_16_9 = ModeInfo((4096, 2304), (0, -384), (4096, 3072))


@dataclass(frozen=True)
class CameraModel:
    """One camera: intrinsics (normalised or in pixels), distortion, validity radius, extrinsics.

    ``R`` (float64 [3, 3]) and ``t`` (float64 [3], millimetres) map a point in the depth camera's
    frame into this camera's frame: p_cam = R @ p_depth + t.
    """

    cx: float
    cy: float
    fx: float
    fy: float
    k: tuple[float, float, float, float, float, float]
    """Radial k1..k6 (k1-k3 numerator, k4-k6 denominator of the rational model)."""
    codx: float
    cody: float
    p1: float
    p2: float
    metric_radius: float
    model: str
    width: int
    height: int
    R: np.ndarray
    t: np.ndarray
    normalised: bool = True
    """True while cx..fy are fractions of the sensor size (as in the JSON)."""

    def with_mode(self, mode: ModeInfo, *, pixelised: bool = True) -> CameraModel:
        """The calibration of one recording mode (mode_specific_calibration.c)."""
        if not self.normalised:
            raise ValueError("with_mode needs a normalised (raw) calibration")
        cx = self.cx * mode.binned[0] - mode.crop[0]
        cy = self.cy * mode.binned[1] - mode.crop[1]
        fx = self.fx * mode.binned[0]
        fy = self.fy * mode.binned[1]
        w, h = mode.output
        if pixelised:  # pixel units, (0, 0) = centre of the top-left pixel
            return replace(self, cx=cx - 0.5, cy=cy - 0.5, fx=fx, fy=fy, width=w, height=h, normalised=False)
        return replace(self, cx=cx / w, cy=cy / h, fx=fx / w, fy=fy / h, width=w, height=h)

    @property
    def K(self) -> np.ndarray:
        """float64 [3, 3] pinhole matrix (pixel units once the mode is applied)."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def opencv_distortion(self) -> np.ndarray:
        """float64 [8] OpenCV rational coefficients (k1, k2, p1, p2, k3, k4, k5, k6).

        Exact for Brown-Conrady with codx = cody = 0, which is what production devices carry.
        """
        if self.model != BROWN_CONRADY or self.codx != 0.0 or self.cody != 0.0:
            raise ValueError("only the Brown-Conrady model with a zero centre of distortion maps onto OpenCV's")
        k1, k2, k3, k4, k5, k6 = self.k
        return np.array([k1, k2, self.p1, self.p2, k3, k4, k5, k6], dtype=np.float64)


@dataclass(frozen=True)
class KinectCalibration:
    """Depth and colour cameras of one device, raw (normalised) as read from the JSON."""

    depth: CameraModel
    color: CameraModel

    def for_modes(self, depth_mode: DepthMode, color_height: int) -> KinectCalibration:
        """Pixel calibrations for a recording's depth mode and colour resolution (e.g. 720)."""
        if depth_mode not in DEPTH_MODES:
            raise ValueError(f"depth mode {depth_mode} has no depth image to align")
        if color_height not in COLOR_MODES:
            raise ValueError(f"unknown colour resolution {color_height}P")
        color = self.color
        if color.width * 9 // 16 == color.height:
            color = color.with_mode(_LEGACY_16_9, pixelised=False)
        elif color.width * 3 // 4 != color.height:
            raise ValueError(f"colour sensor {color.width}x{color.height} is neither 16:9 nor 4:3")
        return KinectCalibration(
            depth=self.depth.with_mode(DEPTH_MODES[depth_mode]), color=color.with_mode(COLOR_MODES[color_height])
        )

    @property
    def depth_to_color(self) -> tuple[np.ndarray, np.ndarray]:
        """(R float64 [3, 3], t float64 [3] mm): p_color = R @ p_depth + t.

        The SDK composes world_to_color o inverse(world_to_depth); the depth camera is the world.
        """
        Rd, td = self.depth.R, self.depth.t
        R = self.color.R @ Rd.T
        t = self.color.t - R @ td
        return R, t


MAX_SENSOR_SIDE = 8192
"""Largest sensor side a calibration may claim (the colour sensor is 4096x3072)."""


def _camera(cam: dict, where: Path) -> CameraModel:
    intr = cam["Intrinsics"]
    model = intr["ModelType"]
    if model not in (BROWN_CONRADY, RATIONAL_6KT):
        raise InputError(where, f"unsupported lens model {model!r} (expected Brown-Conrady)")
    loc = cam.get("Location")
    count = validate.integer(intr["ModelParameterCount"], where, f"{loc}: ModelParameterCount", low=0, high=64)
    params = [float(v) for v in validate.finite_array(intr["ModelParameters"], where, f"{loc}: ModelParameters",
                                                       limit=1e4).ravel()][:count]
    if len(params) < 14:
        raise InputError(where, f"{loc}: {len(params)} model parameters, the SDK needs 14")
    cx, cy, fx, fy, k1, k2, k3, k4, k5, k6, codx, cody, p2, p1 = params[:14]
    if not (fx > 0 and fy > 0):
        raise InputError(where, f"{loc}: focal lengths must be positive")
    radius = validate.number(cam["MetricRadius"], where, f"{loc}: MetricRadius")
    if radius <= 0.0001:
        radius = _DEFAULT_METRIC_RADIUS
    rt = cam["Rt"]
    R = validate.finite_array(rt["Rotation"], where, f"{loc}: Rotation", (9,)).reshape(3, 3)
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-3):
        raise InputError(where, f"{loc}: Rotation is not a rotation matrix")
    t = validate.finite_array(rt["Translation"], where, f"{loc}: Translation", (3,), limit=10.0) * 1000.0  # m -> mm
    width, height = (validate.integer(cam[k], where, f"{loc}: {k}", low=1, high=MAX_SENSOR_SIDE)
                     for k in ("SensorWidth", "SensorHeight"))
    return CameraModel(
        cx=cx, cy=cy, fx=fx, fy=fy, k=(k1, k2, k3, k4, k5, k6), codx=codx, cody=cody, p1=p1, p2=p2,
        metric_radius=radius, model=model, width=width, height=height, R=R, t=t,
    )


def parse_calibration(text: str | bytes, where: str | Path) -> KinectCalibration:
    """Parse the calibration JSON; ``where`` names the file in errors (the .mkv or the .json).

    Raises:
        InputError: not JSON, no depth (CALIBRATION_CameraLocationD0) or colour (PV0) camera, or a
            camera the SDK would refuse.
    """
    where = Path(where)
    try:
        doc = json.loads(text)
        cameras = doc["CalibrationInformation"]["Cameras"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InputError(where, f"calibration is not Azure Kinect calibration JSON ({exc.__class__.__name__})") from None
    if not isinstance(cameras, list):
        raise InputError(where, "calibration is not Azure Kinect calibration JSON (Cameras is not a list)")
    by_location = {c.get("Location"): c for c in cameras if isinstance(c, dict)}
    try:
        depth = by_location["CALIBRATION_CameraLocationD0"]
        color = by_location["CALIBRATION_CameraLocationPV0"]
    except KeyError as exc:
        raise InputError(where, f"calibration has no camera at {exc.args[0]}") from None
    try:
        return KinectCalibration(depth=_camera(depth, where), color=_camera(color, where))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(where, f"calibration camera is incomplete ({exc.__class__.__name__}: {exc})") from None


def load_calibration(path: str | Path) -> KinectCalibration:
    """Read a ``calibration.json`` file."""
    path = Path(path)
    try:
        return parse_calibration(path.read_bytes(), path)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
