"""DTU in the IDR / MonoSDF layout (``cameras.npz`` + ``NNNNNN_rgb.png`` + ``NNNNNN_depth.npy``).

Cameras: ``P = world_mat_i @ scale_mat_i``; ``cv2.decomposeProjectionMatrix(P[:3])`` gives K and the
camera in the normalised frame where the object lies in the unit sphere.

Intrinsics, checked numerically on ../shared/data/dtu_scan24: the decomposed K has cx = 823.2,
cy = 619.1 (view 25), the principal point of the ORIGINAL 1600 x 1200 images, while the images
are 384 x 384. So the stored K does not yet include MonoSDF's centre crop; we apply it here:
``cx -= 200`` (1600 -> 1200 crop), then ``K[:2] *= W / 1200``. The loader picks between "already
fits" and "needs the crop" by which principal point lands nearer the image centre, so a copy of
the data with corrected cameras loads too.

Masks: ``NNNNNN_mask.png`` (255 = object; IDR's masks put through the same crop) become
``Scene.masks`` when every view has one, for the masked metrics the papers report.

Depth: a monocular network's relative depth (larger = farther, 0 = invalid). Split: the few-shot
protocol of RegNeRF / SparseNeRF (train 25, 22, 28 for 3 views; test = the 25 views that are neither among
the 9-view protocol's training views nor the 15 excluded ones, the same 25 for 3, 6 and 9 views, as their
loaders' "pixelnerf" split). Near / far: camera distances to the unit sphere.
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

TRAIN_VIEWS = {3: [25, 22, 28], 6: [25, 22, 28, 40, 44, 48], 9: [25, 22, 28, 40, 44, 48, 0, 8, 13]}
"""Training views of the n-view protocols (RegNeRF's order; SparseNeRF uses the 3-view one)."""
EXCLUDED_TEST = [3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 36, 37, 38, 39]
"""Views never used for testing (they barely overlap the object)."""
CROP_FROM = (1600, 1200)
"""Size of the original DTU images the stored intrinsics refer to."""


def is_dtu(root: Path) -> bool:
    return (root / "cameras.npz").is_file() and any(root.glob("*_rgb.png"))


def _views(root: Path) -> list[int]:
    ids = sorted(int(m.group(1)) for p in root.glob("*_rgb.png") if (m := re.fullmatch(r"(\d+)_rgb", p.stem)))
    if not ids:
        raise InputError(root, "no NNNNNN_rgb.png images")
    return ids


def decompose(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projection [3, 4] -> (K [3, 3] with K[2, 2] = 1, OpenCV camera-to-world [4, 4])."""
    K, R, t = cv2.decomposeProjectionMatrix(P[:3])[:3]
    c2w = np.eye(4)
    c2w[:3, :3] = R.T
    c2w[:3, 3] = (t[:3] / t[3]).ravel()
    return K / K[2, 2], c2w


def fit_intrinsics(K: np.ndarray, width: int, height: int) -> np.ndarray:
    """K as stored, or with the MonoSDF centre crop applied, whichever puts (cx, cy) nearer the centre."""
    cropped = K.copy()
    cropped[0, 2] -= (CROP_FROM[0] - CROP_FROM[1]) / 2
    cropped = scale_K(cropped, width / CROP_FROM[1], height / CROP_FROM[1])
    off = lambda k: abs(k[0, 2] - width / 2) + abs(k[1, 2] - height / 2)  # noqa: E731
    return cropped if off(cropped) < off(K) else K


def split_ids(views: list[int], split: str | None) -> tuple[list[int], list[int]]:
    """(train, test) view positions for "3view" (default), "6view", "9view" or "all" (every view trains)."""
    split = split or "3view"
    if split == "all":
        return list(range(len(views))), []
    m = re.fullmatch(r"(\d+)view", split)
    if not m or int(m.group(1)) not in TRAIN_VIEWS:
        raise InputError(None, f"unknown DTU split {split!r} (expected 3view, 6view, 9view or all)")
    pos = {v: i for i, v in enumerate(views)}
    train = [pos[v] for v in TRAIN_VIEWS[int(m.group(1))] if v in pos]
    # the papers' test set leaves out all 9 of the 9-view protocol's training views whatever the split (RegNeRF's
    # ``test_idx``): 25 views on a full scan, not 31 for 3 views
    test = [pos[v] for v in views if v not in EXCLUDED_TEST and v not in TRAIN_VIEWS[9]]
    return train, test


def camera_matrix(cams, v: int) -> np.ndarray:
    """world_mat_v @ scale_mat_v [4, 4]; ValueError unless both are finite 4x4 number arrays (not objects)."""
    mats = [cams[f"{name}_{v}"] for name in ("world_mat", "scale_mat")]
    for m in mats:
        if not isinstance(m, np.ndarray) or m.dtype.kind not in "iuf" or m.shape != (4, 4) or not np.isfinite(m).all():
            raise ValueError("world_mat / scale_mat must be finite 4x4 number arrays")
    return mats[0].astype(np.float64) @ mats[1].astype(np.float64)


def load_dtu(root: str | Path, *, split: str | None = None, downscale: int = 1) -> Scene:
    """Load a DTU scan in the IDR / MonoSDF layout (see the module docstring)."""
    root = Path(root)
    views = _views(root)
    try:
        cams = np.load(root / "cameras.npz", allow_pickle=False)  # data only: object arrays are refused
    except (OSError, ValueError) as exc:
        raise InputError(root / "cameras.npz", f"cannot be read ({exc.__class__.__name__})") from None
    images, depths, Ks, c2ws, masks = [], [], [], [], []
    for v in views:
        img = cv2.imread(str(root / f"{v:06d}_rgb.png"), cv2.IMREAD_COLOR)
        if img is None:
            raise InputError(root / f"{v:06d}_rgb.png", "cannot be decoded as an image")
        h, w = img.shape[:2]
        try:
            P = camera_matrix(cams, v)
        except KeyError as exc:
            raise InputError(root / "cameras.npz", f"has no {exc.args[0]} for view {v}") from None
        except ValueError as exc:
            raise InputError(root / "cameras.npz", f"view {v}: {exc}") from None
        K, c2w = decompose(P)
        Ks.append(scale_K(fit_intrinsics(K, w, h), 1 / downscale, 1 / downscale))
        c2ws.append(c2w)
        images.append(downscale_image(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), downscale).astype(np.float32) / 255.0)
        depths.append(_read_depth(root / f"{v:06d}_depth.npy", (h, w), downscale))
        masks.append(read_mask(root / f"{v:06d}_mask.png", (h, w), downscale))
    train, test = split_ids(views, split)
    dist = np.linalg.norm(np.stack(c2ws)[:, :3, 3], axis=-1)
    img_h, img_w = images[0].shape[:2]
    return Scene(
        name=root.name, images=np.stack(images), K=np.stack(Ks), c2w=np.stack(c2ws),
        depths=None if any(d is None for d in depths) else np.stack(depths), depth_kind=DepthKind.RELATIVE,
        train_ids=train, test_ids=test, near=float(max(dist.min() - 1.0, 0.05)), far=float(dist.max() + 1.0),
        ranking_window=(img_h, img_w), source="dtu", dataset="dtu",
        masks=None if any(m is None for m in masks) else np.stack(masks),
        extra={"aabb": [[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]], "view_names": [f"{v:06d}" for v in views]},
    )


def read_mask(path: Path, size: tuple[int, int], downscale: int) -> np.ndarray | None:
    """bool [H, W] object mask (any channel > 127 = object, as IDR's 0/255 masks), or None when absent.

    ``size`` (H, W) is the image's size before ``downscale``; the mask is downscaled by nearest neighbour.
    """
    if not path.is_file():
        return None
    m = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if m is None:
        raise InputError(path, "cannot be decoded as an image")
    m = m.max(axis=-1) if m.ndim == 3 else m
    if m.shape != size:
        raise InputError(path, f"mask is {m.shape[1]}x{m.shape[0]} but its image is {size[1]}x{size[0]}")
    return downscale_depth((m > 127).astype(np.float32), downscale) > 0.5


def _read_depth(path: Path, size: tuple[int, int], downscale: int) -> np.ndarray | None:
    """float32 [H, W] relative depth with non-finite / non-positive values as 0, or None when absent."""
    if not path.is_file():
        return None
    try:
        d = np.load(path).astype(np.float32)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot be read as a .npy array ({exc.__class__.__name__})") from None
    if d.shape != size:
        raise InputError(path, f"depth is {d.shape[1]}x{d.shape[0]} but its image is {size[1]}x{size[0]}")
    d = np.where(np.isfinite(d) & (d > 0), d, 0.0).astype(np.float32)
    return downscale_depth(d, downscale)
