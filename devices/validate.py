"""Checks of values read from files, shared by every reader: each failure is one InputError naming the
file and the field ("frame 3: fl_x must be a finite number > 0, got 'abc'").

A reader calls these on everything it takes from a file before using it, so bad input never reaches
numpy or torch as a traceback, a NaN or an allocation the size a file claims.
"""

from __future__ import annotations

import json
import math
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from devices.errors import InputError

MAX_IMAGE_SIDE = 16384
"""Largest image width or height any reader accepts (a 16K image; sensors top out far below)."""
MIN_IMAGE_SIDE = 8
"""Smallest image side that can be trained on (a ranking window and a neighbourhood must fit)."""
MAX_COORDINATE = 1e5
"""Largest camera position (metres or scene units) accepted: beyond it float32 rays lose all precision."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def number(value: Any, where: str | Path, what: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False) -> float:
    """``value`` as a finite float within [low, high] (``low_open``: > low); bools and text are refused."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    v = float(value) if ok else math.nan
    if ok and math.isfinite(v) and (low is None or (v > low if low_open else v >= low)) and (high is None or v <= high):
        return v
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        bounds.append(f"<= {high:g}")
    rng = f" {' and '.join(bounds)}" if bounds else ""
    raise InputError(where, f"{what} must be a finite number{rng}, got {_show(value)}")


def integer(value: Any, where: str | Path, what: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int within [low, high]; a float with an integral value is accepted (JSON writes 640.0)."""
    v = number(value, where, what, low=low, high=high)
    if v != int(v):
        raise InputError(where, f"{what} must be a whole number, got {_show(value)}")
    return int(v)


def image_side(value: Any, where: str | Path, what: str) -> int:
    """An image width or height: a whole number in [MIN_IMAGE_SIDE, MAX_IMAGE_SIDE]."""
    return integer(value, where, what, low=MIN_IMAGE_SIDE, high=MAX_IMAGE_SIDE)


def text(value: Any, where: str | Path, what: str) -> str:
    if not isinstance(value, str):
        raise InputError(where, f"{what} must be a string, got {_show(value)}")
    return value


def mapping(value: Any, where: str | Path, what: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(where, f"{what} must be an object, got {_show(value)}")
    return value


def string_list(value: Any, where: str | Path, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(where, f"{what} must be a list of strings, got {_show(value)}")
    return value


def inside(root: Path, rel: Any, where: str | Path, what: str) -> str:
    """``rel`` checked to be a relative path inside the folder ``root`` (no absolute path, no ``..``, no
    symbolic link leading out). The error says only that it points outside, never what is there."""
    rel = text(rel, where, what)
    parts = PurePosixPath(rel.replace("\\", "/")).parts
    if not rel or PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).is_absolute() or ".." in parts \
            or PureWindowsPath(rel).drive or "\0" in rel:
        raise InputError(where, f"{what} {_show(rel)} must be a relative path inside the scene folder")
    try:
        resolved = (root / rel).resolve()
        base = root.resolve()
    except (OSError, RuntimeError, ValueError):
        raise InputError(where, f"{what} {_show(rel)} cannot be resolved inside the scene folder") from None
    if resolved != base and base not in resolved.parents:
        raise InputError(where, f"{what} {_show(rel)} leads outside the scene folder (a symbolic link?)")
    return rel


def finite_array(value: Any, where: str | Path, what: str, shape: tuple[int, ...] | None = None,
                 limit: float | None = None) -> np.ndarray:
    """``value`` as a finite float64 array (of ``shape``; every |entry| <= ``limit``)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise InputError(where, f"{what} must be numbers") from None
    if shape is not None and arr.shape != shape:
        raise InputError(where, f"{what} must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InputError(where, f"{what} holds NaN or infinite values")
    if limit is not None and arr.size and np.abs(arr).max() > limit:
        raise InputError(where, f"{what} holds values beyond +-{limit:g}")
    return arr


def read_json(path: Path, max_bytes: int = 256 << 20) -> Any:
    """The JSON document in ``path``: not UTF-8, invalid, nested too deeply or too large are one InputError."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(path, f"is {size} bytes, more than the {max_bytes} a JSON file here may have")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(path, "is nested too deeply to be a valid file") from None


def has_valid_depth(depth: np.ndarray) -> bool:
    """True when some pixel of ``depth`` holds a finite positive value."""
    d = np.asarray(depth)
    return bool(np.any(np.isfinite(d) & (d > 0)))
