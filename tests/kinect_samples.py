"""Azure Kinect test inputs made from the real recording in ../shared/data/kinect_pyk4a.

``write_recording`` re-muxes the real colour / depth / IR packets with PyAV into new Matroska files:
several captures, captures with a missing image, no calibration attachment, no depth track. PyAV's
Matroska muxer drops the "b16g" FOURCC of raw tracks (as ``ffmpeg -c copy`` does); the reader
accepts both, so these files also cover remuxed recordings.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from tests.conftest import shared_path

TRACK_TAGS = {
    "COLOR": {"title": "COLOR", "K4A_COLOR_MODE": "MJPG_720P"},
    "DEPTH": {"title": "DEPTH", "K4A_DEPTH_MODE": "NFOV_UNBINNED"},
    "IR": {"title": "IR", "K4A_IR_MODE": "ACTIVE"},
}


def real_recording() -> Path:
    return shared_path("kinect_pyk4a", "recording.mkv")


@dataclass(frozen=True)
class RealPackets:
    """The real recording's single capture, as encoded packets, plus its calibration attachment."""

    packets: dict[str, bytes]
    """COLOR (JPEG), DEPTH and IR (big-endian 16-bit) packet payloads."""
    streams: dict[str, object]
    calibration: bytes


def read_real_packets(container) -> RealPackets:
    names = {s.index: s.metadata.get("title") for s in container.streams.video}
    packets = {names[p.stream.index]: bytes(p) for p in container.demux(container.streams.video) if p.size}
    streams = {names[s.index]: s for s in container.streams.video}
    return RealPackets(packets, streams, bytes(container.streams.attachments[0].data))


def write_recording(
    out: Path,
    captures: list[tuple[int, tuple[str, ...]]],
    *,
    calibration: bool = True,
    tracks: tuple[str, ...] = ("COLOR", "DEPTH", "IR"),
    fps: int = 30,
    calibration_json: bytes | None = None,
) -> Path:
    """Write a Matroska recording from the real frames.

    Args:
        captures: (timestamp µs, track names present) per capture, e.g. ``[(0, ("COLOR", "DEPTH"))]``.
        calibration: embed the calibration.json attachment.
        tracks: the image tracks the file declares.
        fps: frame rate written as the tracks' rate.
        calibration_json: attach this instead of the real calibration.
    """
    with av.open(str(real_recording())) as src:
        real = read_real_packets(src)
        with av.open(str(out), "w", format="matroska", options={"allow_raw_vfw": "1"}) as dst:
            streams = {}
            for name in tracks:
                s = dst.add_stream_from_template(real.streams[name])
                s.time_base = Fraction(1, 1_000_000)
                s.codec_context.framerate = Fraction(fps)
                for k, v in TRACK_TAGS[name].items():
                    s.metadata[k] = v
                streams[name] = s
            if calibration:
                dst.add_attachment("calibration.json", "application/octet-stream",
                                   real.calibration if calibration_json is None else calibration_json)
            for ts, present in captures:
                for name in present:
                    if name not in streams:
                        continue
                    pkt = av.Packet(real.packets[name])
                    pkt.stream = streams[name]
                    pkt.time_base = Fraction(1, 1_000_000)
                    pkt.pts = pkt.dts = ts
                    dst.mux(pkt)
    return out
