"""Stray Scanner captures (iPhone/iPad LiDAR) -> scene folder.

A capture is a folder:

- ``rgb.mp4``: the colour video (HEVC or H.264), decoded with PyAV;
- ``depth/NNNNNN.png``: uint16 millimetres, 256x192, one per video frame;
- ``confidence/NNNNNN.png`` (optional): uint8 0/1/2 at the depth size;
- ``camera_matrix.csv``: the 3x3 intrinsics of the colour video;
- ``odometry.csv``: header ``timestamp, frame, x, y, z, qx, qy, qz, qw``; one camera-to-world
  pose (metres) per frame, in ARKit's world.

Axes: unlike Record3D and Polycam, Stray Scanner already turns ARKit's camera into the OpenCV
camera before writing: the app's ``OdometryEncoder.swift`` (github strayrobots/scanner) writes
``q_WA * q_AC`` with ``q_AC`` a half turn about x, i.e. ``R_arkit @ diag(1, -1, -1)``. The pose in the
file is therefore OpenCV camera-to-world already and is used as it is (StrayVisualizer feeds it to
Open3D, an OpenCV-convention library, unchanged too). Flipping it again would turn every camera
upside down and backwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from devices import validate
from devices.errors import InputError
from devices.frame import Frame
from devices.importers.registry import ImportFormat, ImportOptions, ProgressFn, register
from devices.iphone.common import (
    IphoneConfig,
    check_aspect,
    check_intrinsics,
    check_pose,
    depth_frame,
    quat_to_matrix,
    quaternion,
    read_png_channel,
    write_import,
)
from devices.scene_folder import SceneFolder

ODOMETRY_COLUMNS = ("timestamp", "frame", "x", "y", "z", "qx", "qy", "qz", "qw")


def read_camera_matrix(path: Path) -> np.ndarray:
    """float64 [3, 3] from ``camera_matrix.csv``; InputError naming it when absent or malformed."""
    if not path.is_file():
        raise InputError(path, "missing (the Stray Scanner capture has no intrinsics)")
    try:
        K = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2, encoding="utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not a 3x3 table of numbers ({str(exc)[:120]})") from None
    if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise InputError(path, f"must hold a 3x3 camera matrix with positive focal lengths, got shape {K.shape}")
    return K


def read_odometry(path: Path) -> dict[int, np.ndarray]:
    """Per frame number, the row (timestamp, x, y, z, qx, qy, qz, qw) of ``odometry.csv``."""
    if not path.is_file():
        raise InputError(path, "missing (the Stray Scanner capture has no poses)")
    try:
        with open(path, encoding="utf-8") as fh:
            header = [c.strip() for c in fh.readline(4096).split(",")]
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text (expected a CSV table)") from None
    if tuple(header) != ODOMETRY_COLUMNS:
        raise InputError(path, f"header must be {', '.join(ODOMETRY_COLUMNS)}; got {', '.join(header)[:120]}")
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2, encoding="utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(path, f"has a malformed row ({str(exc)[:120]})") from None
    if table.size and table.shape[1] == len(ODOMETRY_COLUMNS):
        validate.finite_array(table, path, "odometry")
        if np.abs(table[:, 1]).max() > 1e9:
            raise InputError(path, "frame numbers must be below 1e9")
    if table.size and table.shape[1] != len(ODOMETRY_COLUMNS):
        raise InputError(path, f"rows must have {len(ODOMETRY_COLUMNS)} columns, got {table.shape[1]}")
    return {int(row[1]): np.delete(row, 1) for row in table}


def stray_c2w(quat_xyzw: np.ndarray, position: np.ndarray) -> np.ndarray:
    """OpenCV camera-to-world [4, 4] from an odometry.csv row (already OpenCV camera axes: see above)."""
    c2w = np.eye(4)
    c2w[:3, :3] = quat_to_matrix(quat_xyzw)
    c2w[:3, 3] = position
    return c2w


def _decode_video(path: Path) -> Iterator[np.ndarray]:
    """RGB uint8 [H, W, 3] frames of ``rgb.mp4`` in order."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(path, f"cannot be opened as a video ({exc})") from None
    with container:
        try:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            raise InputError(path, f"is corrupt ({exc})") from None


def _check_principal_point(K: np.ndarray, rgb: np.ndarray, where: Path) -> None:
    """InputError when the principal point lies outside the video frame (a matrix of another resolution)."""
    h, w = rgb.shape[:2]
    if not (0 < K[0, 2] < w and 0 < K[1, 2] < h):
        raise InputError(where, f"principal point ({K[0, 2]:g}, {K[1, 2]:g}) lies outside the {w}x{h} video: "
                                "the camera matrix does not belong to rgb.mp4")


def _frames(root: Path, ids: list[int], K: np.ndarray, odo: dict[int, np.ndarray], every: int,
            config: IphoneConfig) -> Iterator[Frame]:
    depth_size: tuple[int, int] | None = None
    t0 = odo[ids[0]][0]
    k = 0
    video = _decode_video(root / "rgb.mp4")
    for i in ids:
        rgb = next(video, None)
        if rgb is None:
            raise InputError(root / "rgb.mp4", f"ends before frame {i} (depth/ has {len(ids)} frames)")
        if i % every:
            continue
        depth_mm = read_png_channel(root / "depth" / f"{i:06d}.png", np.uint16)
        size = (depth_mm.shape[1], depth_mm.shape[0])
        if depth_size is None:
            _check_principal_point(K, rgb, root / "camera_matrix.csv")
            check_intrinsics(K, (rgb.shape[1], rgb.shape[0]), root / "camera_matrix.csv")
            check_aspect(size, (rgb.shape[1], rgb.shape[0]), root / "depth" / f"{i:06d}.png")
            depth_size = size
        elif size != depth_size:
            raise InputError(root / "depth" / f"{i:06d}.png", f"is {size[0]}x{size[1]}, the first depth "
                                                               f"map is {depth_size[0]}x{depth_size[1]}")
        conf_path = root / "confidence" / f"{i:06d}.png"
        conf = read_png_channel(conf_path, np.uint8) if conf_path.exists() else None
        if conf is not None and conf.shape != depth_mm.shape:
            raise InputError(conf_path, f"is {conf.shape[1]}x{conf.shape[0]}, its depth map is {size[0]}x{size[1]}")
        row = odo[i]
        quat = quaternion(row[4:8], root / "odometry.csv", f"frame {i}: qx, qy, qz, qw")
        c2w = check_pose(stray_c2w(quat, row[1:4]), root / "odometry.csv", f"frame {i}")
        yield depth_frame(rgb, depth_mm.astype(np.float32) * np.float32(1e-3), conf, K, c2w, config,
                          index=k, timestamp=float(row[0] - t0), meta={"source_frame": i})
        k += 1


def import_stray(
    path: Path, out: Path, options: ImportOptions = ImportOptions(),
    progress: ProgressFn | None = None, config: IphoneConfig = IphoneConfig(),
) -> SceneFolder:
    """Import a Stray Scanner capture folder into the scene folder ``out`` (metric depth, OpenCV poses)."""
    root = Path(path)
    K = read_camera_matrix(root / "camera_matrix.csv")
    odo = read_odometry(root / "odometry.csv")
    ids = sorted(int(p.stem) for p in (root / "depth").glob("*.png") if p.stem.isdigit())
    if not ids:
        raise InputError(root / "depth", "holds no NNNNNN.png depth maps")
    if ids != list(range(len(ids))):  # depth i belongs to video frame i
        gap = next(i for i, j in enumerate(ids) if i != j)
        raise InputError(root / "depth", f"has no {gap:06d}.png (depth maps must be numbered from 0 without gaps)")
    if len(odo) < len(ids):
        raise InputError(root / "odometry.csv", f"has {len(odo)} pose rows for {len(ids)} depth frames")
    missing = [i for i in ids if i not in odo]
    if missing:
        raise InputError(root / "odometry.csv", f"has no row for frame {missing[0]}")
    every = max(1, options.every)
    total = len(ids[::every])
    extra = {"source": f"Stray Scanner {root.name}"}
    return write_import(_frames(root, ids, K, odo, every, config), total, out, options, progress, extra, root)


def detect(path: Path) -> bool:
    return path.is_dir() and (path / "rgb.mp4").is_file() and (path / "odometry.csv").is_file()


FORMAT = register(ImportFormat(
    name="stray-scanner",
    description="Stray Scanner iPhone capture (folder with rgb.mp4, depth/, odometry.csv)",
    detect=detect,
    run=lambda path, out, options, progress: import_stray(path, out, options, progress),
))
