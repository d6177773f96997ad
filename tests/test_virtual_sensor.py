"""The virtual sensor: exact geometry, the ToF depth model, exact poses, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from devices.axes import is_rigid
from devices.frame import DepthKind, FrameSource
from devices.virtual import VirtualSensor, VirtualSensorConfig, default_scene
from devices.virtual.depth_model import edge_mask, noise_std


@pytest.fixture(scope="module")
def sensor() -> VirtualSensor:
    return VirtualSensor(VirtualSensorConfig(num_frames=4))


def shape_index(scene, name: str) -> int:
    return scene.names.index(name)


def project(K: np.ndarray, c2w: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World points [N, 3] -> (pixels [N, 2], depth along the optical axis [N])."""
    w2c = np.linalg.inv(c2w)
    cam = points @ w2c[:3, :3].T + w2c[:3, 3]
    uv = cam[:, :2] / cam[:, 2:] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
    return uv, cam[:, 2]


def unproject(K: np.ndarray, c2w: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels with depth > 0 -> (world points [N, 3], flat pixel indices [N])."""
    h, w = depth.shape
    v, u = np.nonzero(depth > 0)
    z = depth[v, u].astype(np.float64)
    cam = np.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z, z], axis=1)
    return cam @ c2w[:3, :3].T + c2w[:3, 3], v * w + u


class TestRaycast:
    """Hits worked out by hand from the room's layout (scene.py)."""

    def test_floor_ceiling_wall_ball(self):
        scene = default_scene()
        origins = np.array([[0.0, -1.5, 1.0], [0.0, 0.25, 2.0], [0.0, -2.5, 2.0], [-0.85, -2.5, 0.3]])
        dirs = np.array([[0.0, 0, -2], [0, 0, 1], [0, 1, 0], [0, 1, 0]])
        hit = scene.raycast(origins, dirs)
        # Floor z=0 from 1 m with a direction of length 2: t = 0.5. Ceiling 2.6 m: t = 0.6.
        # Back wall y=3 from y=-2.5 above everything: t = 5.5. Ball at y=-0.2, r=0.3: t = 2.0.
        np.testing.assert_allclose(hit.t, [0.5, 0.6, 5.5, 2.0])
        names = [scene.names[k] for k in hit.shape_id]
        assert names == ["floor", "ceiling", "back wall", "checker ball"]
        np.testing.assert_allclose(hit.normals, [[0, 0, 1], [0, 0, -1], [0, -1, 0], [0, -1, 0]], atol=1e-12)
        np.testing.assert_allclose(hit.points[3], [-0.85, -0.5, 0.3])
        assert np.all((hit.albedo >= 0) & (hit.albedo <= 1))

    def test_box_and_cylinder(self):
        scene = default_scene()
        # Straight down onto the column's top cap (z = 0.7) between it and the ball above? The
        # ball (centre z 0.92, r 0.22) sits on the cap: a ray down its axis meets the ball's top first.
        hit = scene.raycast(np.array([0.95, 0.85, 2.0]), np.array([[0.0, 0, -1], [0.0, 0, 1]]))
        np.testing.assert_allclose(hit.t, [2.0 - 1.14, 0.6])
        # A ray up from under the printed cube's centre, inside the table? Start above the cube instead.
        hit = scene.raycast(np.array([0.05, 0.35, 2.0]), np.array([[0.0, 0, -1]]))
        np.testing.assert_allclose(hit.t, [2.0 - 1.0])  # the cube's top face at z = 0.85 + 0.15
        assert scene.names[hit.shape_id[0]] == "printed cube"


class TestFrames:
    def test_source_interface(self):
        cfg = VirtualSensorConfig(num_frames=3, fps=10.0)
        with VirtualSensor(cfg) as source:
            assert isinstance(source, FrameSource)
            frames = list(source)
            info = source.info
        assert [f.index for f in frames] == [0, 1, 2]
        assert [f.timestamp for f in frames] == pytest.approx([0.0, 0.1, 0.2])
        assert info.sensor == "virtual" and info.has_poses and info.frame_count == 3
        assert info.depth_kind is DepthKind.METRIC and info.ranking_window == (30, 30)
        assert (info.width, info.height, info.fps) == (320, 240, 10.0)

    def test_live_source_has_no_end(self):
        source = VirtualSensor(VirtualSensorConfig(width=16, height=12))
        assert source.info.frame_count is None
        it = iter(source)
        assert [next(it).index for _ in range(25)] == list(range(25))

    def test_shapes_and_types(self, sensor):
        f = sensor.frame(0)
        assert f.rgb.shape == (240, 320, 3) and f.rgb.dtype == np.uint8
        assert f.depth.shape == (240, 320) and f.depth.dtype == np.float32
        assert f.K.shape == (3, 3) and f.c2w.shape == (4, 4) and is_rigid(f.c2w, tol=1e-9)
        assert f.depth_kind is DepthKind.METRIC and f.distortion is None
        assert f.rgb.std() > 20  # textured, not flat

    def test_deterministic_with_seed(self):
        a, b = VirtualSensor(seed=3), VirtualSensor(seed=3)
        for i in (0, 7):
            fa, fb = a.frame(i), b.frame(i)
            np.testing.assert_array_equal(fa.rgb, fb.rgb)
            np.testing.assert_array_equal(fa.depth, fb.depth)
            np.testing.assert_array_equal(fa.c2w, fb.c2w)
        # Random access gives the same frame as streaming.
        np.testing.assert_array_equal(list(VirtualSensor(seed=3, num_frames=2))[1].depth, a.frame(1).depth)
        other = VirtualSensor(seed=4).frame(0)
        assert not np.array_equal(other.rgb, a.frame(0).rgb)

    def test_path_is_smooth(self):
        sensor = VirtualSensor()
        centres = np.stack([sensor.c2w(i)[:3, 3] for i in range(90)])
        steps = np.linalg.norm(np.diff(centres, axis=0), axis=1)
        assert steps.max() < 0.1  # metres per frame at 15 fps (1.5 m/s): a brisk hand-held sweep
        assert np.abs(np.diff(centres, n=2, axis=0)).max() < 0.01  # no jerks
        assert np.linalg.norm(centres[60] - centres[0]) > 2.5  # half a period (4 s) sweeps the whole arc
        # The camera keeps the scene centre in view.
        uv, z = project(sensor.K, sensor.c2w(30), np.array([sensor.scene.centre]))
        assert z[0] > 0 and 0 < uv[0, 0] < 320 and 0 < uv[0, 1] < 240


class TestDepthModel:
    @pytest.mark.parametrize("i", [0, 30])
    def test_depth_agrees_with_geometry(self, sensor, i):
        f = sensor.frame(i)
        _, exact = sensor.render_exact(i)
        valid = f.depth > 0
        assert valid.mean() > 0.5
        err = np.abs(f.depth[valid] - exact[valid])
        tol = 6 * noise_std(exact[valid], sensor.cfg) + sensor.cfg.depth_quantum_m / 2 + 1e-6
        assert np.all(err <= tol)
        # The noise is there, and grows with distance.
        near, far = valid & (exact < 1.5), valid & (exact > 3.0)
        assert near.sum() > 100 and far.sum() > 100
        assert (f.depth - exact)[far].std() > 2 * (f.depth - exact)[near].std()

    def test_holes_at_depth_edges(self, sensor):
        f = sensor.frame(0)
        _, exact = sensor.render_exact(0)
        edges = edge_mask(exact, sensor.cfg)
        assert edges.sum() > 100
        assert np.all(f.depth[edges] == 0)

    def test_holes_on_dark_surfaces(self, sensor):
        from devices.virtual.sensor import camera_rays

        k = shape_index(sensor.scene, "dark box")
        origin, dirs = camera_rays(sensor.K, sensor.c2w(0), 320, 240)
        on_dark = (sensor.scene.raycast(origin, dirs).shape_id == k).reshape(240, 320)
        assert on_dark.sum() > 500, "the dark box should be in view of frame 0"
        assert np.all(sensor.frame(0).depth[on_dark] == 0)

    def test_nothing_beyond_range(self, sensor):
        cfg = sensor.cfg
        f = sensor.frame(0)
        _, exact = sensor.render_exact(0)
        beyond = exact > cfg.max_range_m
        assert beyond.sum() > 500, "the back wall should be out of range"
        assert np.all(f.depth[beyond] == 0)
        assert f.depth.max() <= cfg.max_range_m
        assert f.depth[f.depth > 0].min() >= cfg.min_range_m


class TestPoses:
    def test_known_point_lands_where_drawn(self, sensor):
        """The ball's centre, projected with the frame's K and c2w, is where the ball is drawn, at
        the depth worked out by hand: along the ray through the centre the surface is r nearer."""
        ball = sensor.scene.shapes[shape_index(sensor.scene, "checker ball")]
        for i in (0, 20, 40):
            f = sensor.frame(i)
            uv, zs = project(f.K, f.c2w, np.array([ball.centre]))
            (u, v), z = uv[0], zs[0]
            assert 0 <= u < 319 and 0 <= v < 239, "the ball should be in view"
            dist = np.linalg.norm(np.asarray(ball.centre) - f.c2w[:3, 3])
            expected = z * (dist - ball.radius) / dist
            _, exact = sensor.render_exact(i)
            drawn, _ = bilinear_depth(exact, np.array([[u, v]]))
            assert drawn[0] == pytest.approx(expected, abs=1e-4)
            if f.depth[int(round(v)), int(round(u))] > 0:
                assert f.depth[int(round(v)), int(round(u))] == pytest.approx(expected, abs=0.01)

    @pytest.mark.parametrize("i, j, agree", [(0, 1, 0.95), (10, 25, 0.85), (10, 40, 0.6)])
    def test_frames_agree_by_reprojection(self, sensor, i, j, agree):
        """Frame i's exact depth, moved into frame j with the two frames' K and c2w, lands on frame
        j's depth (or behind it, where frame j sees an occluder); never in front of it."""
        fi, fj = sensor.frame(i), sensor.frame(j)
        _, exact_i = sensor.render_exact(i)
        _, exact_j = sensor.render_exact(j)
        points, _ = unproject(fi.K, fi.c2w, exact_i)
        z, seen = reproject(fj.K, fj.c2w, points, exact_j)
        ahead = z - seen
        assert len(z) > 0.6 * exact_i.size
        # Exact to rounding where nothing occludes; the rest is occlusion, and on curved surfaces
        # and box creases (not planar within a pixel) the interpolation is off by a few mm.
        assert np.median(np.abs(ahead)) < 1e-6
        assert np.mean(np.abs(ahead) < 1e-3) > agree
        assert np.mean(ahead < -0.01) < 1e-3

    def test_reported_depth_reprojects(self, sensor):
        """The same with the depth the sensor reports: agreement within its noise."""
        fi, fj = sensor.frame(0), sensor.frame(1)
        _, exact_j = sensor.render_exact(1)
        points, _ = unproject(fi.K, fi.c2w, fi.depth)
        z, seen = reproject(fj.K, fj.c2w, points, exact_j)
        assert np.mean(np.abs(z - seen) < 4 * noise_std(seen, sensor.cfg) + 1e-3) > 0.95


def bilinear_depth(depth: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth [H, W] at subpixel uv [N, 2], interpolating 1/depth (exact on planes).

    Returns (depth [N], smooth [N]): smooth is False where the 2x2 neighbourhood spans a depth edge.
    """
    inv = 1.0 / depth
    u0, v0 = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
    fu, fv = uv[:, 0] - u0, uv[:, 1] - v0
    top = inv[v0, u0] * (1 - fu) + inv[v0, u0 + 1] * fu
    bottom = inv[v0 + 1, u0] * (1 - fu) + inv[v0 + 1, u0 + 1] * fu
    corners = np.stack([depth[v0, u0], depth[v0, u0 + 1], depth[v0 + 1, u0], depth[v0 + 1, u0 + 1]])
    return 1.0 / (top * (1 - fv) + bottom * fv), corners.max(axis=0) < 1.05 * corners.min(axis=0)


def reproject(K: np.ndarray, c2w: np.ndarray, points: np.ndarray, depth: np.ndarray):
    """(depth of world points [N, 3] in camera c2w, depth map [H, W] at their pixels), for the
    points that land inside the image away from depth edges."""
    h, w = depth.shape
    uv, z = project(K, c2w, points)
    inside = (z > 0) & np.all((uv >= 0) & (uv < [w - 1, h - 1]), axis=1)
    seen, smooth = bilinear_depth(depth, uv[inside])
    return z[inside][smooth], seen[smooth]
