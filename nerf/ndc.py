"""Normalised device coordinates for forward-facing scenes (NeRF / Mip-NeRF / RegNeRF), OpenCV axes.

Forward-facing loaders (``nerf.loaders.llff``) recentre the world so that the average camera is the
identity in OpenCV axes: x right, y down, z forward (the scene lies at z > 0). NeRF's NDC maps the
frustum of that reference camera, from the plane z = ``near`` to infinity, onto the cube [-1, 1]^3:

    x_ndc = (2 fx / W) x / z + (2 cx / W - 1)
    y_ndc = (2 fy / H) y / z + (2 cy / H - 1)
    z_ndc = 1 - 2 near / z

This is the original's formula (written for OpenGL axes, camera looking down -z) with the world's y
and z axes flipped, plus an off-centre principal point (cx = W / 2 gives the original). A ray is
first moved to start on the plane z = near; in NDC it runs from z_ndc = -1 (t = 0) to 1 (t = 1),
and t = 1 - near / z: NDC t is a monotone function of the point's depth z along the reference axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from nerf.fields.base import RayBatch

NDC_NEAR_PLANE = 1.0
"""Near plane (scene units) of the NDC map, as the original: loaders scale scenes so that the
nearest depth bound is 1 / 0.75 > 1."""


@dataclass(frozen=True)
class NDCSpace:
    """The reference pinhole that defines a scene's NDC (fixed per scene, whatever the render size).

    Attributes:
        fx, fy, cx, cy: intrinsics in pixels of the training images.
        width, height: size in pixels of the training images.
        near: the near plane in scene units.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    near: float = NDC_NEAR_PLANE

    @classmethod
    def from_K(cls, K: np.ndarray, width: int, height: int, near: float = NDC_NEAR_PLANE) -> NDCSpace:
        """From intrinsics K [3, 3] of ``width`` x ``height`` images."""
        return cls(float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]), int(width), int(height), near)


def ndc_rays(
    origins: torch.Tensor,  # [R, 3]
    directions: torch.Tensor,  # [R, 3]
    space: NDCSpace,
) -> tuple[torch.Tensor, torch.Tensor]:
    """World rays -> NDC rays (origins [R, 3] on z_ndc = -1, directions [R, 3] with d_z = 2 near / o_z).

    A point o + t d_ndc (t in [0, 1]) of the result is the NDC image of the world point on the
    original ray at depth z = near / (1 - t).
    """
    ax, ay = 2 * space.fx / space.width, 2 * space.fy / space.height
    bx, by = 2 * space.cx / space.width - 1, 2 * space.cy / space.height - 1
    t = (space.near - origins[:, 2]) / directions[:, 2]
    o = origins + t[:, None] * directions
    ox, oy = o[:, 0] / o[:, 2], o[:, 1] / o[:, 2]
    o_ndc = torch.stack([ax * ox + bx, ay * oy + by, 1 - 2 * space.near / o[:, 2]], dim=-1)
    d_ndc = torch.stack([
        ax * (directions[:, 0] / directions[:, 2] - ox),
        ay * (directions[:, 1] / directions[:, 2] - oy),
        2 * space.near / o[:, 2],
    ], dim=-1)
    return o_ndc, d_ndc


def ndc_ray_batch(
    origins: torch.Tensor,  # [R, 3]
    directions: torch.Tensor,  # [R, 3]
    directions_dx: torch.Tensor,  # [R, 3]
    space: NDCSpace,
) -> RayBatch:
    """World rays -> the RayBatch a field sees in NDC (t in [0, 1]).

    ``directions_dx`` is the world direction of the pixel one to the right of each ray's pixel.
    Radii are Mip-NeRF's for NDC: the distance between the NDC origins of a pixel and its right-hand
    neighbour, times 2 / sqrt(12). View directions stay the unit world directions (as the original).
    """
    o, d = ndc_rays(origins, directions, space)
    o_dx, _ = ndc_rays(origins, directions_dx, space)
    radii = torch.linalg.norm(o - o_dx, dim=-1, keepdim=True) * (2 / math.sqrt(12))
    viewdirs = directions / torch.linalg.norm(directions, dim=-1, keepdim=True)
    zeros = torch.zeros_like(radii)
    return RayBatch(origins=o, directions=d, viewdirs=viewdirs, radii=radii, near=zeros, far=zeros + 1)


def ndc_t_to_depth(t: torch.Tensor | np.ndarray, near: float = NDC_NEAR_PLANE):
    """NDC ray parameter -> depth z along the reference camera's axis: near / (1 - t) (inf at t = 1)."""
    return near / (1 - t)
