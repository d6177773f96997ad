"""`--help` says what each option does without contradictions or noise; `--version`; `--threads N` on every
heavy command sets torch's thread budget for the process."""

from __future__ import annotations

import pytest

from app.cli import main

HEAVY = ("train", "eval", "render", "demo", "depth", "poses", "import", "studio")


def help_text(capsys, *args: str) -> str:
    with pytest.raises(SystemExit):
        main([*args, "--help"])
    return " ".join(capsys.readouterr().out.split())  # one line: the table wraps anywhere


def test_help_has_no_none_metavars_and_no_contradictions(capsys):
    for command in (("train",), ("eval",), ("render",), ("poses",), ("capture", "zed")):
        text = help_text(capsys, *command)
        assert "{None}" not in text, command
    poses = help_text(capsys, "poses")
    flag = poses.split("--no-loop-closure", 1)[1].split("--loop-max-distance", 1)[0]
    assert "(default: True)" not in flag and "loop closure on" in flag


def test_train_help_gives_one_default_per_option_and_the_split_choices(capsys):
    text = help_text(capsys, "train")
    steps = text.split("--steps INT", 1)[1].split("--minutes", 1)[0]
    assert steps.count("default") == 1
    split = text.split("--split", 1)[1].split("--downscale", 1)[0]
    assert "{3view,6view,9view,all,Nview}" in split


@pytest.mark.parametrize("command", HEAVY)
def test_every_heavy_command_takes_threads(capsys, command):
    assert "--threads N" in help_text(capsys, command)


def test_version(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sparsenerf ") and out.split()[1][0].isdigit()


def test_threads_option_sets_torch_threads(tmp_path, capsys):
    import torch

    from nerf.threads import apply_threads, default_threads

    before = torch.get_num_threads()
    try:
        # a bad run folder: the command fails, but only after the budget was set for the process
        assert main(["eval", str(tmp_path / "nowhere"), "--threads", "1"]) == 2
        assert torch.get_num_threads() == 1
        assert main(["eval", str(tmp_path / "nowhere"), "--threads", "0"]) == 2
        assert "--threads must be at least 1" in capsys.readouterr().err
        assert default_threads() >= 1
    finally:
        apply_threads(before)
