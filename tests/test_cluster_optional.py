"""Ray is optional: the app never imports it at import time, and without it the cluster options say in one
sentence how to install it (exit 2, no traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NO_RAY = "import sys; sys.modules['ray'] = None  # as if Ray were not installed\n"


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
                               "OMP_NUM_THREADS": "1", "HOME": str(ROOT)})


def test_the_app_does_not_import_ray():
    code = ("import sys\nfrom app.cli import build_command_type\nbuild_command_type()\n"
            "import app.studio.main_window, app.cluster.remote_trainer, app.cluster.batch, app.cluster.actor\n"
            "import nerf.trainer\n"
            "print('ray' in sys.modules)\n")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_without_ray_the_cluster_options_say_how_to_install_it(tmp_path):
    from tests.nerf_scenes import plane_scene

    scene = plane_scene(tmp_path / "scene")
    for args in ([ "train", str(scene), "--out", str(tmp_path / "run"), "--cluster", "ray://127.0.0.1:1"],
                 ["batch", str(scene), "--out", str(tmp_path / "batch"), "--steps", "5"]):
        code = NO_RAY + f"from app.cli import main\nraise SystemExit(main({args!r}))\n"
        result = run_python(code)
        assert result.returncode == 2, result.stderr
        err = result.stderr.strip()
        assert err == "error: Ray is not installed: pip install 'sparsenerf-studio[cluster]' to train on a Ray cluster"
        assert not (tmp_path / "run" / "run.json").exists()


def test_studio_setting_without_ray_says_how_to_install(qtbot, monkeypatch):
    from PyQt6.QtCore import Qt

    from app.studio.models.training_session import TrainingSession
    from app.studio.widgets import cluster_setting

    monkeypatch.setattr(cluster_setting, "ray_available", lambda: False)
    session = TrainingSession()
    widget = cluster_setting.ClusterSetting(session)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.keyClick(widget.where, Qt.Key.Key_Down)
    assert "pip install 'sparsenerf-studio[cluster]'" in widget.status.text()
    assert session.remote_target is None  # nothing would train remotely
    qtbot.keyClick(widget.where, Qt.Key.Key_Up)
    assert widget.status.text() == "" and session.remote_target is None
