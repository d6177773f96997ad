"""The virtual RGB-D sensor: a procedural room, a hand-held camera path, ToF-like depth, exact poses.

It needs no hardware and is the default source of the studio, the demo and the tests.

Modules: ``config`` (settings), ``textures`` and ``primitives`` (procedural surfaces and analytic
ray intersection), ``scene`` (the room, ray casting, shading), ``camera_path`` (poses),
``depth_model`` (the time-of-flight noise and holes) and ``sensor`` (the FrameSource).
"""

from devices.virtual.config import VirtualSensorConfig
from devices.virtual.scene import Hit, Scene, default_scene
from devices.virtual.sensor import VirtualSensor, intrinsics

__all__ = ["Hit", "Scene", "VirtualSensor", "VirtualSensorConfig", "default_scene", "intrinsics"]
