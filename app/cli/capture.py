"""`sparsenerf capture ...`: record a sensor into a scene folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tyro

from app.cli.groups import subcommand_group


@dataclass
class CaptureVirtual:
    """Record the built-in virtual RGB-D sensor (no hardware needed) into a scene folder."""

    out: tyro.conf.Positional[Path]
    """Scene folder to create."""
    frames: int = 60
    """Number of frames to record."""
    width: int = 320
    """Image width in pixels."""
    height: int = 240
    """Image height in pixels."""
    seed: int = 0
    """Seed of the procedural scene and the sensor noise (same seed, same capture)."""
    train_views: int = 3
    """Number of training views picked along the path (the few-shot split); the rest are test views."""
    overwrite: bool = False
    """Replace OUT if it already exists."""

    def run(self) -> int:
        from app.cli.progress import Progress
        from devices.capture import record
        from devices.virtual import VirtualSensor, VirtualSensorConfig

        cfg = VirtualSensorConfig(width=self.width, height=self.height, seed=self.seed, num_frames=self.frames)
        bar = Progress(self.frames, "capture")
        with VirtualSensor(cfg) as source:
            scene = record(source, self.out, max_frames=self.frames, train_views=self.train_views,
                           overwrite=self.overwrite, on_frame=lambda i, f: bar.update())
        bar.close()
        print(f"wrote {len(scene)} frames to {self.out} (train views {scene.train_ids})")
        return 0


COMMAND = subcommand_group(
    "capture",
    "Record RGB-D from a sensor into a scene folder.",
    {"virtual": CaptureVirtual},
)
