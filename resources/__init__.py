"""Files the app ships with (looked up by name, so they work from a wheel or a checkout)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    """Path of the shipped resource ``name`` (e.g. "icon.svg"); FileNotFoundError if it is not shipped."""
    path = _HERE / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: resource not shipped with SparseNeRF Studio")
    return path
