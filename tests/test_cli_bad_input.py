"""Bad input through the command line, as a new user would hit it: one line naming the file and the problem,
exit status 2 for input errors and a full disk, never a traceback, never a half-written output.

Scenes are 64x48 virtual captures; the one trained run is 2 steps of 256 rays.
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from app.cli import main
from devices.capture import record
from devices.scene_folder import read_scene
from devices.virtual import VirtualSensor, VirtualSensorConfig


def capture(out: Path, frames: int = 5) -> Path:
    with VirtualSensor(VirtualSensorConfig(width=64, height=48, num_frames=frames)) as source:
        record(source, out, train_views=min(3, frames))
    return out


def one_error_line(capsys, *argv: object, status: int = 2) -> str:
    """Run ``sparsenerf ARGV``; assert the exit status and that stderr ends in one ``error:`` line; return it."""
    assert main([str(a) for a in argv]) == status
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines, "no error message"
    assert lines[-1].startswith("error: "), lines
    assert not any("Traceback" in line for line in lines)
    return lines[-1]


@pytest.fixture(scope="module")
def good_scene(tmp_path_factory) -> Path:
    return capture(tmp_path_factory.mktemp("scenes") / "good")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, good_scene) -> Path:
    run = tmp_path_factory.mktemp("runs") / "run"
    # the fast field: the tests below edit its checkpoint and run.json (a capture's default is the sensor field)
    assert main(["train", str(good_scene), "--out", str(run), "--steps", "2", "--batch-rays", "256", "--field", "fast"]) == 0
    return run


def copy_run(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest)
    return dest


CHECKPOINT = Path("checkpoints") / "latest.pt"


# ----------------------------------------------------------------------------------------- broken scenes
def one_view(tmp: Path) -> tuple[Path, Path, str]:
    return capture(tmp / "one", frames=1), tmp / "one" / "transforms.json", "only one view"


def zero_depth(tmp: Path) -> tuple[Path, Path, str]:
    scene = capture(tmp / "zero", frames=4)
    for png in (scene / "depth").glob("*.png"):
        cv2.imwrite(str(png), np.zeros((48, 64), np.uint16))
    return scene, scene / "depth" / "000000.png", "no valid depth"


def nan_pose(tmp: Path) -> tuple[Path, Path, str]:
    scene = capture(tmp / "nan", frames=4)
    tf = scene / "transforms.json"
    doc = json.loads(tf.read_text())
    doc["frames"][2]["transform_matrix"][1][3] = float("nan")  # json writes NaN, as a buggy exporter would
    tf.write_text(json.dumps(doc))
    return scene, tf, "frame 2"


def wrong_depth_size(tmp: Path) -> tuple[Path, Path, str]:
    scene = capture(tmp / "small", frames=4)
    png = scene / "depth" / "000001.png"
    cv2.imwrite(str(png), np.full((24, 32), 1000, np.uint16))
    return scene, png, "depth is 32x24 but its colour image"


def not_a_scene(tmp: Path) -> tuple[Path, Path, str]:
    folder = tmp / "photos"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a scene")
    return folder, folder, "is not a scene"


def does_not_exist(tmp: Path) -> tuple[Path, Path, str]:
    return tmp / "nowhere", tmp / "nowhere", "not a folder"


BROKEN = [one_view, zero_depth, nan_pose, wrong_depth_size, not_a_scene, does_not_exist]


@pytest.mark.parametrize("make", BROKEN, ids=lambda f: f.__name__)
def test_train_on_a_broken_scene(tmp_path, capsys, make):
    scene, culprit, problem = make(tmp_path)
    run = tmp_path / "run"
    line = one_error_line(capsys, "train", scene, "--out", run, "--steps", "2", "--batch-rays", "256")
    assert line.startswith(f"error: {culprit}: ") and problem in line
    assert not run.exists(), "a failed start must not leave a run folder"


@pytest.mark.parametrize("make", [nan_pose, wrong_depth_size, not_a_scene], ids=lambda f: f.__name__)
@pytest.mark.parametrize("command", [["poses"], ["depth", "--weights", "dpt.pt"]], ids=lambda c: c[0])
def test_poses_and_depth_on_a_broken_scene(tmp_path, capsys, make, command):
    scene, culprit, _ = make(tmp_path)
    before = {p: p.read_bytes() for p in scene.rglob("*") if p.is_file()}
    line = one_error_line(capsys, command[0], scene, *command[1:])
    expected = culprit if make is not not_a_scene else scene / "transforms.json"
    assert line.startswith(f"error: {expected}: ")
    assert {p: p.read_bytes() for p in scene.rglob("*") if p.is_file()} == before, "the scene was modified"


def test_poses_keeps_the_scene_when_no_depth_is_valid(tmp_path, capsys):
    scene, _, _ = zero_depth(tmp_path)
    tf = scene / "transforms.json"
    before = tf.read_bytes()
    line = one_error_line(capsys, "poses", scene, "--ignore-existing")
    assert line.startswith(f"error: {tf}: no frame could be posed") and "valid depth" in line
    assert tf.read_bytes() == before, "the exact poses of the capture must not be replaced by none"


@pytest.mark.parametrize("make", BROKEN, ids=lambda f: f.__name__)
def test_eval_and_render_on_a_scene_instead_of_a_run(tmp_path, capsys, make):
    folder = make(tmp_path)[0]
    for argv in (["eval", folder], ["render", folder, "--out", tmp_path / "v.mp4", "--frames", "2"]):
        line = one_error_line(capsys, *argv)
        assert line == f"error: {folder / 'run.json'}: not found: this folder is not a training run " \
                       "(sparsenerf train --out RUN)"
    assert not (tmp_path / "v.mp4").exists()


@pytest.mark.parametrize("make", [nan_pose, wrong_depth_size, not_a_scene, does_not_exist],
                         ids=lambda f: f.__name__)
def test_studio_checks_the_path_before_opening_a_window(tmp_path, capsys, monkeypatch, make):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # a display is there: only the path can fail
    scene, culprit, _ = make(tmp_path)
    line = one_error_line(capsys, "studio", scene)
    if make is not_a_scene:  # not a scene, not a run: the studio would try to import it
        assert line.startswith(f"error: {scene}: unknown format")
    elif make is does_not_exist:
        assert line == f"error: {scene}: does not exist"
    else:
        assert line.startswith(f"error: {culprit}: ")


def test_import_of_things_that_are_not_recordings(tmp_path, capsys, good_scene):
    out = tmp_path / "out"
    assert one_error_line(capsys, "import", tmp_path / "nowhere.r3d", out) == \
        f"error: {tmp_path / 'nowhere.r3d'}: does not exist"
    line = one_error_line(capsys, "import", good_scene, out)  # a scene folder is not a recording
    assert line.startswith(f"error: {good_scene}: unknown format. Supported: ")
    broken = tmp_path / "broken.r3d"
    broken.write_bytes(b"PK\x03\x04 this is not a whole zip file")
    assert one_error_line(capsys, "import", broken, out).startswith(f"error: {broken}: ")
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_capture_virtual_bad_outputs(tmp_path, capsys, good_scene):
    assert one_error_line(capsys, "capture", "virtual", good_scene, "--frames", "2").startswith(
        f"error: {good_scene}: already exists")
    assert one_error_line(capsys, "capture", "virtual", tmp_path / "none", "--frames", "0") == \
        f"error: {tmp_path / 'none'}: no frames were written, so no scene was created"
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------- broken runs
def test_run_with_a_missing_checkpoint(tmp_path, capsys, trained_run):
    run = copy_run(trained_run, tmp_path / "run")
    (run / CHECKPOINT).unlink()
    for argv in (["eval", run], ["render", run, "--out", tmp_path / "v.mp4", "--frames", "2"]):
        assert one_error_line(capsys, *argv) == f"error: {run / CHECKPOINT}: not found: the run has no checkpoint yet"


def test_run_with_a_truncated_checkpoint(tmp_path, capsys, trained_run):
    run = copy_run(trained_run, tmp_path / "run")
    data = (run / CHECKPOINT).read_bytes()
    (run / CHECKPOINT).write_bytes(data[: len(data) // 3])
    for argv in (["eval", run], ["render", run, "--out", tmp_path / "v.mp4", "--frames", "2"]):
        assert one_error_line(capsys, *argv).startswith(f"error: {run / CHECKPOINT}: cannot be read as a checkpoint")
    assert not (tmp_path / "v.mp4").exists()


def test_run_from_an_older_field_layout(tmp_path, capsys, trained_run):
    """A checkpoint of the fast field from before its view mask: torch reads it, the field cannot load it."""
    run = copy_run(trained_run, tmp_path / "run")
    state = torch.load(run / CHECKPOINT, weights_only=False)
    del state["field"]["view_mask"]
    torch.save(state, run / CHECKPOINT)
    argvs = (["eval", run], ["render", run, "--out", tmp_path / "v.mp4", "--frames", "2"],
             ["train", tmp_path / "unused", "--out", run, "--resume", "--steps", "3"])
    for argv in argvs:
        line = one_error_line(capsys, *argv)
        assert line.startswith(f"error: {run / CHECKPOINT}: was saved by an older, incompatible version")
        assert "missing view_mask" in line
    assert not (tmp_path / "v.mp4").exists()


def test_run_json_with_a_misspelt_option(tmp_path, capsys, trained_run):
    """A string option outside its Literal fails when the config is built from run.json: one line, exit 2."""
    run = copy_run(trained_run, tmp_path / "run")
    doc = json.loads((run / "run.json").read_text())
    doc["config"]["fast"]["background"] = "evnmap"
    (run / "run.json").write_text(json.dumps(doc))
    for argv in (["eval", run], ["train", tmp_path / "unused", "--out", run, "--resume", "--steps", "3"]):
        line = one_error_line(capsys, *argv)
        assert line.startswith(f"error: {run / 'run.json'}: is not a valid run description")
        assert "background = 'evnmap' is not one of 'envmap', 'learned', 'black', 'white'" in line


def test_run_whose_scene_was_moved(tmp_path, capsys, good_scene, trained_run):
    scene = shutil.copytree(good_scene, tmp_path / "scene")
    run = tmp_path / "run"
    assert main(["train", str(scene), "--out", str(run), "--steps", "1", "--batch-rays", "256"]) == 0
    scene.rename(tmp_path / "moved")
    capsys.readouterr()
    line = one_error_line(capsys, "eval", run)
    assert line == f"error: {run / 'run.json'}: the scene it was trained on, {scene}, no longer exists (moved or deleted?)"


def test_run_json_that_is_not_json(tmp_path, capsys, trained_run):
    run = copy_run(trained_run, tmp_path / "run")
    (run / "run.json").write_text('{"version": 1, "scene"')
    assert one_error_line(capsys, "eval", run).startswith(f"error: {run / 'run.json'}: is not a valid run description")


# ----------------------------------------------------------------------------------------- outputs
def test_render_into_a_folder_that_does_not_exist(tmp_path, capsys, trained_run):
    out = tmp_path / "videos" / "v.mp4"
    assert one_error_line(capsys, "render", trained_run, "--out", out, "--frames", "2") == \
        f"error: {out.parent}: folder does not exist (for --out)"
    assert not out.parent.exists()


def test_render_into_a_folder_that_is_not_writable(tmp_path, capsys, monkeypatch, trained_run):
    """Simulated at av.open (the test may run as root, for whom chmod does not forbid writing)."""
    import av

    def read_only(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(av, "open", read_only)
    out = tmp_path / "v.mp4"
    line = one_error_line(capsys, "render", trained_run, "--out", out, "--frames", "2")
    assert line == f"error: {out}: cannot write the video (Permission denied)"
    assert list(tmp_path.iterdir()) == []


def test_render_on_a_full_disk_leaves_no_video(tmp_path, capsys, monkeypatch, trained_run):
    """The disk fills up while the second frame is encoded: no partial .mp4, no hidden temporary file."""
    import nerf.video

    real_open = nerf.video._open_stream

    class FillsUp:
        def __init__(self, stream):
            self.stream, self.calls = stream, 0

        def encode(self, frame=None):
            self.calls += 1
            if self.calls == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.stream.encode(frame)

    monkeypatch.setattr(nerf.video, "_open_stream", lambda *a, **k: FillsUp(real_open(*a, **k)))
    out = tmp_path / "v.mp4"
    line = one_error_line(capsys, "render", trained_run, "--out", out, "--frames", "3")
    assert line == f"error: {out}: cannot write the video (No space left on device)"
    assert list(tmp_path.iterdir()) == []


def test_render_width_too_small(tmp_path, capsys, trained_run):
    line = one_error_line(capsys, "render", trained_run, "--out", tmp_path / "v.mp4", "--width", "0")
    assert line == "error: --width must be at least 16 pixels, got 0"


def test_eval_json_into_a_missing_folder_fails_before_rendering(tmp_path, capsys, trained_run):
    out = tmp_path / "reports" / "r.json"
    assert one_error_line(capsys, "eval", trained_run, "--json", out) == \
        f"error: {out.parent}: folder does not exist (for --json)"


def full_disk_after(monkeypatch, writes: int) -> list[int]:
    """Make every file write of the scene writer fail with ENOSPC, as the kernel reports it (no file name,
    data half on disk), after ``writes`` successful ones: its fsync raises."""
    import os

    real, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) > writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


@pytest.mark.parametrize("writes", [0, 4])
def test_capture_on_a_full_disk_leaves_no_scene(tmp_path, capsys, monkeypatch, writes):
    full_disk_after(monkeypatch, writes)
    line = one_error_line(capsys, "capture", "virtual", tmp_path / "scene", "--frames", "3")
    assert line == f"error: {tmp_path / 'scene'}: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_poses_on_a_full_disk_keeps_the_old_transforms(tmp_path, capsys, monkeypatch, good_scene):
    scene = shutil.copytree(good_scene, tmp_path / "scene")
    before = sorted(p.relative_to(scene) for p in scene.rglob("*"))
    tf = scene / "transforms.json"
    old = tf.read_bytes()
    full_disk_after(monkeypatch, 0)
    line = one_error_line(capsys, "poses", scene, "--ignore-existing")
    assert line == f"error: {tf}: No space left on device"
    assert tf.read_bytes() == old and sorted(p.relative_to(scene) for p in scene.rglob("*")) == before
    assert len(read_scene(scene)) == 5


# ----------------------------------------------------------------------------------------- options
@pytest.mark.parametrize("options, message", [
    (["--steps", "0"], "--steps must be positive, got 0"),
    (["--minutes", "-1"], "--minutes must be positive, got -1.0"),
    (["--batch-rays", "0", "--steps", "1"], "--batch-rays must be positive, got 0"),
    (["--downscale", "0", "--steps", "1"], "--downscale must be positive, got 0"),
    (["--steps", "2", "--minutes", "1"], "give either --minutes or --steps, not both"),
])
def test_train_options_that_cannot_work(tmp_path, capsys, good_scene, options, message):
    run = tmp_path / "run"
    assert one_error_line(capsys, "train", good_scene, "--out", run, *options) == f"error: {message}"
    assert not run.exists()


def test_train_with_an_unknown_split(tmp_path, capsys, good_scene):
    line = one_error_line(capsys, "train", good_scene, "--out", tmp_path / "run", "--split", "5view")
    assert line.startswith(f"error: {good_scene}: unknown split '5view' for a scene folder")


def test_train_does_not_replace_a_run_without_overwrite(tmp_path, capsys, good_scene, trained_run):
    run = copy_run(trained_run, tmp_path / "run")
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    line = one_error_line(capsys, "train", good_scene, "--out", run, "--steps", "1", "--batch-rays", "256")
    assert line.startswith(f"error: {run}: already holds a training run")
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    assert main(["train", str(good_scene), "--out", str(run), "--steps", "1", "--batch-rays", "256",
                 "--overwrite"]) == 0
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 1, "the old run's curves must not stay in metrics.jsonl"


def test_resume_with_a_new_budget_extends_a_finished_run(tmp_path, good_scene, trained_run):
    run = copy_run(trained_run, tmp_path / "run")
    assert main(["train", str(good_scene), "--out", str(run), "--resume", "--steps", "4"]) == 0
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 4 and steps == sorted(steps) and steps[0] <= 2  # the first two steps' curves are kept
    assert json.loads((run / "run.json").read_text())["config"]["budget"]["steps"] == 4  # a later --resume keeps the budget
    assert main(["train", str(good_scene), "--out", str(run), "--resume"]) == 0  # nothing left to do
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 4


def test_outputs_under_a_file(tmp_path, capsys, good_scene):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert one_error_line(capsys, "train", good_scene, "--out", a_file, "--steps", "1") == \
        f"error: {a_file}: is a file, not a run folder"
    assert one_error_line(capsys, "capture", "virtual", a_file / "scene", "--frames", "2") == \
        f"error: {a_file}: is a file, not a folder"
    assert a_file.read_text() == "mine"


def test_capture_virtual_with_a_zero_width(tmp_path, capsys):
    line = one_error_line(capsys, "capture", "virtual", tmp_path / "scene", "--frames", "2", "--width", "0")
    assert line == "error: invalid option: image must be at least 8x8 pixels, got 0x240"
    assert list(tmp_path.iterdir()) == []


def llff_from(scene_dir: Path, root: Path) -> Path:
    """An LLFF folder (images/ + poses_bounds.npy, no depth) holding the frames of a virtual capture."""
    from devices.llff_format import write_poses_bounds

    scene = read_scene(scene_dir)
    (root / "images").mkdir(parents=True)
    for f in scene.frames:
        shutil.copy(scene.root / f.image_path, root / "images" / Path(f.image_path).name)
    c2ws = np.stack([f.c2w for f in scene.frames])
    hwf = np.array([[f.intrinsics.height, f.intrinsics.width, f.intrinsics.fx] for f in scene.frames])
    write_poses_bounds(root / "poses_bounds.npy", c2ws, hwf, np.tile([0.3, 6.0], (len(c2ws), 1)))
    return root


@pytest.mark.parametrize("writes", [0, 3])
def test_import_on_a_full_disk_leaves_no_scene(tmp_path, capsys, monkeypatch, good_scene, writes):
    source = llff_from(good_scene, tmp_path / "llff")
    out = tmp_path / "imported"
    assert main(["import", str(source), str(out / "check")]) == 0, "the LLFF sample must import on a good disk"
    shutil.rmtree(out)
    capsys.readouterr()
    full_disk_after(monkeypatch, writes)
    line = one_error_line(capsys, "import", source, out)
    assert line == f"error: {out}: No space left on device"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llff"]


def test_train_with_an_unknown_llff_split(tmp_path, capsys, good_scene):
    source = llff_from(good_scene, tmp_path / "llff")
    line = one_error_line(capsys, "train", source, "--out", tmp_path / "run", "--split", "threeview")
    assert line == f"error: {source}: unknown split 'threeview' for an LLFF / NVS-RGBD scene (expected e.g. 3view)"
    assert not (tmp_path / "run").exists()


def test_run_whose_optimizer_state_does_not_fit(tmp_path, capsys, trained_run):
    """An older layout with other parameter groups: torch's optimizer refuses it with a ValueError."""
    run = copy_run(trained_run, tmp_path / "run")
    state = torch.load(run / CHECKPOINT, weights_only=False)
    state["optimizer"]["param_groups"] = state["optimizer"]["param_groups"][:1]
    torch.save(state, run / CHECKPOINT)
    line = one_error_line(capsys, "eval", run)
    assert line.startswith(f"error: {run / CHECKPOINT}: was saved by an older, incompatible version")


def test_run_json_without_a_scene(tmp_path, capsys, trained_run):
    run = copy_run(trained_run, tmp_path / "run")
    doc = json.loads((run / "run.json").read_text())
    doc["scene"] = None
    (run / "run.json").write_text(json.dumps(doc))
    assert one_error_line(capsys, "render", run, "--out", tmp_path / "v.mp4").startswith(
        f"error: {run / 'run.json'}: does not say where its scene is")
