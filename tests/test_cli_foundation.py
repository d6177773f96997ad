"""The `sparsenerf` command line: capture virtual, demo, and --help listing only working commands."""

from __future__ import annotations

import errno
import importlib
import re

import pytest

from app.cli import _COMMAND_MODULES, main
from devices.frame import DepthKind
from devices.scene_folder import read_scene


def help_text(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as info:
        main([*args, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def listed_subcommands(text: str) -> list[str]:
    """Subcommand names from tyro's usage line, e.g. ``usage: sparsenerf [-h] {capture,demo}``."""
    match = re.search(r"\{([\w,-]+)\}", text)
    return match.group(1).split(",") if match else []


class TestHelp:
    def test_lists_exactly_the_registered_commands(self, capsys):
        listed = listed_subcommands(help_text(capsys))
        assert {"capture", "demo"} <= set(listed)
        # Only the modules in _COMMAND_MODULES appear; each one exists and defines a command.
        assert len(listed) == len(_COMMAND_MODULES)
        for module in _COMMAND_MODULES:
            assert hasattr(importlib.import_module(module), "COMMAND")

    def test_every_listed_command_has_working_help(self, capsys):
        for name in listed_subcommands(help_text(capsys)):
            text = help_text(capsys, name)
            for member in listed_subcommands(text):  # nested groups: `capture virtual`
                assert "usage: sparsenerf" in help_text(capsys, name, member)

    def test_capture_virtual_options_documented(self, capsys):
        text = help_text(capsys, "capture", "virtual")
        for option in ("--frames", "--seed", "--overwrite", "Scene folder to create"):
            assert option in text


class TestCaptureVirtual:
    def test_writes_a_loadable_scene(self, tmp_path, capsys):
        out = tmp_path / "scene"
        assert main(["capture", "virtual", str(out), "--frames", "5"]) == 0
        scene = read_scene(out)
        assert len(scene) == 5 and scene.has_poses and scene.has_depth
        assert scene.sensor == "virtual" and scene.depth_kind is DepthKind.METRIC
        assert scene.ranking_window == (30, 30)
        assert len(scene.train_ids) == 3 and set(scene.train_ids).isdisjoint(scene.test_ids)
        f = scene.frame(4)
        assert f.rgb.shape == (240, 320, 3) and (f.depth > 0).mean() > 0.5
        assert "wrote 5 frames" in capsys.readouterr().out

    def test_same_seed_same_capture(self, tmp_path):
        for name in ("a", "b"):
            assert main(["capture", "virtual", str(tmp_path / name), "--frames", "2", "--width", "40",
                         "--height", "30", "--seed", "5"]) == 0
        for sub in ("images/000001.png", "depth/000001.png", "transforms.json"):
            assert (tmp_path / "a" / sub).read_bytes() == (tmp_path / "b" / sub).read_bytes()

    def test_existing_folder_is_one_line_error(self, tmp_path, capsys):
        out = tmp_path / "scene"
        out.mkdir()
        (out / "keep.txt").write_text("mine")
        assert main(["capture", "virtual", str(out), "--frames", "2"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("error: ") and "already exists" in err[-1]
        assert (out / "keep.txt").read_text() == "mine"

    def test_full_disk_is_one_line_error_and_no_scene(self, tmp_path, monkeypatch, capsys):
        import devices.scene_writer as sw

        def full_disk(path, data):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

        monkeypatch.setattr(sw, "atomic_write_bytes", full_disk)
        assert main(["capture", "virtual", str(tmp_path / "scene"), "--frames", "3"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert "No space left on device" in err[-1] and err[-1].startswith("error: ")
        assert list(tmp_path.iterdir()) == []


class TestDemo:
    def test_headless_writes_scene(self, tmp_path):
        assert main(["demo", "--headless", "--out", str(tmp_path / "demo"), "--frames", "4", "--minutes", "0.02",
                     "--video-frames", "2"]) == 0
        assert len(read_scene(tmp_path / "demo" / "scene")) == 4

    def test_no_display_falls_back_to_headless(self, tmp_path, monkeypatch, capsys):
        monkeypatch.delenv("DISPLAY", raising=False)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        monkeypatch.setattr("sys.platform", "linux")
        assert main(["demo", "--out", str(tmp_path / "demo"), "--frames", "3", "--minutes", "0.02",
                     "--video-frames", "2"]) == 0
        assert "headless" in capsys.readouterr().out
        assert len(read_scene(tmp_path / "demo" / "scene")) == 3
