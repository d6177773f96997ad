"""Record any FrameSource into a scene folder, and choose a few-shot train/test split."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from devices.frame import Frame, FrameSource
from devices.scene_folder import SceneFolder
from devices.scene_writer import SceneWriter


def spread_split(positions: np.ndarray, k: int, max_test: int | None = 24) -> tuple[list[int], list[int]]:
    """Pick ``k`` training views spread evenly along the camera path; the others are test views.

    Args:
        positions: float [N, 3] camera centres in capture order (or None rows replaced by index).
        k: number of training views (few-shot: typically 3).
        max_test: keep at most this many test views, evenly spaced (None keeps all).

    Returns:
        (train_ids, test_ids), sorted. Training views sit at equal arc length along the path, so a
        hand-held sweep gives views that see the scene from its two ends and its middle.
    """
    n = len(positions)
    if n < 2:
        raise ValueError(f"a scene needs at least 2 frames for a train/test split, got {n}")
    k = max(1, min(k, n - 1))
    steps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    if arc[-1] <= 1e-9:  # no motion: fall back to frame index
        arc = np.arange(n, dtype=np.float64)
    targets = np.linspace(0.0, arc[-1], k)
    train: list[int] = []
    for t in targets:
        order = np.argsort(np.abs(arc - t))
        train.append(int(next(i for i in order if i not in train)))
    rest = [i for i in range(n) if i not in train]
    if max_test is not None and len(rest) > max_test:
        rest = [rest[int(j)] for j in np.linspace(0, len(rest) - 1, max_test).round()]
    return sorted(train), sorted(set(rest))


def record(
    source: FrameSource,
    out: str | Path,
    *,
    max_frames: int | None = None,
    every: int = 1,
    train_views: int = 3,
    overwrite: bool = False,
    on_frame: Callable[[int, Frame], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    before_commit: Callable[[Path], None] | None = None,
) -> SceneFolder:
    """Stream frames from an open ``source`` into the scene folder ``out``.

    Memory stays bounded (each frame is written as it arrives). If the source fails mid-way (a
    sensor unplugged), every frame written so far is kept in a scene that loads.

    Args:
        source: an opened FrameSource.
        out: scene folder to create.
        max_frames: stop after this many written frames (None: until the source ends or ``should_stop``).
        every: keep one frame in ``every``.
        train_views: size of the automatic few-shot training split (needs poses; else all frames are listed untested).
        on_frame: called with (written index, frame) after each written frame.
        should_stop: polled before each frame; True ends the recording cleanly.
        before_commit: called with the staging folder once every frame and transforms.json are written,
            before OUT appears (e.g. pose estimation): a crash or kill -9 in it leaves no OUT.
    """
    info = source.info
    extra = {"source": info.name, "fps": info.fps, **info.extra}
    with SceneWriter(
        out, sensor=info.sensor, depth_kind=info.depth_kind, ranking_window=info.ranking_window,
        extra=extra, overwrite=overwrite, keep_partial=True, before_commit=before_commit,
    ) as writer:
        for i, frame in enumerate(source):
            if should_stop is not None and should_stop():
                break
            if i % every:
                continue
            idx = writer.add(frame)
            if on_frame is not None:
                on_frame(idx, frame)
            if max_frames is not None and len(writer) >= max_frames:
                break
        return commit_with_split(writer, train_views)


def commit_with_split(writer: SceneWriter, train_views: int, *, coverage: bool = False) -> SceneFolder:
    """``writer.commit()``, after choosing the few-shot split when every frame has a pose and there are
    at least 2; otherwise the scene is written without a split. Views are spread along the path
    (``spread_split``: what the capture tab shows live as keyframes), or with ``coverage`` and metric
    depth, chosen to cover the fused depth (``devices.poses.coverage``, with the reason for each view)."""
    frames = writer.scene.frames
    if len(frames) >= 2 and all(f.c2w is not None for f in frames):
        from devices.poses.coverage import scene_coverage_split

        chosen = scene_coverage_split(writer.scene, train_views) if coverage else None
        if chosen is not None:
            writer.set_split(chosen.train, chosen.test)
            writer.scene.split_reasons = {frames[i].image_path: why for i, why in chosen.reasons.items()}
        else:
            writer.set_split(*spread_split(np.stack([f.c2w[:3, 3] for f in frames]), train_views))
    return writer.commit()
