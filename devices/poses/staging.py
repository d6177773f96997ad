"""Pose estimation as the last step of an import or capture, in the staging folder (OUT appears posed)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devices.errors import InputError

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int | None], None]


def poses_before_commit(out: Path, train_views: int, progress: ProgressFn | None = None,
                        on_poses: Callable[[Any], None] | None = None) -> Callable[[Path], None]:
    """A ``before_commit(staging)`` hook (``devices.capture.record``, ``SceneWriter``) estimating poses in
    the staging folder, so OUT appears only posed (a kill during pose estimation leaves no OUT to block a
    re-run). A scene no frame of which can be posed is still written, without poses, with a warning
    (``sparsenerf poses`` can try again).

    Args:
        out: the scene folder being written (named in the warning).
        train_views: training views of the few-shot split chosen once the frames have poses.
        progress: progress(done, total) of the estimation.
        on_poses: called with the ``devices.poses.PoseResult`` (the per-frame report to show).
    """

    def hook(staging: Path) -> None:
        from devices.poses import estimate_scene_poses
        from devices.scene_folder import read_scene

        try:
            _, result = estimate_scene_poses(read_scene(staging, check_files=False), progress=progress,
                                             train_views=train_views)
        except InputError as exc:
            log.warning("%s: written without poses: %s", out, exc.problem)
            return
        if on_poses is not None:
            on_poses(result)

    return hook
