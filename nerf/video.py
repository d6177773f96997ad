"""MP4 videos of a camera path: RGB and colour-mapped depth side by side (H.264 via PyAV, yuv420p).

The file is written to a temporary name next to the target and renamed at the end, so a failure or an
interrupt never leaves a partial video behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devices.errors import InputError
from nerf.atomic import recover_leftovers, replace_when_done
from nerf.colormap import colorize, robust_range
from nerf.types import Camera, RenderResult


@dataclass(frozen=True)
class VideoInfo:
    """What was written: path, frames, frame size in pixels (even), frames per second."""

    path: Path
    frames: int
    width: int
    height: int
    fps: float


def side_by_side(result: RenderResult, depth_range: tuple[float, float], min_acc: float = 0.0) -> np.ndarray:
    """uint8 [H', 2 W', 3]: the RGB render left, its depth through Turbo right (acc <= min_acc -> black).

    Each half is padded to even H' and W' by repeating its last row/column: yuv420p shares one chroma
    sample per 2x2 block, so even halves keep the two panels' colours from bleeding into each other.
    """
    valid = result.acc > min_acc
    depth_rgb = colorize(result.depth, depth_range, valid)
    return np.concatenate([even_pad(result.rgb), even_pad(depth_rgb)], axis=1)


def even_pad(img: np.ndarray) -> np.ndarray:
    """[H, W, 3] -> even H and W by repeating the last row / column (yuv420p needs even sizes)."""
    h, w = img.shape[:2]
    return np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def render_video(
    render: Callable[[Camera], RenderResult],
    cameras: Sequence[Camera],
    out: str | Path,
    fps: float = 30.0,
    on_frame: Callable[[int, int], None] | None = None,
    crf: int = 18,
) -> VideoInfo:
    """Render every camera and write OUT (.mp4). The depth colour range is the 1-99 % range of the first
    frame's depth, kept for the whole video (no flicker).

    Args:
        render: renders one Camera (e.g. ``Trainer.render``).
        on_frame: progress callback (frames done, frames total).
    Raises:
        InputError: the folder of OUT does not exist or cannot be written, or no cameras.
    """
    import av

    out = Path(out)
    if not cameras:
        raise InputError(out, "no cameras to render")
    if not out.parent.is_dir():
        raise InputError(out.parent, "folder does not exist")
    recover_leftovers(out)  # the temporary file of a render killed earlier
    depth_range, size = None, None
    with replace_when_done(out, problem="cannot write the video", suffix=".mp4") as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = None
            for k, cam in enumerate(cameras):
                result = render(cam)
                if depth_range is None:
                    depth_range = robust_range(result.depth, result.acc > 0)
                frame = side_by_side(result, depth_range)
                if stream is None:
                    stream = _open_stream(container, frame.shape[1], frame.shape[0], fps, crf)
                    size = (frame.shape[1], frame.shape[0])
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
                if on_frame:
                    on_frame(k + 1, len(cameras))
            for packet in stream.encode():
                container.mux(packet)
    return VideoInfo(out, len(cameras), size[0], size[1], fps)


def _open_stream(container, width: int, height: int, fps: float, crf: int):
    from fractions import Fraction

    stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {"crf": str(crf)}
    return stream

