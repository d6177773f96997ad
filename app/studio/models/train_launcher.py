"""What ▶ Train does: a new run of the scene on screen, or more training of the run that is loaded.

Controller logic of the Train tab, kept out of the widget so that it can be tested without one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.studio.models.scene_model import SceneModel
from app.studio.models.training_session import TrainingSession
from nerf import ENDED_STATES


def run_scene_path(trainer: Any) -> Path:
    """The folder of the scene ``trainer`` trains (from its load arguments; its name when built in memory)."""
    src = trainer.scene.extra.get("load_args") or {}
    return Path(src.get("path") or trainer.scene.name)


def same_path(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


@dataclass(frozen=True)
class TrainTarget:
    """What ▶ Train would do now."""

    action: Literal["new", "continue", "none"]
    """A new run of the scene on screen, more steps of the loaded run, or nothing (no scene, no run)."""
    offer_continue: bool
    """A stopped or finished run of the scene on screen is loaded: the user chooses (continue it, or a new run)."""
    text: str
    """One line for the panel (rich text): which scene it trains, or which run it continues."""


class TrainLauncher:
    """Decides and starts what ▶ Train does, for a TrainingSession and the SceneModel on screen; new runs go
    into a new folder under ``runs_dir``."""

    def __init__(self, training: TrainingSession, scene: SceneModel, runs_dir: Path) -> None:
        self.training, self.scene, self.runs_dir = training, scene, Path(runs_dir)

    def can_continue(self) -> bool:
        """A stopped or finished run is loaded whose scene is the one on screen (or no scene is)."""
        t = self.training
        if t.trainer is None or t.state not in ENDED_STATES:
            return False
        return self.scene.root is None or same_path(self.scene.root, run_scene_path(t.trainer))

    def target(self, continue_checked: bool) -> TrainTarget:
        """What ▶ Train does with the panel's "continue this run" box ``continue_checked``."""
        t, can = self.training, self.can_continue()
        offer = can and self.scene.root is not None
        if can and (continue_checked or self.scene.root is None):
            name = t.run_dir.name if t.run_dir is not None else "the run"
            return TrainTarget("continue", offer, f"Will continue run <b>{name}</b> (scene "
                               f"{run_scene_path(t.trainer).name}, step {t.trainer.step_count}) for the budget above.")
        if self.scene.data is not None:
            f = self.scene.data.folder
            return TrainTarget("new", offer, f"Will train scene <b>{f.root.name}</b>: {len(f.train_ids)} training "
                               f"views {list(f.train_ids)}, {len(f.test_ids)} held-out test views.")
        return TrainTarget("none", offer, "No scene loaded: record one on the Capture tab, or File ▸ Open a scene "
                           "or a run.")

    def new_run_dir(self) -> Path:
        name = self.scene.root.name if self.scene.root is not None else "run"
        return self.runs_dir / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"

    def start(self, config: Any, continue_checked: bool) -> str | None:
        """Do what ``target`` says with ``config`` (a TrainConfig: a new run's settings, or the budget to add to
        the loaded run); returns why nothing starts (one line for the status), None when something did."""
        if self.training.blocked:
            return f"Cannot train now: {self.training.blocked}."
        action = self.target(continue_checked).action
        if action == "continue":
            self.training.continue_training(minutes=config.budget.minutes, steps=config.budget.steps)
        elif action == "new" and self.scene.root is not None:
            self.training.start(self.scene.root, config, self.new_run_dir())
        else:
            return "No scene: record one on the Capture tab or open one (File ▸ Open)."
        return None
