"""The Scene tab's 3D view (pyqtgraph.opengl frustums + point cloud) really draws, on an X server with GL.

The other studio tests run offscreen, where there is no OpenGL and the view is a label. This one starts
a child process under ``xvfb-run -a`` (Qt's xcb platform, Mesa's software GL), opens the scene panel on
a tiny virtual capture, grabs the GL widget's framebuffer and writes it to a .npy file; the test then
checks the picture: not one background colour, the training frustums' green present, and the point
cloud's pixels (neither background nor a frustum colour) present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np
    from PyQt6.QtCore import QEventLoop, QTimer
    from PyQt6.QtWidgets import QApplication

    from devices.capture import record
    from devices.virtual import VirtualSensor, VirtualSensorConfig

    scene, out = Path(sys.argv[1]), Path(sys.argv[2])
    with VirtualSensor(VirtualSensorConfig(width=64, height=48, num_frames=8)) as source:
        record(source, scene, train_views=3)

    app = QApplication(sys.argv[:1])
    from app.studio.models.scene_model import SceneModel
    from app.studio.widgets.scene_panel import ScenePanel

    model = SceneModel()
    panel = ScenePanel(model)
    panel.resize(900, 500)
    panel.show()
    errors = []
    model.error.connect(errors.append)
    model.load(scene)

    def wait(ms, until=lambda: False):
        loop = QEventLoop()
        poll = QTimer()
        poll.timeout.connect(lambda: until() and loop.quit())
        poll.start(20)
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    wait(60_000, until=lambda: model.data is not None or errors)
    model.shutdown()
    if errors:
        sys.exit("scene did not load: " + errors[0])
    view = panel.view3d
    if view.gl is None:
        sys.exit("no GL view: " + str(view.reason))
    wait(500)  # let it paint
    from PyQt6.QtGui import QImage

    image = view.gl.grabFramebuffer().convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    rgb = np.frombuffer(image.constBits().asstring(stride * h), np.uint8).reshape(h, stride)[:, : 3 * w]
    np.save(out, rgb.reshape(h, w, 3).copy())

    # the user turns the 3D view, then clicks a thumbnail: the split changes, the view stays where it was
    import json
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    view.gl.orbit(40, 10)
    wait(200)
    before = {k: float(view.gl.opts[k]) for k in ("azimuth", "elevation", "distance")}
    thumbs = panel.thumbs
    rect = thumbs.visualItemRect(thumbs.item(model.data.folder.test_ids[0]))
    QTest.mouseClick(thumbs.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    wait(300)
    after = {k: float(view.gl.opts[k]) for k in ("azimuth", "elevation", "distance")}
    out.with_suffix(".json").write_text(json.dumps({"before": before, "after": after,
                                                    "train": list(model.data.folder.train_ids)}))
    """
)


def xvfb_missing() -> str | None:
    """Why this test cannot run here, or None."""
    for tool in ("xvfb-run", "Xvfb"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH (Debian: apt-get install xvfb)"
    return None


@pytest.mark.skipif(xvfb_missing() is not None, reason=str(xvfb_missing()))
def test_scene_3d_view_draws_frustums_and_points_under_xvfb(tmp_path: Path):
    from app.studio.widgets.scene_3d import OTHER_RGBA, TEST_RGBA, TRAIN_RGBA

    out = tmp_path / "frame.npy"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", sys.executable, "-c", CHILD,
           str(tmp_path / "scene"), str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    rgb = np.load(out).reshape(-1, 3).astype(int)
    assert rgb.shape[0] > 100 * 100, "the GL widget should have a real size"

    background = np.array([0, 0, 0])  # Scene3DView sets a black background
    drawn = np.abs(rgb - background).sum(1) > 30
    assert drawn.mean() > 0.002, "the framebuffer is a uniform background: nothing was drawn"

    def near(rgba, tol=40):
        target = np.round(np.array(rgba[:3]) * 255).astype(int)
        return np.abs(rgb - target).max(1) <= tol

    frustum = near(TRAIN_RGBA) | near(TEST_RGBA) | near(OTHER_RGBA)
    assert near(TRAIN_RGBA).sum() >= 20, "no training-view (green) frustum lines were drawn"
    assert (drawn & ~frustum).sum() >= 20, "no point-cloud pixels (coloured by the images) were drawn"

    import json

    turned = json.loads(out.with_suffix(".json").read_text())
    assert len(turned["train"]) == 4  # the click moved a test view into the training views
    assert turned["after"] == turned["before"], "a split change reset the 3D view's camera"
