"""The three NVS-RGBD sensors: how their depth maps read and which defaults the original used.

Facts from the SparseNeRF code (``internal/datasets_depth_{kinect,zed,iphone}.py``): depth maps are
read with ``cv2.IMREAD_ANYDEPTH`` and resized to the training image; the Kinect's are 16-bit
millimetres (smaller = nearer), the ZED 2's and the iPhone's are disparity-like (larger = nearer).
Ranking windows: Kinect 5x5, ZED 30x30, iPhone 30x30. Training resolution: Kinect and ZED
``images_2``, iPhone ``images_8``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devices.frame import DepthKind


@dataclass(frozen=True)
class SensorProfile:
    """What an NVS-RGBD sensor's files mean."""

    sensor: str
    """Machine name written into the scene folder ("azure_kinect", "zed2", "iphone")."""
    folder: str
    """Name of the sensor's top-level folder in the data set ("kinect", "zed2", "iphone")."""
    depth_kind: DepthKind
    """METRIC for the Kinect's millimetres, INVERSE for the disparity-like ZED and iPhone maps."""
    ranking_window: tuple[int, int]
    """SparseNeRF ranking window (height, width) the authors used for this sensor."""
    image_factor: int
    """The original trained on ``images_<factor>``; imported when that folder exists."""
    metres_per_unit: float | None = None
    """Metric depth only: stored value times this = metres."""


KINECT = SensorProfile("azure_kinect", "kinect", DepthKind.METRIC, (5, 5), 2, 0.001)
ZED2 = SensorProfile("zed2", "zed2", DepthKind.INVERSE, (30, 30), 2)
IPHONE = SensorProfile("iphone", "iphone", DepthKind.INVERSE, (30, 30), 8)
SENSORS: tuple[SensorProfile, ...] = (KINECT, ZED2, IPHONE)
_FOLDER_ALIASES = {"kinect": KINECT, "azure_kinect": KINECT, "zed2": ZED2, "zed": ZED2, "iphone": IPHONE}


def sensor_from_path(root: Path) -> SensorProfile | None:
    """The sensor named by the scene folder or one of its parents (``<kinect|zed2|iphone>/sceneNN``)."""
    for part in (root.resolve(), *root.resolve().parents):
        profile = _FOLDER_ALIASES.get(part.name.lower())
        if profile is not None:
            return profile
    return None


def sensor_from_files(depth_files: list[Path], depth_is_16bit: bool) -> SensorProfile:
    """Fallback when no folder names the sensor: iPhone ``-depth`` names, else 16-bit = Kinect, else ZED 2."""
    if any("-depth" in p.stem for p in depth_files):
        return IPHONE
    return KINECT if depth_is_16bit else ZED2
