"""`sparsenerf render RUN --path spiral|interp|orbit | --camera-path FILE.json --out FILE.mp4`: a video of a trained run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import tyro

from app.cli.options import Threads


@dataclass
class Render:
    """Render a video along a camera path: RGB on the left, colour-mapped depth (Turbo, near = red) on
    the right. MP4, H.264, written atomically (an interrupted render leaves no file).

    Paths: spiral (the original LLFF/RegNeRF spiral around the average camera), interp (a smooth loop
    through the training views), orbit (a circle around the point the training views look at), or a
    camera path you designed (`--camera-path`, nerfstudio's camera_path.json, as the studio saves it).

    Example: `sparsenerf render runs/desk --path interp --out desk.mp4 --frames 90 --width 480`;
    `sparsenerf render runs/desk --camera-path desk_path.json --out desk.mp4`.
    """

    run_dir: Annotated[tyro.conf.Positional[Path], tyro.conf.arg(metavar="RUN")]
    """Training run folder (written by `sparsenerf train --out RUN`)."""
    out: Path
    """Video file to write (.mp4)."""
    path: Literal["spiral", "interp", "orbit"] = "spiral"
    """Camera path."""
    frames: int = 120
    """Frames in the video."""
    fps: float = 30.0
    """Frames per second."""
    width: int | None = None
    """Width in pixels of each half (default: the training images', or the camera path's render_width);
    the height keeps the aspect ratio."""
    camera_path: Path | None = None
    """nerfstudio camera_path.json to render instead of --path: its `camera_path` frames as they are
    (--frames and --fps come from the file), or frames sampled from its keyframes when it has none."""
    dataparser_transforms: Path | None = None
    """With --camera-path made in nerfstudio's viewer: that run's dataparser_transforms.json, to map
    the path from nerfstudio's normalised frame into the scene's."""
    mark_unseen: bool = False
    """Blend what no training view saw (no view's sensor depth agrees with the rendered surface) towards a light
    grey in the RGB half, so the video shows what the field invented. Scenes with metric sensor depth only."""
    threads: Threads = None
    """CPU threads for torch (rendering)."""

    def run(self) -> int:
        from app.cli.progress import Progress
        from app.runs import load_run_checked
        from devices.errors import InputError
        from nerf import legend_scale, marking_unseen, path_cameras, render_video

        if self.frames < 1 or self.fps <= 0:
            raise InputError(None, "--frames must be at least 1 and --fps positive")
        if self.width is not None and self.width < 16:
            raise InputError(None, f"--width must be at least 16 pixels, got {self.width}")
        if not self.out.parent.is_dir():  # say so before loading the run
            raise InputError(self.out.parent, "folder does not exist (for --out)")
        fps, label = self.fps, self.path
        if self.camera_path is not None:  # read the path before the (slow) run, so a bad file fails fast
            cams, fps = self._designed_path()
            label = self.camera_path.name
        trainer = load_run_checked(self.run_dir)
        if self.camera_path is None:
            cams = path_cameras(trainer.scene, self.path, self.frames, self.width)
        render = marking_unseen(trainer.render, trainer.scene) if self.mark_unseen else trainer.render
        bar = Progress(len(cams), f"render {label}")
        info = render_video(render, cams, self.out, fps, on_frame=lambda k, n: bar.update(k - bar.done),
                            metres_per_unit=legend_scale(trainer.scene))
        bar.close()
        print(f"wrote {info.path}: {info.frames} frames, {info.width}x{info.height}, {info.fps:g} fps")
        return 0

    def _designed_path(self) -> tuple[list, float]:
        from nerf import load_camera_path

        loaded = load_camera_path(self.camera_path, self.dataparser_transforms)
        cams = loaded.cameras
        if self.width is not None:
            cams = [c.scaled(self.width / c.width) for c in cams]
        return cams, loaded.fps


COMMAND = Annotated[Render, tyro.conf.subcommand("render")]
