"""`sparsenerf studio [SCENE|RUN]`: open the desktop app."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import tyro

from app.cli.options import Threads


@dataclass
class Studio:
    """Open SparseNeRF Studio: capture from a sensor, pick training views, train with a live preview, export a video.

    PATH may be a scene folder (opens it on the Scene tab), a training run (opens it for preview and
    export), or a recording any importer understands (imports it first).
    """

    path: Annotated[tyro.conf.Positional[Optional[Path]], tyro.conf.arg(metavar="[PATH]")] = None
    """Scene folder, training run or recording to open."""
    virtual: bool = False
    """Start with the built-in virtual sensor streaming on the Capture tab (no hardware needed)."""
    workspace: Path = Path("studio_out")
    """Folder for new captures, imports, training runs and videos."""
    threads: Threads = None
    """CPU threads for training and rendering (the Train tab's setting starts at this)."""

    def run(self) -> int:
        return open_studio(self.path, self.virtual, self.workspace, self.threads)


def open_studio(path: Path | None, virtual: bool, workspace: Path | None = None, threads: int | None = None) -> int:
    """Open the studio window on ``path`` (or nothing) and, with ``virtual``, the virtual sensor; blocks until closed."""
    from app.cli.demo import has_display
    from devices.errors import InputError

    if path is not None:
        check_openable(Path(path))
    if not (has_display() or os.environ.get("QT_QPA_PLATFORM")):  # e.g. QT_QPA_PLATFORM=offscreen
        raise InputError(None, "no display found (DISPLAY is not set): run the studio on a desktop or under "
                               "xvfb-run, or use the other sparsenerf commands, which need no window")
    from app.studio.app import run_studio

    return run_studio(path, virtual, workspace, threads)


def check_openable(path: Path) -> None:
    """Raise the InputError the window would show for ``path``, before any window opens (cheap checks only:
    a scene folder is read with its image sizes, a run's run.json and checkpoint file, a recording's format)."""
    from devices.errors import InputError
    from devices.importers import detect_format
    from devices.scene_folder import TRANSFORMS, read_scene

    if not path.exists():
        raise InputError(path, "does not exist")
    if (path / TRANSFORMS).is_file():
        read_scene(path)
    elif (path / "cameras.npz").is_file():  # a DTU scan: the studio opens it as `sparsenerf train` reads it
        return
    elif (path / "run.json").is_file() or (path / "checkpoints").is_dir():  # as the window's is_run_dir
        from app.runs import check_run_folder

        check_run_folder(path)
    else:
        detect_format(path)


COMMAND = Annotated[Studio, tyro.conf.subcommand("studio")]
