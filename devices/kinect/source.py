"""Azure Kinect recordings as a FrameSource: colour + depth aligned to it, undistorted or not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devices.errors import InputError
from devices.frame import DepthKind, Frame, FrameSource, SourceInfo
from devices.kinect.calibration import BROWN_CONRADY, COLOR_MODES, DEPTH_MODES, DepthMode, KinectCalibration

SENSOR = "azure_kinect"
RANKING_WINDOW = (5, 5)  # SparseNeRF's window for the NVS-RGBD Kinect scenes (sparsenerf.md)


@dataclass(frozen=True)
class AlignOptions:
    """How colour and depth reach the Frame."""

    keep_distortion: bool = False
    """Keep the colour camera's own pixel grid and report its distortion (OpenCV rational order);
    otherwise undistort colour (bilinear) and depth (nearest) to a pinhole camera."""


class FrameMaker:
    """Turns (RGB on the colour grid, depth on the depth grid) into Frames for one calibration."""

    def __init__(self, calibration: KinectCalibration, options: AlignOptions, where: Path | str):
        from devices.kinect.align import DepthToColor
        from devices.kinect.undistort import build_undistorter

        color = calibration.color
        if options.keep_distortion and (color.model != BROWN_CONRADY or color.codx or color.cody):
            raise InputError(where, "this calibration's lens model has no OpenCV equivalent; import without "
                                    "--keep-distortion to undistort instead")
        self.calibration = calibration
        self.align = DepthToColor(calibration)
        self.undistorter = None if options.keep_distortion else build_undistorter(color)
        self.K = color.K if self.undistorter is None else self.undistorter.K
        self.distortion = color.opencv_distortion if self.undistorter is None else None

    def frame(self, rgb: np.ndarray, depth_mm: np.ndarray, *, index: int, timestamp: float, meta: dict) -> Frame:
        """rgb uint8 [Hc, Wc, 3], depth_mm uint16 [Hd, Wd] -> Frame with metric depth on the colour grid."""
        aligned = self.align(depth_mm)
        if self.undistorter is not None:
            rgb = self.undistorter.color(rgb)
            aligned = self.undistorter.depth(aligned)
        return Frame(
            rgb=np.ascontiguousarray(rgb), depth=aligned.astype(np.float32) * np.float32(0.001), K=self.K,
            timestamp=timestamp, depth_kind=DepthKind.METRIC, distortion=self.distortion, index=index, meta=meta,
        )


def depth_mode_of(mode: str | None, size: tuple[int, int], where: Path) -> DepthMode:
    """The recording's depth mode from its K4A_DEPTH_MODE tag, or from the depth size when a remuxer lost the tag."""
    if mode:
        try:
            return DepthMode(mode)
        except ValueError:
            raise InputError(where, f"unknown depth mode {mode!r} (K4A_DEPTH_MODE tag)") from None
    by_size = {info.output: m for m, info in DEPTH_MODES.items() if m is not DepthMode.PASSIVE_IR}
    if size not in by_size:
        raise InputError(where, f"no K4A_DEPTH_MODE tag and {size[0]}x{size[1]} depth is no Azure Kinect mode")
    return by_size[size]


class KinectRecording(FrameSource):
    """Frames of an Azure Kinect ``.mkv`` (no Microsoft SDK needed).

    Captures lacking a colour or depth image are skipped and counted (``skipped``); poses are None.
    """

    def __init__(self, path: str | Path, options: AlignOptions | None = None):
        self.path = Path(path)
        self.options = options or AlignOptions()
        self._mkv = None
        self._maker: FrameMaker | None = None
        self._info: SourceInfo | None = None

    @property
    def info(self) -> SourceInfo:
        if self._info is None:
            raise RuntimeError("open the recording first")
        return self._info

    @property
    def skipped(self) -> int:
        """Captures skipped so far because an image was missing or damaged."""
        return 0 if self._mkv is None else self._mkv.skipped

    @property
    def stopped_early(self) -> bool:
        """The file is cut short (recorder killed, copy interrupted): the captures before the cut were read."""
        return self._mkv is not None and self._mkv.stopped_early

    def open(self) -> None:
        from devices.kinect.mkv import MkvRecording

        mkv = MkvRecording(self.path)
        try:
            rec = mkv.info
            if rec.color is None:
                raise InputError(self.path, "has no COLOR track: colour images are needed for a scene")
            if rec.color.height not in COLOR_MODES:
                raise InputError(self.path, f"colour resolution {rec.color.width}x{rec.color.height} is not an "
                                            "Azure Kinect mode")
            mode = depth_mode_of(rec.depth.mode, (rec.depth.width, rec.depth.height), self.path)
            cal = mkv.calibration.for_modes(mode, rec.color.height)
            self._maker = FrameMaker(cal, self.options, self.path)
            self._info = SourceInfo(
                name=f"Azure Kinect {self.path.name}", sensor=SENSOR, width=rec.color.width,
                height=rec.color.height, fps=rec.fps, depth_kind=DepthKind.METRIC, frame_count=mkv.frame_count,
                has_poses=False, ranking_window=RANKING_WINDOW,
                extra={"color_mode": rec.color.mode, "depth_mode": mode.value,
                       "serial_number": rec.tags.get("K4A_DEVICE_SERIAL_NUMBER"),
                       "keep_distortion": self.options.keep_distortion},
            )
        except BaseException:
            mkv.close()
            raise
        self._mkv = mkv

    def close(self) -> None:
        if self._mkv is not None:
            self._mkv.close()

    def frames(self) -> Iterator[Frame]:
        if self._mkv is None or self._maker is None:
            raise RuntimeError("open the recording first")
        offset = self._mkv.info.start_offset_us
        n = 0
        for n, cap in enumerate(self._mkv.captures(), start=1):
            meta = {"device_timestamp_us": cap.timestamp_us + offset}
            yield self._maker.frame(cap.color, cap.depth, index=n - 1, timestamp=cap.timestamp_us * 1e-6, meta=meta)
        if n == 0 and self.stopped_early:
            raise InputError(self.path, "is truncated: the file is cut before its first complete capture")
