"""Import format "kinect-mkv": an Azure Kinect recording -> an aligned scene folder (posed when possible).

Imports cheaply (the registry imports every format module); PyAV and the alignment load in ``run``.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from pathlib import Path

from devices.importers.registry import ImportFormat, ImportOptions, ProgressFn, register
from devices.scene_folder import SceneFolder
from devices.scene_writer import update_scene

log = logging.getLogger(__name__)
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def detect(path: Path) -> bool:
    """A ``.mkv`` file (checked in depth by ``run``), or any file that starts like Matroska."""
    if not path.is_file():
        return False
    if path.suffix.lower() == ".mkv":
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(4) == _EBML_MAGIC
    except OSError:
        return False


def add_poses(out: Path, scene: SceneFolder, train_views: int) -> SceneFolder:
    """RGB-D odometry poses (devices.poses) written into the scene; skipped when that package is absent."""
    if importlib.util.find_spec("devices.poses") is None:
        log.warning("%s: devices.poses is not available; the scene has no poses", out)
        return scene
    from devices.poses import estimate_scene_poses

    posed, _result = estimate_scene_poses(out, train_views=train_views)
    return posed


def run(path: Path, out: Path, options: ImportOptions, progress: ProgressFn | None = None) -> SceneFolder:
    """Decode, align (SDK semantics), undistort unless ``options.keep_distortion``, write, estimate poses."""
    from devices.capture import record
    from devices.kinect.source import AlignOptions, KinectRecording

    every = max(1, int(options.every))
    with KinectRecording(path, AlignOptions(keep_distortion=options.keep_distortion)) as source:
        total = source.info.frame_count
        expected = math.ceil(total / every) if total else None

        def on_frame(i: int, _frame: object) -> None:
            if progress is not None:
                progress(i + 1, expected)

        scene = record(source, out, every=every, train_views=options.train_views, overwrite=options.overwrite,
                       on_frame=on_frame)
        skipped = source.skipped
    if skipped:
        log.warning("%s: skipped %d capture(s) with a missing or damaged colour/depth image", path, skipped)
        scene = update_scene(scene, extra={**scene.extra, "skipped_captures": skipped})
    if options.estimate_poses and not scene.has_poses:
        scene = add_poses(out, scene, options.train_views)
    return scene


FORMAT = register(
    ImportFormat(
        name="kinect-mkv",
        description="Azure Kinect recording (.mkv from k4arecorder or pyk4a)",
        detect=detect,
        run=run,
    )
)
