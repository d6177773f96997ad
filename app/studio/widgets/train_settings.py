"""The training settings form: the few TrainConfig fields a user needs, with good defaults."""

from __future__ import annotations

from typing import Any

from PyQt6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QSpinBox, QWidget

from nerf import available_cores, default_threads

DEFAULT_MINUTES = 3.0
"""Default time budget: enough for a recognisable fast-field result on a CPU."""


class TrainSettings(QWidget):
    """Edits field, budget (minutes or steps), depth-prior weight and ranking window; ``config()`` builds a TrainConfig."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.field = QComboBox()
        self.field.addItem("auto (sensor if metric depth)", "auto")
        self.field.addItem("fast (grids)", "fast")
        self.field.addItem("mipnerf (original, slow)", "mipnerf")
        self.field.addItem("sensor (depth-seeded)", "sensor")
        self.budget_kind = QComboBox()
        self.budget_kind.addItems(["minutes", "steps"])
        self.minutes = QDoubleSpinBox(minimum=0.1, maximum=600.0, value=DEFAULT_MINUTES, singleStep=0.5, decimals=1)
        self.steps = QSpinBox(minimum=1, maximum=1_000_000, value=3000, singleStep=100)
        self.steps.hide()
        self.depth_prior = QCheckBox("depth-ranking prior")
        self.depth_prior.setChecked(True)
        self.rank_weight = QDoubleSpinBox(minimum=0.0, maximum=10.0, value=0.0, singleStep=0.05, decimals=2)
        self.rank_weight.setSpecialValueText("auto (data set's)")
        self.win_h = QSpinBox(minimum=0, maximum=2000, value=0)
        self.win_w = QSpinBox(minimum=0, maximum=2000, value=0)
        for spin in (self.win_h, self.win_w):
            spin.setSpecialValueText("scene's")
        self.threads = QSpinBox(minimum=1, maximum=max(available_cores(), 1), value=default_threads())
        self.threads.setToolTip("CPU threads for training and rendering. The default leaves one core to the window "
                                "and the live view; more threads than free cores make every step slower.")
        self.keep_live = QCheckBox("keep it streaming while training")
        self.keep_live.setToolTip("Off (default): the Capture tab's live view pauses while a run trains, so the "
                                  "training gets the CPU, and resumes afterwards.")
        self.setToolTip("Settings of a new run; hover a field for what it does.")
        self._tooltips()
        budget = QHBoxLayout()
        budget.addWidget(self.budget_kind)
        budget.addWidget(self.minutes)
        budget.addWidget(self.steps)
        window = QHBoxLayout()
        window.addWidget(self.win_h)
        window.addWidget(self.win_w)
        form = QFormLayout(self)
        form.addRow("field", self.field)
        form.addRow("budget", budget)
        form.addRow("", self.depth_prior)
        form.addRow("depth-prior weight λ", self.rank_weight)
        form.addRow("ranking window h × w", window)
        form.addRow("CPU threads", self.threads)
        form.addRow("live sensor view", self.keep_live)
        self.budget_kind.currentTextChanged.connect(self._budget_changed)
        self.depth_prior.toggled.connect(self.rank_weight.setEnabled)

    def _tooltips(self) -> None:
        from app.cli.config_options import field_docs
        from nerf import Budget, Losses, Sampler, TrainConfig

        docs = {**field_docs(TrainConfig), **field_docs(Budget), **field_docs(Losses), **field_docs(Sampler)}
        for widget, name in ((self.field, "field"), (self.minutes, "minutes"), (self.steps, "steps"),
                             (self.depth_prior, "depth_prior"), (self.rank_weight, "rank_weight"),
                             (self.win_h, "ranking_window"), (self.win_w, "ranking_window")):
            widget.setToolTip(docs.get(name, ""))

    def _budget_changed(self, kind: str) -> None:
        self.minutes.setVisible(kind == "minutes")
        self.steps.setVisible(kind == "steps")

    def set_steps(self, steps: int) -> None:
        """Use a step budget of ``steps`` (tests, scripts)."""
        self.budget_kind.setCurrentText("steps")
        self.steps.setValue(steps)

    def config(self, **overrides: Any) -> Any:
        """The nerf.train_config.TrainConfig these settings describe (``overrides`` set any other setting, by
        name as ``TrainConfig.from_flat`` takes them)."""
        from nerf import TrainConfig

        by_steps = self.budget_kind.currentText() == "steps"
        window = (self.win_h.value(), self.win_w.value())
        values: dict[str, Any] = dict(
            field=self.field.currentData(),
            steps=self.steps.value() if by_steps else None,
            minutes=None if by_steps else self.minutes.value(),
            depth_prior=self.depth_prior.isChecked(),
            rank_weight=self.rank_weight.value() or None,
            ranking_window=window if all(window) else None,
        )
        values.update(overrides)
        values.setdefault("threads", self.threads.value())
        return TrainConfig.from_flat(**values)

