"""The scene folder: the on-disk hand-off from capture/import to training (design.md).

Layout (nerfstudio / instant-ngp compatible)::

    scene/
      transforms.json     intrinsics, frames[], train/test split, our own keys under "sparsenerf"
      images/000000.png   colour
      depth/000000.png    uint16; metric depth in millimetres (depth_unit_scale_factor 0.001), 0 = unknown
      confidence/         optional uint8 PNGs

Poses are OpenGL camera-to-world in the file (as nerfstudio reads them) and OpenCV in memory. Likewise the
principal point: in the file (format 2) it is in nerfstudio's convention, where the centre of pixel (0, 0)
is at image coordinates (0.5, 0.5) (nerfstudio's ``Cameras`` cast rays through pixel + 0.5, as COLMAP);
in memory (``Intrinsics``) it is OpenCV's, pixel centres at integer coordinates, which every device and
``cv2`` use. Format-1 files (written before) hold OpenCV values; files without our "sparsenerf" block
(nerfstudio's own) hold nerfstudio's.
This module holds the types and the reader; writing (SceneWriter, update_scene, encode_depth, ...)
is in ``devices.scene_writer``. Writers stage everything in a hidden sibling folder and rename it
into place, so an interrupted write never leaves a folder that loads half-written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from devices import validate
from devices.axes import is_rigid, opengl_to_opencv
from devices.errors import InputError
from devices.frame import DepthKind, Frame

TRANSFORMS = "transforms.json"
FORMAT_VERSION = 2
"""2: cx, cy in nerfstudio's convention in the file (``PIXEL_CENTRE_IN_FILE``); 1: OpenCV's."""
PIXEL_CENTRE_IN_FILE = 0.5
"""Image coordinate of pixel (0, 0)'s centre in a format-2 transforms.json: file cx = OpenCV cx + 0.5."""
METRIC_DEPTH_SCALE = 0.001  # uint16 millimetres -> metres
DIST_KEYS = ("k1", "k2", "p1", "p2", "k3", "k4", "k5", "k6")  # OpenCV coefficient order


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of one image, with optional OpenCV distortion (k1, k2, p1, p2[, k3..k6])."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    distortion: tuple[float, ...] | None = None

    @property
    def K(self) -> np.ndarray:
        """float64 [3, 3]."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @classmethod
    def from_K(cls, K: np.ndarray, width: int, height: int, distortion: np.ndarray | None = None) -> Intrinsics:
        K = np.asarray(K, dtype=np.float64)
        dist = None
        if distortion is not None and np.any(np.asarray(distortion) != 0):
            dist = tuple(float(v) for v in np.asarray(distortion).ravel())
        return cls(float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]), int(width), int(height), dist)


@dataclass(frozen=True)
class SceneFrame:
    """One frame entry of transforms.json, paths relative to the scene root."""

    image_path: str
    intrinsics: Intrinsics
    c2w: np.ndarray | None
    """float64 [4, 4] OpenCV camera-to-world, or None before pose estimation."""
    depth_path: str | None = None
    confidence_path: str | None = None
    depth_scale: float = METRIC_DEPTH_SCALE
    """Stored uint16 value times this = depth (metres for metric depth)."""
    timestamp: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class SceneFolder:
    """A scene folder read into memory: metadata eagerly, pixels on demand."""

    root: Path
    frames: list[SceneFrame]
    depth_kind: DepthKind = DepthKind.METRIC
    sensor: str = "unknown"
    ranking_window: tuple[int, int] | None = None
    train_ids: list[int] = field(default_factory=list)
    test_ids: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    split_reasons: dict[str, str] = field(default_factory=dict)
    """Why each view of an automatic split was picked: frame file_path -> one line
    (transforms.json ``"sparsenerf": {"split_reasons": ...}``; the studio shows it as a tooltip)."""

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def has_poses(self) -> bool:
        return bool(self.frames) and all(f.c2w is not None for f in self.frames)

    @property
    def has_depth(self) -> bool:
        return bool(self.frames) and all(f.depth_path is not None for f in self.frames)

    def load_rgb(self, i: int) -> np.ndarray:
        """uint8 [H, W, 3] RGB of frame ``i``."""
        path = self.root / self.frames[i].image_path
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise InputError(path, "cannot be decoded as an image")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def load_depth(self, i: int) -> np.ndarray | None:
        """float32 [H, W] depth of frame ``i`` (metres when metric), 0 = unknown; None without depth."""
        f = self.frames[i]
        if f.depth_path is None:
            return None
        path = self.root / f.depth_path
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise InputError(path, "cannot be decoded as a depth image")
        if raw.dtype != np.uint16 or raw.ndim != 2:
            raise InputError(path, f"depth must be a single-channel 16-bit PNG, got {raw.dtype} with shape {raw.shape}")
        return raw.astype(np.float32) * np.float32(f.depth_scale)

    def load_confidence(self, i: int) -> np.ndarray | None:
        """uint8 [H, W] confidence of frame ``i``, or None."""
        f = self.frames[i]
        if f.confidence_path is None:
            return None
        path = self.root / f.confidence_path
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise InputError(path, "cannot be decoded as a confidence image")
        return raw.astype(np.uint8)

    def frame(self, i: int) -> Frame:
        """Frame ``i`` as the in-memory Frame type."""
        f = self.frames[i]
        dist = np.array(f.intrinsics.distortion) if f.intrinsics.distortion else None
        return Frame(
            rgb=self.load_rgb(i),
            depth=self.load_depth(i),
            K=f.intrinsics.K,
            c2w=f.c2w,
            timestamp=f.timestamp or 0.0,
            depth_kind=self.depth_kind,
            confidence=self.load_confidence(i),
            distortion=dist,
            index=i,
            meta=dict(f.meta),
        )


# ----------------------------------------------------------------------------------------- reading


MAX_DISTORTION = 1000.0
"""Largest |OpenCV distortion coefficient| accepted (rational models reach tens; 1e6 is a broken file)."""
MAX_FOCAL_FACTOR = 100.0
"""A focal length may be at most this many times the image's larger side (a 0.6 degree field of view)."""
DEPTH_SCALE_RANGE = (1e-9, 1e3)
"""depth_unit_scale_factor: a uint16 value times it is depth; 0.001 for millimetres."""


def _intrinsics_from(d: dict[str, Any], fallback: Intrinsics | None, where: Path, what: str,
                     centre: float = PIXEL_CENTRE_IN_FILE) -> Intrinsics:
    """The Intrinsics (OpenCV principal point) of an entry whose cx, cy put pixel centres at ``centre``."""
    keys = ("fl_x", "fl_y", "cx", "cy", "w", "h")
    if all(k in d for k in keys):
        w = validate.image_side(d["w"], where, f"{what}: w")
        h = validate.image_side(d["h"], where, f"{what}: h")
        top = MAX_FOCAL_FACTOR * max(w, h)
        fx, fy = (validate.number(d[k], where, f"{what}: {k}", low=0.0, high=top, low_open=True) for k in ("fl_x", "fl_y"))
        cx = validate.number(d["cx"], where, f"{what}: cx", low=-10.0 * w, high=10.0 * w)
        cy = validate.number(d["cy"], where, f"{what}: cy", low=-10.0 * h, high=10.0 * h)
        dist = tuple(validate.number(d.get(k, 0.0), where, f"{what}: {k}", low=-MAX_DISTORTION, high=MAX_DISTORTION)
                     for k in DIST_KEYS)
        if not any(dist):
            dist = None
        elif not any(dist[5:]):  # k4..k6 unused: the 4- or 5-coefficient OpenCV model
            dist = dist[:5] if dist[4] else dist[:4]
        return Intrinsics(fx, fy, cx - centre, cy - centre, w, h, dist)
    if fallback is None:
        missing = [k for k in keys if k not in d]
        raise InputError(where, f"{what}: no intrinsics (missing {', '.join(missing)})")
    return fallback


def _depth_scale(value: Any, where: Path, what: str) -> float:
    low, high = DEPTH_SCALE_RANGE
    return validate.number(value, where, f"{what}depth_unit_scale_factor", low=low, high=high)


def _pose(fd: dict[str, Any], where: Path, what: str) -> np.ndarray | None:
    if "transform_matrix" not in fd:
        return None
    try:
        m = np.asarray(fd["transform_matrix"], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise InputError(where, f"{what}: transform_matrix is not a 4x4 matrix of numbers") from None
    if m.shape != (4, 4) or not is_rigid(m):
        raise InputError(where, f"{what}: transform_matrix is not a finite rigid 4x4 transform")
    if np.abs(m[:3, 3]).max() > validate.MAX_COORDINATE:
        raise InputError(where, f"{what}: transform_matrix places the camera beyond +-{validate.MAX_COORDINATE:g}")
    return opengl_to_opencv(m)


def _frame_from(fd: Any, i: int, root: Path, shared: Intrinsics | None, global_scale: float, where: Path,
                centre: float) -> SceneFrame:
    """One entry of "frames", every field checked (types, ranges, paths inside the scene folder)."""
    if not isinstance(fd, dict) or "file_path" not in fd:
        raise InputError(where, f"frame {i} has no file_path")
    image_path = validate.inside(root, fd["file_path"], where, f"frame {i}: file_path")
    what = f"frame {i} ({image_path})"
    paths = {}
    for key in ("depth_file_path", "confidence_file_path"):
        value = fd.get(key)
        paths[key] = None if value is None else validate.inside(root, value, where, f"{what}: {key}")
    scale = _depth_scale(fd["depth_unit_scale_factor"], where, f"{what}: ") if "depth_unit_scale_factor" in fd \
        else global_scale
    stamp = fd.get("timestamp")
    return SceneFrame(
        image_path=image_path,
        intrinsics=_intrinsics_from(fd, shared, where, what, centre),
        c2w=_pose(fd, where, what),
        depth_path=paths["depth_file_path"],
        confidence_path=paths["confidence_file_path"],
        depth_scale=scale,
        timestamp=None if stamp is None else validate.number(stamp, where, f"{what}: timestamp"),
        meta=dict(validate.mapping(fd.get("sparsenerf", {}), where, f"{what}: sparsenerf")),
    )


def _ranking_window(value: Any, where: Path) -> tuple[int, int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(where, f"sparsenerf.ranking_window must be [height, width], got {value!r:.40}")
    h, w = (validate.integer(v, where, "sparsenerf.ranking_window", low=4, high=validate.MAX_IMAGE_SIDE)
            for v in value)
    return h, w


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) read from the file header only."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except Exception as exc:  # noqa: BLE001 - any decoder error becomes one clear message
        raise InputError(path, f"cannot be read as an image ({exc.__class__.__name__})") from None


def read_scene(root: str | Path, *, check_files: bool = True) -> SceneFolder:
    """Read ``root/transforms.json``; with ``check_files``, also check every file exists and sizes agree.

    Raises:
        InputError: naming the file and the problem (missing file, bad JSON, size mismatch,
            non-finite or non-rigid pose, ...).
    """
    root = Path(root)
    tf_path = root / TRANSFORMS
    if not root.is_dir():
        raise InputError(root, "not a folder")
    if not tf_path.is_file():
        raise InputError(tf_path, "not found: this folder is not a scene folder")
    doc = validate.read_json(tf_path)
    if not isinstance(doc, dict) or not isinstance(doc.get("frames"), list) or not doc["frames"]:
        raise InputError(tf_path, "has no 'frames' list (or it is empty)")

    ours = validate.mapping(doc.get("sparsenerf", {}), tf_path, "sparsenerf")
    try:
        depth_kind = DepthKind(ours.get("depth_kind", DepthKind.METRIC.value))
    except (ValueError, TypeError):
        raise InputError(tf_path, f"unknown depth_kind {ours.get('depth_kind')!r:.40}") from None
    centre = 0.0 if ours.get("version") == 1 else PIXEL_CENTRE_IN_FILE  # format 1: OpenCV's principal point
    shared = _intrinsics_from(doc, None, tf_path, "top level", centre) if "fl_x" in doc else None
    global_scale = _depth_scale(doc.get("depth_unit_scale_factor", METRIC_DEPTH_SCALE), tf_path, "")
    frames = [_frame_from(fd, i, root, shared, global_scale, tf_path, centre) for i, fd in enumerate(doc["frames"])]

    by_path = {f.image_path: i for i, f in enumerate(frames)}
    train_ids, test_ids = [], []
    for key, out in (("train_filenames", train_ids), ("test_filenames", test_ids)):
        for name in validate.string_list(doc.get(key, []), tf_path, key):
            if name not in by_path:
                raise InputError(tf_path, f"{key} lists {name!r:.60}, which is not a frame")
            out.append(by_path[name])

    scene = SceneFolder(
        root=root,
        frames=frames,
        depth_kind=depth_kind,
        sensor=str(ours.get("sensor", "unknown")),
        ranking_window=_ranking_window(ours.get("ranking_window"), tf_path),
        train_ids=train_ids,
        test_ids=test_ids,
        extra=dict(validate.mapping(ours.get("capture", {}), tf_path, "sparsenerf.capture")),
        split_reasons={str(k): str(v) for k, v in
                       validate.mapping(ours.get("split_reasons", {}), tf_path, "sparsenerf.split_reasons").items()},
    )
    if check_files:
        _check_files(scene)
    return scene


def _check_files(scene: SceneFolder) -> None:
    for f in scene.frames:
        img = scene.root / f.image_path
        if not img.is_file():
            raise InputError(img, "listed in transforms.json but missing")
        w, h = _image_size(img)
        if (w, h) != (f.intrinsics.width, f.intrinsics.height):
            raise InputError(img, f"is {w}x{h} but transforms.json says {f.intrinsics.width}x{f.intrinsics.height}")
        for rel, kind in ((f.depth_path, "depth"), (f.confidence_path, "confidence")):
            if rel is None:
                continue
            p = scene.root / rel
            if not p.is_file():
                raise InputError(p, f"{kind} image listed in transforms.json but missing")
            dw, dh = _image_size(p)
            if (dw, dh) != (w, h):
                raise InputError(p, f"{kind} is {dw}x{dh} but its colour image {f.image_path} is {w}x{h}")
