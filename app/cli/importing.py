"""`sparsenerf import PATH OUT`: any supported recording or capture -> scene folder."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

from app.cli.options import Threads


@dataclass
class Import:
    """Import a recording or capture into a scene folder; the format is detected from PATH.

    Formats: Azure Kinect .mkv (no SDK needed), ZED .svo/.svo2 (needs the ZED SDK), Record3D .r3d,
    a Stray Scanner or Polycam raw-export folder, an NVS-RGBD or LLFF scene (poses_bounds.npy), a TUM RGB-D
    or 7-Scenes sequence folder (with their ground-truth poses).
    Sources without poses (the Kinect, a sequence without its pose files) get them by RGB-D odometry
    before OUT appears, with the per-frame report of `sparsenerf poses`, unless --no-poses.

    Examples: `sparsenerf import recording.mkv scenes/desk --every 3`,
    `sparsenerf import capture.r3d scenes/kitchen`.
    """

    path: Annotated[tyro.conf.Positional[Path], tyro.conf.arg(metavar="PATH")]
    """Recording file or capture folder to import."""
    out: Annotated[tyro.conf.Positional[Path], tyro.conf.arg(metavar="OUT")]
    """Scene folder to create."""
    every: int = 1
    """Keep one frame in EVERY."""
    keep_distortion: bool = False
    """Keep the colour camera's own pixel grid and write its distortion coefficients (default: undistort to a pinhole camera)."""
    overwrite: bool = False
    """Replace OUT if it already exists."""
    train_views: int = 3
    """Training views in the automatic few-shot split (when the source has no split of its own)."""
    no_poses: bool = False
    """Do not estimate poses for sources that have none."""
    threads: Threads = None
    """CPU threads for the pose estimation and any torch work."""

    def run(self) -> int:
        from app.cli.poses import pose_bar, print_pose_report
        from app.cli.progress import Progress
        from devices.importers import ImportOptions, detect_format

        fmt = detect_format(self.path)
        print(f"detected format: {fmt.description} ({fmt.name})")
        posed: list = []  # the PoseResult, when the source had no poses and they were estimated
        pose_progress, close_pose_bar = pose_bar()
        opts = ImportOptions(every=self.every, keep_distortion=self.keep_distortion, overwrite=self.overwrite,
                             train_views=self.train_views, estimate_poses=not self.no_poses,
                             pose_progress=pose_progress, on_poses=posed.append)
        bar: Progress | None = None

        def progress(done: int, total: int | None) -> None:
            nonlocal bar
            if bar is None:
                bar = Progress(total, "import")
            bar.update(done - bar.done)

        try:
            scene = fmt.run(self.path, self.out, opts, progress)
        finally:
            if bar is not None:
                bar.close()
            close_pose_bar()
        if posed and len(posed[0]) > 1:  # one frame: the identity, nothing to report
            print("poses estimated by RGB-D odometry (the source has none):")
            print_pose_report(posed[0], [f.meta for f in scene.frames])
        n = len(scene)
        print(f"wrote {n} frame{'s' if n != 1 else ''} to {self.out}"
              + (f" (train views {scene.train_ids})" if scene.train_ids else ""))
        if n < 2:
            print(f"warning: {self.out} has a single frame: SparseNeRF needs at least 2 views (training and a "
                  "held-out one), so `sparsenerf train` will refuse it", file=sys.stderr)
        return 0


COMMAND = Annotated[Import, tyro.conf.subcommand("import")]
