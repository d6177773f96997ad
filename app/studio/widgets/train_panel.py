"""Train panel: settings, Train / Pause / Resume / Stop, status with ETA, curves, and the live preview."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.studio.models.preview_session import PreviewSession
from app.studio.models.scene_model import SceneModel
from app.studio.models.train_launcher import TrainLauncher
from app.studio.models.training_session import TrainingSession, eta_seconds
from app.studio.widgets.cluster_setting import ClusterSetting
from app.studio.widgets.curves import CurvesView
from app.studio.widgets.preview_view import PreviewView
from app.studio.widgets.train_settings import TrainSettings
from nerf import ACTIVE_STATES, ENDED_STATES, RunState, TrainSnapshot

SIDE_WIDTH = 390
"""Width of the settings column (wider when its content needs it), the rest goes to the preview and curves."""
CURVES_REFRESH_MS = 1000
"""Redraw the curves at most this often (re-laying out the plot axes is the studio's costliest paint)."""


def format_seconds(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class TrainPanel(QWidget):
    """View of a TrainingSession (+ the SceneModel it trains and the PreviewSession it shows)."""

    def __init__(self, training: TrainingSession, scene: SceneModel, preview: PreviewSession,
                 runs_dir: Path, parent=None) -> None:
        super().__init__(parent)
        self.training, self.scene = training, scene
        self.launcher = TrainLauncher(training, scene, runs_dir)
        self.settings = TrainSettings()
        self.cluster = ClusterSetting(training)
        self.train_button = QPushButton("▶ Train")
        self.train_button.setStyleSheet("font-weight:bold")
        self.pause_button = QPushButton("❚❚ Pause")
        self.stop_button = QPushButton("■ Stop")
        self.target = QLabel("")
        self.target.setWordWrap(True)
        self.continue_run = QCheckBox("continue this run (train the budget above more)")
        self.continue_run.setChecked(True)
        self.continue_run.setToolTip("Checked: ▶ Train continues the run shown (same model, optimizer and curves) "
                                     "for the budget above. Unchecked: a new run of the current scene.")
        self.continue_run.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.curves = CurvesView()
        self._curves_dirty = False
        self._curves_timer = QTimer(self, interval=CURVES_REFRESH_MS)
        self._curves_timer.timeout.connect(self._refresh_curves)
        self._curves_timer.start()
        self.preview = PreviewView(preview)
        self._layout()
        self.train_button.clicked.connect(self._on_train_clicked)  # clicked(bool): not start(config)
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.stop_button.clicked.connect(training.stop)
        training.stateChanged.connect(self._on_state)
        training.snapshot.connect(self._on_snapshot)
        training.error.connect(lambda msg: self.status.setText(f"⚠ {msg}"))
        training.blockedChanged.connect(lambda _r: self._on_state(training.state))
        training.trainerChanged.connect(self._show_target)
        scene.sceneChanged.connect(lambda _d: self._on_state(training.state))
        scene.splitChanged.connect(lambda _t, _s: self._show_target())
        self.continue_run.toggled.connect(lambda _c: self._show_target())
        self._on_state(training.state)

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Training settings</b>"))
        left.addWidget(self.settings)
        left.addWidget(self.target)
        left.addWidget(self.continue_run)
        left.addWidget(self.cluster)
        left.addLayout(buttons)
        left.addWidget(self.status)
        left.addStretch(1)
        side = QWidget()
        side.setLayout(left)
        # never narrower than its content: a squeezed form clips the combo boxes' text
        side.setFixedWidth(max(SIDE_WIDTH, side.minimumSizeHint().width()))
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.preview)
        right.addWidget(self.curves)
        right.setSizes([420, 260])
        row = QHBoxLayout(self)
        row.addWidget(side)
        row.addWidget(right, 1)

    def _on_train_clicked(self, _checked: bool = False) -> None:
        self.start()

    def start(self, config: Any = None) -> None:
        """What ▶ Train does (TrainLauncher): a new run of the current scene, or the loaded run continued for
        the budget in the settings; ``config`` replaces the settings' TrainConfig."""
        why_not = self.launcher.start(config if config is not None else self.settings.config(),
                                      self.continue_run.isChecked())
        if why_not is not None:
            self.status.setText(f"⚠ {why_not}")

    def _show_target(self) -> None:
        """Say what ▶ Train will do: which scene it trains, or which run it continues."""
        target = self.launcher.target(self.continue_run.isChecked())
        self.continue_run.setVisible(target.offer_continue)
        self.target.setText(target.text)

    def _pause_or_resume(self) -> None:
        if self.training.state == RunState.PAUSED:
            self.training.resume()
        else:
            self.training.pause()

    def _on_state(self, state: str) -> None:
        can_start = state not in ACTIVE_STATES
        has_input = self.scene.root is not None or self.training.trainer is not None
        blocked = self.training.blocked
        self.train_button.setEnabled(can_start and has_input and not blocked)
        self.train_button.setToolTip(f"Disabled: {blocked}" if blocked else "Train the scene named above")
        self._show_target()
        self.settings.setEnabled(can_start)
        self.pause_button.setEnabled(state in (RunState.RUNNING, RunState.PAUSED))
        self.pause_button.setText("▶ Resume" if state == RunState.PAUSED else "❚❚ Pause")
        self.stop_button.setEnabled(state in (RunState.LOADING, RunState.RUNNING, RunState.PAUSED))
        if blocked:
            self.status.setText(f"▶ Train is disabled: {blocked}.")
        elif state == RunState.LOADING:
            self.status.setText("Loading the scene and building the field …")
        elif state in ENDED_STATES and self.training.run_dir is not None:
            self.status.setText(f"Training {state}. Checkpoint saved in<br>{self.training.run_dir}"
                                + self._numbers(self.training.last))
        elif state == RunState.IDLE:
            self.status.setText("Press ▶ Train." if has_input else "Load or record a scene, then press ▶ Train.")

    def _refresh_curves(self) -> None:
        if self._curves_dirty and self.curves.isVisible():
            self._curves_dirty = False
            self.curves.show_history(self.training.history)

    def _on_snapshot(self, snap: TrainSnapshot) -> None:
        self._curves_dirty = True
        eta = eta_seconds(snap)
        budget = f"/{snap.max_steps}" if snap.max_steps else ""
        self.status.setText(f"<b>{self.training.state}</b> · step {snap.step}{budget} · "
                            f"{format_seconds(snap.elapsed_s)} elapsed"
                            + ("" if eta is None else f" · ETA {format_seconds(eta)}") + self._numbers(snap))

    @staticmethod
    def _numbers(snap: TrainSnapshot | None) -> str:
        if snap is None:
            return ""
        def num(v: float | None, fmt: str) -> str:
            return "—" if v is None or not math.isfinite(v) else format(v, fmt)

        loss, train, test = snap.losses.get("total"), snap.train_psnr, snap.test_psnr
        return f"<br>loss {num(loss, '.4g')} · train PSNR {num(train, '.2f')} dB · held-out PSNR {num(test, '.2f')} dB"
