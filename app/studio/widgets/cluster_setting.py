"""The "Train on: this machine / Ray cluster at ADDRESS" setting of the Train tab, and what the cluster says.

Choosing the cluster makes the next run train there (``TrainingSession.remote_target``); the label
below shows where the run trains and the cluster's notices (a restart on another node, a lost
contact). Ray is imported only when a run starts; without Ray the choice says how to install it.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from PyQt6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QWidget

from app.studio.models.training_session import TrainingSession
from nerf import ACTIVE_STATES

DEFAULT_ADDRESS = "ray://127.0.0.1:10001"


def ray_available() -> bool:
    """Whether Ray is installed (without importing it)."""
    return importlib.util.find_spec("ray") is not None


class ClusterSetting(QWidget):
    """Edits where new runs train; keeps ``training.remote_target`` (a ClusterTarget or None) in step."""

    def __init__(self, training: TrainingSession, parent=None) -> None:
        super().__init__(parent)
        self.training = training
        self.where = QComboBox()
        self.where.addItem("this machine", "local")
        self.where.addItem("Ray cluster at", "cluster")
        self.address = QLineEdit(DEFAULT_ADDRESS)
        self.address.setToolTip("ray://HOST:10001 (Ray Client), or HOST:6379 from a machine of the cluster. "
                                "The cluster's token comes from $RAY_AUTH_TOKEN or ~/.ray/auth_token.")
        self.gpus = QDoubleSpinBox(minimum=0.0, maximum=8.0, value=0.0, singleStep=0.5, decimals=1)
        self.gpus.setToolTip("GPUs the remote trainer asks for (0: a CPU slot)")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("train on", self.where)
        form.addRow("address", self.address)
        form.addRow("GPUs", self.gpus)
        form.addRow(self.status)
        self.where.currentIndexChanged.connect(self._changed)
        self.address.textChanged.connect(self._changed)
        self.gpus.valueChanged.connect(self._changed)
        training.snapshot.connect(self._on_snapshot)
        training.stateChanged.connect(lambda _s: self.setEnabled(training.state not in ACTIVE_STATES))
        self._changed()

    def _changed(self, *_: Any) -> None:
        remote = self.where.currentData() == "cluster"
        self.address.setEnabled(remote)
        self.gpus.setEnabled(remote)
        if remote and not ray_available():
            from app.cluster.connect import INSTALL_HINT

            self.status.setText(f"⚠ {INSTALL_HINT}")
            self.training.remote_target = None
            return
        self.status.setText("")
        self.training.remote_target = self.target() if remote else None

    def target(self) -> Any:
        """The ClusterTarget these settings describe."""
        from app.cluster.remote_trainer import ClusterTarget

        return ClusterTarget(self.address.text().strip(), num_gpus=self.gpus.value())

    def _on_snapshot(self, snap: Any) -> None:
        trainer = self.training.trainer
        if trainer is None or not hasattr(trainer, "actor_name"):
            return
        lines = [f"training on {trainer.device}"] + [m for m in snap.messages if "node" in m or "contact" in m]
        self.status.setText("<br>".join(lines[-4:]))
