"""Import format "kinect-mkv": an Azure Kinect recording -> an aligned scene folder (posed when possible).

Imports cheaply (the registry imports every format module); PyAV and the alignment load in ``run``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from devices.errors import InputError
from devices.importers.registry import ImportFormat, ImportOptions, ProgressFn, register
from devices.poses.staging import poses_before_commit
from devices.scene_folder import SceneFolder, read_scene
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

        poser = (poses_before_commit(out, options.train_views, options.pose_progress, options.on_poses)
                 if options.estimate_poses else None)

        def before_commit(staging: Path) -> None:
            notes = {}  # known only once every capture was read
            if source.skipped:
                log.warning("%s: skipped %d capture(s) with a missing or damaged colour/depth image", path,
                            source.skipped)
                notes["skipped_captures"] = source.skipped
            if source.stopped_early:
                log.warning("%s: the file is cut short; stopped early, after the last complete capture", path)
                notes["stopped_early"] = True
            if notes:
                staged = read_scene(staging, check_files=False)
                update_scene(staged, extra={**staged.extra, **notes})
            if poser is not None:
                poser(staging)

        try:
            return record(source, out, every=every, train_views=options.train_views, overwrite=options.overwrite,
                          on_frame=on_frame, before_commit=before_commit)
        except InputError as exc:
            if exc.path == Path(out) and source.skipped:  # "no frames were written": say why, about the input
                raise InputError(path, f"holds {source.skipped} captures but none with both a colour and a "
                                       "depth image") from None
            raise


FORMAT = register(
    ImportFormat(
        name="kinect-mkv",
        description="Azure Kinect recording (.mkv from k4arecorder or pyk4a)",
        detect=detect,
        run=run,
    )
)
