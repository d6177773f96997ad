"""3D view of the camera frustums and the depth point cloud (pyqtgraph.opengl), created lazily.

Offscreen (tests, CI) there is no OpenGL context: the view degrades to a label saying so.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QStackedLayout, QWidget

from app.studio.types import SceneData
from devices.camera_geometry import mean_up

TRAIN_RGBA = (0.2, 0.85, 0.3, 1.0)
TEST_RGBA = (0.3, 0.6, 1.0, 1.0)
OTHER_RGBA = (0.6, 0.6, 0.6, 1.0)


def gl_unavailable_reason() -> str | None:
    """None when an OpenGL context can be created here; else why not (one sentence)."""
    from PyQt6.QtGui import QGuiApplication, QOpenGLContext

    platform = QGuiApplication.platformName()
    if platform in ("offscreen", "minimal"):
        return f"3D view unavailable: the '{platform}' Qt platform has no OpenGL."
    try:
        import OpenGL.GL  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any failure means no 3D view
        return f"3D view unavailable: PyOpenGL cannot load ({exc.__class__.__name__})."
    ctx = QOpenGLContext()
    if not ctx.create():
        return "3D view unavailable: no OpenGL context could be created."
    return None


def up_to_z(up: np.ndarray) -> np.ndarray:
    """[3, 3] rotation taking unit vector ``up`` to +z (the GL view's up)."""
    z = np.array([0.0, 0.0, 1.0])
    v, c = np.cross(up, z), float(np.dot(up, z))
    if np.linalg.norm(v) < 1e-9:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)


def frustum_segments(K: np.ndarray, c2w: np.ndarray, w: int, h: int, size: float) -> np.ndarray:
    """Line segments [16, 3] (8 pairs) of a camera pyramid ``size`` deep: 4 edges from the centre, 4 at the base."""
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    cam = np.stack([(corners[:, 0] - K[0, 2]) / K[0, 0], (corners[:, 1] - K[1, 2]) / K[1, 1], np.ones(4)], 1) * size
    world = cam @ c2w[:3, :3].T + c2w[:3, 3]
    centre = c2w[:3, 3]
    segs = [p for i in range(4) for p in (centre, world[i])]
    segs += [p for i in range(4) for p in (world[i], world[(i + 1) % 4])]
    return np.asarray(segs)


class Scene3DView(QWidget):
    """Cameras (green: training, blue: test) and the point cloud. ``show_scene`` / ``show_split`` update it."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.stack = QStackedLayout(self)
        self.placeholder = QLabel("3D view: load a scene")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.stack.addWidget(self.placeholder)
        self.gl = None
        self.reason: str | None = None
        self._items: list = []
        self._data: SceneData | None = None

    def _ensure_gl(self) -> bool:
        if self.gl is not None:
            return True
        self.reason = gl_unavailable_reason()
        if self.reason is not None:
            self.placeholder.setText(self.reason)
            return False
        import pyqtgraph.opengl as gl

        self.gl = gl.GLViewWidget()
        self.gl.setBackgroundColor("k")
        self.stack.addWidget(self.gl)
        self.stack.setCurrentWidget(self.gl)
        return True

    def show_scene(self, data: SceneData) -> None:
        self._data = data
        if self._ensure_gl():
            self._redraw(fit_camera=True)

    def show_split(self, train: list[int], test: list[int]) -> None:
        """Recolour the cameras; the view keeps where the user turned it (only a new scene re-aims it)."""
        if self._data is not None and self.gl is not None:
            self._redraw(set(train), set(test))

    def _redraw(self, train: set[int] | None = None, test: set[int] | None = None, fit_camera: bool = False) -> None:
        import pyqtgraph.opengl as gl

        data, view = self._data, self.gl
        folder = data.folder
        train = set(folder.train_ids) if train is None else train
        test = set(folder.test_ids) if test is None else test
        for item in self._items:
            view.removeItem(item)
        self._items = []
        posed = [(i, f) for i, f in enumerate(folder.frames) if f.c2w is not None]
        if not posed:
            return
        c2ws = np.stack([f.c2w for _, f in posed])
        rot = up_to_z(mean_up(c2ws))
        centres = c2ws[:, :3, 3]
        extent = max(float(np.ptp(centres, axis=0).max()), 0.1)
        for i, f in posed:
            used = i in train or i in test
            size = (0.25 if used else 0.1) * extent
            seg = frustum_segments(f.intrinsics.K, f.c2w, f.intrinsics.width, f.intrinsics.height, size)
            color = TRAIN_RGBA if i in train else TEST_RGBA if i in test else OTHER_RGBA
            width = 3 if i in train else 1
            self._add(gl.GLLinePlotItem(pos=seg @ rot.T, color=color, width=width, mode="lines",
                                        glOptions="opaque", antialias=False))
        if len(data.points):
            rgba = np.concatenate([data.colors / 255.0, np.ones((len(data.colors), 1))], 1)
            # opaque: the default additive blending turns a dense cloud white
            self._add(gl.GLScatterPlotItem(pos=data.points @ rot.T, color=rgba, size=2.0, pxMode=True,
                                           glOptions="opaque"))
        if fit_camera:
            self._look_from_behind_cameras(centres @ rot.T,
                                           data.points @ rot.T if len(data.points) else centres @ rot.T)

    def _look_from_behind_cameras(self, cams: np.ndarray, points: np.ndarray) -> None:
        """Aim the GL camera at the cloud's centre from above and behind the capture path, so both show."""
        centre = np.median(points, axis=0)
        away = cams.mean(0) - centre
        azimuth = float(np.degrees(np.arctan2(away[1], away[0])))
        size = float(np.percentile(points, 95, axis=0).max() - np.percentile(points, 5, axis=0).min())
        self.gl.opts["center"] = pg_vector(centre)
        self.gl.setCameraPosition(distance=1.5 * max(size, 0.5), elevation=35, azimuth=azimuth)

    def _add(self, item) -> None:
        self.gl.addItem(item)
        self._items.append(item)


def pg_vector(p: np.ndarray):
    from PyQt6.QtGui import QVector3D

    return QVector3D(float(p[0]), float(p[1]), float(p[2]))
