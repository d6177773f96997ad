"""Loading the ZED SDK's Python API (``pyzed.sl``) lazily, with one clear sentence when it fails.

``pyzed.sl`` ships with the ZED SDK (it needs CUDA) and is installed by the SDK's
``get_python_api.py``; it is not on PyPI. The PyPI package that *is* called ``pyzed`` is an
unrelated project: with it installed, ``import pyzed.sl`` fails ("'pyzed' is not a package" or
"No module named 'pyzed.sl'"). ``load_sl`` tells the three failures apart.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

from devices.errors import MissingDependencyError

GET_PYTHON_API = "python3 /usr/local/zed/get_python_api.py"  # the SDK's installer of pyzed.sl (Linux path)

SDK_MISSING = (
    "The ZED SDK's Python API (pyzed.sl) is not installed: install the ZED SDK "
    f"(https://www.stereolabs.com/developers/release), then run its get_python_api.py ({GET_PYTHON_API})."
)


def wrong_package_sentence(location: str) -> str:
    return (
        f"The Python package 'pyzed' installed at {location} is the unrelated PyPI project of that name, "
        "not the ZED SDK's API, so 'import pyzed.sl' fails: run 'pip uninstall pyzed', then the ZED SDK's "
        f"get_python_api.py ({GET_PYTHON_API})."
    )


def _has_sl(package: ModuleType) -> bool:
    """True when the ``pyzed`` package on disk holds an ``sl`` extension module or subpackage."""
    for folder in getattr(package, "__path__", None) or []:
        if any(Path(folder).glob("sl.*")) or (Path(folder) / "sl").is_dir():
            return True
    return False


def load_sl() -> ModuleType:
    """Import and return ``pyzed.sl``.

    Raises:
        MissingDependencyError: one sentence for each case: the SDK is not installed; the unrelated
            PyPI ``pyzed`` is installed instead; the SDK's module exists but fails to load (CUDA).
    """
    try:
        import pyzed.sl as sl
    except ImportError as exc:
        package = sys.modules.get("pyzed")
        if package is None:
            raise MissingDependencyError(SDK_MISSING) from None
        location = getattr(package, "__file__", None) or ", ".join(getattr(package, "__path__", []) or ["?"])
        if not hasattr(package, "__path__") or not _has_sl(package):
            raise MissingDependencyError(wrong_package_sentence(location)) from None
        raise MissingDependencyError(
            f"The ZED SDK's pyzed.sl is installed ({location}) but fails to load ({exc}): re-run the SDK's "
            f"get_python_api.py ({GET_PYTHON_API}) for this Python and check the SDK's CUDA version is installed."
        ) from None
    return sl
