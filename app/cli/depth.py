"""`sparsenerf depth SCENE --weights FILE`: monocular depth for a scene folder without a depth sensor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

from app.cli.options import Threads


@dataclass
class Depth:
    """Add DPT-Hybrid monocular depth (SparseNeRF's prior for LLFF and RGB-only captures) to a scene folder.

    Writes relative inverse depth (larger = nearer) for every frame into SCENE/depth/ and marks it
    as such in transforms.json. The weights are MiDaS v3's dpt_hybrid-midas-501f0c75.pt from
    https://github.com/isl-org/MiDaS/releases/tag/v3 (nothing is downloaded by this command).
    """

    scene: Annotated[tyro.conf.Positional[Path], tyro.conf.arg(metavar="SCENE")]
    """Scene folder (from `sparsenerf import` or `sparsenerf capture`)."""
    weights: Path
    """DPT-Hybrid weights file, e.g. dpt_hybrid-midas-501f0c75.pt."""
    overwrite: bool = False
    """Replace depth the scene already has (e.g. sensor depth) with monocular depth."""
    device: str = "cpu"
    """Torch device to run the network on: cpu, cuda, cuda:1, mps."""
    threads: Threads = None
    """CPU threads for torch (the depth network)."""

    def run(self) -> int:
        from app.cli.progress import Progress
        from devices.mono_depth import add_mono_depth

        bar: Progress | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = Progress(total, "depth")
            bar.update(done - bar.done)

        scene = add_mono_depth(self.scene, self.weights, overwrite=self.overwrite, device=self.device,
                               progress=progress)
        if bar is not None:
            bar.close()
        print(f"wrote monocular inverse depth for {len(scene)} frames to {self.scene / 'depth'}")
        return 0


COMMAND = Annotated[Depth, tyro.conf.subcommand("depth")]
