"""`sparsenerf studio`: the command exists, its module imports no Qt, a bad path is a one-line error."""

from __future__ import annotations

import subprocess
import sys


def test_cli_imports_no_qt():
    code = "import sys, app.cli, app.cli.studio, app.cli.demo; app.cli.build_command_type(); print('PyQt6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_studio_help_and_missing_path(tmp_path, capsys):
    from app.cli import main

    missing = tmp_path / "nowhere"
    assert main(["studio", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {missing}: does not exist"


def test_studio_without_a_display_says_so(monkeypatch, capsys):
    from app.cli import main

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["studio"]) == 2
    assert "no display found" in capsys.readouterr().err
