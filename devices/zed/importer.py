"""`sparsenerf import REC.svo2 OUT`: a ZED recording (.svo / .svo2) -> scene folder, through the ZED SDK."""

from __future__ import annotations

from pathlib import Path

from devices.capture import commit_with_split
from devices.importers.registry import ImportFormat, ImportOptions, ProgressFn, register
from devices.scene_folder import SceneFolder
from devices.scene_writer import SceneWriter
from devices.zed.source import ZedConfig, ZedSource

SUFFIXES = (".svo", ".svo2")


def import_svo(
    path: Path, out: Path, options: ImportOptions = ImportOptions(), progress: ProgressFn | None = None,
    config: ZedConfig | None = None,
) -> SceneFolder:
    """Play the recording ``path`` through the SDK (depth, tracking) and write every ``options.every``-th frame.

    The scene is written atomically: an error mid-way (a corrupt frame) leaves no OUT behind.
    """
    cfg = ZedConfig(svo=Path(path)) if config is None else config
    every = max(1, options.every)
    with ZedSource(cfg) as source:
        info = source.info
        total = None if info.frame_count is None else -(-info.frame_count // every)
        extra = {"source": info.name, "fps": info.fps / every, **info.extra}
        with SceneWriter(out, sensor=info.sensor, depth_kind=info.depth_kind, ranking_window=info.ranking_window,
                         extra=extra, overwrite=options.overwrite) as writer:
            for i, frame in enumerate(source):
                if i % every:
                    continue
                writer.add(frame)
                if progress is not None:
                    progress(len(writer), total)
            return commit_with_split(writer, options.train_views)


def detect(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SUFFIXES


FORMAT = register(ImportFormat(
    name="zed-svo",
    description="ZED 2 recording (.svo / .svo2; needs the ZED SDK)",
    detect=detect,
    run=lambda path, out, options, progress: import_svo(path, out, options, progress),
))
