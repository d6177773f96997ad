"""`sparsenerf demo`: the whole pipeline on the virtual sensor, with or without a window."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro


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

    def run(self) -> int:
        if not self.headless and not has_display():
            print("No display found (DISPLAY is not set): running the demo headless instead.")
            self.headless = True
        if not self.headless:
            from app.cli.studio import open_studio

            return open_studio(None, virtual=True)
        return run_headless_demo(self.out, frames=self.frames, minutes=self.minutes)


def run_headless_demo(out: Path, *, frames: int, minutes: float) -> int:
    """Virtual capture into OUT/scene; then training and a video once the trainer exists."""
    from app.cli.capture import CaptureVirtual

    scene_dir = out / "scene"
    print(f"[1/3] capturing {frames} frames from the virtual sensor into {scene_dir}")
    CaptureVirtual(out=scene_dir, frames=frames, overwrite=True).run()
    return 0


COMMAND = Annotated[Demo, tyro.conf.subcommand("demo")]
