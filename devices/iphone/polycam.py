"""Polycam raw-data exports (iPhone/iPad LiDAR, "developer mode" raw data) -> scene folder.

The export holds ``keyframes/`` with, per keyframe ``<stem>`` (a timestamp):

- ``images/<stem>.jpg`` and ``cameras/<stem>.json``; after Polycam's own pose refinement also
  ``corrected_images/`` and ``corrected_cameras/`` (preferred here, as nerfstudio does);
- camera JSON: ``fx, fy, cx, cy, width, height`` (at the image size), ``blur_score`` and
  ``t_00 .. t_23``: a 3x4 camera-to-world matrix, camera axes as ARKit (OpenGL);
- ``depth/<stem>.png``: uint16 millimetres at a lower resolution than the images (256x192);
- ``confidence/<stem>.png``: uint8, 0 / 54 / 255 for ARKit's low / medium / high.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from devices import validate
from devices.axes import opengl_to_opencv
from devices.errors import InputError
from devices.frame import Frame
from devices.importers.registry import ImportFormat, ImportOptions, ProgressFn, register
from devices.iphone.common import (
    IphoneConfig,
    check_aspect,
    check_intrinsics,
    check_pose,
    depth_frame,
    read_png_channel,
    write_import,
)
from devices.iphone.upsample import scale_intrinsics
from devices.scene_folder import SceneFolder

_CAMERA_KEYS = ("fx", "fy", "cx", "cy", "width", "height", *(f"t_{r}{c}" for r in range(3) for c in range(4)))


@dataclass(frozen=True)
class PolycamConfig:
    """Polycam-specific choices."""

    min_blur_score: float = 25.0
    """Skip keyframes whose ``blur_score`` is below this (Polycam: higher is sharper; nerfstudio's default)."""
    prefer_corrected: bool = True
    """Use ``corrected_images/`` + ``corrected_cameras/`` when both exist."""


@dataclass(frozen=True)
class PolycamCamera:
    """One camera JSON."""

    K: np.ndarray
    """float64 [3, 3] at ``size``."""
    size: tuple[int, int]
    """(width, height) the intrinsics belong to."""
    c2w: np.ndarray
    """float64 [4, 4] camera-to-world, OpenCV axes (converted from Polycam's OpenGL camera axes)."""
    blur_score: float | None


def read_camera(path: Path) -> PolycamCamera:
    """Parse a keyframe camera JSON; InputError naming it when missing or malformed."""
    if not path.is_file():
        raise InputError(path, "missing (every keyframe image needs its camera JSON)")
    doc = validate.read_json(path)
    if not isinstance(doc, dict):
        raise InputError(path, "is not a valid Polycam camera JSON (not an object)")
    missing = [k for k in _CAMERA_KEYS if k not in doc]
    if missing:
        raise InputError(path, f"has no {', '.join(missing)}")
    size = (validate.image_side(doc["width"], path, "width"), validate.image_side(doc["height"], path, "height"))
    v = {k: validate.number(doc[k], path, k) for k in _CAMERA_KEYS}
    K = np.array([[v["fx"], 0, v["cx"]], [0, v["fy"], v["cy"]], [0, 0, 1]], dtype=np.float64)
    check_intrinsics(K, size, path)
    gl = np.eye(4)
    gl[:3, :] = [[v[f"t_{r}{c}"] for c in range(4)] for r in range(3)]
    c2w = check_pose(opengl_to_opencv(gl), path, "t_00..t_23")
    blur = doc.get("blur_score")
    return PolycamCamera(K=K, size=size, c2w=c2w,
                         blur_score=None if blur is None else validate.number(blur, path, "blur_score"))


def confidence_levels(raw: np.ndarray) -> np.ndarray:
    """Polycam's 0/54/255 confidence (or an already 0/1/2 map) -> ARKit levels 0/1/2, uint8."""
    if raw.max(initial=0) <= 2:
        return raw.astype(np.uint8)
    return np.digitize(raw, [1, 128]).astype(np.uint8)  # 0 -> 0, 1..127 -> 1, 128..255 -> 2


def _dirs(kf: Path, config: PolycamConfig) -> tuple[Path, Path]:
    if config.prefer_corrected and (kf / "corrected_images").is_dir() and (kf / "corrected_cameras").is_dir():
        return kf / "corrected_images", kf / "corrected_cameras"
    if not (kf / "images").is_dir():
        raise InputError(kf, "has neither images/ nor corrected_images/")
    return kf / "images", kf / "cameras"


def _frame(kf: Path, image: Path, cam: PolycamCamera, k: int, config: IphoneConfig) -> Frame:
    bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(image, "cannot be decoded as an image")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    size = (rgb.shape[1], rgb.shape[0])
    check_aspect(size, cam.size, image)
    K = scale_intrinsics(cam.K, cam.size, size) if size != cam.size else cam.K
    depth_path = kf / "depth" / f"{image.stem}.png"
    depth_mm = read_png_channel(depth_path, np.uint16)
    check_aspect((depth_mm.shape[1], depth_mm.shape[0]), size, depth_path)
    conf_path = kf / "confidence" / f"{image.stem}.png"
    conf = None
    if conf_path.exists():
        conf = confidence_levels(read_png_channel(conf_path, np.uint8))
        if conf.shape != depth_mm.shape:
            raise InputError(conf_path, f"is {conf.shape[1]}x{conf.shape[0]}, its depth map is "
                                        f"{depth_mm.shape[1]}x{depth_mm.shape[0]}")
    # The stem is a timestamp in an undocumented unit: keep it as it is in meta rather than guess seconds.
    return depth_frame(rgb, depth_mm.astype(np.float32) * np.float32(1e-3), conf, K, cam.c2w, config,
                       index=k, timestamp=0.0, meta={"keyframe": image.stem, "blur_score": cam.blur_score})


def _order(p: Path) -> tuple[int, str]:
    """Keyframes in time order: numeric stems by value (they are timestamps), others by name."""
    return (int(p.stem), "") if p.stem.isdigit() else (1 << 62, p.stem)


def import_polycam(
    path: Path, out: Path, options: ImportOptions = ImportOptions(), progress: ProgressFn | None = None,
    config: IphoneConfig = IphoneConfig(), polycam: PolycamConfig = PolycamConfig(),
) -> SceneFolder:
    """Import a Polycam raw export (the folder holding ``keyframes/``) into the scene folder ``out``."""
    kf = Path(path) / "keyframes"
    image_dir, camera_dir = _dirs(kf, polycam)
    images = sorted(image_dir.glob("*.jpg"), key=_order)
    if not images:
        raise InputError(image_dir, "holds no .jpg keyframes")
    cams = [read_camera(camera_dir / f"{p.stem}.json") for p in images]  # validates every camera first
    kept = [(p, c) for p, c in zip(images, cams) if c.blur_score is None or c.blur_score >= polycam.min_blur_score]
    if not kept:
        raise InputError(camera_dir, f"every keyframe has blur_score below {polycam.min_blur_score}")
    kept = kept[:: max(1, options.every)]
    frames = (_frame(kf, p, c, k, config) for k, (p, c) in enumerate(kept))
    sharp = [c for c in cams if c.blur_score is None or c.blur_score >= polycam.min_blur_score]
    extra = {"source": f"Polycam {Path(path).name}", "corrected": image_dir.name.startswith("corrected"),
             "skipped_blurry": len(images) - len(sharp)}
    return write_import(frames, len(kept), out, options, progress, extra, Path(path))


def detect(path: Path) -> bool:
    return path.is_dir() and (path / "keyframes").is_dir()


FORMAT = register(ImportFormat(
    name="polycam",
    description="Polycam raw-data export (folder with keyframes/)",
    detect=detect,
    run=lambda path, out, options, progress: import_polycam(path, out, options, progress),
))
