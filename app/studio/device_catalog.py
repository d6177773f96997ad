"""The sensors the capture panel lists: always the virtual sensor, plus Azure Kinect and ZED 2.

A native SDK is probed lazily (only when the list is built, never at import time). A device whose
SDK or hardware is missing is still listed, greyed, with the one sentence its module raised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from devices.errors import InputError, MissingDependencyError
from devices.frame import FrameSource


@dataclass(frozen=True)
class DeviceEntry:
    """One row of the device list."""

    key: str
    label: str
    available: bool
    reason: str
    """Why the device cannot be used (empty when available)."""
    open_source: Callable[[], FrameSource] | None
    """Makes a new (unopened) FrameSource; None when unavailable."""


def virtual_entry(width: int = 320, height: int = 240, fps: float = 15.0) -> DeviceEntry:
    """The built-in virtual RGB-D sensor, at the sensor's real rate (``realtime``), looping forever."""

    def make() -> FrameSource:
        from devices.virtual import VirtualSensor, VirtualSensorConfig

        cfg = VirtualSensorConfig(width=width, height=height, fps=fps, realtime=True, num_frames=None)
        return VirtualSensor(cfg)

    return DeviceEntry("virtual", "Virtual sensor (no hardware)", True, "", make)


def check_kinect() -> None:
    """Raise MissingDependencyError (no pyk4a / libk4a) or InputError (nothing plugged in)."""
    from devices.kinect.live import import_pyk4a

    if import_pyk4a().connected_device_count() < 1:
        raise InputError(None, "no Azure Kinect is connected (plug it in, then restart the studio).")


def make_kinect() -> FrameSource:
    from devices.kinect.live import KinectLive

    return KinectLive()


def check_zed() -> None:
    """Raise MissingDependencyError (no ZED SDK / wrong pyzed package) or InputError (no camera found)."""
    from devices.zed.sdk import load_sl

    if not load_sl().Camera.get_device_list():
        raise InputError(None, "no ZED camera is connected (plug it in, then restart the studio).")


def make_zed() -> FrameSource:
    from devices.zed.source import ZedSource

    return ZedSource()


LIVE_DEVICES: tuple[tuple[str, str, Callable[[], None], Callable[[], FrameSource]], ...] = (
    ("azure_kinect", "Azure Kinect", check_kinect, make_kinect),
    ("zed2", "ZED 2", check_zed, make_zed),
)
"""(key, label, availability check, source factory) of each live sensor."""


def probe_live(key: str, label: str, check: Callable[[], None], make: Callable[[], FrameSource]) -> DeviceEntry:
    """Run ``check`` (it imports the SDK lazily); never raises: a failure becomes the entry's reason."""
    try:
        check()
    except (MissingDependencyError, InputError) as exc:
        return DeviceEntry(key, label, False, getattr(exc, "problem", None) or str(exc), None)
    except Exception as exc:  # noqa: BLE001 - a broken SDK must not stop the studio from opening
        return DeviceEntry(key, label, False, f"its SDK failed to start ({exc.__class__.__name__}: {exc}).", None)
    return DeviceEntry(key, label, True, "", make)


def list_devices(virtual: DeviceEntry | None = None) -> list[DeviceEntry]:
    """The virtual sensor first, then every live sensor (available or not, with the reason)."""
    return [virtual or virtual_entry(), *(probe_live(*spec) for spec in LIVE_DEVICES)]
