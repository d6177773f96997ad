"""A 7-Scenes sequence (Microsoft's Kinect v1 walks): ``frame-NNNNNN.color.jpg`` / ``.depth.png`` / ``.pose.txt``.

7-Scenes ships depth NOT registered to colour: ``camera-intrinsics.txt`` (fx = fy = 585) is the depth
camera's, and the poses are KinectFusion's, i.e. of the depth camera. We register it with the one 7-Scenes
rig the importer uses too, ``devices.registration.seven_scenes_rig`` (colour focal 525 at 640 x 480, the
colour camera 22.5 mm along the depth camera's x; its docstring says where the numbers come from): each
2x2 block of depth pixels becomes a quad in the colour image, the nearest depth winning, no quad bridging a
depth edge (no flying pixels; unseen pixels stay 0). The colour camera's pose is ``Rig.color_c2w`` of the
depth camera's (the pose file's) pose.

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
from devices.registration import register_depth_m, seven_scenes_rig
from devices.seven_scenes_format import read_intrinsics, read_pose_matrix
from nerf.loaders.common import downscale_depth, downscale_image, scale_K
from nerf.profiles import KINECT_WINDOW
from nerf.scene import Scene


def is_seven_scenes(root: Path) -> bool:
    return (root / "camera-intrinsics.txt").is_file() and any(root.glob("frame-*.color.*"))


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
    K_depth = read_intrinsics(root)
    ids = _frame_ids(root)[::every][:count]
    images, depths, c2ws = [], [], []
    for i in ids:
        stem = root / f"frame-{i:06d}"
        img = cv2.imread(str(next(root.glob(f"frame-{i:06d}.color.*"))), cv2.IMREAD_COLOR)
        raw = cv2.imread(str(stem) + ".depth.png", cv2.IMREAD_UNCHANGED)
        if img is None or raw is None:
            raise InputError(stem, "colour or depth image cannot be decoded")
        pose = read_pose_matrix(Path(str(stem) + ".pose.txt"))
        depth = np.where((raw > 0) & (raw < 65535), raw.astype(np.float32) / 1000.0, 0.0)
        rig = seven_scenes_rig(K_depth, (img.shape[1], img.shape[0]))
        reg = register_depth_m(depth, rig)
        images.append(downscale_image(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), factor).astype(np.float32) / 255.0)
        depths.append(downscale_depth(reg, factor))
        c2ws.append(rig.color_c2w(pose))
    n = len(ids)
    train = sorted({int(round(k)) for k in np.linspace(0, n - 1, n_train)})
    test = [k for k in range(n) if k not in train]
    h, w = images[0].shape[:2]
    K = scale_K(rig.K_color, w / 640, h / 480)
    valid = np.concatenate([d[d > 0] for d in (depths[k] for k in train)])
    lo, hi = np.percentile(valid, [1, 99])
    return Scene(
        name=root.name, images=np.stack(images), K=np.repeat(K[None], n, 0), c2w=np.stack(c2ws),
        depths=np.stack(depths), depth_kind=DepthKind.METRIC, train_ids=train, test_ids=test,
        near=float(0.8 * lo), far=float(1.2 * hi), ranking_window=KINECT_WINDOW, to_metres=1.0,
        source="seven_scenes", dataset="custom",
        extra={"sensor": "kinect_v1", "view_names": [f"frame-{i:06d}" for i in ids]},
    )
