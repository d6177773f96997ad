"""Outputs are complete or absent (issue 14, items 3, 7, 8): one atomic writer, full disks, leftovers of
killed processes, long names, a recording cut short."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from devices.atomic import atomic_write_bytes, hidden_sibling, recover_leftovers, staging_dir
from devices.errors import WriteError
from devices.scene_folder import read_scene
from tests.kinect_samples import real_recording, write_recording
from tests.test_cli_bad_input import one_error_line

ALL = ("COLOR", "DEPTH", "IR")


def dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def fail_png_writes(monkeypatch) -> None:
    """ENOSPC on the fsync of every PNG (as the kernel reports a full disk); small files still fit."""
    real = os.fsync

    def fsync(fd):
        if ".png" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


# ------------------------------------------------------------------------------- the writer itself
def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(WriteError) as info:
        atomic_write_bytes(target, b"new" * 1000)
    assert str(info.value) == f"{target}: No space left on device"
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


@pytest.mark.parametrize("length", [241, 250, 255])
def test_long_legal_names_get_legal_staging_names(tmp_path, length):
    name = "s" * length
    assert len(hidden_sibling(tmp_path / name, "partial", 4194304).name.encode()) <= 255
    out = tmp_path / name
    assert main(["capture", "virtual", str(out), "--frames", "2", "--width", "32", "--height", "24"]) == 0
    assert len(read_scene(out)) == 2 and sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_stale_staging_of_a_dead_process_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "scene"
    stale = hidden_sibling(out, "partial", dead_pid())
    (stale / "images").mkdir(parents=True)
    (stale / "images" / "000000.png").write_bytes(b"x" * 1000)
    mine = staging_dir(out)  # a live process (this one) is never touched
    mine.mkdir()
    assert main(["capture", "virtual", str(tmp_path / "other"), "--frames", "2", "--width", "32", "--height", "24"]) == 0
    assert stale.exists(), "only the next run of the same OUT cleans up"
    shutil.rmtree(mine)
    assert main(["capture", "virtual", str(out), "--frames", "2", "--width", "32", "--height", "24"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "scene"]


def test_overwrite_cut_between_its_two_renames_gets_out_back(tmp_path, capsys):
    """kill -9 after OUT -> .OUT.old-PID and before staging -> OUT: the next run brings OUT back."""
    out = tmp_path / "scene"
    assert main(["capture", "virtual", str(out), "--frames", "2", "--width", "32", "--height", "24"]) == 0
    pid = dead_pid()
    os.replace(out, hidden_sibling(out, "old", pid))
    staged = hidden_sibling(out, "partial", pid)
    (staged / "images").mkdir(parents=True)
    assert recover_leftovers(out) == [staged]
    assert len(read_scene(out)) == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["scene"]
    # through the command: the same state, then the same --overwrite command succeeds
    os.replace(out, hidden_sibling(out, "old", pid))
    assert main(["capture", "virtual", str(out), "--frames", "3", "--width", "32", "--height", "24",
                 "--overwrite"]) == 0
    assert len(read_scene(out)) == 3 and sorted(p.name for p in tmp_path.iterdir()) == ["scene"]


# ------------------------------------------------------------------------------- full disks
def test_capture_with_a_failed_write_leaves_no_scene(tmp_path, capsys, monkeypatch):
    """keep_partial is for an unplugged sensor, not for a failed write: transforms.json would still fit."""
    fail_png_writes(monkeypatch)
    out = tmp_path / "scene"
    line = one_error_line(capsys, "capture", "virtual", out, "--frames", "3", "--width", "32", "--height", "24")
    assert line == f"error: {out}: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_kinect_import_with_a_failed_write_leaves_no_scene(tmp_path, capsys, monkeypatch):
    rec = real_recording()
    fail_png_writes(monkeypatch)
    out = tmp_path / "scene"
    assert one_error_line(capsys, "import", rec, out, "--no-poses") == f"error: {out}: No space left on device"
    assert list(tmp_path.iterdir()) == []


def mount_tmpfs(folder: Path, size: str) -> None:
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a size-limited tmpfs needs root (mount -t tmpfs); the ENOSPC simulations cover the rest")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {done.stderr.decode().strip()}")


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    mount_tmpfs(disk, "3m")
    yield disk
    subprocess.run(["umount", str(disk)], check=False)


def test_capture_on_a_real_full_disk(small_disk, capsys):
    out = small_disk / "scene"
    line = one_error_line(capsys, "capture", "virtual", out, "--frames", "60")
    assert line == f"error: {out}: No space left on device"
    assert list(small_disk.iterdir()) == []


def test_train_on_a_nearly_full_disk_keeps_the_previous_checkpoint(small_disk, tmp_path, capsys):
    scene = small_disk / "scene"
    assert main(["capture", "virtual", str(scene), "--frames", "4", "--width", "48", "--height", "32"]) == 0
    run = small_disk / "run"
    # the fast field: its checkpoint fits the 3 MB disk (the default for a capture, the sensor field, needs more)
    assert main(["train", str(scene), "--out", str(run), "--steps", "1", "--batch-rays", "64", "--field", "fast"]) == 0
    ckpt = run / "checkpoints" / "latest.pt"
    good = ckpt.read_bytes()
    filler = small_disk / "filler"
    with open(filler, "wb") as fh:  # leave less room than one more checkpoint needs
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
    os.truncate(filler, max(0, filler.stat().st_size - 65536))  # room for run.json, not for a checkpoint
    line = one_error_line(capsys, "train", scene, "--out", run, "--resume", "--steps", "2")
    assert line == f"error: {ckpt}: No space left on device"
    assert ckpt.read_bytes() == good and sorted(p.name for p in ckpt.parent.iterdir()) == ["latest.pt"]
    filler.unlink()
    assert main(["train", str(scene), "--out", str(run), "--resume", "--steps", "2"]) == 0


# ------------------------------------------------------------------------------- Kinect recordings
def test_mkv_cut_inside_capture_2_imports_capture_1(tmp_path, caplog):
    rec = write_recording(tmp_path / "rec.mkv", [(0, ALL), (33333, ALL), (66667, ALL)])
    data = rec.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.55)])  # inside the second capture's packets
    out = tmp_path / "scene"
    assert main(["import", str(cut), str(out), "--no-poses"]) == 0
    scene = read_scene(out)
    assert len(scene) == 1 and scene.extra["stopped_early"] is True
    assert "stopped early" in caplog.text


def test_kinect_import_dying_in_pose_estimation_leaves_no_scene(tmp_path, monkeypatch):
    import devices.poses

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # any death during pose estimation (kill -9 is in tests/test_kill.py)

    monkeypatch.setattr(devices.poses, "estimate_scene_poses", killed)
    out = tmp_path / "scene"
    assert main(["import", str(real_recording()), str(out)]) == 130
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert main(["import", str(real_recording()), str(out)]) == 0
    assert read_scene(out).has_poses


def test_leftovers_of_any_pid_are_found_for_long_names(tmp_path):
    out = tmp_path / ("n" * 240)
    names = {hidden_sibling(out, "partial", pid).name.rsplit(".", 1)[0] for pid in (1, 12345, 4194304)}
    assert len(names) == 1, "whether a name is hashed must not depend on the PID"
    stale = hidden_sibling(out, "partial", 4194304)
    stale.mkdir()
    assert recover_leftovers(out) == [stale] and not stale.exists()
