"""ZED 2 stereo camera (Stereolabs): live capture and .svo / .svo2 recordings through the ZED SDK.

The SDK's ``pyzed.sl`` is imported lazily (``sdk.load_sl``), so this package imports without it;
opening a source without the SDK raises MissingDependencyError with one sentence saying what to do.
"""

from devices.zed.source import ZedConfig, ZedSource

__all__ = ["ZedConfig", "ZedSource"]
