"""kill -9 at many moments of capture, import, train (around checkpoint saves) and export: afterwards the
output is complete or absent, and the next run of the same command succeeds (issue 14, item 7).

Each command runs in a child process (``python -m app.cli``) that is killed with SIGKILL when a moment is
reached: a number of files written into its staging folder, pose estimation started, a checkpoint being
saved, a time into the render.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.cli import main
from devices.scene_folder import read_scene
from tests.test_cli_bad_input import capture

ROOT = Path(__file__).resolve().parents[1]
FAST_CHECKPOINTS = (
    "import dataclasses, sys, nerf.trainer as t\n"
    "init = t.Trainer.__init__\n"
    "def fast(self, *a, **k):\n"
    "    init(self, *a, **k)\n"
    "    # a checkpoint after every step: kills land around saves\n"
    "    self.control.settings = dataclasses.replace(self.control.settings, checkpoint_every_s=0.0)\n"
    "t.Trainer.__init__ = fast\n"
    "from app.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def kill_when(argv: list[object], moment: Callable[[], bool], delay: float = 0.0, timeout: float = 120.0,
              script: str | None = None) -> bool:
    """Run ``sparsenerf ARGV`` in a child; SIGKILL it ``delay`` s after ``moment()`` first holds. Returns True
    when it was killed, False when it had already finished."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", script, *map(str, argv)] if script else [sys.executable, "-m", "app.cli",
                                                                          *map(str, argv)]
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + timeout
    try:
        while child.poll() is None and not moment():
            if time.monotonic() > end:
                raise AssertionError(f"the moment never came: {argv}")
            time.sleep(0.005)
        if delay:
            time.sleep(delay)
        if child.poll() is not None:
            return False
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        return True
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def staged_files(out: Path, pattern: str = "*.png") -> int:
    return sum(len(list(p.rglob(pattern))) for p in out.parent.glob(f".{out.name}.partial-*") if p.is_dir())


def complete_or_absent(out: Path) -> bool:
    """OUT is absent, or a scene folder that reads back with every file (never half-written)."""
    if not out.exists():
        return False
    read_scene(out)
    return True


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("moment", ["1 file", "9 files", "20 files", "0.3 s"])
def test_capture(tmp_path, moment):
    out = tmp_path / "scene"
    argv = ["capture", "virtual", out, "--frames", "12", "--width", "64", "--height", "48"]
    if moment.endswith("s"):
        kill_when(argv, lambda: True, delay=float(moment.split()[0]))
    else:
        kill_when(argv, lambda: staged_files(out) >= int(moment.split()[0]))
    if complete_or_absent(out):
        return  # it finished first: a complete scene
    assert main([str(a) for a in argv]) == 0
    assert len(read_scene(out)) == 12 and hidden(tmp_path) == [], "the killed run's staging must be cleaned up"


@pytest.mark.parametrize("moment", ["5 files", "20 files"])
def test_capture_overwrite_never_loses_out(tmp_path, moment):
    out = capture(tmp_path / "scene", frames=3)
    argv = ["capture", "virtual", out, "--frames", "12", "--width", "64", "--height", "48", "--overwrite"]
    kill_when(argv, lambda: staged_files(out) >= int(moment.split()[0]) or not out.exists())
    assert complete_or_absent(out) or any(n.startswith(".scene.old-") for n in hidden(tmp_path))
    assert main([str(a) for a in argv]) == 0
    assert len(read_scene(out)) == 12 and hidden(tmp_path) == []


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    from tests.kinect_samples import real_recording, write_recording

    real_recording()  # skips without the shared data
    all3 = ("COLOR", "DEPTH", "IR")
    return write_recording(tmp_path_factory.mktemp("rec") / "rec.mkv", [(i * 33333, all3) for i in range(4)])


@pytest.mark.parametrize("moment", ["2 files", "6 files", "pose estimation"])
def test_kinect_import(tmp_path, recording, moment):
    out = tmp_path / "scene"
    argv = ["import", recording, out]
    if moment == "pose estimation":  # transforms.json is written into staging, then poses are estimated
        killed = kill_when(argv, lambda: any(out.parent.glob(f".{out.name}.partial-*/transforms.json")))
    else:
        killed = kill_when(argv, lambda: staged_files(out) >= int(moment.split()[0]))
    if complete_or_absent(out):
        assert not killed or read_scene(out).has_poses
        return
    assert main([str(a) for a in argv]) == 0
    assert read_scene(out).has_poses and hidden(tmp_path) == []


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    return capture(tmp_path_factory.mktemp("kill") / "scene", frames=4)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.4])
def test_train_around_checkpoint_saves(tmp_path, scene, delay):
    run = tmp_path / "run"
    ckpt = run / "checkpoints" / "latest.pt"
    argv = ["train", scene, "--out", run, "--steps", "3000", "--batch-rays", "64"]

    def saving() -> bool:  # a checkpoint is being written (its temporary file exists), or one was
        folder = run / "checkpoints"
        return folder.is_dir() and any(p.name.startswith(".latest.pt.partial") for p in folder.iterdir())

    kill_when(argv, saving, delay=delay, script=FAST_CHECKPOINTS)
    if ckpt.exists():
        assert main(["eval", str(run)]) == 0, "the checkpoint left by a kill must load"
        again = [str(a) for a in argv[:-4]] + ["--steps", "2", "--batch-rays", "64", "--resume"]
    else:
        again = [str(a) for a in argv[:-4]] + ["--steps", "2", "--batch-rays", "64"]
    assert main(again) == 0
    assert not [p for p in ckpt.parent.iterdir() if p.name != "latest.pt"], "temporary checkpoint left behind"


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.5, 2.0])
def test_render(tmp_path, scene, delay):
    run = tmp_path / "run"
    assert main(["train", str(scene), "--out", str(run), "--steps", "2", "--batch-rays", "64"]) == 0
    video = tmp_path / "v.mp4"
    argv = ["render", run, "--out", video, "--frames", "400", "--width", "32"]
    kill_when(argv, lambda: any(p.name.startswith(".v.mp4") for p in tmp_path.iterdir()), delay=delay)
    if video.exists():  # the kill came after the rename: then the video is complete
        import av

        with av.open(str(video)) as container:
            assert sum(1 for _ in container.decode(video=0)) == 400, "a killed render left a partial video"
    assert main([str(a) for a in argv[:-4]] + ["--frames", "3", "--width", "32"]) == 0
    assert video.stat().st_size > 0 and hidden(tmp_path) == [], "the killed render's temporary file is gone"
