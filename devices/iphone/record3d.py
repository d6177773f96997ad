"""Record3D `.r3d` recordings (iPhone/iPad LiDAR) -> scene folder.

An ``.r3d`` file is a zip archive:

- ``metadata``: JSON with ``K`` (9 numbers, column-major, at the colour resolution), ``w``, ``h``
  (colour size), ``dw``, ``dh`` (depth size), ``fps``, ``poses`` (one ``[qx, qy, qz, qw, px, py, pz]``
  camera-to-world per frame, ARKit axes) and ``initPose``.
- ``rgbd/<i>.jpg`` colour; ``rgbd/<i>.depth`` LZFSE-compressed float32 metres, row-major dh x dw;
  ``rgbd/<i>.conf`` (optional) LZFSE-compressed uint8 confidence 0/1/2.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from devices import validate
from devices.errors import InputError
from devices.frame import Frame
from devices.importers.registry import ImportFormat, ImportOptions, ProgressFn, register
from devices.iphone.common import (
    IphoneConfig,
    arkit_c2w_to_opencv,
    check_aspect,
    check_intrinsics,
    check_pose,
    depth_frame,
    quaternion,
    write_import,
)
from devices.iphone.upsample import scale_intrinsics
from devices.scene_folder import SceneFolder

_FRAME_RE = re.compile(r"^rgbd/(\d+)\.jpg$")


@dataclass(frozen=True)
class R3dMeta:
    """The parts of an .r3d ``metadata`` entry we use."""

    K: np.ndarray
    """float64 [3, 3] at the colour size (w, h)."""
    rgb_size: tuple[int, int]
    """(w, h) of the colour images."""
    depth_size: tuple[int, int] | None
    """(dw, dh) of the depth maps; None when the metadata does not say (older app versions)."""
    fps: float
    poses: np.ndarray
    """float64 [N, 7] rows of (qx, qy, qz, qw, px, py, pz), camera-to-world, ARKit axes."""
    camera_type: int | None = None
    """``cameraType``: 1 = LiDAR (rear), 0 = TrueDepth (front); None when absent."""


def open_r3d(path: Path) -> zipfile.ZipFile:
    """The .r3d archive, or InputError naming it when it is not a readable zip."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        try:
            with path.open("rb") as fh:
                starts_as_zip = fh.read(4) == b"PK\x03\x04"
        except OSError:
            starts_as_zip = False
        if starts_as_zip:  # the zip's directory is at its end: a copy or export cut short loses it
            raise InputError(path, "is cut short: it starts as a Record3D .r3d (zip) archive but its directory "
                                   "at the end is missing (an interrupted copy or export?)") from None
        raise InputError(path, f"is not a readable Record3D .r3d file (a zip archive): {exc}") from None


MAX_MEMBER_BYTES = 256 << 20
"""Largest archive member read (its declared size, checked before anything is allocated); a 4K JPEG or a
depth map is a few MB."""


def _read_entry(zf: zipfile.ZipFile, name: str, path: Path) -> bytes:
    info = zf.NameToInfo.get(name)
    if info is not None and info.file_size > MAX_MEMBER_BYTES:
        raise InputError(f"{path}:{name}", f"declares {info.file_size} bytes, more than the {MAX_MEMBER_BYTES} "
                                           "a Record3D member may have (a damaged or crafted archive)")
    try:
        return zf.read(name)
    except KeyError:
        raise InputError(f"{path}:{name}", "missing from the archive") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:  # corrupt or truncated member
        raise InputError(f"{path}:{name}", f"cannot be read ({exc})") from None


def parse_metadata(doc: dict[str, Any], where: str) -> R3dMeta:
    """Validate the metadata JSON; InputError naming ``where`` on any missing or malformed field."""
    missing = [k for k in ("K", "w", "h", "poses") if k not in doc]
    if missing:
        raise InputError(where, f"metadata has no {', '.join(missing)}")
    try:
        K = validate.finite_array(doc["K"], where, "metadata K", (9,)).reshape(3, 3).T  # stored column-major
        poses = validate.finite_array(doc["poses"], where, "metadata poses").reshape(-1, 7)
    except ValueError as exc:
        raise InputError(where, f"metadata is malformed ({exc})") from None
    rgb_size = tuple(validate.image_side(doc[k], where, f"metadata {k}") for k in ("w", "h"))
    depth_size = (tuple(validate.image_side(doc[k], where, f"metadata {k}") for k in ("dw", "dh"))
                  if "dw" in doc and "dh" in doc else None)  # older app versions: inferred later
    camera = doc.get("cameraType")
    camera_type = int(validate.number(camera, where, "metadata cameraType")) if camera is not None else None
    fps = doc.get("fps", 30.0)
    fps = 30.0 if fps is None else validate.number(fps, where, "metadata fps", low=0.0, high=1000.0, low_open=True)
    check_intrinsics(K, rgb_size, where)
    return R3dMeta(K=K, rgb_size=rgb_size, depth_size=depth_size, fps=fps, poses=poses, camera_type=camera_type)


# Depth sizes of the app's cameras, for files whose metadata has no dw/dh (older versions).
_DEPTH_SIZE_OF_CAMERA = {1: (256, 192), 0: (640, 480)}


def infer_depth_size(zf: zipfile.ZipFile, path: Path, meta: R3dMeta, i: int) -> tuple[int, int]:
    """(dw, dh) from the decompressed length of ``rgbd/<i>.depth`` (float32): the camera type's size
    when it fits, else the size with the colour image's aspect ratio that holds exactly that many values."""
    import liblzfse

    where = f"{path}:rgbd/{i}.depth"
    data = _read_entry(zf, f"rgbd/{i}.depth", path)
    try:
        n = len(liblzfse.decompress(data)) // 4
    except Exception as exc:  # noqa: BLE001 - the decoder raises its own error type
        raise InputError(where, f"is not valid LZFSE data ({exc or exc.__class__.__name__})") from None
    known = _DEPTH_SIZE_OF_CAMERA.get(meta.camera_type) if meta.camera_type is not None else None
    if known and known[0] * known[1] == n:
        return known
    w, h = meta.rgb_size
    dw = round((n * w / h) ** 0.5)
    if dw > 0 and dw * round(n / dw) == n and abs(dw / round(n / dw) - w / h) <= 0.01 * w / h:
        return dw, n // dw
    raise InputError(f"{path}:metadata", f"has no dw/dh and the {n} depth values of {where} do not form an "
                                         f"image with the colour aspect ratio {w}x{h}")


def read_metadata(zf: zipfile.ZipFile, path: Path) -> R3dMeta:
    raw = _read_entry(zf, "metadata", path)
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"{path}:metadata", f"is not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}:metadata", "is not a JSON object")
    return parse_metadata(doc, f"{path}:metadata")


def frame_ids(zf: zipfile.ZipFile) -> list[int]:
    """Frame numbers i of every ``rgbd/<i>.jpg``, in order."""
    return sorted(int(m.group(1)) for m in map(_FRAME_RE.match, zf.namelist()) if m)


def _lzfse_array(data: bytes, dtype: type, size: tuple[int, int], where: str) -> np.ndarray:
    """Decompress an LZFSE blob into a [h, w] array; InputError when its size is not w x h."""
    import liblzfse

    try:
        raw = liblzfse.decompress(data)
    except Exception as exc:  # noqa: BLE001 - the decoder raises its own error type
        raise InputError(where, f"is not valid LZFSE data ({exc or exc.__class__.__name__})") from None
    w, h = size
    itemsize = np.dtype(dtype).itemsize
    if len(raw) != w * h * itemsize:
        raise InputError(where, f"holds {len(raw)} bytes, expected {w}x{h} {np.dtype(dtype).name} "
                                f"({w * h * itemsize} bytes) as metadata dw x dh says")
    return np.frombuffer(raw, dtype=dtype).reshape(h, w)


def _read_frame(zf: zipfile.ZipFile, path: Path, meta: R3dMeta, i: int, k: int, config: IphoneConfig) -> Frame:
    """Frame ``k`` of the output from archive frame ``i``."""
    name = f"rgbd/{i}.jpg"
    bgr = cv2.imdecode(np.frombuffer(_read_entry(zf, name, path), np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"{path}:{name}", "cannot be decoded as a JPEG image")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    size = (rgb.shape[1], rgb.shape[0])
    check_aspect(size, meta.rgb_size, f"{path}:{name}")  # same field of view as metadata w x h
    K = scale_intrinsics(meta.K, meta.rgb_size, size) if size != meta.rgb_size else meta.K
    depth = _lzfse_array(_read_entry(zf, f"rgbd/{i}.depth", path), np.float32, meta.depth_size,
                         f"{path}:rgbd/{i}.depth")
    conf = None
    if f"rgbd/{i}.conf" in zf.NameToInfo:
        conf = _lzfse_array(_read_entry(zf, f"rgbd/{i}.conf", path), np.uint8, meta.depth_size,
                            f"{path}:rgbd/{i}.conf")
    q = meta.poses[i]
    quat = quaternion(q[:4], f"{path}:metadata", f"pose {i} quaternion")
    c2w = check_pose(arkit_c2w_to_opencv(quat, q[4:]), f"{path}:metadata", f"pose {i}")
    return depth_frame(rgb, depth, conf, K, c2w, config, index=k, timestamp=i / meta.fps,
                       meta={"source_frame": i})


def import_record3d(
    path: Path, out: Path, options: ImportOptions = ImportOptions(),
    progress: ProgressFn | None = None, config: IphoneConfig = IphoneConfig(),
) -> SceneFolder:
    """Import a Record3D ``.r3d`` file into the scene folder ``out`` (metric depth, OpenCV poses)."""
    path = Path(path)
    with open_r3d(path) as zf:
        meta = read_metadata(zf, path)
        ids = frame_ids(zf)
        if not ids:
            raise InputError(path, "holds no rgbd/<i>.jpg frames")
        if len(meta.poses) <= ids[-1]:
            raise InputError(f"{path}:metadata", f"lists {len(meta.poses)} poses but the archive has "
                                                 f"frames up to rgbd/{ids[-1]}.jpg")
        if meta.depth_size is None:  # older app versions: infer it from the first depth map
            meta = replace(meta, depth_size=infer_depth_size(zf, path, meta, ids[0]))
        check_aspect(meta.depth_size, meta.rgb_size, f"{path}:metadata")
        keep = ids[:: max(1, options.every)]
        frames = (_read_frame(zf, path, meta, i, k, config) for k, i in enumerate(keep))
        extra = {"source": f"Record3D {path.name}", "fps": meta.fps / max(1, options.every),
                 "depth_size": list(meta.depth_size)}
        return write_import(frames, len(keep), out, options, progress, extra, path)


def detect(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".r3d"


FORMAT = register(ImportFormat(
    name="record3d",
    description="Record3D iPhone LiDAR recording (.r3d)",
    detect=detect,
    run=lambda path, out, options, progress: import_record3d(path, out, options, progress),
))
