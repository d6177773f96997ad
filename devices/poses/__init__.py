"""Poses for RGB-D sequences that have none: Open3D RGB-D odometry between keyframes, loop closure,
pose-graph optimisation, and a per-frame quality report.

Example::

    from devices.poses import PoseConfig, estimate_poses
    result = estimate_poses(frames, PoseConfig())   # frames: Sequence[Frame] or a SceneFolder
    print(result.summary())
    for c2w, q in zip(result.c2w, result.report):
        ...                                          # c2w None <=> q.failed, with q.reason

Open3D is imported only when poses are estimated (it is slow to import and needs libusb).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devices.poses.config import PoseConfig
    from devices.poses.estimate import estimate_poses, estimate_scene_poses
    from devices.poses.geometry import (
        absolute_trajectory_error,
        rigid_inverse,
        rotation_angle,
        umeyama_alignment,
    )
    from devices.poses.report import FrameQuality, PoseResult

# Public name -> defining module. Imported on first use, so `from devices.poses.config import
# PoseConfig` (the CLI's parser) does not pull in OpenCV.
_EXPORTS = {
    "FrameQuality": "devices.poses.report",
    "PoseConfig": "devices.poses.config",
    "PoseResult": "devices.poses.report",
    "absolute_trajectory_error": "devices.poses.geometry",
    "estimate_poses": "devices.poses.estimate",
    "estimate_scene_poses": "devices.poses.estimate",
    "rigid_inverse": "devices.poses.geometry",
    "rotation_angle": "devices.poses.geometry",
    "umeyama_alignment": "devices.poses.geometry",
}
__all__ = [
    "FrameQuality",
    "PoseConfig",
    "PoseResult",
    "absolute_trajectory_error",
    "estimate_poses",
    "estimate_scene_poses",
    "rigid_inverse",
    "rotation_angle",
    "umeyama_alignment",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'devices.poses' has no attribute {name!r}")
