"""`sparsenerf demo`: the whole pipeline on the virtual sensor, with or without a window."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

from app.cli.options import Threads


def has_display() -> bool:
    """True when a GUI can open: an X11/Wayland display, or an explicit Qt platform such as offscreen."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@dataclass
class Demo:
    """Try the whole tool with no hardware: capture the virtual sensor, train, and render a video.

    With a display it opens the studio on the virtual sensor; without one (or with --headless) it
    runs the same pipeline in the terminal and writes everything under --out.
    """

    headless: bool = False
    """Run without a window, even if a display is available."""
    out: Path = Path("demo_out")
    """Folder for the demo's scene, training run and video."""
    frames: int = 40
    """Frames to capture from the virtual sensor."""
    minutes: float = 1.0
    """Training budget in minutes (headless)."""
    video_frames: int = 36
    """Frames of the demo video (headless), rendered along a loop through the training views."""
    video_width: int = 320
    """Width in pixels of each half (RGB | depth) of the demo video (headless)."""
    threads: Threads = None
    """CPU threads for torch (training and rendering; the studio's setting when it opens)."""

    def run(self) -> int:
        if not self.headless and not has_display():
            print("No display found (DISPLAY is not set): running the demo headless instead.")
            self.headless = True
        if not self.headless:
            from app.cli.studio import open_studio

            return open_studio(None, virtual=True, threads=self.threads)
        return run_headless_demo(self.out, frames=self.frames, minutes=self.minutes,
                                 video_frames=self.video_frames, video_width=self.video_width, threads=self.threads)


def run_headless_demo(out: Path, *, frames: int, minutes: float, video_frames: int = 36,
                      video_width: int = 320, threads: int | None = None) -> int:
    """Virtual capture into OUT/scene, train the default field (the sensor field: the capture has metric depth)
    into OUT/run, render OUT/demo.mp4."""
    from app.cli.capture import CaptureVirtual
    from app.cli.config_options import options_from
    from app.cli.render import Render
    from app.cli.train import Train
    from nerf import TrainConfig

    scene_dir, run_dir, video = out / "scene", out / "run", out / "demo.mp4"
    print(f"[1/3] capturing {frames} frames from the virtual sensor into {scene_dir}")
    CaptureVirtual(out=scene_dir, frames=frames, overwrite=True).run()
    print(f"[2/3] training the sensor field for {minutes:g} min into {run_dir}")
    config = options_from(TrainConfig.from_flat(minutes=minutes, threads=threads))
    status = Train(scene=scene_dir, out=run_dir, overwrite=True, config=config).run()
    if status:
        return status
    print(f"[3/3] rendering a {video_frames}-frame video through the training views into {video}")
    return Render(run_dir=run_dir, out=video, path="interp", frames=video_frames, fps=24.0,
                  width=video_width, threads=threads).run()


COMMAND = Annotated[Demo, tyro.conf.subcommand("demo")]
