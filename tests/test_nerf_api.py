"""nerf's public API (nerf/__init__.py): a short list of names, imported on first use."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import nerf

ROOT = Path(__file__).resolve().parents[1]


def test_all_lists_exactly_the_exports():
    assert nerf.__all__ == sorted(nerf._EXPORTS)


@pytest.mark.parametrize("name", nerf.__all__)
def test_each_name_is_the_object_its_module_defines(name):
    where = nerf._EXPORTS[name]
    module, attr = where if isinstance(where, tuple) else (where, name)
    assert getattr(nerf, name) is getattr(importlib.import_module(module), attr)


def test_no_public_name_is_a_submodule_name():
    # importing nerf.X binds the module to the package attribute X, which would shadow a public name X
    submodules = {m.name for m in pkgutil.iter_modules(nerf.__path__)}
    assert not submodules & set(nerf.__all__)


def test_unknown_names_and_submodules():
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = nerf.nothing_here
    from nerf import run_dir  # a public module still imports as a submodule

    assert run_dir.__name__ == "nerf.run_dir"


def test_import_nerf_loads_no_torch():
    code = "import sys, nerf; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False", out.stderr
