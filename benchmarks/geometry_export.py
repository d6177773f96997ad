"""Accuracy of the exported geometry on the virtual room, whose exact surfaces are known.

Records the virtual sensor (60 frames, 320x240, the few-shot split), trains a field for ``--minutes``
(3 CPU minutes: the loop's clock is the process's CPU time at 1 torch thread, so a loaded shared box does not
shorten the run; or a fixed ``--steps`` budget), exports a
mesh (TSDF fusion of rendered colour + depth, ``sparsenerf export``'s code) and a point cloud, and
measures every vertex's / point's distance to the true surfaces (``devices.virtual.distance``, exact).

References: the TSDF fusion of the *sensor's* depth of the same training views at the same voxel size,
as recorded (ToF noise growing with distance: 2.5 cm at 4 m; holes) and denoised first
(``nerf.tsdf_mesh.denoise_depth``, as KinectFusion filters its depth). And the field's rendered depth
itself, at the training and the held-out views, against the exact depth and against the sensor's.

    python benchmarks/geometry_export.py [--minutes 3 | --steps N] [--field sensor|fast] [--run RUN] [--keep DIR] [--views train,all]

Prints Markdown tables for benchmarks/RESULTS.md. Target (issue 15): >= 90 % of the NeRF mesh's
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
from nerf.tsdf_mesh import DepthView, denoise_depth, fuse  # noqa: E402
from nerf.types import Camera  # noqa: E402

ROOM = default_scene()
VOXEL = 0.02
"""Metres, for every mesh here (the target's tolerance)."""


def make_run(work: Path, minutes: float | None, train_views: int, seed: int, field: str = "sensor",
             steps: int | None = None):
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
    config = TrainConfig.from_flat(minutes=None if steps else minutes, steps=steps, field=field, threads=1)
    trainer = Trainer.create(scene, config, run_dir=work / "run")
    trainer.control.clock = time.process_time  # a budget in CPU seconds (1 torch thread): comparable on a shared box
    trainer.control.run()
    trainer.save_checkpoint()
    return trainer


def stats(d: np.ndarray) -> dict[str, float]:
    """Distances d [N] (metres): count, fractions within 1 / 2 / 5 cm, median and 90th percentile in cm."""
    if not len(d):
        return {"n": 0, **{k: float("nan") for k in ("w1", "w2", "w5", "median_cm", "p90_cm")}}
    return {"n": len(d), "w1": float(np.mean(d < 0.01)), "w2": float(np.mean(d < 0.02)), "w5": float(np.mean(d < 0.05)),
            "median_cm": 100 * float(np.median(d)), "p90_cm": 100 * float(np.quantile(d, 0.9))}


def sensor_mesh(trainer, denoise: bool):
    """TSDF fusion of the sensor's depth of the training views. The loader's K is ``nerf.rays``' (pixel centres at
    +0.5: the sensor's pixel u is our pixel u), so the depth maps go in with pixel_centre 0.5."""
    from nerf.fields.factory import scene_aabb

    s = trainer.scene
    views = [DepthView((s.images[i] * 255 + 0.5).astype(np.uint8),
                       denoise_depth(s.depths[i]) if denoise else s.depths[i], trainer.view_camera(i), 0.5)
             for i in s.train_ids]
    return fuse(views, VOXEL, scene_aabb(s))


def exact_depth(camera: Camera) -> np.ndarray:
    """The room's exact z-depth float [H, W] seen by ``camera`` (pixel centres at +0.5, as our renders; 0 = no surface)."""
    v, u = np.mgrid[0:camera.height, 0:camera.width] + 0.5
    K = camera.K
    d = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1).reshape(-1, 3)
    hit = ROOM.raycast(camera.c2w[:3, 3], d @ camera.c2w[:3, :3].T)
    return np.nan_to_num(hit.t, posinf=0.0).reshape(camera.height, camera.width)


def depth_errors(trainer, ids, min_acc: float, mode: str) -> dict[str, float]:
    """The field's rendered depth (``mode``: nerf.geometry_export.DEPTH_MODES) at views ``ids`` where its opacity
    >= min_acc: |error| percentiles (cm) and signed median against the exact depth, the median |error| against
    the sensor's depth, and the share kept."""
    err, err_sensor, kept = [], [], []
    for i in ids:
        r = trainer.render(trainer.view_camera(int(i)))  # the loader's K: our pixel u is the sensor's pixel u
        if mode == "far_background":
            r = ge.far_filled(ge.Rendered([r], None, np.zeros((2, 3))), trainer.scene.far).results[0]
        exact = exact_depth(r.camera)
        keep = (r.acc >= min_acc) & (exact > 0)
        kept.append(keep.mean())
        err.append(r.depth[keep] - exact[keep])
        sensor = trainer.scene.depths[int(i)] / trainer.scene.to_metres
        both = keep & (sensor > 0)
        err_sensor.append(np.abs(r.depth[both] - sensor[both]))
    e, es = np.concatenate(err), np.concatenate(err_sensor)
    q = 100 * np.quantile(np.abs(e), [0.5, 0.75, 0.9])
    return {"kept": float(np.mean(kept)), "med": q[0], "p75": q[1], "p90": q[2], "bias": 100 * float(np.median(e)),
            "w2": float(np.mean(np.abs(e) < 0.02)), "sensor_med": 100 * float(np.median(es))}


VARIANTS = (("normalised", None, 1), ("normalised", 0.9, 1), ("normalised", 0.9, 3), ("far_background", None, 1),
            ("far_background", 0.9, 1))
"""(depth mode, min opacity (None: --min-acc), min views) of each exported mesh and point cloud."""


def geometry_rows(trainer, min_acc: float, view_sets: list[str]) -> dict[str, tuple[dict, float]]:
    """Distance stats and seconds of each exported geometry and of the sensor references."""
    rows = {}
    for views in view_sets:
        cams = ge.export_cameras(trainer, ge.GeometrySettings(views=views))
        t = time.time()
        rendered = ge.render_views(trainer, cams)
        t_render = time.time() - t
        for mode, acc, min_views in VARIANTS:
            if min_views > 1 and views == "train":
                continue  # 3 views: too few to vote
            acc = min_acc if acc is None else acc
            r = ge.far_filled(rendered, trainer.scene.far) if mode == "far_background" else rendered
            t = time.time()
            mesh = ge.mesh_from_rendered(r, acc, VOXEL, min_views=min_views)
            name = f"{views} views ({len(cams)}), {mode}, opacity >= {acc}" + (f", seen by >= {min_views}" if min_views > 1 else "")
            rows[f"NeRF mesh, {name}"] = (stats(surface_distance(ROOM, mesh.vertices)), t_render + time.time() - t)
            if min_views == 1:
                pts, _ = ge.point_cloud(r, acc, stride=2)
                rows[f"NeRF point cloud, {name}"] = (stats(surface_distance(ROOM, pts)), 0.0)
    n = len(trainer.scene.train_ids)
    for denoise in (False, True):
        t = time.time()
        ref = sensor_mesh(trainer, denoise)
        name = f"sensor depth TSDF, train views ({n}){', denoised' if denoise else ', as recorded'}"
        rows[name] = (stats(surface_distance(ROOM, ref.vertices)), time.time() - t)
    return rows


def print_tables(trainer, rows, depth, args, t_train: tuple[float, float]) -> None:
    load = os.getloadavg()
    print(f"# geometry export on the virtual room: {platform.machine()} {os.cpu_count()} CPUs, "
          f"load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"run: {type(trainer.field).__name__}, {trainer.step_count} steps, training {t_train[0]:.0f} s wall, {t_train[1]:.0f} s CPU "
          f"(in its loop {trainer.control.elapsed_s:.0f} s by its clock; train views "
          f"{trainer.scene.train_ids}); voxel {100 * VOXEL:.0f} cm, min opacity {args.min_acc}\n")
    print("| geometry | vertices / points | within 1 cm | within 2 cm | within 5 cm | median | 90th pct | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (s, secs) in rows.items():
        print(f"| {name} | {s['n']:,} | {100 * s['w1']:.1f} % | {100 * s['w2']:.1f} % | {100 * s['w5']:.1f} % | "
              f"{s['median_cm']:.1f} cm | {s['p90_cm']:.1f} cm | {secs:.0f} |")
    print(f"\nrendered depth where opacity >= {args.min_acc}, against the exact depth (and the sensor's):\n")
    print("| views | pixels kept | median abs error | 75th pct | 90th pct | within 2 cm | signed median | median vs sensor |")
    print("|---|---|---|---|---|---|---|---|")
    for name, d in depth.items():
        print(f"| {name} | {100 * d['kept']:.0f} % | {d['med']:.2f} cm | {d['p75']:.2f} cm | {d['p90']:.1f} cm | "
              f"{100 * d['w2']:.1f} % | {d['bias']:+.2f} cm | {d['sensor_med']:.2f} cm |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--steps", type=int, help="train this many steps instead of --minutes")
    ap.add_argument("--train-views", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--field", default="sensor", help="the field to train (sensor, fast, mipnerf)")
    ap.add_argument("--run", type=Path, help="use this trained run of the virtual room instead of training")
    ap.add_argument("--min-acc", type=float, default=0.5)
    ap.add_argument("--views", default="train,all", help="comma-separated view sets to export from (nerf.geometry_export.VIEW_SETS)")
    ap.add_argument("--keep", type=Path, help="capture and train into this folder and keep it (for docs/export.md)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            tmp = args.keep
        t0, c0 = time.time(), time.process_time()
        if args.run is not None:
            from app.runs import load_run_checked

            trainer = load_run_checked(args.run)
        else:
            trainer = make_run(Path(tmp), args.minutes, args.train_views, args.seed, args.field, args.steps)
        t_train = (time.time() - t0, time.process_time() - c0)
        rows = geometry_rows(trainer, args.min_acc, args.views.split(","))
        s = trainer.scene
        depth = {f"{name} ({len(ids)}), {mode}": depth_errors(trainer, ids, args.min_acc, mode)
                 for mode in ge.DEPTH_MODES for name, ids in (("training", s.train_ids), ("held-out", s.test_ids))}
    print_tables(trainer, rows, depth, args, t_train)


if __name__ == "__main__":
    main()
