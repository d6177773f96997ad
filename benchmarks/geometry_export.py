"""Accuracy of the exported geometry on the virtual room, whose exact surfaces are known.

Records the virtual sensor (60 frames, 320x240, the few-shot split), trains the default field for
``--minutes`` (3), exports a mesh (TSDF fusion of rendered colour + depth, ``sparsenerf export``'s
code) and a point cloud, and measures every vertex's / point's distance to the true surfaces
(``devices.virtual.distance``). The reference is the TSDF fusion of the *sensor's* depth of the same
training views (noisy ToF depth with holes, at the same voxel size). Also reports the rendered depth
against the exact depth on the training views (scale: 1.0 when the export is metric).

    python benchmarks/geometry_export.py [--minutes 3] [--train-views 3] [--field fast|sensor] [--run RUN] [--keep DIR]

Prints a Markdown table for benchmarks/RESULTS.md. Target (issue 15): >= 90 % of the NeRF mesh's
vertices within 2 cm of a true surface after a 3-minute run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.virtual.distance import surface_distance  # noqa: E402
from devices.virtual.scene import default_scene  # noqa: E402
from nerf import geometry_export as ge  # noqa: E402
from nerf.tsdf_mesh import DepthView, fuse  # noqa: E402

ROOM = default_scene()
VOXEL = 0.02
"""Metres, for every mesh here (the target's tolerance)."""


def make_run(work: Path, minutes: float, train_views: int, seed: int, field: str = "fast"):
    """Capture the virtual room and train on it (the CLI's functions); returns the Trainer."""
    from devices.capture import record
    from devices.virtual import VirtualSensor, VirtualSensorConfig
    from nerf.loaders import load_scene
    from nerf.train_config import TrainConfig
    from nerf.trainer import Trainer

    with VirtualSensor(VirtualSensorConfig(num_frames=60, seed=seed)) as source:
        record(source, work / "scene", train_views=train_views)
    scene = load_scene(work / "scene")
    scene.extra["load_args"] = {"path": str(work / "scene")}
    trainer = Trainer.create(scene, TrainConfig.from_flat(minutes=minutes, field=field), run_dir=work / "run")
    trainer.control.run()
    trainer.save_checkpoint()
    return trainer


def stats(d: np.ndarray) -> dict[str, float]:
    return {"n": len(d), "within_2cm": float(np.mean(d < 0.02)) if len(d) else 0.0,
            "within_5cm": float(np.mean(d < 0.05)) if len(d) else 0.0,
            "median_cm": 100 * float(np.median(d)) if len(d) else float("nan"),
            "p90_cm": 100 * float(np.quantile(d, 0.9)) if len(d) else float("nan")}


def depth_scale(trainer, rendered: ge.Rendered, min_acc: float) -> float:
    """Median of rendered / exact depth over the kept pixels of the training views."""
    from tests.test_geometry_export import exact_render

    ratios = []
    for r in rendered.results:
        exact = exact_render(r.camera).depth
        keep = (r.acc >= min_acc) & (exact > 0)
        ratios.append(r.depth[keep] / exact[keep])
    ratios = np.concatenate(ratios)
    return float(np.median(ratios)) if len(ratios) else float("nan")


def sensor_mesh(trainer):
    """TSDF fusion of the sensor's depth of the training views (pixel centres at integer coordinates)."""
    s = trainer.scene
    views = [DepthView((s.images[i] * 255 + 0.5).astype(np.uint8), s.depths[i], trainer.view_camera(i), 0.0)
             for i in s.train_ids]
    from nerf.fields.factory import scene_aabb

    return fuse(views, VOXEL, scene_aabb(s))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--train-views", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--field", default="fast", help="the field to train (fast, sensor, mipnerf)")
    ap.add_argument("--run", type=Path, help="use this trained run of the virtual room instead of training")
    ap.add_argument("--min-acc", type=float, default=0.5)
    ap.add_argument("--keep", type=Path, help="capture and train into this folder and keep it (for docs/export.md)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            tmp = args.keep
        t0 = time.time()
        if args.run is not None:
            from app.runs import load_run_checked

            trainer = load_run_checked(args.run)
        else:
            trainer = make_run(Path(tmp), args.minutes, args.train_views, args.seed, args.field)
        t_train = time.time() - t0
        rows = {}
        for views in ("train", "all"):
            cams = ge.export_cameras(trainer, ge.GeometrySettings(views=views))
            t = time.time()
            rendered = ge.render_views(trainer, cams)
            mesh = ge.mesh_from_rendered(rendered, args.min_acc, VOXEL)
            rows[f"NeRF mesh, {views} views ({len(cams)})"] = (stats(surface_distance(ROOM, mesh.vertices)), time.time() - t)
            pts, _ = ge.point_cloud(rendered, args.min_acc, stride=2)
            rows[f"NeRF point cloud, {views} views"] = (stats(surface_distance(ROOM, pts)), 0.0)
            if views == "train":
                scale = depth_scale(trainer, rendered, args.min_acc)
        t = time.time()
        ref = sensor_mesh(trainer)
        rows[f"sensor depth TSDF, train views ({len(trainer.scene.train_ids)})"] = (
            stats(surface_distance(ROOM, ref.vertices)), time.time() - t)
    load = os.getloadavg()
    print(f"# geometry export on the virtual room: {platform.machine()} {os.cpu_count()} CPUs, "
          f"load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"run: {trainer.step_count} steps, {t_train:.0f} s (train views {trainer.scene.train_ids}); "
          f"voxel {100 * VOXEL:.0f} cm, min opacity {args.min_acc}; rendered / exact depth on the training views: "
          f"median {scale:.3f}\n")
    print("| geometry | vertices / points | within 2 cm | within 5 cm | median | 90th pct | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, (s, secs) in rows.items():
        print(f"| {name} | {s['n']:,} | {100 * s['within_2cm']:.1f} % | {100 * s['within_5cm']:.1f} % | "
              f"{s['median_cm']:.1f} cm | {s['p90_cm']:.1f} cm | {secs:.0f} |")


if __name__ == "__main__":
    main()
