"""DTU in the two other layouts it circulates in: IDR / NeuS, and the authors' own (DTU's Rectified + Calibration).

**IDR / NeuS** (``load_dtu_idr``): ``image/`` or ``images/`` (one image per view, sorted by name),
``mask/`` (the same number of masks, sorted; 255 = object), and ``cameras_sphere.npz`` (NeuS) or
``cameras.npz`` (IDR) holding ``world_mat_i`` and ``scale_mat_i`` for view position i. The cameras decompose
as in ``nerf.loaders.dtu`` into the unit-sphere frame; the images are DTU's full 1600 x 1200 ones, so
the intrinsics fit as stored (``dtu.fit_intrinsics`` also accepts MonoSDF's 384 x 384 crop).

**The authors' layout** (``load_dtu_rectified``; SparseNeRF / RegNeRF, ``configs/dtu3.gin``): the scan
folder ``DTU/Rectified/scanN`` with ``rect_{i:03d}_3_r5000.png`` (i = 1..49, lighting 3), the projection
matrices ``DTU/Calibration/cal18/pos_{i:03d}.txt`` and IDR's masks ``DTU/submission_data/idrmasks/scanN/
{i-1:03d}.png`` (``scanN/mask/{i-1:03d}.png`` for scans 40, 55, 63, 110, 114), masks for the test views only.
The calibration and mask folders are looked up in the scan folder's parents. As their loader: poses
decomposed from the projection, recentred on the mean pose and scaled so the largest camera coordinate is 1
(``recenter_poses``, ``rescale_poses``), near 0.5 and far 3.5, images area-downscaled by 4 (400 x 300).

Neither layout ships depth: the ranking prior needs one added (``sparsenerf depth``); until then these
scenes train on colour only. View i of the scene is DTU view i (0-based), so the 3-view protocol is the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from devices.camera_geometry import average_pose
from devices.errors import InputError
from devices.frame import DepthKind
from nerf.loaders.common import downscale_image, scale_K
from nerf.loaders.dtu import decompose, fit_intrinsics, read_mask, split_ids
from nerf.scene import Scene

IMAGE_EXT = (".png", ".jpg", ".jpeg")
RECT_LIGHT = "3_r5000"
"""The lighting SparseNeRF trains on (``dtu_light_cond = 3``)."""
RECT_NEAR_FAR = (0.5, 3.5)
"""The authors' DTU bounds in their recentred, rescaled frame."""
IDR_MASK_SCANS = {"scan40", "scan55", "scan63", "scan110", "scan114"}
"""Scans whose IDR masks sit in a ``mask/`` subfolder (the authors' ``idr_scans``)."""


def idr_image_dir(root: Path) -> Path | None:
    """``root/image`` or ``root/images`` when it exists, else None."""
    return next((root / n for n in ("image", "images") if (root / n).is_dir()), None)


def is_dtu_idr(root: Path) -> bool:
    return idr_image_dir(root) is not None and any((root / n).is_file() for n in ("cameras_sphere.npz", "cameras.npz"))


def is_dtu_rectified(root: Path) -> bool:
    return any(root.glob(f"rect_*_{RECT_LIGHT}.png"))


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXT)


def _read_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(path, "cannot be decoded as an image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_dtu_idr(root: str | Path, *, split: str | None = None, downscale: int | None = None) -> Scene:
    """A DTU scan in the IDR / NeuS layout (module docstring). ``downscale`` None: 4 for 1600-wide images, else 1."""
    root = Path(root)
    paths = _images_in(idr_image_dir(root))
    if not paths:
        raise InputError(idr_image_dir(root), "holds no images")
    cam_path = next(root / n for n in ("cameras_sphere.npz", "cameras.npz") if (root / n).is_file())
    try:
        cams = dict(np.load(cam_path, allow_pickle=False))  # data only
    except (OSError, ValueError) as exc:
        raise InputError(cam_path, f"cannot be read ({exc.__class__.__name__})") from None
    mask_paths = _images_in(root / "mask") if (root / "mask").is_dir() else []
    if mask_paths and len(mask_paths) != len(paths):
        raise InputError(root / "mask", f"holds {len(mask_paths)} masks for {len(paths)} images")
    first = _read_rgb(paths[0])
    factor = downscale or (4 if first.shape[1] >= 1600 else 1)
    images, Ks, c2ws, masks = [], [], [], []
    for i, p in enumerate(paths):
        img = first if i == 0 else _read_rgb(p)
        h, w = img.shape[:2]
        try:
            P = cams[f"world_mat_{i}"] @ cams[f"scale_mat_{i}"]
        except KeyError as exc:
            raise InputError(cam_path, f"has no {exc.args[0]} for image {p.name}") from None
        K, c2w = decompose(P)
        Ks.append(scale_K(fit_intrinsics(K, w, h), 1 / factor, 1 / factor))
        c2ws.append(c2w)
        images.append(downscale_image(img, factor).astype(np.float32) / 255.0)
        if mask_paths:
            masks.append(read_mask(mask_paths[i], (h, w), factor))
    dist = np.linalg.norm(np.stack(c2ws)[:, :3, 3], axis=-1)
    views = list(range(len(paths)))
    train, test = split_ids(views, split)
    img_h, img_w = images[0].shape[:2]
    return Scene(
        name=root.name, images=np.stack(images), K=np.stack(Ks), c2w=np.stack(c2ws), depths=None,
        depth_kind=DepthKind.RELATIVE, train_ids=train, test_ids=test,
        near=float(max(dist.min() - 1.0, 0.05)), far=float(dist.max() + 1.0), ranking_window=(img_h, img_w),
        masks=np.stack(masks) if masks else None, source="dtu_idr", dataset="dtu",
        extra={"aabb": [[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]], "view_names": [p.name for p in paths]},
    )


def _find_up(start: Path, rel: str, levels: int = 3) -> Path | None:
    """The first ``parent / rel`` that exists, for start and up to ``levels`` parents."""
    for parent in [start, *list(start.parents)[:levels]]:
        if (parent / rel).exists():
            return parent / rel
    return None


def _rect_mask_path(root: Path, scan: str, view: int) -> Path | None:
    masks = _find_up(root, f"submission_data/idrmasks/{scan}") or _find_up(root, f"idrmasks/{scan}")
    if masks is None:
        return None
    return masks / "mask" / f"{view:03d}.png" if scan in IDR_MASK_SCANS else masks / f"{view:03d}.png"


def load_dtu_rectified(root: str | Path, *, split: str | None = None, downscale: int | None = None) -> Scene:
    """A DTU scan in the authors' layout (module docstring); ``downscale`` None = their factor 4."""
    root = Path(root)
    calib = _find_up(root, "Calibration/cal18")
    if calib is None:
        raise InputError(root, "no Calibration/cal18 folder next to Rectified/ (DTU's projection matrices)")
    ids = sorted(int(m.group(1)) for p in root.glob(f"rect_*_{RECT_LIGHT}.png")
                 if (m := re.fullmatch(rf"rect_(\d+)_{RECT_LIGHT}", p.stem)))
    factor = downscale or 4
    images, Ks, c2ws, masks = [], [], [], []
    for i in ids:
        img = _read_rgb(root / f"rect_{i:03d}_{RECT_LIGHT}.png")
        pos = calib / f"pos_{i:03d}.txt"
        try:
            P = np.loadtxt(pos, dtype=np.float64).reshape(3, 4)
        except (OSError, ValueError) as exc:
            raise InputError(pos, f"cannot be read as a 3x4 projection matrix ({exc.__class__.__name__})") from None
        K, c2w = decompose(P)
        Ks.append(scale_K(K, 1 / factor, 1 / factor))
        c2ws.append(c2w)
        images.append(downscale_image(img, factor).astype(np.float32) / 255.0)
        mp = _rect_mask_path(root, root.name, i - 1)
        full = (img.shape[0], img.shape[1])
        masks.append(read_mask(mp, full, factor) if mp is not None else None)
    if not ids:
        raise InputError(root, f"no rect_NNN_{RECT_LIGHT}.png images")
    views = [i - 1 for i in ids]
    train, test = split_ids(views, split)
    img_h, img_w = images[0].shape[:2]
    have = [m is not None for m in masks]
    mask_arr = np.stack([m if m is not None else np.ones((img_h, img_w), bool) for m in masks]) if any(have) else None
    return Scene(
        name=root.name, images=np.stack(images), K=np.stack(Ks), c2w=authors_normalisation(np.stack(c2ws)),
        depths=None, depth_kind=DepthKind.RELATIVE, train_ids=train, test_ids=test,
        near=RECT_NEAR_FAR[0], far=RECT_NEAR_FAR[1], ranking_window=(img_h, img_w), masks=mask_arr,
        source="dtu_rectified", dataset="dtu",
        extra={"view_names": [f"rect_{i:03d}_{RECT_LIGHT}.png" for i in ids],
               "masked_views": [k for k, h in enumerate(have) if h]},
    )


def authors_normalisation(c2w: np.ndarray) -> np.ndarray:
    """Poses [N, 4, 4] recentred on their mean pose and scaled so the largest |camera coordinate| is 1.

    The mean pose is LLFF's (their ``poses_avg``, ``devices.camera_geometry.average_pose``; the frame is
    OpenCV here, which gives the same rotation up to its axes' signs).
    """
    out = np.linalg.inv(average_pose(c2w)) @ c2w
    out[:, :3, 3] /= np.abs(out[:, :3, 3]).max()
    return out
