"""Small sequence folders in the TUM RGB-D and 7-Scenes layouts, built from real frames in ../shared/data."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from tests.conftest import shared_path

TUM_K = np.array([[525.0, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])
SEVEN_SCENES = ("7scenes_redkitchen",)


def rot_y(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])


def warp(rgb: np.ndarray, depth: np.ndarray, K: np.ndarray, cam0_to_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The RGB-D frame seen from another camera (forward splat, nearest wins); ``cam0_to_k`` [4, 4]."""
    v, u = np.nonzero(depth > 0)
    z = depth[v, u]
    P = np.stack([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z], 1)
    Q = P @ cam0_to_k[:3, :3].T + cam0_to_k[:3, 3]
    uk = np.round(K[0, 0] * Q[:, 0] / Q[:, 2] + K[0, 2]).astype(int)
    vk = np.round(K[1, 1] * Q[:, 1] / Q[:, 2] + K[1, 2]).astype(int)
    h, w = depth.shape
    ok = (Q[:, 2] > 0) & (uk >= 0) & (uk < w) & (vk >= 0) & (vk < h)
    order = np.argsort(-Q[ok, 2])  # far first: the nearest point is written last and wins
    src = np.flatnonzero(ok)[order]
    out_rgb, out_d = np.zeros_like(rgb), np.zeros_like(depth)
    out_rgb[vk[src], uk[src]] = rgb[v[src], u[src]]
    out_d[vk[src], uk[src]] = Q[src, 2]
    return out_rgb, out_d


def quat_xyzw(R: np.ndarray) -> np.ndarray:
    """Quaternion (qx, qy, qz, qw) of a rotation matrix (w > 0 branch: rotations under 180 degrees)."""
    w = math.sqrt(max(0.0, 1 + np.trace(R))) / 2
    return np.array([(R[2, 1] - R[1, 2]) / (4 * w), (R[0, 2] - R[2, 0]) / (4 * w), (R[1, 0] - R[0, 1]) / (4 * w), w])


def make_tum(root: Path, n: int = 4, with_truth: bool = True) -> list[np.ndarray]:
    """A TUM-layout folder of ``n`` frames: the real TUM frame seen from cameras 1.5 cm apart (turning
    1 degree each), colour and depth 5 ms apart, ground truth at 100 Hz, and one colour image with no
    depth near it (dropped by the association). Returns the ground-truth c2w of the n kept frames."""
    src = shared_path("open3d_rgbd", "real_single_frames_TUM_SUN_NYU")
    rgb = cv2.imread(str(src / "TUM_color.png"), cv2.IMREAD_COLOR)
    depth = cv2.imread(str(src / "TUM_depth.png"), cv2.IMREAD_UNCHANGED).astype(np.float64) / 5000.0
    world = np.eye(4)
    world[:3, :3], world[:3, 3] = rot_y(30.0), [1.0, 0.5, -2.0]  # the data set's world is not camera 0's
    (root / "rgb").mkdir(parents=True)
    (root / "depth").mkdir()
    rgb_lines, depth_lines, truth = ["# color images", "# timestamp filename"], ["# depth maps"], []
    t0 = 1305031102.0
    for k in range(n):
        c2w_k = np.eye(4)
        c2w_k[:3, :3], c2w_k[:3, 3] = rot_y(1.0 * k), [0.015 * k, 0.0, 0.005 * k]
        img, d = warp(rgb, depth, TUM_K, np.linalg.inv(c2w_k))
        t = t0 + 0.1 * k
        cv2.imwrite(str(root / "rgb" / f"{t:.6f}.png"), img)
        cv2.imwrite(str(root / "depth" / f"{t + 0.005:.6f}.png"), np.round(d * 5000).astype(np.uint16))
        rgb_lines.append(f"{t:.6f} rgb/{t:.6f}.png")
        depth_lines.append(f"{t + 0.005:.6f} depth/{t + 0.005:.6f}.png")
        truth.append(world @ c2w_k)
    rgb_lines.append(f"{t0 + 0.1 * n:.6f} rgb/{t0 + 0.1 * n:.6f}.png")  # no depth within 20 ms: dropped
    (root / "rgb.txt").write_text("\n".join(rgb_lines) + "\n")
    (root / "depth.txt").write_text("\n".join(depth_lines) + "\n")
    if with_truth:
        rows = ["# timestamp tx ty tz qx qy qz qw"]
        for k, c2w in enumerate(truth):
            for dt in (-0.01, 0.0, 0.01):  # 100 Hz motion capture: decoy identity rows 10 ms off
                m = c2w if dt == 0.0 else np.eye(4)
                q, p = quat_xyzw(m[:3, :3]), m[:3, 3]
                rows.append(f"{t0 + 0.1 * k + dt:.4f} " + " ".join(f"{x:.6f}" for x in (*p, *q)))
        (root / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    return truth


def make_seven_scenes(root: Path, start: int = 500, count: int = 20, step: int = 3) -> Path:
    """A 7-Scenes-layout folder linking ``count`` real redkitchen frames, every ``step``-th from ``start``."""
    src = shared_path(*SEVEN_SCENES)
    root.mkdir(parents=True)
    (root / "camera-intrinsics.txt").symlink_to(src / "camera-intrinsics.txt")
    for i in range(start, start + count * step, step):
        for kind in ("color.jpg", "depth.png", "pose.txt"):
            (root / f"frame-{i:06d}.{kind}").symlink_to(src / f"frame-{i:06d}.{kind}")
    return root
