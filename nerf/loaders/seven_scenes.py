"""A 7-Scenes sequence (Microsoft's Kinect v1 walks): ``frame-NNNNNN.color.jpg`` / ``.depth.png`` / ``.pose.txt``.

7-Scenes ships depth NOT registered to colour: ``camera-intrinsics.txt`` (fx = fy = 585) is the depth
camera's, and the poses are KinectFusion's, i.e. of the depth camera. We register it as SimpleRecon's
7-Scenes preprocessing does (its constants: colour focal 525 at 640 x 480 with the principal point at the
centre, and the depth-to-colour rigid transform ``DEPTH_TO_RGB``, ~2.6 cm along x): every valid depth pixel
is lifted with the depth intrinsics, moved into the colour camera and splatted to its nearest colour pixel,
the nearest point winning (no interpolation across depth edges, so no flying pixels; unseen pixels stay 0).
The colour camera's pose is the depth camera's composed with the inverse of ``DEPTH_TO_RGB``.

Few-shot protocol (the issue-11 benchmark's): ``count`` frames taken every ``every``-th from the first,
``n_train`` training views spread evenly over them (first, middle, last for 3), the others held out.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from devices.errors import InputError
from devices.frame import DepthKind
from nerf.loaders.common import downscale_depth, downscale_image, scale_K
from nerf.scene import Scene

RGB_K = np.array([[525.0, 0.0, 320.0], [0.0, 525.0, 240.0], [0.0, 0.0, 1.0]])
"""Colour intrinsics at 640 x 480 (SimpleRecon's 7-Scenes constants)."""
DEPTH_TO_RGB = np.array([
    [0.9999651801256764, 0.0026765126460343, -0.0079041012313001, -0.0255589431781525],
    [-0.0027409311281317, 0.9999630280302759, -0.0081504520778013, 0.0001010963626806],
    [0.0078819942130445, 0.0081718328771891, 0.999935545540394, 0.0020318321729487],
    [0.0, 0.0, 0.0, 1.0],
])
"""Points in the depth camera -> points in the colour camera (SimpleRecon's 7-Scenes registration)."""


def is_seven_scenes(root: Path) -> bool:
    return (root / "camera-intrinsics.txt").is_file() and any(root.glob("frame-*.color.*"))


def register_depth(depth_m: np.ndarray, K_depth: np.ndarray, K_rgb: np.ndarray, d2c: np.ndarray,
                   size: tuple[int, int]) -> np.ndarray:
    """Depth [H, W] (m, 0 = none) of the depth camera splatted into the colour camera: float32 [h, w] (size=(h, w))."""
    v, u = np.nonzero(depth_m > 0)
    z = depth_m[v, u].astype(np.float64)
    pts = np.stack([(u + 0.5 - K_depth[0, 2]) / K_depth[0, 0] * z, (v + 0.5 - K_depth[1, 2]) / K_depth[1, 1] * z, z], -1)
    pts = pts @ d2c[:3, :3].T + d2c[:3, 3]
    ok = pts[:, 2] > 1e-3
    pts = pts[ok]
    uc = np.floor(K_rgb[0, 0] * pts[:, 0] / pts[:, 2] + K_rgb[0, 2]).astype(np.int64)
    vc = np.floor(K_rgb[1, 1] * pts[:, 1] / pts[:, 2] + K_rgb[1, 2]).astype(np.int64)
    h, w = size
    inside = (uc >= 0) & (uc < w) & (vc >= 0) & (vc < h)
    uc, vc, zc = uc[inside], vc[inside], pts[inside, 2]
    out = np.full(h * w, np.inf)
    np.minimum.at(out, vc * w + uc, zc)  # nearest wins
    out[~np.isfinite(out)] = 0.0
    return out.reshape(h, w).astype(np.float32)


def _frame_ids(root: Path) -> list[int]:
    ids = sorted(int(m.group(1)) for p in root.glob("frame-*.color.*") if (m := re.fullmatch(r"frame-(\d+)\.color", p.stem)))
    if not ids:
        raise InputError(root, "no frame-NNNNNN.color images")
    return ids


def load_seven_scenes(root: str | Path, *, every: int = 10, count: int = 30, n_train: int = 3,
                      downscale: int | None = None) -> Scene:
    """A 7-Scenes folder as a metric RGB-D Scene (module docstring); ``downscale`` None = 2 (320 x 240)."""
    root = Path(root)
    factor = downscale or 2
    K_depth = np.loadtxt(root / "camera-intrinsics.txt").reshape(3, 3)
    ids = _frame_ids(root)[::every][:count]
    images, depths, c2ws = [], [], []
    for i in ids:
        stem = root / f"frame-{i:06d}"
        img = cv2.imread(str(next(root.glob(f"frame-{i:06d}.color.*"))), cv2.IMREAD_COLOR)
        raw = cv2.imread(str(stem) + ".depth.png", cv2.IMREAD_UNCHANGED)
        if img is None or raw is None:
            raise InputError(stem, "colour or depth image cannot be decoded")
        try:
            pose = np.loadtxt(str(stem) + ".pose.txt").reshape(4, 4)
        except (OSError, ValueError) as exc:
            raise InputError(Path(str(stem) + ".pose.txt"), f"cannot be read as a 4x4 pose ({exc.__class__.__name__})") from None
        depth = np.where((raw > 0) & (raw < 65535), raw.astype(np.float32) / 1000.0, 0.0)
        reg = register_depth(depth, K_depth, RGB_K, DEPTH_TO_RGB, img.shape[:2])
        images.append(downscale_image(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), factor).astype(np.float32) / 255.0)
        depths.append(downscale_depth(reg, factor))
        c2ws.append(pose @ np.linalg.inv(DEPTH_TO_RGB))
    n = len(ids)
    train = sorted({int(round(k)) for k in np.linspace(0, n - 1, n_train)})
    test = [k for k in range(n) if k not in train]
    h, w = images[0].shape[:2]
    K = scale_K(RGB_K, w / 640, h / 480)
    valid = np.concatenate([d[d > 0] for d in (depths[k] for k in train)])
    lo, hi = np.percentile(valid, [1, 99])
    return Scene(
        name=root.name, images=np.stack(images), K=np.repeat(K[None], n, 0), c2w=np.stack(c2ws),
        depths=np.stack(depths), depth_kind=DepthKind.METRIC, train_ids=train, test_ids=test,
        near=float(0.8 * lo), far=float(1.2 * hi), ranking_window=(5, 5), to_metres=1.0,
        source="seven_scenes", dataset="custom",
        extra={"sensor": "kinect_v1", "view_names": [f"frame-{i:06d}" for i in ids]},
    )
