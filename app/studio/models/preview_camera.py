"""The camera of the live preview, which the user orbits, pans and zooms with the mouse."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from app.studio import camera_math
from devices.camera_geometry import lookat_centre_ahead, mean_up
from nerf import Camera

ORBIT_RAD_PER_PX = 0.01
"""Radians of orbit per pixel of mouse drag."""
ZOOM_PER_NOTCH = 0.9
"""Distance factor per wheel notch (15 degrees) towards the target."""


class PreviewCamera(QObject):
    """Signal ``changed(Camera)`` on every move. ``reset`` places it on a view; moves are relative to ``target``."""

    changed = pyqtSignal(Camera)

    def __init__(self) -> None:
        super().__init__()
        self.camera: Camera | None = None
        self.target = np.zeros(3)
        self.up = np.array([0.0, -1.0, 0.0])
        self.views: np.ndarray = np.zeros((0, 4, 4))
        """c2w [N, 4, 4] of the scene's views (for the nearest captured frame)."""

    def set_views(self, c2ws: np.ndarray) -> None:
        """The scene's camera poses [N, 4, 4]: fix the orbit's up direction and its centre."""
        self.views = np.asarray(c2ws, dtype=np.float64)
        self.up = mean_up(self.views)

    def reset(self, camera: Camera) -> None:
        """Jump to ``camera``; the orbit centre becomes the scene's look-at point (or a point ahead of it)."""
        c2w = np.asarray(camera.c2w, dtype=np.float64)
        point = lookat_centre_ahead(self.views)
        if point is None:
            point = c2w[:3, 3] + c2w[:3, 2] * 1.0
        dist = max(float(np.dot(point - c2w[:3, 3], c2w[:3, 2])), 1e-3)
        self.target = c2w[:3, 3] + c2w[:3, 2] * dist  # on the optical axis, so the first drag does not jump
        self._set(camera, c2w)

    def _set(self, camera: Camera, c2w: np.ndarray) -> None:
        self.camera = Camera(K=camera.K, c2w=c2w, width=camera.width, height=camera.height)
        self.changed.emit(self.camera)

    def orbit(self, dx_px: float, dy_px: float) -> None:
        if self.camera is None:
            return
        c2w = camera_math.orbit(self.camera.c2w, self.target, self.up, -dx_px * ORBIT_RAD_PER_PX, dy_px * ORBIT_RAD_PER_PX)
        self._set(self.camera, c2w)

    def pan(self, dx_px: float, dy_px: float) -> None:
        """Drag the scene with the mouse: world units per pixel at the target's distance."""
        if self.camera is None:
            return
        dist = float(np.linalg.norm(self.camera.c2w[:3, 3] - self.target))
        per_px = dist / float(self.camera.K[0, 0])
        c2w, self.target = camera_math.pan(self.camera.c2w, self.target, -dx_px * per_px, -dy_px * per_px)
        self._set(self.camera, c2w)

    def zoom(self, notches: float) -> None:
        if self.camera is None:
            return
        self._set(self.camera, camera_math.dolly(self.camera.c2w, self.target, ZOOM_PER_NOTCH**notches))

    def nearest_view(self) -> int | None:
        if self.camera is None or len(self.views) == 0:
            return None
        return camera_math.nearest_view(self.camera.c2w, self.views)
