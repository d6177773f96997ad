"""Live Azure Kinect capture through pyk4a (optional: it needs Microsoft's native libk4a 1.4).

Written against pyk4a's public API (``PyK4A``, ``Config``, ``get_capture``, ``calibration_raw``) and
tested with a stand-in module; untested on hardware. Depth is aligned by ``devices.kinect.align``,
exactly as for recordings, from the device's own raw calibration JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2

from devices.errors import InputError, MissingDependencyError
from devices.frame import DepthKind, Frame, FrameSource, SourceInfo
from devices.kinect.calibration import COLOR_MODES, DepthMode, parse_calibration
from devices.kinect.source import RANKING_WINDOW, SENSOR, AlignOptions, FrameMaker

COLOR_RESOLUTIONS = {f"{h}p": h for h in COLOR_MODES}  # "720p" -> 720
FPS_CHOICES = (5, 15, 30)


@dataclass(frozen=True)
class KinectLiveConfig:
    """Device and modes of a live capture."""

    device: int = 0
    """Index of the device (0 = the first one connected)."""
    color_resolution: str = "720p"
    """Colour resolution: 720p, 1080p, 1440p, 1536p, 2160p or 3072p."""
    depth_mode: str = "NFOV_UNBINNED"
    """NFOV_2X2BINNED, NFOV_UNBINNED, WFOV_2X2BINNED or WFOV_UNBINNED."""
    fps: int = 30
    """5, 15 or 30 (the device refuses 30 with 3072p colour or WFOV_UNBINNED depth)."""
    keep_distortion: bool = False
    """Keep the colour camera's distorted grid (see AlignOptions)."""
    timeout_ms: int = 2000
    """A device that delivers no capture for this long is treated as lost."""

    def validate(self) -> None:
        """ValueError naming the bad option."""
        if self.color_resolution.lower() not in COLOR_RESOLUTIONS:
            raise ValueError(f"colour resolution {self.color_resolution!r}: choose one of {list(COLOR_RESOLUTIONS)}")
        if self.depth_mode.upper() not in {m.value for m in DepthMode} - {"PASSIVE_IR"}:
            raise ValueError(f"depth mode {self.depth_mode!r}: choose one of NFOV_2X2BINNED, NFOV_UNBINNED, "
                             "WFOV_2X2BINNED, WFOV_UNBINNED")
        if self.fps not in FPS_CHOICES:
            raise ValueError(f"fps {self.fps}: choose one of {FPS_CHOICES}")


def import_pyk4a() -> Any:
    """``import pyk4a``, or MissingDependencyError saying which of pyk4a / libk4a is missing."""
    try:
        import pyk4a
    except ModuleNotFoundError as exc:
        if exc.name != "pyk4a":
            raise
        raise MissingDependencyError(
            "live Azure Kinect capture needs pyk4a: install Microsoft's Azure Kinect SDK 1.4 (libk4a), then "
            "pip install 'sparsenerf-studio[kinect]'"
        ) from None
    except ImportError as exc:  # pyk4a's own message: "Cannot import k4a_module ... libk4a.so ..."
        raise MissingDependencyError(
            "pyk4a is installed but cannot load Microsoft's libk4a: install the Azure Kinect SDK 1.4 packages "
            f"(libk4a1.4, its depth engine) and put libk4a.so on LD_LIBRARY_PATH ({exc})"
        ) from None
    return pyk4a


class KinectLive(FrameSource):
    """Frames from a connected Azure Kinect, depth aligned to colour.

    Captures lacking colour or depth are skipped and counted (``skipped``). A device that stops
    (unplugged, timeout) ends the stream with InputError; ``devices.capture.record`` keeps every
    frame written before it.
    """

    def __init__(self, config: KinectLiveConfig | None = None):
        self.config = config or KinectLiveConfig()
        self.config.validate()
        self.skipped = 0
        self._k4a: Any = None
        self._maker: FrameMaker | None = None
        self._info: SourceInfo | None = None

    @property
    def info(self) -> SourceInfo:
        if self._info is None:
            raise RuntimeError("open the device first")
        return self._info

    def _pyk4a_config(self, pyk4a: Any) -> Any:
        cfg = self.config
        return pyk4a.Config(
            color_resolution=getattr(pyk4a.ColorResolution, f"RES_{cfg.color_resolution.upper()}"),
            color_format=pyk4a.ImageFormat.COLOR_BGRA32,
            depth_mode=getattr(pyk4a.DepthMode, cfg.depth_mode.upper()),
            camera_fps=getattr(pyk4a.FPS, f"FPS_{cfg.fps}"),
            synchronized_images_only=True,
        )

    def open(self) -> None:
        pyk4a = import_pyk4a()
        cfg = self.config
        count = pyk4a.connected_device_count()
        if cfg.device >= count:
            raise InputError(None, f"no Azure Kinect at index {cfg.device} ({count} connected)")
        k4a = pyk4a.PyK4A(self._pyk4a_config(pyk4a), device_id=cfg.device)
        try:
            k4a.start()
            where = f"Azure Kinect {cfg.device} calibration"
            height = COLOR_RESOLUTIONS[cfg.color_resolution.lower()]
            cal = parse_calibration(k4a.calibration_raw, where).for_modes(DepthMode(cfg.depth_mode.upper()), height)
            self._maker = FrameMaker(cal, AlignOptions(keep_distortion=cfg.keep_distortion), where)
            serial = k4a.serial
        except pyk4a.K4AException as exc:
            self._stop(k4a)
            raise InputError(None, f"Azure Kinect {cfg.device} could not be started ({exc or 'libk4a error'})") from None
        except BaseException:
            self._stop(k4a)
            raise
        self._k4a = k4a
        self._info = SourceInfo(
            name=f"Azure Kinect {serial}", sensor=SENSOR, width=cal.color.width, height=cal.color.height,
            fps=float(cfg.fps), depth_kind=DepthKind.METRIC, frame_count=None, has_poses=False,
            ranking_window=RANKING_WINDOW,
            extra={"serial_number": serial, "color_resolution": cfg.color_resolution,
                   "depth_mode": cfg.depth_mode.upper(), "keep_distortion": cfg.keep_distortion},
        )

    @staticmethod
    def _stop(k4a: Any) -> None:
        try:
            k4a.stop()
        except Exception:  # noqa: BLE001 - a device that is already gone cannot be stopped
            pass

    def close(self) -> None:
        if self._k4a is not None:
            self._stop(self._k4a)
            self._k4a = None

    def frames(self) -> Iterator[Frame]:
        if self._k4a is None or self._maker is None:
            raise RuntimeError("open the device first")
        pyk4a = import_pyk4a()
        t0: int | None = None
        index = 0
        while True:
            try:
                cap = self._k4a.get_capture(timeout=self.config.timeout_ms)
                color, depth = cap.color, cap.depth
            except pyk4a.K4AException as exc:
                kind = "timed out" if isinstance(exc, pyk4a.K4ATimeoutException) else "failed"
                raise InputError(None, f"Azure Kinect {self.config.device} {kind} after {index} frames "
                                       "(unplugged?); the frames so far are kept") from None
            if color is None or depth is None:
                self.skipped += 1
                continue
            ts = int(cap.depth_timestamp_usec)
            t0 = ts if t0 is None else t0
            rgb = cv2.cvtColor(color, cv2.COLOR_BGRA2RGB)
            yield self._maker.frame(rgb, depth, index=index, timestamp=(ts - t0) * 1e-6,
                                    meta={"device_timestamp_us": ts})
            index += 1
