"""Small LLFF / NVS-RGBD scene folders built from real DTU frames (../shared/data/dtu_scan24).

The poses are the DTU cameras (decomposed from cameras.npz, normalised frame) written in the LLFF
convention with ``devices.llff_format.write_poses_bounds``; images are the DTU photos resized.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from devices.llff_format import write_poses_bounds

VIEWS = [9, 12, 13, 14, 15, 23, 24, 25, 26, 27, 30, 31, 32, 33, 44, 45]
"""The 16 DTU views whose optical axes are within 25 degrees of view 25's: close to forward-facing."""
SIZE = 64


@dataclass
class Sample:
    """What a sample folder was built from (for checks against the loader)."""

    root: Path
    c2w: np.ndarray  # [N, 4, 4] OpenCV c2w as written
    bounds: np.ndarray  # [N, 2]
    names: list[str]
    depth_raw: np.ndarray | None  # [N, SIZE, SIZE] values as written to depth_maps


def dtu_camera(dtu: Path, i: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(K [3, 3] for a size x size image, OpenCV c2w [4, 4]) of DTU view i."""
    cams = np.load(dtu / "cameras.npz")
    P = (cams[f"world_mat_{i}"] @ cams[f"scale_mat_{i}"])[:3]
    K, R, t = cv2.decomposeProjectionMatrix(P)[:3]
    K = K / K[2, 2]
    c2w = np.eye(4)
    c2w[:3, :3] = R.T
    c2w[:3, 3] = (t[:3] / t[3]).ravel()
    K[:2] *= size / 384
    return K, c2w


def build_sample(dtu: Path, root: Path, *, sensor: str = "kinect", train_names: bool = True) -> Sample:
    """Write an LLFF-layout scene under ``root``: images/ (2*SIZE), images_2/ (SIZE), depth_maps/, poses.

    sensor: 'kinect' (uint16 PNG, relative depth * 1e5 as 'millimetres'), 'zed2' (uint16 PNG of
    inverse depth), 'iphone' (8-bit ``<stem>-depth.jpg`` inverse depth), 'llff' (no depth maps).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    (root / "images_2").mkdir(exist_ok=True)
    if sensor != "llff":
        (root / "depth_maps").mkdir(exist_ok=True)
    c2ws, hwf, bounds, names, raws = [], [], [], [], []
    for j, i in enumerate(VIEWS):
        K, c2w = dtu_camera(dtu, i, 2 * SIZE)
        rgb = cv2.imread(str(dtu / f"{i:06d}_rgb.png"))
        tag = "_train" if train_names and j in (2, 7, 12) else ""
        name = f"view{j:02d}{tag}"
        names.append(name)
        cv2.imwrite(str(root / "images" / f"{name}.png"), cv2.resize(rgb, (2 * SIZE, 2 * SIZE), interpolation=cv2.INTER_AREA))
        cv2.imwrite(str(root / "images_2" / f"{name}.png"), cv2.resize(rgb, (SIZE, SIZE), interpolation=cv2.INTER_AREA))
        dist = np.linalg.norm(c2w[:3, 3])
        c2ws.append(c2w)
        hwf.append([2 * SIZE, 2 * SIZE, K[0, 0]])
        bounds.append([dist - 1.0, dist + 1.0])
        if sensor != "llff":
            raws.append(_write_depth(dtu / f"{i:06d}_depth.npy", root / "depth_maps", name, sensor))
    write_poses_bounds(root / "poses_bounds.npy", np.stack(c2ws), np.array(hwf), np.array(bounds))
    return Sample(root, np.stack(c2ws), np.array(bounds), names, np.stack(raws) if raws else None)


def _write_depth(src: Path, folder: Path, name: str, sensor: str) -> np.ndarray:
    rel = cv2.resize(np.load(src), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    valid = rel > 1e-4
    if sensor == "kinect":
        raw = np.where(valid, np.round(rel * 1e5), 0).astype(np.uint16)
        cv2.imwrite(str(folder / f"{name}.png"), raw)
    elif sensor == "zed2":
        raw = np.where(valid, np.round(60.0 / np.maximum(rel, 1e-4)), 0).clip(0, 65535).astype(np.uint16)
        cv2.imwrite(str(folder / f"{name}.png"), raw)
    else:  # iphone: 8-bit jpg, larger is nearer
        inv = np.where(valid, 0.5 / np.maximum(rel, 1e-4), 0).clip(0, 255).astype(np.uint8)
        base, tag = (name[:-6], "_train") if name.endswith("_train") else (name, "")
        cv2.imwrite(str(folder / f"{base}-depth{tag}.jpg"), inv)
        raw = cv2.imread(str(folder / f"{base}-depth{tag}.jpg"), cv2.IMREAD_UNCHANGED)
    return raw.astype(np.float32)
