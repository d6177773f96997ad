"""The anchor a sensor user already has: TSDF fusion of the same training views, ray-cast from held-out cameras.

Open3D's ``VoxelBlockGrid`` (tsdf, weight, colour) at 1 cm voxels, 16^3 blocks, truncation 4 voxels,
integrates the training views' metric depth (m) and colour; each held-out camera is ray-cast
(weight threshold 1: a single view's observation counts), giving depth and colour where a ray meets the
fused surface. Pixels it never saw get the mean colour of the training images (and no depth). Only the
first ``len(scene.train_ids)`` views are used: exactly what the field trains on.

    from benchmarks.tsdf_anchor import fuse_and_render
    renders = fuse_and_render(scene)   # {view: AnchorRender}
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

VOXEL_M = 0.01
BLOCK = 16
TRUNC_VOXELS = 4.0
INTEGRATE_CENTRE, RAYCAST_CENTRE = 0.5, 0.0
"""Image coordinate of pixel (0, 0)'s centre in Open3D's integration and in its ray-cast (``_o3d_camera``)."""


@dataclass
class AnchorRender:
    """One held-out view from the fusion: rgb float [H, W, 3] in [0, 1], depth float [H, W] in metres (0 = none),
    seen bool [H, W] (the ray met the fused surface)."""

    rgb: np.ndarray
    depth: np.ndarray
    seen: np.ndarray


def _o3d_camera(scene, i, centre: float):
    """Open3D's K and world-to-camera of view ``i``; ``centre``: where Open3D puts pixel (0, 0)'s centre. A
    Scene's K puts it at 0.5 (``nerf.rays``); Open3D's integration projects a point into pixel floor(u) (centre
    0.5, as tsdf_mesh measured), its ray-cast casts through integer pixel coordinates (centre 0)."""
    import open3d.core as o3c

    K = np.array(scene.K[i], dtype=np.float64)
    K[:2, 2] += centre - 0.5
    K = o3c.Tensor(np.ascontiguousarray(K), o3c.float64)
    w2c = o3c.Tensor(np.ascontiguousarray(np.linalg.inv(scene.c2w[i])), o3c.float64)
    return K, w2c


def fuse(scene, depth_max: float):
    """The VoxelBlockGrid of the training views (metric depth ``scene.depths * scene.to_metres``)."""
    import open3d as o3d
    import open3d.core as o3c

    vbg = o3d.t.geometry.VoxelBlockGrid(
        attr_names=("tsdf", "weight", "color"), attr_dtypes=(o3c.float32, o3c.float32, o3c.float32),
        attr_channels=((1), (1), (3)), voxel_size=VOXEL_M / scene.to_metres, block_resolution=BLOCK,
        block_count=8000, device=o3c.Device("CPU:0"))  # grows when needed; 8,000 blocks of 16^3 = 640 MB
    for i in scene.train_ids:
        K, w2c = _o3d_camera(scene, i, INTEGRATE_CENTRE)
        depth = o3d.t.geometry.Image(o3c.Tensor(np.ascontiguousarray(scene.depths[i].astype(np.float32))))
        color = o3d.t.geometry.Image(o3c.Tensor(np.ascontiguousarray(scene.images[i].astype(np.float32))))
        blocks = vbg.compute_unique_block_coordinates(depth, K, w2c, depth_scale=1.0, depth_max=depth_max,
                                                      trunc_voxel_multiplier=TRUNC_VOXELS)
        vbg.integrate(blocks, depth, color, K, w2c, depth_scale=1.0, depth_max=depth_max,
                      trunc_voxel_multiplier=TRUNC_VOXELS)
    return vbg


def fuse_and_render(scene, views=None) -> tuple[dict[int, AnchorRender], float]:
    """Fuse the training views, ray-cast ``views`` (default: the test views). Returns (renders, seconds)."""
    t0 = time.perf_counter()
    depth_max = float(scene.far)
    vbg = fuse(scene, depth_max)
    blocks = vbg.hashmap().key_tensor()
    mean_rgb = scene.images[scene.train_ids].reshape(-1, 3).mean(0)
    out = {}
    for i in scene.test_ids if views is None else views:
        K, w2c = _o3d_camera(scene, i, RAYCAST_CENTRE)
        res = vbg.ray_cast(blocks, K, w2c, scene.width, scene.height, render_attributes=["depth", "color"],
                           depth_scale=1.0, depth_min=float(scene.near), depth_max=depth_max, weight_threshold=1.0,
                           trunc_voxel_multiplier=TRUNC_VOXELS, range_map_down_factor=8)
        depth = res["depth"].numpy()[..., 0].astype(np.float32)
        seen = np.isfinite(depth) & (depth > 0)
        rgb = np.where(seen[..., None], np.clip(res["color"].numpy(), 0.0, 1.0), mean_rgb[None, None])
        out[i] = AnchorRender(rgb=rgb.astype(np.float32), depth=np.where(seen, depth, 0.0) * scene.to_metres, seen=seen)
    return out, time.perf_counter() - t0
