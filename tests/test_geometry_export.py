"""Geometry export: point clouds, TSDF meshes and depth maps of a run, checked against the virtual room's
exact surfaces; the `sparsenerf export` and `render --camera-path` commands on a short run."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from devices.errors import InputError
from devices.virtual.distance import surface_distance
from devices.virtual.scene import default_scene
from nerf import geometry_export as ge
from nerf.tsdf_mesh import read_ply_vertices, write_mesh
from nerf.types import Camera, RenderResult

ROOM = default_scene()


def exact_render(camera: Camera) -> RenderResult:
    """The virtual room's ground truth as our renderer would show it (pixel centres at +0.5, z-depth)."""
    v, u = np.mgrid[0:camera.height, 0:camera.width] + 0.5
    K = camera.K
    d = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1).reshape(-1, 3)
    hit = ROOM.raycast(camera.c2w[:3, 3], d @ camera.c2w[:3, :3].T)
    depth = np.nan_to_num(hit.t, posinf=0.0).reshape(camera.height, camera.width).astype(np.float32)
    rgb = np.clip(ROOM.shade(hit) * 255, 0, 255).astype(np.uint8).reshape(camera.height, camera.width, 3)
    return RenderResult(rgb=rgb, depth=depth, acc=(depth > 0).astype(np.float32), camera=camera, step=0)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """A 64x48 virtual capture (12 frames, 4 training views) and a 200-step run of it, saved as a run folder."""
    from devices.capture import record
    from devices.virtual import VirtualSensor, VirtualSensorConfig
    from nerf.loaders import load_scene
    from nerf.trainer import Trainer
    from tests.studio.helpers import tiny_train_config

    root = tmp_path_factory.mktemp("geometry")
    with VirtualSensor(VirtualSensorConfig(width=64, height=48, num_frames=12)) as source:
        record(source, root / "scene", train_views=4)
    trainer = Trainer.create(load_scene(root / "scene"), tiny_train_config(steps=200), run_dir=root / "run")
    trainer.control.run()
    trainer.save_checkpoint()
    return trainer, root / "run"


def test_pipeline_on_exact_renders_is_within_2cm(short_run, tmp_path):
    """With perfect renders, what the pipeline adds (back-projection, fusion, cropping, units) is exact."""
    trainer, _ = short_run
    cams = ge.export_cameras(trainer, ge.GeometrySettings(views="all", width=96))
    rendered = ge.render_views(trainer, cams, render=exact_render)
    assert rendered.to_metres == 1.0
    pts, cols = ge.point_cloud(rendered, min_acc=0.5, stride=2)
    d = surface_distance(ROOM, pts)
    assert len(pts) > 1000 and np.quantile(d, 0.99) < 1e-4  # back-projection is exact
    mesh = ge.mesh_from_rendered(rendered, voxel=0.02)
    dm = surface_distance(ROOM, mesh.vertices)
    assert len(mesh.triangles) > 1000
    assert np.mean(dm < 0.02) >= 0.95, np.quantile(dm, [0.5, 0.9, 0.95])
    box = rendered.box
    assert np.all(mesh.vertices >= box[0] - 1e-6) and np.all(mesh.vertices <= box[1] + 1e-6)
    out = write_mesh(mesh, tmp_path / "mesh.ply")
    np.testing.assert_allclose(read_ply_vertices(out), mesh.vertices, atol=1e-5)  # float32 in the file
    ge.write_point_cloud(pts, cols, tmp_path / "points.ply")
    assert len(read_ply_vertices(tmp_path / "points.ply")) == len(pts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mesh.ply", "points.ply"]


def test_depth_maps_are_millimetres_of_the_true_depth(short_run, tmp_path):
    trainer, _ = short_run
    cams = ge.export_cameras(trainer, ge.GeometrySettings(views="train"))
    rendered = ge.render_views(trainer, cams, render=exact_render)
    out = ge.write_depth_maps(rendered, tmp_path / "depth")
    doc = json.loads((out / "cameras.json").read_text())
    assert len(doc["views"]) == len(trainer.scene.train_ids) == 4
    first = doc["views"][0]
    mm = cv2.imread(str(out / first["file"]), cv2.IMREAD_UNCHANGED)
    assert mm.dtype == np.uint16 and mm.shape == (48, 64)
    want = rendered.results[0].depth * 1000
    assert np.abs(mm.astype(float) - want)[want > 0].max() <= 0.5 + 1e-3
    np.testing.assert_allclose(first["c2w_opencv"], cams[0].c2w)
    with pytest.raises(InputError, match="not an empty folder"):
        ge.write_depth_maps(rendered, out)


def test_cancel_leaves_nothing(short_run, tmp_path):
    trainer, _ = short_run
    cams = ge.export_cameras(trainer, ge.GeometrySettings(views="all"))

    def stop(done, total):
        if done == 3:
            raise InputError(None, "export cancelled")

    with pytest.raises(InputError, match="cancelled"):
        ge.render_views(trainer, cams, on_view=stop, render=exact_render)
    rendered = ge.render_views(trainer, cams[:3], render=exact_render)

    def stop_writing(*_):
        raise InputError(None, "export cancelled")

    with pytest.raises(InputError):
        ge.mesh_from_rendered(rendered, voxel=0.05, on_view=stop_writing)
    assert list(tmp_path.iterdir()) == []


def test_nerf_point_cloud_of_a_short_run_is_metric(short_run):
    """The real renders of a 200-step run (still mostly transparent: a loose opacity threshold): the points
    lie in the room, in metres, and their median distance to a true surface is far below the room's size."""
    trainer, _ = short_run
    cams = ge.export_cameras(trainer, ge.GeometrySettings(views="train"))
    pts, _ = ge.point_cloud(ge.render_views(trainer, cams), min_acc=0.05)
    assert len(pts) > 1000
    assert np.all(np.abs(pts[:, :2]) < 3.0 + 0.5) and np.all((pts[:, 2] > -0.6) & (pts[:, 2] < 2.6 + 0.5))
    assert np.median(surface_distance(ROOM, pts)) < 0.3


def test_export_command(short_run, tmp_path, capsys):
    from app.cli import main

    _, run = short_run
    rc = main(["export", str(run), "--mesh", str(tmp_path / "m.ply"), "--pointcloud", str(tmp_path / "p.ply"),
               "--depth", str(tmp_path / "d"), "--views", "train", "--voxel", "0.05", "--min-acc", "0.05"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "(m)" in out and (tmp_path / "p.ply").is_file() and len(list((tmp_path / "d").glob("*.png"))) == 4
    assert len(read_ply_vertices(tmp_path / "m.ply")) > 100


@pytest.mark.parametrize("args, problem", [
    ([], "nothing to export"),
    (["--mesh", "x.obj"], "must end in .ply"),
    (["--pointcloud", "/no/such/dir/p.ply"], "folder does not exist"),
    (["--mesh", "m.ply", "--min-acc", "1.5"], "--min-acc"),
    (["--mesh", "m.ply", "--min-views", "0"], "--min-views"),
])
def test_export_command_bad_input(short_run, tmp_path, capsys, monkeypatch, args, problem):
    from app.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["export", str(short_run[1]), *args]) == 2
    err = capsys.readouterr().err
    assert problem in err and err.count("\n") == 1


def test_render_a_nerfstudio_camera_path(short_run, tmp_path, capsys):
    """A camera_path.json in nerfstudio's format (keyframes + camera_path) renders with `render --camera-path`."""
    import av

    from app.cli import main
    from devices.axes import opencv_to_opengl

    trainer, run = short_run
    poses = [trainer.scene.c2w[i] for i in trainer.scene.train_ids[:3]]
    flat = [[float(v) for v in opencv_to_opengl(p).reshape(-1)] for p in poses]
    doc = {"camera_type": "perspective", "render_height": 24, "render_width": 32, "fps": 6, "seconds": 0.5,
           "is_cycle": False, "smoothness_value": 0.5,
           "keyframes": [{"matrix": m, "fov": 50.0, "aspect": 32 / 24} for m in flat],
           "camera_path": [{"camera_to_world": m, "fov": 50.0, "aspect": 32 / 24} for m in flat]}
    (tmp_path / "camera_path.json").write_text(json.dumps(doc))
    rc = main(["render", str(run), "--camera-path", str(tmp_path / "camera_path.json"), "--out", str(tmp_path / "v.mp4")])
    assert rc == 0, capsys.readouterr()
    with av.open(str(tmp_path / "v.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        rate = container.streams.video[0].average_rate
    from nerf.video import legend_height

    # two 32 x 24 panels over the depth legend strip
    assert len(frames) == 3 and frames[0].shape == (24 + legend_height(32), 64, 3) and float(rate) == 6
    (tmp_path / "bad.json").write_text("{}")
    assert main(["render", str(run), "--camera-path", str(tmp_path / "bad.json"), "--out", str(tmp_path / "w.mp4")]) == 2
    assert "bad.json" in capsys.readouterr().err and not (tmp_path / "w.mp4").exists()


def test_far_background_depth_counts_the_transparent_rest_at_far(short_run, tmp_path, capsys):
    """The depth training fits to a sensor's: acc d + (1 - acc) far (an opaque ray keeps its depth)."""
    from app.cli import main

    trainer, run = short_run
    cam = Camera(K=np.array([[40.0, 0, 1.5], [0, 40.0, 0.5], [0, 0, 1]]), c2w=np.eye(4), width=3, height=1)
    acc = np.array([[1.0, 0.5, 0.0]], np.float32)
    fake = lambda c: RenderResult(np.zeros((1, 3, 3), np.uint8), np.full((1, 3), 2.0, np.float32), acc, c, 0)  # noqa: E731
    far = trainer.scene.far
    got = ge.render_views(trainer, [cam], render=fake, depth_mode="far_background").results[0].depth
    np.testing.assert_allclose(got, [[2.0, 1.0 + 0.5 * far, far]], rtol=1e-6)
    assert ge.render_views(trainer, [cam], render=fake).results[0].depth[0, 1] == 2.0  # normalised: as rendered
    with pytest.raises(InputError, match="depth mode"):
        ge.render_views(trainer, [cam], render=fake, depth_mode="median")
    rc = main(["export", str(run), "--depth", str(tmp_path / "d"), "--views", "train", "--depth-mode", "far_background"])
    assert rc == 0, capsys.readouterr().err
    assert len(list((tmp_path / "d").glob("*.png"))) == 4


def test_no_surface_gives_a_clear_error(tmp_path):
    from nerf.tsdf_mesh import DepthView, fuse

    cam = Camera(K=np.array([[40.0, 0, 16], [0, 40.0, 12], [0, 0, 1]]), c2w=np.eye(4), width=32, height=24)
    mesh = fuse([DepthView(np.zeros((24, 32, 3), np.uint8), np.zeros((24, 32), np.float32), cam)], 0.05)
    assert len(mesh.triangles) == 0
    with pytest.raises(InputError, match="the mesh is empty"):
        write_mesh(mesh, tmp_path / "m.ply")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def field_runs(short_run, tmp_path_factory):
    """5-step runs of the fast and the sensor field on the same capture (4 training views of 12), by field."""
    from tests.studio.helpers import tiny_run

    root = tmp_path_factory.mktemp("fields")
    scene = short_run[1].parent / "scene"
    return {f: (tiny_run(scene, root / f, f), root / f) for f in ("fast", "sensor")}


def test_auto_views_follow_the_field():
    assert ge.GeometrySettings().views == "auto"  # the CLI's and the Export tab's default
    assert ge.resolve_views("auto", "sensor") == "train"
    assert [ge.resolve_views("auto", f) for f in ("fast", "mipnerf", None)] == ["all"] * 3
    assert [ge.resolve_views(v, "sensor") for v in ("all", "test", "path")] == ["all", "test", "path"]  # as asked
    with pytest.raises(InputError, match="unknown views"):
        ge.resolve_views("some", "sensor")


@pytest.mark.parametrize("field, views, label", [("sensor", "train", "auto: the training views, for the sensor field"),
                                                 ("fast", "all", "auto: every view of the scene, for the fast field")])
def test_export_command_default_views_by_field(field_runs, tmp_path, capsys, field, views, label):
    """With no --views a sensor-field run exports from its training views, a fast-field run from every view."""
    from app.cli import main

    trainer, run = field_runs[field]
    assert trainer.config.field == field
    rc = main(["export", str(run), "--depth", str(tmp_path / "d")])
    out = capsys.readouterr().out
    assert rc == 0, out
    want = len(trainer.scene.train_ids) if views == "train" else trainer.scene.num_views
    assert len(list((tmp_path / "d").glob("depth_*.png"))) == want and want in (4, 12)
    assert f"views: {label}" in out
    # an explicit choice is kept whatever the field
    rc = main(["export", str(run), "--depth", str(tmp_path / "t"), "--views", "test"])
    assert rc == 0 and len(list((tmp_path / "t").glob("depth_*.png"))) == len(trainer.scene.test_ids)


def test_export_help_names_the_auto_views(capsys):
    from app.cli import main

    with pytest.raises(SystemExit):
        main(["export", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "{auto,all,train,test,path}" in out and "(default: auto)" in out and "--field sensor run" in out
