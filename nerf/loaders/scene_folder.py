"""Our scene folder (transforms.json, devices.scene_folder) -> Scene.

Near / far: from the metric depth of the training views when there is some (the 1st and 99th
percentiles of the valid depths, widened by ``BOUND_MARGIN``); otherwise from the spread of the
camera centres (``near = 0.05 x``, ``far = 4 x`` the largest camera distance from their centroid,
at least 1 scene unit). Lens distortion coefficients travel with the scene and the rays honour them.
Intrinsics: the folder's (``devices.scene_folder``) are OpenCV's in memory (pixel centres at integer
coordinates); a Scene's follow ``nerf.rays`` (centres at + ``PIXEL_CENTRE``), so the principal point moves
by half a pixel here. Without it every ray missed its pixel by half a pixel (the virtual sensor's
depth, re-projected, disagreed with its own rays by that much: tests/test_nerf_loaders.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from devices.errors import InputError
from devices.frame import DepthKind
from devices.scene_folder import SceneFolder, read_scene
from nerf.loaders.common import downscale_depth, downscale_image, scale_K
from nerf.scene import Scene

BOUND_MARGIN = (0.8, 1.2)
"""near = 0.8 x the 1st percentile of valid metric depth, far = 1.2 x the 99th."""
DEFAULT_WINDOW = (30, 30)
"""Ranking window when the scene folder does not name one."""
PIXEL_CENTRE = 0.5
"""``nerf.rays.PIXEL_CENTRE`` (not imported: the loaders stay free of torch)."""
HOLDOUT_EVERY = 8
"""Without a split in transforms.json every 8th view is held out (the LLFF protocol)."""


def load_scene_folder(root: str | Path, *, split: str | None = None, downscale: int = 1) -> Scene:
    """Load a scene folder. ``split``: None (the folder's split, else every 8th view held out) or "all"."""
    sf = read_scene(root)
    if not sf.has_poses:
        raise InputError(sf.root / "transforms.json", "some frames have no camera pose: estimate poses first (sparsenerf poses)")
    if len(sf) < 2:
        raise InputError(sf.root / "transforms.json", "has only one view; few-shot training needs at least 2")
    sizes = {(f.intrinsics.width, f.intrinsics.height) for f in sf.frames}
    if len(sizes) > 1:
        raise InputError(sf.root / "transforms.json", f"frames have different image sizes {sorted(sizes)}")
    images = np.stack([downscale_image(sf.load_rgb(i), downscale) for i in range(len(sf))]).astype(np.float32) / 255.0
    h, w = images.shape[1:3]
    W0, H0 = next(iter(sizes))
    K = np.stack([scale_K(_centred(f.intrinsics.K), w / W0, h / H0) for f in sf.frames])
    c2w = np.stack([f.c2w for f in sf.frames])
    train, test = _split(sf, split)
    depths = _depths(sf, downscale, train) if sf.has_depth else None
    near, far = _bounds(c2w[train], None if depths is None or sf.depth_kind is not DepthKind.METRIC else depths[train])
    return Scene(
        name=sf.root.name, images=images, K=K, c2w=c2w, depths=depths, depth_kind=sf.depth_kind,
        train_ids=train, test_ids=test, near=near, far=far,
        ranking_window=sf.ranking_window or DEFAULT_WINDOW, distortion=_distortion(sf),
        to_metres=1.0 if sf.depth_kind is DepthKind.METRIC else None, source="scene_folder", dataset="custom",
        extra={"sensor": sf.sensor, "view_names": [f.image_path for f in sf.frames]},
    )


def _centred(K: np.ndarray) -> np.ndarray:
    """OpenCV intrinsics [3, 3] -> ``nerf.rays``' convention (pixel centres at + PIXEL_CENTRE)."""
    K = np.array(K, dtype=np.float64, copy=True)
    K[:2, 2] += PIXEL_CENTRE
    return K


def _split(sf: SceneFolder, split: str | None) -> tuple[list[int], list[int]]:
    n = len(sf)
    if split == "all":
        return list(range(n)), []
    if split is not None:
        raise InputError(sf.root, f"unknown split {split!r} for a scene folder (use 'all', or no --split for its own)")
    if sf.train_ids:
        return list(sf.train_ids), [i for i in sf.test_ids if i not in sf.train_ids]
    test = list(range(0, n, HOLDOUT_EVERY))
    return [i for i in range(n) if i not in test], test


def _depths(sf: SceneFolder, downscale: int, train: list[int]) -> np.ndarray:
    depths = []
    for i in range(len(sf)):
        d = sf.load_depth(i)
        d = np.where(np.isfinite(d) & (d > 0), d, 0.0).astype(np.float32)
        depths.append(downscale_depth(d, downscale))
    for i in train:
        if not np.any(depths[i] > 0):
            raise InputError(sf.root / sf.frames[i].depth_path, "has no valid depth (all zero): the ranking prior needs some")
    return np.stack(depths)


def _bounds(c2w: np.ndarray, metric_depths: np.ndarray | None) -> tuple[float, float]:
    """(near, far) in scene units; see the module docstring."""
    if metric_depths is not None:
        valid = metric_depths[metric_depths > 0]
        lo, hi = np.percentile(valid, [1, 99])
        return float(BOUND_MARGIN[0] * lo), float(BOUND_MARGIN[1] * hi)
    centres = c2w[:, :3, 3]
    spread = max(float(np.linalg.norm(centres - centres.mean(0), axis=-1).max()), 1.0)
    return 0.05 * spread, 4.0 * spread


def _distortion(sf: SceneFolder) -> np.ndarray | None:
    """float64 [N, 8] OpenCV coefficients, or None when every frame is pinhole."""
    if not any(f.intrinsics.distortion for f in sf.frames):
        return None
    out = np.zeros((len(sf), 8))
    for i, f in enumerate(sf.frames):
        d = f.intrinsics.distortion or ()
        out[i, : len(d)] = d
    return out
