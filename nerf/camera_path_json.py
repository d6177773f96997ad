"""nerfstudio's camera_path.json, read and written.

The format (nerfstudio's viewer, ``ns-render camera-path``)::

    {"camera_type": "perspective", "render_height": H, "render_width": W, "fps": F, "seconds": S,
     "is_cycle": bool, "smoothness_value": float, "default_fov": deg, "default_transition_sec": s,
     "keyframes":   [{"matrix": [16 floats], "fov": deg, "aspect": W/H,
                      "override_transition_enabled": bool, "override_transition_sec": s}, ...],
     "camera_path": [{"camera_to_world": [16 floats], "fov": deg, "aspect": W/H}, ...]}

Matrices are camera-to-world 4x4 flattened row by row, OpenGL camera axes (x right, y up, looking
down -z); ``fov`` is the vertical field of view in degrees; the focal length is H / 2 / tan(fov / 2)
with the principal point at the image centre. ``camera_path`` holds the rendered frames (what
``ns-render`` renders; we render it as it is), ``keyframes`` what the editor edits. The oldest viewer
wrote each keyframe's ``matrix`` as a string holding three.js's column-major array; that is read too.

Frames of reference (what we assume): our files hold poses in the scene's own world frame, the frame
of its ``transforms.json`` (metres for captures with metric depth), and say so under ``"sparsenerf"``.
nerfstudio's viewer writes poses in its *dataparser* frame: the transforms.json frame oriented,
centred and scaled, ``p_ns = scale * (T @ p)`` with ``T`` (3x4) and ``scale`` from the run's
``dataparser_transforms.json``. Pass that file (``dataparser=``) to map such a path back into the
scene's frame; without it the poses are taken as they are. Each keyframe also gets our own ``"time"``
(seconds); files without it get keyframe times from their transitions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devices.atomic import atomic_write_text
from devices.axes import opencv_to_opengl, opengl_to_opencv
from devices.errors import InputError
from nerf.camera_path import CameraPath, Keyframe, camera_from_fov, vertical_fov_deg
from nerf.types import Camera

FRAME_NOTE = "scene world frame (its transforms.json), OpenGL camera axes, row-major 4x4"


@dataclass(frozen=True)
class LoadedPath:
    """A camera_path.json: the editable keyframe path (None when it has no keyframes) and the frames to
    render (from ``camera_path``; sampled from the keyframes when the file has none)."""

    path: CameraPath | None
    cameras: list[Camera]
    fps: float


def path_to_json(path: CameraPath, n_frames: int | None = None) -> dict:
    """The camera_path.json document of ``path``, with ``n_frames`` sampled frames (default fps x duration)."""
    w, h = path.width, path.height
    keys = path.keyframes
    ends = [k.time for k in keys[1:]] + ([path.start + path.duration] if path.loop else [])
    transitions = [e - k.time for k, e in zip(keys, ends)] + ([] if path.loop else [0.0])
    cams = path.cameras(n_frames)
    return {
        "camera_type": "perspective", "render_height": h, "render_width": w,
        "fps": path.fps, "seconds": path.duration, "is_cycle": path.loop, "smoothness_value": 0.5,
        "default_fov": keys[0].fov_deg if keys else 50.0,
        "default_transition_sec": float(np.mean(transitions)) if keys else 1.0,
        "keyframes": [{"matrix": _flat(k.c2w), "fov": k.fov_deg, "aspect": w / h,
                       "override_transition_enabled": True, "override_transition_sec": float(dt),
                       "time": k.time} for k, dt in zip(keys, transitions)],
        "camera_path": [{"camera_to_world": _flat(c.c2w), "fov": _fov(c), "aspect": c.width / c.height} for c in cams],
        "sparsenerf": {"version": 1, "frame": FRAME_NOTE, **path.extra},
    }


def save_camera_path(path: CameraPath, out: str | Path, n_frames: int | None = None) -> Path:
    """Write ``path`` to ``out`` as camera_path.json, atomically."""
    out = Path(out)
    if not out.parent.is_dir():
        raise InputError(out.parent, "folder does not exist")
    text = json.dumps(path_to_json(path, n_frames), indent=1)
    atomic_write_text(out, text)
    return out


def load_camera_path(file: str | Path, dataparser: str | Path | None = None) -> LoadedPath:
    """Read a camera_path.json (ours or nerfstudio's).

    Args:
        dataparser: nerfstudio's ``dataparser_transforms.json`` of the run the path was made on, to map
            its poses from nerfstudio's frame back into the scene's.
    Raises:
        InputError: naming the file: not JSON, not a perspective path, a malformed matrix or fov, no frames.
    """
    file = Path(file)
    try:
        doc = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(file, f"cannot be read as JSON ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(doc, dict):
        raise InputError(file, "is not a camera path (expected a JSON object)")
    to_scene = _dataparser_inverse(Path(dataparser)) if dataparser is not None else np.eye(4)
    try:
        return _parse(doc, to_scene)
    except (KeyError, TypeError, ValueError) as exc:
        why = f"missing key {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
        raise InputError(file, f"is not a valid camera path: {why}") from None


def _parse(doc: dict, to_scene: np.ndarray) -> LoadedPath:
    kind = doc.get("camera_type", doc.get("camera_model", "perspective"))
    if kind != "perspective":
        raise ValueError(f"camera_type {kind!r} is not supported (only perspective)")
    w, h = int(doc["render_width"]), int(doc["render_height"])
    if w < 1 or h < 1:
        raise ValueError(f"render size {w}x{h}")
    fps = float(doc.get("fps", 24.0))
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    loop = bool(doc.get("is_cycle", False))
    keys = doc.get("keyframes") or []
    times = _keyframe_times(doc, keys, loop)
    keyframes = [Keyframe(c2w=_pose(k["matrix"], to_scene), fov_deg=_check_fov(k.get("fov", doc.get("default_fov"))),
                          time=t) for k, t in zip(keys, times)]
    path = None
    if keyframes:
        span = times[-1] - times[0]
        seconds = float(doc.get("seconds", span + (1.0 if loop else 0.0)))
        if loop and seconds <= span:
            seconds = span + (span / max(len(keys) - 1, 1) if span > 0 else 1.0)
        extra = {k: v for k, v in (doc.get("sparsenerf") or {}).items() if k not in ("version", "frame")}
        path = CameraPath(tuple(keyframes), loop=loop, duration=seconds, fps=fps, width=w, height=h, extra=extra)
    frames = doc.get("camera_path") or []
    cameras = [camera_from_fov(_pose(f["camera_to_world"], to_scene), _check_fov(f["fov"]), w, h) for f in frames]
    if not cameras:
        if path is None:
            raise ValueError("no keyframes and no camera_path frames")
        cameras = path.cameras(max(1, round(float(doc.get("seconds", path.duration)) * fps)))
    return LoadedPath(path=path, cameras=cameras, fps=fps)


def _keyframe_times(doc: dict, keys: list, loop: bool) -> list[float]:
    """Our "time" when every keyframe has one; else from nerfstudio's transitions; else spread evenly."""
    if keys and all("time" in k for k in keys):
        return [float(k["time"]) for k in keys]
    default = doc.get("default_transition_sec")
    if default is not None or any(k.get("override_transition_enabled") for k in keys):
        t, out = 0.0, []
        for k in keys:
            out.append(t)
            dt = k.get("override_transition_sec") if k.get("override_transition_enabled") else default
            t += float(dt if dt is not None else 1.0)
        return out
    seconds = float(doc.get("seconds", max(len(keys) - 1, 1)))
    n = len(keys) if loop else max(len(keys) - 1, 1)
    return [seconds * i / n for i in range(len(keys))]


def _pose(value, to_scene: np.ndarray) -> np.ndarray:
    """OpenCV c2w [4, 4] in the scene's frame from a flattened OpenGL 4x4 (a list, or three.js's string)."""
    if isinstance(value, str):  # the oldest viewer: JSON text of three.js's column-major elements
        m = np.asarray(json.loads(value), dtype=np.float64).reshape(4, 4).T
    else:
        m = np.asarray(value, dtype=np.float64)
        if m.size != 16:
            raise ValueError(f"a camera matrix has {m.size} numbers, expected 16")
        m = m.reshape(4, 4)
    if not np.all(np.isfinite(m)):
        raise ValueError("a camera matrix is not finite")
    m[3] = [0.0, 0.0, 0.0, 1.0]  # nerfstudio's viewer sometimes writes 3x4 poses padded with zeros
    out = opengl_to_opencv(to_scene @ m)
    u, _, vt = np.linalg.svd(out[:3, :3])  # undo a scale folded into the rotation (dataparser's scale)
    out[:3, :3] = u @ vt
    return out


def _check_fov(fov) -> float:
    fov = float(fov)
    if not 0.0 < fov < 180.0:
        raise ValueError(f"fov must be between 0 and 180 degrees, got {fov:g}")
    return fov


def _dataparser_inverse(file: Path) -> np.ndarray:
    """[4, 4] mapping nerfstudio's dataparser frame back to the transforms.json frame (p = T^-1 (p_ns / s))."""
    try:
        doc = json.loads(file.read_text())
        t = np.eye(4)
        t[:3, :4] = np.asarray(doc["transform"], dtype=np.float64).reshape(3, 4)
        scale = float(doc["scale"])
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise InputError(file, f"is not nerfstudio's dataparser_transforms.json ({exc.__class__.__name__}: {exc})") from None
    fwd = np.diag([scale, scale, scale, 1.0]) @ t
    return np.linalg.inv(fwd)


def _flat(c2w_opencv: np.ndarray) -> list[float]:
    return [float(v) for v in opencv_to_opengl(c2w_opencv).reshape(-1)]


def _fov(camera: Camera) -> float:
    return vertical_fov_deg(camera)
