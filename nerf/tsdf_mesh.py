"""A triangle mesh by TSDF fusion of colour + depth views (Open3D's VoxelBlockGrid, marching cubes).

Used for rendered views of a trained run (``nerf.geometry_export``) and, as the reference a NeRF mesh
is compared with, for a sensor's own depth (``benchmarks/geometry_export.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devices.atomic import replace_when_done
from devices.errors import InputError
from nerf.types import Camera

VOXELS_PER_SIDE = 512
"""Default voxel size: the scene box's longest side / this."""

TRUNC_VOXELS = 4.0
"""TSDF truncation distance in voxels."""


@dataclass(frozen=True)
class DepthView:
    """One view to fuse: rgb uint8 [H, W, 3], depth float32 [H, W] along the optical axis (0 = none).

    ``pixel_centre``: image coordinate of pixel 0's centre in ``camera.K``'s convention: 0.5 for our
    renders (``nerf.rays``) and for Open3D's voxel grid, 0 for the virtual sensor (OpenCV).
    """

    rgb: np.ndarray
    depth: np.ndarray
    camera: Camera
    pixel_centre: float = 0.5


@dataclass(frozen=True)
class Mesh:
    """vertices float64 [V, 3], triangles int32 [T, 3], vertex colours uint8 [V, 3]."""

    vertices: np.ndarray
    triangles: np.ndarray
    colours: np.ndarray

    def scaled(self, factor: float) -> Mesh:
        return Mesh(self.vertices * factor, self.triangles, self.colours)


def default_voxel(box: np.ndarray) -> float:
    """Voxel size for the box float [2, 3]: its longest side / VOXELS_PER_SIDE."""
    return float(np.max(box[1] - box[0])) / VOXELS_PER_SIDE


def denoise_depth(depth: np.ndarray, diameter: int = 5, rel_sigma: float = 0.03) -> np.ndarray:
    """Edge-preserving smoothing of a depth map float [H, W] (0 = none), as KinectFusion does before fusing.

    A bilateral filter on log depth: neighbours within ``diameter`` pixels whose depth differs by more than
    a few ``rel_sigma`` (relative) hardly count, so depth edges stay sharp; pixels without depth stay 0 and
    do not leak into their neighbours. A time-of-flight sensor's per-pixel noise grows with distance
    (the virtual sensor's: 2.5 cm at 4 m) while a voxel sees one pixel per view: without this, the far walls
    of a 3-view fusion come out rough by about that noise.
    """
    import cv2

    d = np.nan_to_num(np.asarray(depth, np.float32), nan=0.0)
    valid = d > 0
    if not valid.any():
        return d
    # invalid pixels sit 50 sigma below everything: their range weight is exp(-1250) = 0
    log_d = np.where(valid, np.log(np.where(valid, d, 1.0)), np.log(d[valid].min()) - 50 * rel_sigma)
    out = np.exp(cv2.bilateralFilter(log_d.astype(np.float32), diameter, rel_sigma, diameter))
    return np.where(valid, out, 0.0).astype(np.float32)


def fuse(views: Iterable[DepthView], voxel: float, box: np.ndarray | None = None,
         on_view: Callable[[], None] | None = None, min_triangles: int = 0, min_weight: float = 1.0) -> Mesh:
    """TSDF-fuse ``views`` (Open3D's VoxelBlockGrid on the CPU, truncation TRUNC_VOXELS voxels) and extract
    the mesh, cropped to ``box`` [2, 3] when given.

    Only surfaces whose voxels were integrated ``min_weight`` times or more (one per view that saw them
    within the truncation band) are kept: 2 drops what a single view saw, the least certain part and the
    rim where marching cubes meets unobserved space. ``on_view`` runs after each integrated view (it may
    raise to cancel). Connected pieces with fewer than ``min_triangles`` triangles (floaters) are dropped.
    """
    import open3d as o3d
    import open3d.core as o3c

    if not voxel > 0:
        raise ValueError(f"voxel size must be positive, got {voxel}")
    if not min_weight > 0:
        raise ValueError(f"min_weight must be positive, got {min_weight}")
    grid = o3d.t.geometry.VoxelBlockGrid(
        attr_names=("tsdf", "weight", "color"), attr_dtypes=(o3c.float32, o3c.float32, o3c.float32),
        attr_channels=((1), (1), (3)), voxel_size=float(voxel), block_resolution=8, block_count=50_000,
        device=o3c.Device("CPU:0"))
    integrated = 0
    for v in views:
        depth = np.ascontiguousarray(np.nan_to_num(v.depth, nan=0.0).astype(np.float32))
        if not np.any(depth > 0):
            continue
        trunc = float(depth.max()) + 1.0
        K = np.array(v.camera.K, np.float64)
        K[:2, 2] += 0.5 - v.pixel_centre  # measured: the grid projects a voxel into pixel floor(u), centres at +0.5
        K = o3c.Tensor(K)
        ext = o3c.Tensor(np.linalg.inv(v.camera.c2w))  # world-to-camera, OpenCV axes as Open3D's
        d_img = o3d.t.geometry.Image(o3c.Tensor(depth))
        c_img = o3d.t.geometry.Image(o3c.Tensor(np.ascontiguousarray(v.rgb, dtype=np.float32) / 255.0))
        blocks = grid.compute_unique_block_coordinates(d_img, K, ext, 1.0, trunc, trunc_voxel_multiplier=TRUNC_VOXELS)
        grid.integrate(blocks, d_img, c_img, K, ext, 1.0, trunc, trunc_voxel_multiplier=TRUNC_VOXELS)
        integrated += 1
        if on_view:
            on_view()
    if integrated == 0:  # no view had any depth (all rays below the opacity threshold)
        return Mesh(np.zeros((0, 3)), np.zeros((0, 3), np.int32), np.zeros((0, 3), np.uint8))
    # Legacy ScalableTSDFVolume returns empty meshes with this Open3D wheel; the tensor grid works.
    # weights are whole view counts: a threshold half a view below min_weight keeps exactly those voxels
    mesh = grid.extract_triangle_mesh(weight_threshold=float(min_weight) - 0.5).to_legacy()
    if box is not None:
        mesh = mesh.crop(o3d.geometry.AxisAlignedBoundingBox(np.asarray(box[0], float), np.asarray(box[1], float)))
    if min_triangles > 0 and len(mesh.triangles):
        labels, counts, _ = mesh.cluster_connected_triangles()
        labels, counts = np.asarray(labels), np.asarray(counts)
        mesh.remove_triangles_by_mask(counts[labels] < min_triangles)
        mesh.remove_unreferenced_vertices()
    cols = np.clip(np.asarray(mesh.vertex_colors) * 255 + 0.5, 0, 255).astype(np.uint8)
    return Mesh(np.asarray(mesh.vertices).copy(), np.asarray(mesh.triangles).astype(np.int32), cols)


def write_mesh(mesh: Mesh, out: str | Path) -> Path:
    """Binary PLY (float xyz, uchar rgb per vertex; int triangles), written atomically."""
    out = Path(out)
    if out.suffix.lower() != ".ply":
        raise InputError(out, "must end in .ply")
    if not out.parent.is_dir():
        raise InputError(out.parent, "folder does not exist")
    if len(mesh.triangles) == 0:
        raise InputError(out, "the mesh is empty: no surface was found (train longer, or lower the opacity threshold)")
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(mesh.vertices)}\n"
              "property float x\nproperty float y\nproperty float z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\n"
              f"element face {len(mesh.triangles)}\nproperty list uchar int vertex_indices\nend_header\n")
    verts = np.empty(len(mesh.vertices), dtype=[("p", "<f4", 3), ("c", "u1", 3)])
    verts["p"], verts["c"] = mesh.vertices, mesh.colours
    faces = np.empty(len(mesh.triangles), dtype=[("n", "u1"), ("i", "<i4", 3)])
    faces["n"], faces["i"] = 3, mesh.triangles
    with replace_when_done(out, problem="cannot write the mesh", suffix=".ply") as tmp:
        with open(tmp, "wb") as fh:
            fh.write(header.encode())
            fh.write(verts.tobytes())
            fh.write(faces.tobytes())
    return out


def read_ply_vertices(path: str | Path) -> np.ndarray:
    """Vertex positions float64 [V, 3] of a PLY file (mesh or point cloud), read with Open3D."""
    import open3d as o3d

    mesh = o3d.io.read_triangle_mesh(str(path))
    if len(mesh.vertices):
        return np.asarray(mesh.vertices).copy()
    return np.asarray(o3d.io.read_point_cloud(str(path)).points).copy()
