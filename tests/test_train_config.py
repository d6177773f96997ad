"""TrainConfig composed of small configs: JSON round trip, the flat layout of older run.json files (and such a
run resuming to the same result), run.json of a new run holding no null weight, and the generated `train` CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import pytest

from app.cli import main
from devices.capture import record
from devices.virtual import VirtualSensor, VirtualSensorConfig
from nerf import run_dir as rd
from nerf.fields.config import FastFieldConfig
from nerf.loaders import load_scene
from nerf.profiles import UNRESOLVED
from nerf.train_config import Budget, Sampler, TrainConfig
from nerf.trainer import Trainer

OLD_RUN_JSON = Path(__file__).parent / "fixtures" / "run_json_main_332a2e0.json"
"""run.json as `sparsenerf train SCENE --out RUN --steps 2 --threads 1` wrote it on main 332a2e0 (flat, nulls)."""

TINY = dict(batch_rays=256, threads=1, snapshot_interval_s=0.0, eval_every_s=1e9, preview_every_s=1e9,
            checkpoint_every_s=1e9, eval_rays=256)
TINY_FAST = {"resolution_schedule": [[0, 12], [2, 16]], "max_samples": 16}


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("config") / "scene"
    with VirtualSensor(VirtualSensorConfig(width=48, height=36, num_frames=5)) as source:
        record(source, out, train_views=3)
    return out


def _digest(trainer: Trainer) -> str:
    h = hashlib.sha256()
    for name, p in sorted(trainer.field.state_dict().items()):
        h.update(name.encode() + p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def test_nested_json_round_trip():
    config = TrainConfig.from_flat(field="sensor", seed=3, steps=12, batch_rays=128, ranking_window=(7, 9),
                                   rank_weight=0.25, lr_warmup_steps=5, eval_rays=99,
                                   fast={"resolution_schedule": ((0, 8), (4, 12)), "tv_color": 0.5},
                                   sensor={"plane_schedule": ((0, 16),)})
    doc = json.loads(json.dumps(config.to_json()))
    assert doc["budget"]["steps"] == 12 and doc["sampler"]["ranking_window"] == [7, 9] and "steps" not in doc
    back = TrainConfig.from_json(doc)
    assert back == config
    assert isinstance(back.sampler, Sampler) and back.fast.resolution_schedule == ((0, 8), (4, 12))


def test_flat_and_nested_names():
    assert TrainConfig.from_flat(steps=5).budget == Budget(steps=5)
    assert TrainConfig.from_flat(budget={"minutes": 2.0}, steps=3).budget == Budget(steps=3, minutes=2.0)
    assert TrainConfig().replace(fast=FastFieldConfig(hidden=8)).fast.hidden == 8
    with pytest.raises(TypeError, match="no setting 'stepz'"):
        TrainConfig.from_flat(stepz=5)
    with pytest.raises(TypeError, match="Sampler has no setting 'steps'"):
        TrainConfig.from_flat(sampler={"steps": 5})
    a = TrainConfig()
    b = a.replace(steps=3)
    assert a.budget.steps is None and b.budget is not a.budget  # copies, never shared groups


def test_the_flat_layout_of_older_run_json_files():
    doc = json.loads(OLD_RUN_JSON.read_text())["config"]
    assert "steps" in doc and "budget" not in doc and doc["rank_weight"] is None  # it is the old layout
    config = TrainConfig.from_json({**doc, "setting_of_another_version": 1})
    assert (config.budget.steps, config.threads, config.sampler.batch_rays) == (2, 1, 4096)
    assert config.losses.rank_weight is None and config.fast.tv_color is None  # resolved when the run loads
    assert config.fast.resolution_schedule == ((0, 24), (300, 32), (1200, 48))


def test_a_new_run_json_has_no_null_weight(scene_dir, tmp_path):
    Trainer.create(load_scene(scene_dir), TrainConfig.from_flat(steps=1, **TINY), tmp_path / "run")
    config = json.loads((tmp_path / "run" / "run.json").read_text())["config"]
    for path in UNRESOLVED:
        group, name = path.split(".")
        assert config[group][name] is not None, path
    assert config["losses"]["rank_weight"] == 0.5 and config["fast"]["distortion"] == 0.01  # a "custom" scene


def _old_run_json(run: Path, scene_dir: Path, config: TrainConfig) -> None:
    """Rewrite ``run``'s run.json as main 332a2e0 would have written it for ``config``: flat, the data set's
    settings null."""
    doc = json.loads(OLD_RUN_JSON.read_text())
    new = config.to_json()
    flat = {k: v for group in ("budget", "optim", "losses", "sampler", "reporting") for k, v in new[group].items()}
    old = doc["config"]
    for key in old:
        if key in flat and old[key] is not None:  # what main wrote as null stays null
            old[key] = flat[key]
        elif key in ("field", "seed", "device", "threads"):
            old[key] = new[key]
    # settings added since (absent from the old file) stay absent: loading must give them their defaults
    old["fast"].update({k: v for k, v in new["fast"].items() if old["fast"].get(k) is not None})
    assert set(old) <= set(flat) | {"field", "preset", "seed", "device", "threads", "fast", "sensor"}
    doc["scene"]["path"], doc["run_id"] = str(scene_dir), json.loads((run / "run.json").read_text())["run_id"]
    (run / "run.json").write_text(json.dumps(doc, indent=2))


@pytest.mark.slow
def test_an_old_run_json_resumes_to_the_same_result(scene_dir, tmp_path):
    config = TrainConfig.from_flat(steps=4, **TINY, fast=TINY_FAST)
    straight = Trainer.create(load_scene(scene_dir), config)
    for _ in range(4):
        straight.step()
    run = tmp_path / "run"
    first = Trainer.create(load_scene(scene_dir), config, run)
    for _ in range(2):
        first.step()
    first.save_checkpoint()
    _old_run_json(run, scene_dir, first.config)
    assert rd.read_run_json(run)[1].losses.rank_weight is None
    resumed = Trainer.from_run_dir(run)
    assert resumed.step_count == 2 and resumed.config == first.config  # nulls resolved with the profile
    for _ in range(2):
        resumed.step()
    assert _digest(resumed) == _digest(straight)


def test_cli_reaches_sampler_and_loss_settings(scene_dir, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", scene_dir, "--out", run, "--steps", "1", "--threads", "1", "--batch-rays", "64",
            "--min-valid", "3", "--neighbour-size", "4", "--rank-weight", "0.3", "--smooth-weight", "0.01",
            "--cont-margin", "0.001", "--eval-rays", "64", "--fast.tv-color", "0.2", "--fast.resolution-schedule",
            "0", "12", "--no-depth-prior"]
    assert main([str(a) for a in argv]) == 0
    config = rd.read_run_json(run)[1]
    assert (config.sampler.batch_rays, config.sampler.min_valid, config.sampler.neighbour_size) == (64, 3, 4)
    assert (config.losses.rank_weight, config.losses.smooth_weight, config.losses.cont_margin) == (0.3, 0.01, 1e-3)
    assert config.losses.depth_prior is False and config.fast.tv_color == 0.2 and config.budget.steps == 1
    assert config.losses.cont_weight == 0.1  # left out: the data set's, written down
    assert type(config.fast) is FastFieldConfig and type(config) is TrainConfig


def test_cli_rejects_a_bad_value_in_one_line(scene_dir, tmp_path, capsys):
    assert main(["train", str(scene_dir), "--out", str(tmp_path / "run"), "--neighbour-fraction", "1.5"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["error: --neighbour-fraction must be at most 1, got 1.5"]
    assert main(["train", str(scene_dir), "--out", str(tmp_path / "run"), "--rank-weight", "-1"]) == 2
    assert capsys.readouterr().err.strip() == "error: --rank-weight must be at least 0, got -1.0"
    assert not (tmp_path / "run").exists()
    with pytest.raises(SystemExit) as exc:  # not a number: the parser's own message, exit 2
        main(["train", str(scene_dir), "--out", str(tmp_path / "run"), "--min-valid", "many"])
    assert exc.value.code == 2 and "--min-valid" in capsys.readouterr().err


def test_help_is_grouped_with_one_entry_per_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for heading in ("budget options", "optim options", "losses options", "sampler options", "reporting options",
                    "fast options", "sensor options"):
        assert heading in text
    for flag in ("--steps", "--minutes", "--field", "--preset", "--no-depth-prior", "--threads", "--out",
                 "--overwrite", "--resume", "--batch-rays", "--split", "--downscale", "--device", "--seed",
                 "--cluster", "--ranking-window", "--rank-weight", "--fast.tv-color", "--sensor.hole-cells"):
        assert re.search(rf"^\W*{re.escape(flag)}\b", text, re.M), flag
    # Each option is described by one sentence: the measurements behind defaults stay in the docstrings.
    assert "13.34 / 13.82" not in text and "docs/fast_field.md" not in text
    lines = text[text.index("budget options"):].splitlines()
    entries = [line for line in lines if re.match(r"^\W*--", line)]
    body = [line for line in lines if line.strip(" │") and not set(line.strip(" │")) <= set("─-╭╮╰╯")]
    assert len(body) < 2.5 * len(entries)


def test_every_setting_is_an_option():
    from app.cli.config_options import TrainOptions, to_train_config

    options = TrainOptions()
    assert to_train_config(options) == TrainConfig.from_flat(threads=None)
    names = {f.name for f in dataclasses.fields(TrainOptions)}
    assert names == {f.name for f in dataclasses.fields(TrainConfig)}
