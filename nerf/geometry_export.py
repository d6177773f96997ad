"""Geometry out of a trained run: coloured point clouds, TSDF meshes and depth maps (no Qt).

Every export renders colour, depth and accumulated opacity from a set of views (``export_cameras``),
drops the rays whose opacity is below ``min_acc`` (empty space, the background), and then:

- point cloud: back-projects every kept pixel (depth is along the optical axis) into the world;
- mesh: fuses the views into a TSDF (``nerf.tsdf_mesh``), cropped to the scene's box;
- depth maps: one file per view, 16-bit PNG millimetres when the scene's depth is metric, float32
  NPY in scene units otherwise, with ``cameras.json`` (intrinsics and camera-to-world of each file).

Coordinates are the scene's world frame, times ``Scene.to_metres`` when it is known (our captures:
metres); otherwise scene units. Every file is written under a temporary name and renamed when
complete, so a failure or a cancel (an exception from the progress callback) leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devices.atomic import commit_dir, recover_leftovers, replace_when_done, staging_dir
from devices.errors import InputError
from nerf.rays import pixel_points
from nerf.types import Camera, RenderResult

VIEW_SETS = ("auto", "all", "train", "test", "path")
"""auto: what suits the run's field (``AUTO_VIEWS``); all: every view of the scene (training and held-out
poses, views around the scene); train / test: the split's views; path: a smooth loop through the training
views (``nerf.paths.interp_poses``)."""

AUTO_VIEWS = {"sensor": "train"}
"""What views="auto" renders for a run of each field; any other field: "all". The sensor field's metric depth
loss pins its surfaces where the training views' sensor depth is, and the held-out poses add rims those views
saw at grazing angles: on the virtual room (3 CPU-minutes) its mesh has 90.4 % of the vertices within 2 cm from
the training views, 86.5 % from every view. The fast field is as far off either way (2.6 % / 2.8 %), and every
view is what it always exported (benchmarks/RESULTS.md, "Geometry export")."""

VIEW_LABELS = {"all": "every view of the scene", "train": "the training views", "test": "the held-out views",
               "path": "a loop through the training views"}
"""What each concrete view set is, in words (the CLI's report, the Export tab's choices)."""

DEPTH_MODES = ("normalised", "far_background")
"""normalised: sum(w t) / sum(w), where the ray's opacity lies (what renders show); far_background:
sum(w t) + (1 - sum(w)) far, the depth the ranking prior sees (a ray's transparent rest counted at the far
bound). Since the metric depth loss fits the normalised depth (nerf.metric_depth), normalised is the one
that matches a sensor-field run's surfaces (benchmarks/RESULTS.md, "Geometry export")."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class GeometrySettings:
    """What to render for a geometry export."""

    views: str = "auto"
    """Which views: see VIEW_SETS ("auto": ``resolve_views`` picks by the run's field)."""
    path_frames: int = 24
    """Views on the loop through the training views (views="path")."""
    width: int | None = None
    """Render width in pixels (default: the scene's)."""
    min_acc: float = 0.5
    """Rays with less accumulated opacity are dropped (empty space, background)."""
    stride: int = 1
    """Point clouds: keep every stride-th pixel in each direction."""
    voxel: float | None = None
    """Mesh: TSDF voxel size in scene units (default: the scene box's longest side / 512)."""
    depth_mode: str = "normalised"
    """Which depth of each ray: see DEPTH_MODES."""
    min_views: int = 1
    """Mesh: keep only surfaces at least this many of the views saw."""


@dataclass(frozen=True)
class Rendered:
    """The renders of an export, and what scales them: ``to_metres`` (None: scene units)."""

    results: list[RenderResult]
    to_metres: float | None
    box: np.ndarray
    """float [2, 3] the scene's box (min, max corners) in scene units."""


def resolve_views(views: str, field: str | None) -> str:
    """The concrete view set ``views`` stands for in a run of ``field`` (a field name; None: unknown):
    ``views`` itself unless it is "auto" (then ``AUTO_VIEWS``, else "all")."""
    if views not in VIEW_SETS:
        raise InputError(None, f"unknown views {views!r} (expected one of {', '.join(VIEW_SETS)})")
    return AUTO_VIEWS.get(field or "", "all") if views == "auto" else views


def run_field(trainer) -> str | None:
    """The field ``trainer`` trains ("fast", "sensor", ...: its resolved config's), None when it has no config."""
    config = getattr(trainer, "config", None)
    return getattr(config, "field", None)


def describe_views(views: str, field: str | None) -> str:
    """``views`` in words, saying what "auto" picks and why, e.g. "auto: the training views, for the sensor field"
    (``field`` None: the rule, "auto: the training views for a sensor-field run, else every view")."""
    if views == "auto" and field is None:
        rules = [f"{VIEW_LABELS[v]} for a {f}-field run" for f, v in AUTO_VIEWS.items()]
        return f"auto: {', '.join(rules)}, else {VIEW_LABELS['all']}"
    label = VIEW_LABELS[resolve_views(views, field)]
    return f"auto: {label}, for the {field} field" if views == "auto" else label


def export_cameras(trainer, s: GeometrySettings) -> list[Camera]:
    """The cameras of ``s.views`` (resolved for the trainer's field) for its scene, ``s.width`` pixels wide."""
    from nerf.paths import interp_poses

    scene = trainer.scene
    if scene.ndc:
        raise InputError(None, "geometry export needs a metric scene; forward-facing (NDC) scenes such as "
                               "LLFF have no metric depth to export")
    views = resolve_views(s.views, run_field(trainer))
    ids = {"all": range(scene.num_views), "train": scene.train_ids, "test": scene.test_ids}.get(views)
    if views == "path":
        ref = scene.train_ids[0]
        poses = interp_poses(scene.c2w[scene.train_ids], max(2, s.path_frames), loop=True)
        cams = [Camera(K=scene.K[ref].copy(), c2w=p, width=scene.width, height=scene.height) for p in poses]
    else:
        cams = [trainer.view_camera(int(i)) for i in ids]
    if not cams:
        raise InputError(None, f"the scene has no {views} views")
    if s.width is not None:
        if s.width < 8:
            raise InputError(None, f"width must be at least 8 pixels, got {s.width}")
        cams = [c.scaled(s.width / c.width) for c in cams]
    return cams


def render_views(trainer, cameras: Sequence[Camera], on_view: Progress | None = None,
                 render: Callable[[Camera], RenderResult] | None = None, depth_mode: str = "normalised") -> Rendered:
    """Render ``cameras`` with ``render`` (default ``trainer.render``, normalised depth); ``on_view(done, total)``
    after each (it may raise to cancel). ``depth_mode``: see DEPTH_MODES."""
    from nerf.fields.factory import scene_aabb

    if depth_mode not in DEPTH_MODES:
        raise InputError(None, f"unknown depth mode {depth_mode!r} (expected one of {', '.join(DEPTH_MODES)})")
    render = render or trainer.render
    results = []
    for k, cam in enumerate(cameras):
        results.append(render(cam))
        if on_view:
            on_view(k + 1, len(cameras))
    rendered = Rendered(results, trainer.scene.to_metres, scene_aabb(trainer.scene))
    return far_filled(rendered, trainer.scene.far) if depth_mode == "far_background" else rendered


def far_filled(rendered: Rendered, far: float) -> Rendered:
    """The renders with normalised depth d turned into acc d + (1 - acc) ``far`` (scene units)."""
    from dataclasses import replace

    results = [replace(r, depth=(r.acc * r.depth + (1.0 - r.acc) * far).astype(np.float32)) for r in rendered.results]
    return Rendered(results, rendered.to_metres, rendered.box)


def backproject(result: RenderResult, min_acc: float, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """World points float64 [M, 3] (scene units) and colours uint8 [M, 3] of the pixels with acc >= min_acc."""
    cam = result.camera
    v, u = np.mgrid[0:cam.height:stride, 0:cam.width:stride]
    z = result.depth[v, u]
    keep = (result.acc[v, u] >= min_acc) & np.isfinite(z) & (z > 0)
    u, v = u[keep], v[keep]
    return pixel_points(cam.K, cam.c2w, v, u, z[keep]), result.rgb[v, u]


def point_cloud(rendered: Rendered, min_acc: float = 0.5, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """All views' kept pixels inside the scene's box: points float64 [M, 3] (metres when known), colours uint8 [M, 3]."""
    pts, cols = [], []
    for r in rendered.results:
        p, c = backproject(r, min_acc, stride)
        inside = np.all((p >= rendered.box[0]) & (p <= rendered.box[1]), axis=1)
        pts.append(p[inside])
        cols.append(c[inside])
    scale = rendered.to_metres or 1.0
    return np.concatenate(pts) * scale, np.concatenate(cols)


def write_point_cloud(points: np.ndarray, colours: np.ndarray, out: str | Path) -> Path:
    """Binary PLY with float xyz and uchar rgb, written atomically."""
    out = _check_out(out, ".ply")
    if len(points) == 0:
        raise InputError(out, "no points to write: every ray was below the opacity threshold")
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(points)}\n"
              "property float x\nproperty float y\nproperty float z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n")
    rec = np.empty(len(points), dtype=[("p", "<f4", 3), ("c", "u1", 3)])
    rec["p"], rec["c"] = points, colours
    with replace_when_done(out, problem="cannot write the point cloud", suffix=".ply") as tmp:
        with open(tmp, "wb") as fh:
            fh.write(header.encode())
            fh.write(rec.tobytes())
    return out


def write_depth_maps(rendered: Rendered, out_dir: str | Path, min_acc: float = 0.5) -> Path:
    """One depth map per view into OUT_DIR (created; an existing non-empty one is refused), atomically.

    Metric scenes: ``depth_NNNN.png`` uint16 millimetres (0 = no depth: low opacity or beyond 65.535 m);
    otherwise ``depth_NNNN.npy`` float32 scene units (0 = no depth). ``cameras.json`` lists each file with
    its intrinsics K and OpenCV camera-to-world (metres when metric).
    """
    out = Path(out_dir)
    if not out.parent.is_dir():
        raise InputError(out.parent, "folder does not exist")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(out, "already exists and is not an empty folder")
    recover_leftovers(out)
    tmp = staging_dir(out)
    shutil.rmtree(tmp, ignore_errors=True)
    metric = rendered.to_metres is not None
    entries = []
    try:
        tmp.mkdir()
        for k, r in enumerate(rendered.results):
            entries.append(_write_depth(tmp, k, r, min_acc, rendered.to_metres))
        doc = {"units": "millimetres (uint16 PNG)" if metric else "scene units (float32 NPY)", "views": entries}
        (tmp / "cameras.json").write_text(json.dumps(doc, indent=1))
        if out.exists():
            out.rmdir()
        commit_dir(tmp, out)
    except OSError as exc:
        raise InputError(out, f"cannot write the depth maps ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _write_depth(folder: Path, k: int, r: RenderResult, min_acc: float, to_metres: float | None) -> dict:
    """Write view ``k``'s depth map into ``folder``; its cameras.json entry."""
    import cv2

    depth = np.where(r.acc >= min_acc, r.depth, 0.0)
    c2w = r.camera.c2w.copy()
    if to_metres is not None:
        name = f"depth_{k:04d}.png"
        mm = np.round(depth * to_metres * 1000.0)
        if not cv2.imwrite(str(folder / name), np.where(mm > 65535, 0, mm).astype(np.uint16)):
            raise OSError(f"cannot write {name}")
        c2w[:3, 3] *= to_metres
    else:
        name = f"depth_{k:04d}.npy"
        np.save(folder / name, depth.astype(np.float32))
    return {"file": name, "width": r.camera.width, "height": r.camera.height,
            "K": r.camera.K.tolist(), "c2w_opencv": c2w.tolist()}


def _check_out(out: str | Path, suffix: str) -> Path:
    out = Path(out)
    if out.suffix.lower() != suffix:
        raise InputError(out, f"must end in {suffix}")
    if not out.parent.is_dir():
        raise InputError(out.parent, "folder does not exist")
    return out


def mesh_from_rendered(rendered: Rendered, min_acc: float = 0.5, voxel: float | None = None,
                       on_view: Callable[[], None] | None = None, min_views: int = 1):
    """The TSDF mesh (``nerf.tsdf_mesh.Mesh``, metres when known) of the renders, cropped to the scene's box.

    ``voxel`` is in scene units (default: the box's longest side / 512); pieces smaller than 200
    triangles (floaters) are dropped, and surfaces fewer than ``min_views`` views saw.
    """
    from nerf.tsdf_mesh import DepthView, default_voxel, fuse

    views = (DepthView(r.rgb, np.where(r.acc >= min_acc, r.depth, 0.0), r.camera) for r in rendered.results)
    mesh = fuse(views, voxel or default_voxel(rendered.box), rendered.box, on_view, min_triangles=200,
                min_weight=min_views)
    return mesh.scaled(rendered.to_metres or 1.0)
