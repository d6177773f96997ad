"""Evaluation of a trained field on a scene's held-out views: per-view metrics, means, JSON and a table.

PSNR, SSIM (``nerf.metrics``), LPIPS-VGG when its weights are on disk (``nerf.lpips``; otherwise the
report says "unavailable" and why), masked variants when the scene has object masks (background
set to black in both images as in the DTU evaluation; masked PSNR averages over mask pixels only),
and depth error against the sensor where the scene's depth is metric and its scale is known.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from devices.atomic import atomic_write_text
from devices.frame import DepthKind
from nerf import metrics
from nerf.lpips import LPIPS
from nerf.scene import Scene
from nerf.types import Camera, RenderResult


@dataclass
class ViewMetrics:
    """Metrics of one view (None = not applicable / unavailable).

    Attributes:
        view: index into the scene's views.
        psnr, ssim, lpips: full image.
        psnr_masked, ssim_masked, lpips_masked: with the object mask (DTU), when the scene has masks.
        depth_abs_rel, depth_rmse_m: rendered vs sensor depth over valid sensor pixels (metric scenes).
        render_s: seconds to render the view.
    """

    view: int
    psnr: float
    ssim: float
    lpips: float | None = None
    psnr_masked: float | None = None
    ssim_masked: float | None = None
    lpips_masked: float | None = None
    depth_abs_rel: float | None = None
    depth_rmse_m: float | None = None
    render_s: float = 0.0


_METRIC_NAMES = [f.name for f in fields(ViewMetrics) if f.name != "view"]


@dataclass
class EvalReport:
    """All views of one evaluation, with means.

    Attributes:
        scene: scene name. step: the run's training step. width/height: evaluation resolution.
        views: per-view metrics, in view order.
        lpips_status: "ok", or "unavailable: <why>" (never silently missing).
    """

    scene: str
    step: int
    width: int
    height: int
    views: list[ViewMetrics]
    lpips_status: str
    notes: list[str] = field(default_factory=list)

    def mean(self, name: str) -> float | None:
        """Mean of metric ``name`` over the views that have it (None when none has it)."""
        vals = [getattr(v, name) for v in self.views if getattr(v, name) is not None]
        vals = [x for x in vals if not math.isnan(x)]
        return float(np.mean(vals)) if vals else None

    def means(self) -> dict[str, float | None]:
        return {name: self.mean(name) for name in _METRIC_NAMES}

    def to_json(self) -> str:
        doc = {"scene": self.scene, "step": self.step, "width": self.width, "height": self.height,
               "lpips_status": self.lpips_status, "notes": self.notes, "mean": self.means(),
               "views": [asdict(v) for v in self.views]}
        return json.dumps(_finite(doc), indent=2, allow_nan=False)

    def write_json(self, path: str | Path) -> None:
        """Write ``to_json()`` to ``path`` atomically (InputError when it cannot be written)."""
        atomic_write_text(Path(path), self.to_json())

    def table(self) -> str:
        """A fixed-width text table: one row per view and a mean row; columns that are all empty are left out."""
        cols = [n for n in _METRIC_NAMES if any(getattr(v, n) is not None for v in self.views)]
        head = f"{'view':>6}" + "".join(f"{c:>14}" for c in cols)
        rows = [head, "-" * len(head)]
        for v in self.views:
            rows.append(f"{v.view:>6}" + "".join(_cell(getattr(v, c)) for c in cols))
        rows.append("-" * len(head))
        rows.append(f"{'mean':>6}" + "".join(_cell(self.mean(c)) for c in cols))
        rows.append(f"LPIPS: {self.lpips_status}")
        return "\n".join(rows + self.notes)


def _cell(x: float | None) -> str:
    return f"{'-':>14}" if x is None else f"{x:>14.4f}"


def _finite(x: object) -> object:
    """JSON has no inf/NaN: they become null (e.g. the PSNR of a perfect render)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def evaluate(
    render: Callable[[Camera], RenderResult],
    scene: Scene,
    view_ids: Sequence[int] | None = None,
    *,
    lpips: LPIPS | None = None,
    lpips_status: str = "ok",
    step: int = 0,
    on_view: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Render each view (default: the test views), compare it with the photo, and collect a report.

    Args:
        render: renders a Camera (e.g. ``Trainer.render``).
        lpips: the LPIPS network, or None; then ``lpips_status`` must say why ("unavailable: ...").
        on_view: progress callback (views done, views total).
    """
    from nerf.inference import view_camera  # torch: only when views are rendered

    ids = list(scene.test_ids if view_ids is None else view_ids)
    if lpips is None and lpips_status == "ok":
        lpips_status = "unavailable: no LPIPS weights given"
    report = EvalReport(scene.name, step, scene.width, scene.height, [], lpips_status)
    if not _has_metric_depth(scene):
        report.notes.append("depth error: not computed (the scene has no metric depth with a known scale)")
    for k, i in enumerate(ids):
        t0 = time.perf_counter()
        result = render(view_camera(scene, i))
        seconds = time.perf_counter() - t0
        report.views.append(_view_metrics(scene, i, result, lpips, seconds))
        if on_view:
            on_view(k + 1, len(ids))
    return report


def _has_metric_depth(scene: Scene) -> bool:
    return scene.depths is not None and scene.depth_kind is DepthKind.METRIC and scene.to_metres is not None


def _view_metrics(scene: Scene, i: int, result: RenderResult, lpips: LPIPS | None, seconds: float) -> ViewMetrics:
    pred = result.rgb.astype(np.float64) / 255.0
    gt = scene.images[i].astype(np.float64)
    m = ViewMetrics(view=i, psnr=metrics.psnr(pred, gt), ssim=metrics.ssim(pred, gt), render_s=seconds)
    if lpips is not None:
        m.lpips = lpips.distance(pred, gt)
    if scene.masks is not None and i in scene.extra.get("masked_views", [i]):  # a view shipped without a mask: none
        mask = scene.masks[i]
        pm, gm = metrics.apply_mask(pred, mask), metrics.apply_mask(gt, mask)
        m.psnr_masked = metrics.psnr(pred, gt, mask) if mask.any() else None
        m.ssim_masked = metrics.ssim(pm, gm)
        m.lpips_masked = lpips.distance(pm, gm) if lpips is not None else None
    if _has_metric_depth(scene) and not result.depth_is_ndc:
        abs_rel, rmse, n = metrics.depth_errors(result.depth * scene.to_metres, scene.depths[i])
        if n:
            m.depth_abs_rel, m.depth_rmse_m = abs_rel, rmse
    return m
