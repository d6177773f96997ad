"""Read Azure Kinect recordings (.mkv, written by k4arecorder / pyk4a) with PyAV only, no Microsoft SDK.

The file layout (from the SDK's ``src/record``): Matroska tracks named COLOR, DEPTH and IR (found by
name, or by the K4A_COLOR_TRACK / K4A_DEPTH_TRACK / K4A_IR_TRACK tags), IMU; an attachment
``calibration.json``; the recording modes in track tags (K4A_COLOR_MODE = "MJPG_720P", K4A_DEPTH_MODE
= "NFOV_UNBINNED", K4A_IR_MODE). Colour is MJPEG or raw BGRA / NV12 / YUY2; depth and IR are raw
16-bit big-endian ("b16g", millimetres for depth). A capture groups the images whose timestamps lie
within half a frame period of the earliest one, as the SDK's playback does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from devices.errors import InputError, MissingDependencyError
from devices.kinect.calibration import KinectCalibration, parse_calibration

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_SEGMENT_ID = b"\x18\x53\x80\x67"
_TRACKS = ("COLOR", "DEPTH", "IR")
_DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class TrackInfo:
    """One image track of a recording."""

    name: str
    """COLOR, DEPTH or IR."""
    stream_index: int
    fourcc: str
    """MJPG, BGRA, NV12, YUY2 or b16g (derived from the codec when a remuxer dropped the tag)."""
    width: int
    height: int
    mode: str | None
    """The K4A_*_MODE tag, e.g. "MJPG_720P", "NFOV_UNBINNED", "ACTIVE"."""


@dataclass(frozen=True)
class RecordingInfo:
    """What a recording says about itself before any frame is decoded."""

    path: Path
    color: TrackInfo | None
    depth: TrackInfo
    ir: TrackInfo | None
    fps: float
    """Frame rate from the tracks' default duration (30 when absent)."""
    start_offset_us: int
    """K4A_START_OFFSET_NS / 1000: add to a capture timestamp to get the device timestamp."""
    tags: dict[str, str] = field(default_factory=dict)
    """Container-level tags (serial number, firmware versions, sync mode, ...)."""

    @property
    def color_height(self) -> int | None:
        """Colour resolution as the mode's height (720 for MJPG_720P), or None without colour."""
        return None if self.color is None else self.color.height


@dataclass(frozen=True)
class Capture:
    """Images recorded together. Missing images are None."""

    timestamp_us: int
    """Earliest image timestamp in the capture, microseconds from the recording's start."""
    color: np.ndarray | None = None
    """uint8 [H, W, 3] RGB."""
    depth: np.ndarray | None = None
    """uint16 [Hd, Wd] millimetres, 0 = no measurement."""
    ir: np.ndarray | None = None
    """uint16 [Hd, Wd]."""


def _av():
    try:
        import av
    except ImportError as exc:  # a core dependency, but say what to do if it is missing
        raise MissingDependencyError("reading .mkv recordings needs PyAV: pip install av") from exc
    return av


def _read_vint(data: bytes, pos: int) -> tuple[int, int, bool]:
    """An EBML variable-size integer at ``pos``: (value, next position, all-ones = "unknown size")."""
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or pos + length > len(data):
        raise ValueError("bad EBML size")
    value = first & (0xFF >> length)
    for b in data[pos + 1 : pos + length]:
        value = (value << 8) | b
    return value, pos + length, value == (1 << (7 * length)) - 1


_TRACKS_ID = b"\x16\x54\xae\x6b"
_CLUSTER_ID = b"\x1f\x43\xb6\x75"


def check_matroska(path: Path) -> bool | None:
    """Raise InputError unless ``path`` starts like a Matroska file; returns True when it is cut short,
    None when the segment does not say its size (a recording still being written, or killed), else False.

    Checks the EBML magic number, then whether the Segment's declared size fits in the file: a
    recording cut short (copy interrupted, recorder killed) ends before its segment does.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(256)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    if not head.startswith(_EBML_MAGIC):
        raise InputError(path, "is not a Matroska (.mkv) file")
    try:
        header_size, pos, _ = _read_vint(head, 4)
        pos += header_size
        if head[pos : pos + 4] != _SEGMENT_ID:
            raise ValueError("no Segment after the EBML header")
        seg_size, data_start, unknown = _read_vint(head, pos + 4)
    except (ValueError, IndexError):
        raise InputError(path, "is not a Matroska (.mkv) file (broken EBML header)") from None
    return None if unknown else data_start + seg_size > size


_ATTACHMENTS_ID = b"\x19\x41\xa4\x69"
_HEADER_READ = 16 << 20
"""Bytes read when looking for the first Cluster (a recording's header is a few kB)."""


def _element_id(data: bytes, pos: int) -> tuple[bytes, int]:
    """The EBML element ID at ``pos`` (1-4 bytes, marker bits kept) and the position after it."""
    first = data[pos]
    length = next((n for n in range(1, 5) if first & (0x80 >> (n - 1))), 0)
    if not length or pos + length > len(data):
        raise ValueError("bad EBML ID")
    return bytes(data[pos : pos + length]), pos + length


def _header_without_clusters(path: Path, truncated: bool | None) -> str | None:
    """What a Matroska file that FFmpeg cannot open holds before its first Cluster, from its top-level
    elements: "complete" (Tracks and the calibration Attachments whole, then no Cluster: a recording
    stopped before its first capture), "no-calibration" (Tracks whole, no Attachments, no Cluster, nothing
    cut), "cut" (the file ends inside its header), or None (a Cluster exists, or the layout is not
    understood). ``truncated``: ``check_matroska``'s answer (the Segment is longer than the file)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(_HEADER_READ)
        size = path.stat().st_size
    except OSError:
        return None
    whole: set[bytes] = set()
    cut = bool(truncated)
    try:
        header_size, pos, _ = _read_vint(data, 4)
        _, pos = _element_id(data, pos + header_size)  # the Segment
        _, pos, _ = _read_vint(data, pos)
        while pos < len(data):
            eid, body = _element_id(data, pos)
            if eid == _CLUSTER_ID:
                return None
            length, body, unknown = _read_vint(data, body)
            if unknown or body + length > size:
                cut = True
                break
            whole.add(eid)
            pos = body + length
    except (ValueError, IndexError):  # the file ends inside an element's ID or size
        cut = True
    if len(data) < size:
        return None  # a header this long is not a Kinect recording's: let FFmpeg's reason stand
    if {_TRACKS_ID, _ATTACHMENTS_ID} <= whole:
        return "complete"
    if cut:
        return "cut"
    return "no-calibration" if _TRACKS_ID in whole else None


def _fourcc(stream) -> str:
    ctx = stream.codec_context
    tag = (ctx.codec_tag or "").strip("\x00 ")
    if tag in ("MJPG", "BGRA", "NV12", "YUY2", "b16g"):
        return tag
    if ctx.name == "mjpeg":
        return "MJPG"
    # Remuxers (ffmpeg -c copy) drop the FOURCC of raw tracks; the recorder's pixel formats remain.
    return {"bgra": "BGRA", "nv12": "NV12", "yuyv422": "YUY2"}.get(ctx.pix_fmt or "", "b16g")


def _find_track(container, name: str) -> TrackInfo | None:
    for s in container.streams.video:
        md = {k.upper(): v for k, v in s.metadata.items()}
        if md.get("TITLE") == name or f"K4A_{name}_TRACK" in md:
            mode = md.get(f"K4A_{name}_MODE") or (md.get("K4A_DEPTH_MODE") if name == "IR" else None)
            ctx = s.codec_context
            if ctx is None or not (0 < ctx.width <= 16384 and 0 < ctx.height <= 16384):
                raise ValueError(f"its {name} track has no readable codec or image size (a damaged header)")
            return TrackInfo(name, s.index, _fourcc(s), ctx.width, ctx.height, mode)
    return None


def _calibration_bytes(container) -> bytes | None:
    for att in container.streams.attachments:
        md = {k.upper(): v for k, v in att.metadata.items()}
        if att.name == "calibration.json" or "K4A_CALIBRATION_FILE" in md:
            return bytes(att.data)
    return None


def decode_image(track: TrackInfo, data: bytes) -> np.ndarray | None:
    """One packet -> RGB uint8 [H, W, 3] (colour) or uint16 [H, W] (depth, IR); None when it is damaged."""
    w, h = track.width, track.height
    buf = np.frombuffer(data, dtype=np.uint8)
    expected = {"b16g": w * h * 2, "BGRA": w * h * 4, "NV12": w * h * 3 // 2, "YUY2": w * h * 2}
    if track.fourcc == "MJPG":
        bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        if bgr is None or bgr.shape[:2] != (h, w):
            return None
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if len(buf) != expected[track.fourcc]:
        return None
    if track.fourcc == "b16g":
        return buf.view(">u2").reshape(h, w).astype(np.uint16)
    if track.fourcc == "BGRA":
        return cv2.cvtColor(buf.reshape(h, w, 4), cv2.COLOR_BGRA2RGB)
    if track.fourcc == "NV12":
        return cv2.cvtColor(buf.reshape(h * 3 // 2, w), cv2.COLOR_YUV2RGB_NV12)
    return cv2.cvtColor(buf.reshape(h, w, 2), cv2.COLOR_YUV2RGB_YUY2)


class MkvRecording:
    """An open Azure Kinect recording.

    Use as a context manager. ``captures()`` streams (one capture in memory at a time);
    ``frame_count`` and ``timestamps()`` need one pass over the packets (no decoding).

    Raises (on construction) InputError naming the file: not Matroska, truncated, no DEPTH track,
    no calibration.json attachment, a calibration the SDK would refuse.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(self.path, "does not exist")
        self.truncated = check_matroska(self.path)
        """The file ends before its Matroska segment (or does not say where that ends): the captures before
        the cut are read, the one it cuts is dropped (``stopped_early`` says whether one was)."""
        self.stopped_early = False
        av = _av()
        try:
            self._container = av.open(str(self.path), metadata_errors="replace")  # damaged tags: not fatal
        except av.FFmpegError as exc:
            header = _header_without_clusters(self.path, self.truncated)
            if header == "complete":
                raise InputError(self.path, "holds no captures: its Matroska header (tracks, calibration) is "
                                            "complete but not one colour or depth image was recorded") from None
            if header == "no-calibration":
                raise InputError(self.path, "holds no captures and no calibration.json attachment: its Matroska "
                                            "tracks are complete but nothing else was recorded") from None
            if header == "cut":
                raise InputError(self.path, "is truncated inside its Matroska header (it ends before the tracks "
                                            "and calibration are complete): no capture to import") from None
            raise InputError(self.path, f"cannot be opened as Matroska ({exc.strerror or exc})") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(self.path, f"cannot be opened as Matroska ({exc.__class__.__name__})") from None
        try:
            self.info = self._read_info()
            raw = _calibration_bytes(self._container)
            if raw is None:
                raise InputError(self.path, "has no calibration.json attachment (not an Azure Kinect recording?)")
            self.calibration: KinectCalibration = parse_calibration(raw, self.path)
        except BaseException:
            self._container.close()
            raise
        self.skipped = 0
        """Captures skipped by ``captures(complete_only=True)`` because an image was missing or damaged."""
        self._timestamps: list[int] | None = None

    def _read_info(self) -> RecordingInfo:
        c = self._container
        if "matroska" not in c.format.name:
            raise InputError(self.path, f"is a {c.format.name} file, not Matroska")
        try:
            tracks = {name: _find_track(c, name) for name in _TRACKS}
        except ValueError as exc:
            raise InputError(self.path, str(exc)) from None
        if tracks["DEPTH"] is None:
            raise InputError(self.path, "has no DEPTH track (recorded with the depth camera off?)")
        rate = c.streams[tracks["DEPTH"].stream_index].guessed_rate
        fps = float(rate) if rate else _DEFAULT_FPS
        tags = {str(k): str(v) for k, v in c.metadata.items()}
        try:
            offset_us = int(tags.get("K4A_START_OFFSET_NS", "0")) // 1000
        except ValueError:
            offset_us = 0
        return RecordingInfo(self.path, tracks["COLOR"], tracks["DEPTH"], tracks["IR"], fps, offset_us, tags)

    # ------------------------------------------------------------------------------------ reading

    def _tracks_by_stream(self) -> dict[int, TrackInfo]:
        return {t.stream_index: t for t in (self.info.color, self.info.depth, self.info.ir) if t is not None}

    def _packets(self, start_us: int | None = None) -> Iterator[tuple[TrackInfo, int, object]]:
        """(track, timestamp µs, packet) in file order, from ``start_us`` (seeking) or the beginning."""
        av = _av()
        by_stream = self._tracks_by_stream()
        c = self._container
        streams = [c.streams[i] for i in by_stream]
        try:
            if start_us is None:
                c.seek(0)
            else:
                c.seek(max(int(start_us), 0), backward=True)  # no stream: AV_TIME_BASE (µs) units
            for packet in c.demux(streams):
                if packet.size == 0 or packet.pts is None:
                    continue
                ts = int(round(packet.pts * packet.time_base * 1_000_000))
                yield by_stream[packet.stream.index], ts, packet
        except av.FFmpegError as exc:
            if self.truncated is False:
                raise InputError(self.path, f"is damaged: {exc.strerror or exc}") from None
            self.stopped_early = True  # the cut: what came before it is complete

    def _grouped(self, start_us: int | None) -> Iterator[tuple[int, dict[str, tuple[TrackInfo, bytes]]]]:
        """Packets grouped into captures: within half a frame period of the group's first timestamp."""
        half = int(500_000 / self.info.fps)
        group: dict[str, tuple[TrackInfo, bytes]] = {}
        t0 = 0
        for track, ts, packet in self._packets(start_us):
            if group and (ts - t0 >= half or track.name in group):
                yield t0, group
                group = {}
            if not group:
                t0 = ts
            group[track.name] = (track, bytes(packet))
        if group and not (self.truncated or self.stopped_early):
            yield t0, group
        elif group:
            self.stopped_early = True  # the last capture of a cut file may be cut too: dropped

    def captures(self, *, start_us: int | None = None, complete_only: bool = True) -> Iterator[Capture]:
        """Decode captures in order, from the first one at or after ``start_us`` (seek) or the start.

        With ``complete_only`` a capture lacking a colour or depth image (dropped, damaged) is skipped
        and counted in ``self.skipped``; otherwise it is yielded with None in its place.
        """
        half = int(500_000 / self.info.fps)
        for ts, group in self._grouped(start_us):
            if start_us is not None and ts < start_us - half:
                continue
            images = {name: decode_image(track, data) for name, (track, data) in group.items()}
            cap = Capture(ts, images.get("COLOR"), images.get("DEPTH"), images.get("IR"))
            if complete_only and (cap.depth is None or (self.info.color is not None and cap.color is None)):
                self.skipped += 1
                continue
            yield cap

    def timestamps(self) -> list[int]:
        """Timestamps (µs) of every capture in the file, complete or not (one pass, no decoding)."""
        if self._timestamps is None:
            self._timestamps = [ts for ts, _ in self._grouped(None)]
        return self._timestamps

    @property
    def frame_count(self) -> int:
        """Number of captures in the file (including ones that may turn out incomplete)."""
        return len(self.timestamps())

    def capture_at(self, index: int) -> Capture:
        """Capture number ``index`` (0-based), found by seeking; it may have missing images (None)."""
        stamps = self.timestamps()
        if not 0 <= index < len(stamps):
            raise IndexError(f"capture {index} out of range (the recording has {len(stamps)})")
        for cap in self.captures(start_us=stamps[index], complete_only=False):
            return cap
        raise InputError(self.path, f"capture {index} cannot be read back")

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> MkvRecording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
