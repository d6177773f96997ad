"""Build iPhone-app captures (Record3D, Stray Scanner, Polycam) exactly as their formats describe,
from a REAL RGB-D frame (TUM RGB-D, ../shared/data/open3d_rgbd/real_single_frames_TUM_SUN_NYU).

The TUM frame plays the phone: its 640x480 colour is the camera image and its depth (metres),
sampled down to the LiDAR's 256x192, is the phone's depth map. Poses are chosen so the expected
OpenCV camera-to-world matrices can be written down by hand (see ``EXPECTED_OPENCV``).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tests.conftest import shared_path

TUM_K = np.array([[525.0, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])  # TUM's default intrinsics
DEPTH_SIZE = (256, 192)  # (w, h) of ARKit scene depth
S = np.sqrt(0.5)

# ARKit camera-to-world poses as (qx, qy, qz, qw), (px, py, pz): camera axes x right, y up, looking down -z.
ARKIT_POSES = [
    ((0.0, 0.0, 0.0, 1.0), (0.0, 0.0, 0.0)),  # identity
    ((0.0, S, 0.0, S), (1.0, 2.0, 3.0)),  # 90 degrees about world y (yaw left), moved to (1, 2, 3)
    ((1.0, 0.0, 0.0, 0.0), (-0.5, 0.25, 2.0)),  # 180 degrees about x: upside down, facing +z
]
# The same cameras in OpenCV axes (x right, y down, z forward), worked out by hand: R_arkit @ diag(1, -1, -1).
EXPECTED_OPENCV = [
    np.array([[1, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 0], [0, 0, 0, 1]], dtype=float),
    # R_y(90) = [[0,0,1],[0,1,0],[-1,0,0]]; negate its 2nd and 3rd columns.
    np.array([[0, 0, -1, 1], [0, -1, 0, 2], [-1, 0, 0, 3], [0, 0, 0, 1]], dtype=float),
    # R_x(180) = diag(1,-1,-1); times diag(1,-1,-1) = identity.
    np.array([[1, 0, 0, -0.5], [0, 1, 0, 0.25], [0, 0, 1, 2.0], [0, 0, 0, 1]], dtype=float),
]
# The same cameras as 4x4 OpenGL/ARKit matrices (what nerfstudio's transforms.json must hold).
EXPECTED_OPENGL = [m @ np.diag([1.0, -1.0, -1.0, 1.0]) for m in EXPECTED_OPENCV]


@dataclass(frozen=True)
class PhoneFrame:
    """One frame as the phone app stores it."""

    rgb: np.ndarray
    """uint8 [480, 640, 3]."""
    depth: np.ndarray
    """float32 [192, 256] metres (0 = no return)."""
    conf: np.ndarray
    """uint8 [192, 256] ARKit confidence 0/1/2."""


def tum_frames(n: int = 3) -> list[PhoneFrame]:
    """``n`` phone frames from the real TUM frame; frame k has its low-confidence block at a different place."""
    root = shared_path("open3d_rgbd", "real_single_frames_TUM_SUN_NYU")
    rgb = cv2.cvtColor(cv2.imread(str(root / "TUM_color.png"), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    raw = cv2.imread(str(root / "TUM_depth.png"), cv2.IMREAD_UNCHANGED)
    depth_hi = raw.astype(np.float32) / 5000.0  # TUM: 5000 units per metre
    depth = cv2.resize(depth_hi, DEPTH_SIZE, interpolation=cv2.INTER_NEAREST)
    frames = []
    for k in range(n):
        conf = np.full(depth.shape, 2, np.uint8)
        conf[:, 100:140] = 1  # medium: kept with the default threshold
        conf[20 + 40 * k : 60 + 40 * k, 10:60] = 0  # low: must be masked
        frames.append(PhoneFrame(rgb=rgb, depth=depth, conf=conf))
    return frames


def jpeg(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def r3d_metadata(frames: list[PhoneFrame], K: np.ndarray = TUM_K) -> dict:
    h, w = frames[0].rgb.shape[:2]
    poses = [[*q, *p] for q, p in ARKIT_POSES[: len(frames)]]
    return {"K": K.T.ravel().tolist(), "w": w, "h": h, "dw": DEPTH_SIZE[0], "dh": DEPTH_SIZE[1],
            "fps": 30, "poses": poses, "initPose": [0, 0, 0, 1, 0, 0, 0], "cameraType": 1}


def write_r3d(path: Path, frames: list[PhoneFrame], metadata: dict | None = None) -> Path:
    """A Record3D .r3d zip: ``metadata`` JSON, ``rgbd/<i>.jpg``, LZFSE ``rgbd/<i>.depth`` and ``.conf``."""
    import liblzfse

    meta = r3d_metadata(frames) if metadata is None else metadata
    with zipfile.ZipFile(path, "w") as zf:
        if meta:
            zf.writestr("metadata", json.dumps(meta))
        for i, f in enumerate(frames):
            zf.writestr(f"rgbd/{i}.jpg", jpeg(f.rgb))
            zf.writestr(f"rgbd/{i}.depth", liblzfse.compress(f.depth.astype(np.float32).tobytes()))
            zf.writestr(f"rgbd/{i}.conf", liblzfse.compress(f.conf.astype(np.uint8).tobytes()))
    return path


def write_video(path: Path, images: list[np.ndarray], codec: str = "libx264") -> None:
    """An mp4 of ``images`` (uint8 RGB) written with PyAV, as the Stray Scanner app records it."""
    import av

    h, w = images[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "12"} if codec in ("libx264", "libx265") else {}
        if codec == "libx265":
            stream.options["x265-params"] = "log-level=error"
        for img in images:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_stray(root: Path, frames: list[PhoneFrame], codec: str = "libx264", K: np.ndarray = TUM_K) -> Path:
    """A Stray Scanner folder: rgb.mp4, depth/ (uint16 mm), confidence/, camera_matrix.csv, odometry.csv."""
    (root / "depth").mkdir(parents=True)
    (root / "confidence").mkdir()
    write_video(root / "rgb.mp4", [f.rgb for f in frames], codec)
    for i, f in enumerate(frames):
        cv2.imwrite(str(root / "depth" / f"{i:06d}.png"), np.round(f.depth * 1000).astype(np.uint16))
        cv2.imwrite(str(root / "confidence" / f"{i:06d}.png"), f.conf)
    np.savetxt(root / "camera_matrix.csv", K, delimiter=",")
    rows = ["timestamp, frame, x, y, z, qx, qy, qz, qw"]
    for i, (q, p) in enumerate(ARKIT_POSES[: len(frames)]):
        q_written = hamilton(q, STRAY_Q_AC)  # what the app's OdometryEncoder writes: q_WA * q_AC
        rows.append(", ".join(str(v) for v in (10.0 + i / 30, f"{i:06d}", *p, *q_written)))
    (root / "odometry.csv").write_text("\n".join(rows) + "\n")
    (root / "imu.csv").write_text("timestamp, a_x, a_y, a_z, alpha_x, alpha_y, alpha_z\n")
    return root


# Stray Scanner's OdometryEncoder.swift: q_AC = simd_quatf(ix: 1, iy: 0, iz: 0, r: 0), a half turn about x
STRAY_Q_AC = (1.0, 0.0, 0.0, 0.0)


def hamilton(a: tuple, b: tuple) -> tuple:
    """Quaternion product a * b, both (x, y, z, w) like simd_quatf's vector."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)


def polycam_camera(K: np.ndarray, size: tuple[int, int], gl_c2w: np.ndarray, blur: float) -> dict:
    doc = {"fx": K[0, 0], "fy": K[1, 1], "cx": K[0, 2], "cy": K[1, 2], "width": size[0], "height": size[1],
           "blur_score": blur, "manual_keyframe": False, "timestamp": 0}
    doc.update({f"t_{r}{c}": float(gl_c2w[r, c]) for r in range(3) for c in range(4)})
    return doc


def write_polycam(root: Path, frames: list[PhoneFrame], blur: list[float], with_raw: bool = True) -> Path:
    """A Polycam raw export: keyframes/{corrected_images,corrected_cameras,images,cameras,depth,confidence}.

    Corrected cameras hold EXPECTED_OPENGL; the raw (uncorrected) cameras are shifted by 1 m in x so a
    test can tell which were used. Confidence uses Polycam's 0 / 54 / 255 levels.
    """
    kf = root / "keyframes"
    for sub in ("corrected_images", "corrected_cameras", "images", "cameras", "depth", "confidence"):
        (kf / sub).mkdir(parents=True)
    h, w = frames[0].rgb.shape[:2]
    for i, f in enumerate(frames):
        stem = str(1_700_000_000_000 + 33_000 * i)
        gl = EXPECTED_OPENGL[i]
        (kf / "corrected_images" / f"{stem}.jpg").write_bytes(jpeg(f.rgb))
        (kf / "corrected_cameras" / f"{stem}.json").write_text(json.dumps(polycam_camera(TUM_K, (w, h), gl, blur[i])))
        if with_raw:
            shifted = gl.copy()
            shifted[0, 3] += 1.0
            (kf / "images" / f"{stem}.jpg").write_bytes(jpeg(f.rgb))
            (kf / "cameras" / f"{stem}.json").write_text(json.dumps(polycam_camera(TUM_K, (w, h), shifted, blur[i])))
        cv2.imwrite(str(kf / "depth" / f"{stem}.png"), np.round(f.depth * 1000).astype(np.uint16))
        cv2.imwrite(str(kf / "confidence" / f"{stem}.png"), np.array([0, 54, 255], np.uint8)[f.conf])
    return root


def neighbourhood_bounds(depth_lr: np.ndarray, size: tuple[int, int], radius: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per output pixel, the min and max of the valid low-res samples within ``radius`` of its nearest sample."""
    h, w = depth_lr.shape
    W, H = size
    ix = np.clip(np.floor((np.arange(W) + 0.5) * w / W), 0, w - 1).astype(int)
    iy = np.clip(np.floor((np.arange(H) + 0.5) * h / H), 0, h - 1).astype(int)
    valid = depth_lr > 0
    lo = cv2.erode(np.where(valid, depth_lr, np.inf).astype(np.float32), np.ones((2 * radius + 1,) * 2))
    hi = cv2.dilate(np.where(valid, depth_lr, 0).astype(np.float32), np.ones((2 * radius + 1,) * 2))
    return lo[iy[:, None], ix[None, :]], hi[iy[:, None], ix[None, :]]


def check_imported_depth(out: np.ndarray, src: PhoneFrame, min_conf: int = 1) -> None:
    """Assert the imported depth [H, W] (metres, mm-quantised) is the phone's depth, upsampled edge-aware.

    - where the phone's confidence (nearest sample) is below ``min_conf``: exactly 0;
    - every value lies within the range of valid low-res samples around it (nothing invented), and
      equals the sample where its whole 3x3 neighbourhood agrees (a weighted mean of equal values);
    - no flying pixels: every value is within 3 % of some low-res sample around it;
    - against the real full-resolution TUM depth the median error is below 1 cm.
    """
    H, W = out.shape
    h, w = src.depth.shape
    kept = np.where(src.conf >= min_conf, src.depth, 0).astype(np.float32)
    ix = np.clip(np.floor((np.arange(W) + 0.5) * w / W), 0, w - 1).astype(int)
    iy = np.clip(np.floor((np.arange(H) + 0.5) * h / H), 0, h - 1).astype(int)
    low = src.conf[iy[:, None], ix[None, :]] < min_conf
    assert low.any() and np.all(out[low] == 0)
    lo, hi = neighbourhood_bounds(kept, (W, H))
    v = out > 0
    assert v.mean() > 0.5
    q = 0.0005 + 1e-6  # millimetre quantisation of the scene folder
    assert np.all(out[v] >= lo[v] - q) and np.all(out[v] <= hi[v] + q)
    flat = v & (lo == hi)
    assert flat.sum() > 100 and np.allclose(out[flat], lo[flat], atol=q)
    nearest = np.full(out.shape, np.inf, np.float32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            dq = kept[np.clip(iy + dy, 0, h - 1)[:, None], np.clip(ix + dx, 0, w - 1)[None, :]]
            nearest = np.minimum(nearest, np.where(dq > 0, np.abs(out - dq), np.inf))
    assert np.all(nearest[v] <= 0.03 * out[v] + q)
    root = shared_path("open3d_rgbd", "real_single_frames_TUM_SUN_NYU")
    truth = cv2.imread(str(root / "TUM_depth.png"), cv2.IMREAD_UNCHANGED).astype(np.float32) / 5000.0
    both = v & (truth > 0)
    assert np.median(np.abs(out[both] - truth[both])) < 0.01
