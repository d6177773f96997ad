"""MP4 videos of a camera path: RGB and colour-mapped depth side by side (H.264 via PyAV, yuv420p).

The file is written to a temporary name next to the target and renamed at the end, so a failure or an
interrupt never leaves a partial video behind.

The depth panel shows depth only where the render is mostly opaque (``MIN_ACC``): the expected depth of
a nearly transparent ray (frame edges that no training view saw, background) is the weighted mean of a
little fog, often right in front of the camera, and used to paint a red "near" band along the edges.
Below the frame a legend strip maps the colours to metres (or "near" / "far" where the depth has no
known scale, e.g. NDC).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devices.atomic import recover_leftovers, replace_when_done
from devices.errors import InputError
from nerf.colormap import TURBO_LUT, colorize, robust_range
from nerf.scene import Scene
from nerf.types import Camera, RenderResult


@dataclass(frozen=True)
class VideoInfo:
    """What was written: path, frames, frame size in pixels (even), frames per second."""

    path: Path
    frames: int
    width: int
    height: int
    fps: float


MIN_ACC = 0.5
"""Depth is shown where the accumulated opacity exceeds this; elsewhere the panel is black (no surface)."""


def legend_scale(scene: Scene) -> float | None:
    """Metres per scene unit for every depth legend and colour bar (CLI videos, the studio's export and preview):
    the scene's ``to_metres`` when its depth has a known metric scale and its rays are not NDC, else None
    (the legend then says "near" / "far"). The one place that decides it."""
    if scene.ndc or not scene.to_metres:
        return None
    return float(scene.to_metres)


def side_by_side(result: RenderResult, depth_range: tuple[float, float], min_acc: float = MIN_ACC,
                 metres_per_unit: float | None = None, legend: bool = True) -> np.ndarray:
    """uint8 [H' (+ legend), 2 W', 3]: the RGB render left, its depth through Turbo right (acc <= min_acc -> black).

    Each half is padded to even H' and W' by repeating its last row/column: yuv420p shares one chroma
    sample per 2x2 block, so even halves keep the two panels' colours from bleeding into each other.
    With ``legend`` a strip under the depth panel (``depth_legend``) labels the colours in metres when
    ``metres_per_unit`` is known and the depth is not NDC, else "near" / "far".
    """
    valid = result.acc > min_acc
    depth_rgb = colorize(result.depth, depth_range, valid)
    frame = np.concatenate([even_pad(result.rgb), even_pad(depth_rgb)], axis=1)
    if not legend:
        return frame
    half = frame.shape[1] // 2
    scale = None if result.depth_is_ndc else metres_per_unit
    strip = depth_legend(half, depth_range, scale)
    return np.concatenate([frame, np.concatenate([np.zeros_like(strip), strip], axis=1)], axis=0)


def marking_unseen(render: Callable[[Camera], RenderResult], scene: Scene) -> Callable[[Camera], RenderResult]:
    """``render`` with the RGB that no training view saw blended towards a light grey (``nerf.coverage``): an
    honest video of a few-shot capture, at the cost of PSNR where the field guessed well. Only the RGB changes.

    Raises:
        InputError: the scene has no metric sensor depth to tell what the training views saw.
    """
    from dataclasses import replace

    from nerf.coverage import has_sensor_depth, mark_unseen, unseen_weight

    if not has_sensor_depth(scene):
        raise InputError(None, f"{scene.name}: marking what no view saw needs metric sensor depth (an RGB-D capture)")

    def wrapped(camera: Camera) -> RenderResult:
        r = render(camera)
        weight = unseen_weight(scene, r.camera, r.depth, r.acc > MIN_ACC)
        return replace(r, rgb=mark_unseen(r.rgb, weight))

    return wrapped


def legend_height(width: int) -> int:
    """Height (even, pixels) of the legend strip for a panel ``width`` pixels wide."""
    return max(16, int(round(width / 16)) // 2 * 2)


def depth_legend(width: int, depth_range: tuple[float, float], metres_per_unit: float | None) -> np.ndarray:
    """uint8 [legend_height(width), width, 3]: a Turbo scale bar (near = red, left) with its end labels.

    Labels: the range's ends in metres ("0.52 m", "3.10 m") when ``metres_per_unit`` is given, else
    "near" and "far". The studio's panels and the videos draw the same strip.
    """
    import cv2

    h = legend_height(width)
    out = np.zeros((h, width, 3), np.uint8)
    bar_h = max(3, h // 3)
    x = np.linspace(1.0, 0.0, width)  # left = near = warm, as the depth panel
    out[:bar_h] = TURBO_LUT[np.round(x * 255).astype(np.int64)][None]
    if metres_per_unit is None:
        left, right = "near", "far"
    else:
        lo, hi = (v * metres_per_unit for v in depth_range)
        left, right = f"{lo:.2f} m", f"{hi:.2f} m"
    font, size = cv2.FONT_HERSHEY_SIMPLEX, (h - bar_h) / 30.0
    thick = 1
    (tw, th), _ = cv2.getTextSize(right, font, size, thick)
    base = h - max(1, (h - bar_h - th) // 2)
    cv2.putText(out, left, (1, base), font, size, (255, 255, 255), thick, cv2.LINE_AA)
    cv2.putText(out, right, (max(0, width - tw - 1), base), font, size, (255, 255, 255), thick, cv2.LINE_AA)
    return out


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
    metres_per_unit: float | None = None,
) -> VideoInfo:
    """Render every camera and write OUT (.mp4). The depth colour range is the 1-99 % range of the first
    frame's depth where it is opaque, kept for the whole video (no flicker).

    Args:
        render: renders one Camera (e.g. ``Trainer.render``).
        metres_per_unit: ``legend_scale(scene)`` for the legend (None: "near" / "far").
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
                    depth_range = robust_range(result.depth, result.acc > MIN_ACC)
                frame = side_by_side(result, depth_range, metres_per_unit=metres_per_unit)
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

