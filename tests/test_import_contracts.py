"""The layering of design.md, enforced by import-linter: nerf and devices never import app or Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    script = Path(sys.executable).parent / "lint-imports"
    assert script.exists(), f"{script} not found: install the test extras (pip install -e '.[test]')"
    result = subprocess.run([str(script), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout
