"""`sparsenerf eval RUN`: metrics of a trained run on its scene's held-out views."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import tyro

from app.cli.options import Threads


@dataclass
class Eval:
    """Evaluate a training run: PSNR, SSIM, LPIPS (when its weights are on disk), masked variants and depth
    error where the scene allows, per view and averaged. Renders at the training resolution.

    LPIPS needs two local files in one folder (nothing is downloaded): torchvision's VGG16 weights (vgg16-*.pth)
    and the LPIPS linear layers (vgg.pth). Without them LPIPS is reported as unavailable.

    Example: `sparsenerf eval runs/desk --json runs/desk/eval.json`.
    """

    run_dir: Annotated[tyro.conf.Positional[Path], tyro.conf.arg(metavar="RUN")]
    """Training run folder (written by `sparsenerf train --out RUN`)."""
    json: Path | None = None
    """Also write the report as JSON to this file."""
    lpips_weights: Path | None = None
    """Folder with vgg16-*.pth and vgg.pth for LPIPS (default: $SPARSENERF_LPIPS_WEIGHTS)."""
    views: Literal["test", "train", "all"] = "test"
    """Which views to evaluate."""
    threads: Threads = None
    """CPU threads for torch (rendering the views)."""

    def run_views(self, scene) -> list[int]:
        if self.views == "train":
            return list(scene.train_ids)
        if self.views == "all":
            return list(range(scene.num_views))
        return list(scene.test_ids)

    def run(self) -> int:
        from app.cli.progress import Progress
        from app.runs import load_run_checked
        from devices.errors import InputError
        from nerf import LPIPS_ENV_VAR, evaluate_views, load_lpips

        if self.json is not None and not self.json.parent.is_dir():  # say so before minutes of rendering
            raise InputError(self.json.parent, "folder does not exist (for --json)")
        trainer = load_run_checked(self.run_dir)
        scene = trainer.scene
        ids = self.run_views(scene)
        if not ids:
            raise InputError(self.run_dir, f"the scene has no {self.views} views to evaluate")
        lpips = load_lpips(self.lpips_weights)
        status = "ok" if lpips else (
            f"unavailable: no vgg16-*.pth + vgg.pth in {self.lpips_weights}" if self.lpips_weights
            else f"unavailable: no weights given (--lpips-weights or ${LPIPS_ENV_VAR})")
        bar = Progress(len(ids), "eval")
        report = evaluate_views(trainer.render, scene, ids, lpips=lpips, lpips_status=status,
                          step=trainer.step_count, on_view=lambda k, n: bar.update(k - bar.done))
        bar.close()
        print(f"{scene.name}: step {report.step}, {len(ids)} {self.views} views at {report.width}x{report.height}")
        print(report.table())
        if self.json is not None:
            report.write_json(self.json)
            print(f"wrote {self.json}")
        return 0


COMMAND = Annotated[Eval, tyro.conf.subcommand("eval")]
