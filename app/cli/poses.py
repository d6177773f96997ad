"""`sparsenerf poses SCENE`: estimate (or re-estimate) the poses of a scene folder by RGB-D odometry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import tyro

from app.cli.options import Threads
from devices.poses.config import PoseConfig


@dataclass(frozen=True)
class PoseOptions(PoseConfig):
    """PoseConfig as the command line shows it: relocalisation and loop closure are on unless
    --no-relocalise / --no-loop-closure."""

    relocalise: Annotated[bool, tyro.conf.arg(help_behavior_hint="(default: relocalisation on)")] = True
    """--no-relocalise: a frame that no keyframe tried registers is flagged at once, without the ORB
    features + PnP/RANSAC relocalisation against the keyframes (and without the feature-based second
    opinion on weak edges)."""
    loop_closure: Annotated[bool, tyro.conf.arg(help_behavior_hint="(default: loop closure on)")] = True
    """--no-loop-closure: odometry only, no loop-closure edges between non-adjacent keyframes that overlap."""


@dataclass
class Poses:
    """Estimate or re-estimate the camera poses of a scene folder with metric depth (RGB-D odometry,
    loop closure, pose graph), rewrite its transforms.json, and print a quality report.

    Frames that cannot be registered stay in the scene without a pose, flagged in their metadata.
    A scene whose frames all have poses already (an import with ground truth, a sensor with
    tracking) is left as it is unless --ignore-existing. When the frames carry ground-truth poses
    (TUM RGB-D, 7-Scenes imports), the trajectory error of the estimate against them is printed.
    """

    scene: Annotated[tyro.conf.Positional[Path], tyro.conf.arg(metavar="SCENE")]
    """Scene folder (transforms.json, images/, depth/ in millimetres)."""
    keyframes_only: bool = False
    """List only the keyframes in transforms.json (the other images stay on disk)."""
    train_views: int = 3
    """Training views of the few-shot split, when the scene has no split yet."""
    ignore_existing: bool = False
    """Re-estimate the poses even when every frame has one (e.g. to check the estimate against an
    imported data set's ground truth, which stays in each frame's metadata)."""
    config: Annotated[PoseOptions, tyro.conf.OmitArgPrefixes] = field(default_factory=PoseOptions)
    """Odometry, keyframe and loop-closure thresholds."""
    threads: Threads = None
    """CPU threads for any torch work."""

    def run(self) -> int:
        from devices.poses import estimate_scene_poses
        from devices.poses.truth import truth_error
        from devices.scene_folder import read_scene

        before = read_scene(self.scene)
        if before.has_poses and not self.ignore_existing:
            error = truth_error([f.c2w for f in before.frames], [f.meta for f in before.frames])
            print(f"{self.scene} already has a pose for each of its {len(before)} frames; nothing changed "
                  "(--ignore-existing re-estimates them)" + (f". {error.describe()}" if error else ""))
            return 0
        progress, close_bar = pose_bar()
        try:
            scene, result = estimate_scene_poses(before, self.config, progress,
                                                 keyframes_only=self.keyframes_only, train_views=self.train_views)
        finally:
            close_bar()
        print_pose_report(result, [f.meta for f in before.frames])
        kept = f"{len(scene)} keyframes listed" if self.keyframes_only else f"{len(scene)} frames"
        print(f"wrote {self.scene / 'transforms.json'} ({kept}, train views {scene.train_ids})")
        return 0


def print_pose_report(result, metas: list[dict]) -> None:
    """The per-frame table, the summary line (with the frame rate) and, when ``metas`` (the frames'
    metadata) carry ground truth, the trajectory error against it."""
    from devices.poses.truth import truth_error

    print(format_report(result))
    print(result.summary())
    error = truth_error(result.c2w, metas)
    if error is not None:
        print(error.describe())


def pose_bar():
    """(progress callback, close) of a "poses" progress bar drawn once the estimation reports."""
    from app.cli.progress import Progress

    bar: list[Progress] = []

    def progress(done: int, total: int | None) -> None:
        if not bar:
            bar.append(Progress(total, "poses"))
        bar[0].update(done - bar[0].done)

    return progress, lambda: bar[0].close() if bar else None


def format_report(result) -> str:  # result: devices.poses.PoseResult
    """The quality report as a small table: frame, keyframe, fitness, status (and why a frame failed)."""
    lines = [f"{'frame':>6}  {'keyframe':<8}  {'fitness':>7}  {'conf.':>5}  status"]
    for q in result.report:
        fitness = f"{q.fitness:7.3f}" if q.anchor is not None or q.failed else f"{'-':>7}"
        status = q.status + (f": {q.reason}" if q.failed else "")
        if q.anchor is not None:
            status += f" ({q.method} to frame {q.anchor})"
        if q.loop_edges:
            status += f" (loops to {', '.join(str(k) for k in q.loop_edges)})"
        lines.append(f"{q.index:>6}  {'yes' if q.keyframe else '':<8}  {fitness}  {q.confidence:5.2f}  {status}")
    return "\n".join(lines)


COMMAND = Annotated[Poses, tyro.conf.subcommand("poses")]
