"""Resample the colour camera's (distorted) images to a pinhole camera.

The maps are built with the SDK's own lens model (``devices.kinect.lens``), not OpenCV's, so they
hold for both lens models the SDK knows and honour the metric radius. Colour is resampled
bilinearly; depth with nearest neighbour only, so no value is ever invented across a depth edge.
The depth values themselves do not change: undistortion keeps the camera frame, and depth is z
along its optical axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from devices.kinect.calibration import CameraModel
from devices.kinect.lens import f32, project_normalized, unproject_pixels


@dataclass(frozen=True)
class Undistorter:
    """Remap tables from a pinhole image back into the distorted colour image."""

    K: np.ndarray
    """float64 [3, 3] intrinsics of the undistorted (pinhole) images."""
    map_x: np.ndarray
    """float32 [H, W]: source column in the distorted image of each pinhole pixel."""
    map_y: np.ndarray

    def color(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 [H, W, 3] distorted -> pinhole (bilinear)."""
        return cv2.remap(rgb, self.map_x, self.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def depth(self, depth: np.ndarray) -> np.ndarray:
        """[H, W] depth on the distorted grid -> pinhole grid (nearest neighbour, 0 outside)."""
        return cv2.remap(depth, self.map_x, self.map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)


def pinhole_for(cam: CameraModel) -> np.ndarray:
    """Intrinsics of the largest pinhole view that sees only pixels of the distorted image.

    The distorted image's borders are unprojected; the new camera spans the normalised rectangle
    inside them (innermost left, right, top and bottom border points), at the same image size.

    Returns:
        float64 [3, 3].
    """
    W, H = cam.width, cam.height
    cols, rows = np.arange(W, dtype=f32), np.arange(H, dtype=f32)
    sides = {
        "left": (np.zeros(H, f32), rows), "right": (np.full(H, W - 1, f32), rows),
        "top": (cols, np.zeros(W, f32)), "bottom": (cols, np.full(W, H - 1, f32)),
    }
    norm = {}
    for name, (u, v) in sides.items():
        x, y, valid = unproject_pixels(cam, u, v)
        norm[name] = (x[valid], y[valid])
    x_left, x_right = float(norm["left"][0].max()), float(norm["right"][0].min())
    y_top, y_bottom = float(norm["top"][1].max()), float(norm["bottom"][1].min())
    fx = (W - 1) / (x_right - x_left)
    fy = (H - 1) / (y_bottom - y_top)
    return np.array([[fx, 0.0, -fx * x_left], [0.0, fy, -fy * y_top], [0.0, 0.0, 1.0]])


def build_undistorter(cam: CameraModel, K: np.ndarray | None = None) -> Undistorter:
    """Remap tables for ``cam`` (a pixel, mode-specific colour camera) to the pinhole ``K`` (default: pinhole_for)."""
    K = pinhole_for(cam) if K is None else np.asarray(K, dtype=np.float64)
    vv, uu = np.mgrid[0 : cam.height, 0 : cam.width].astype(np.float64)
    x = ((uu - K[0, 2]) / K[0, 0]).astype(f32)
    y = ((vv - K[1, 2]) / K[1, 1]).astype(f32)
    proj = project_normalized(cam, x, y)
    map_x = np.where(proj.valid, proj.u, -1.0).astype(np.float32)
    map_y = np.where(proj.valid, proj.v, -1.0).astype(np.float32)
    return Undistorter(K=K, map_x=map_x, map_y=map_y)
