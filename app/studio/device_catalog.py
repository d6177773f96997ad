"""The sensors the capture panel lists: always the virtual sensor, plus Azure Kinect and ZED 2.

A native SDK is probed lazily (only when the list is built, never at import time). A device whose
SDK or hardware is missing is still listed, greyed, with the one sentence its module raised.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from devices.errors import InputError, MissingDependencyError
from devices.frame import FrameSource


@dataclass(frozen=True)
class LiveDeviceSpec:
    """Where a live sensor's code lives (devices/<module>), named so no SDK is imported up front."""

    key: str
    """Stable id, e.g. "azure_kinect"."""
    label: str
    """Shown in the device list."""
    module: str
    """Module defining the live FrameSource."""
    check: str
    """Function in ``module`` that raises MissingDependencyError / InputError when the SDK or device is absent."""
    source: str
    """FrameSource class in ``module``, constructed with no arguments."""


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


LIVE_DEVICES: tuple[LiveDeviceSpec, ...] = (
    LiveDeviceSpec("azure_kinect", "Azure Kinect", "devices.kinect", "check_live_available", "KinectLive"),
    LiveDeviceSpec("zed2", "ZED 2", "devices.zed", "check_live_available", "ZedLive"),
)


def virtual_entry(width: int = 320, height: int = 240, fps: float = 15.0) -> DeviceEntry:
    """The built-in virtual RGB-D sensor, at the sensor's real rate (``realtime``), looping forever."""

    def make() -> FrameSource:
        from devices.virtual import VirtualSensor, VirtualSensorConfig

        cfg = VirtualSensorConfig(width=width, height=height, fps=fps, realtime=True, num_frames=None)
        return VirtualSensor(cfg)

    return DeviceEntry("virtual", "Virtual sensor (no hardware)", True, "", make)


def probe_live(spec: LiveDeviceSpec) -> DeviceEntry:
    """Import ``spec.module`` and run its availability check; never raises."""
    try:
        module = importlib.import_module(spec.module)
    except MissingDependencyError as exc:
        return DeviceEntry(spec.key, spec.label, False, str(exc), None)
    except ImportError:
        return DeviceEntry(spec.key, spec.label, False, "support for this sensor is not part of this build.", None)
    check = getattr(module, spec.check, None)
    source_cls = getattr(module, spec.source, None)
    if check is None or source_cls is None:
        return DeviceEntry(spec.key, spec.label, False, "live capture from this sensor is not available yet.", None)
    try:
        check()
    except (MissingDependencyError, InputError, OSError, RuntimeError) as exc:
        return DeviceEntry(spec.key, spec.label, False, str(exc), None)
    return DeviceEntry(spec.key, spec.label, True, "", source_cls)


def list_devices(virtual: DeviceEntry | None = None) -> list[DeviceEntry]:
    """The virtual sensor first, then every live sensor (available or not, with the reason)."""
    return [virtual or virtual_entry(), *(probe_live(spec) for spec in LIVE_DEVICES)]
