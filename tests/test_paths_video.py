"""Camera paths (spiral, interp, orbit), the Turbo colour map and the MP4 writer."""

from __future__ import annotations

import av
import numpy as np
import pytest

from devices.camera_geometry import average_pose, look_at
from devices.errors import InputError
from devices.frame import DepthKind
from nerf.colormap import TURBO_LUT, colorize, robust_range
from nerf.paths import (
    camera_path,
    facing_orbit_poses,
    interp_poses,
    orbit_poses,
    spiral_poses,
)
from nerf.scene import Scene
from nerf.types import Camera, RenderResult
from nerf.video import depth_legend, legend_height, render_video, side_by_side


def _ring(n: int = 6, radius: float = 2.0, target=(0.0, 0.0, 0.0)) -> np.ndarray:
    """n cameras on a horizontal arc (y is down) looking at ``target``."""
    target = np.asarray(target)
    angles = np.linspace(-0.6, 0.6, n)
    return np.stack([look_at(target + radius * np.array([np.sin(a), -0.3, -np.cos(a)]), target,
                             np.array([0.0, -1.0, 0.0])) for a in angles])


def _axis_distance(pose: np.ndarray, point: np.ndarray) -> float:
    d = pose[:3, 2]
    v = point - pose[:3, 3]
    return float(np.linalg.norm(v - (v @ d) * d))


class TestPaths:
    def test_interp_passes_through_the_keys_and_is_rigid(self):
        keys = _ring(4)
        poses = interp_poses(keys, 40, loop=True)
        for k in range(4):  # key k is frame 10 k
            np.testing.assert_allclose(poses[10 * k], keys[k], atol=1e-9)
        for p in poses:
            np.testing.assert_allclose(p[:3, :3] @ p[:3, :3].T, np.eye(3), atol=1e-9)
        open_path = interp_poses(keys, 7, loop=False)
        np.testing.assert_allclose(open_path[-1], keys[-1], atol=1e-9)

    def test_orbit_circles_the_centre_looking_at_it(self):
        keys = _ring(5, target=(0.0, 0.0, 1.0))
        poses = orbit_poses(keys, 12)
        dists = np.linalg.norm(poses[:, :3, 3] - [0, 0, 1.0], axis=1)
        np.testing.assert_allclose(dists, dists[0], rtol=1e-9)
        # Keys are |2 (sin a, -0.3, -cos a)| from the centre; the orbit's "up" is the mean of the keys' up
        # axes, which tilts a little towards the mean view direction, so the circle is close but not exact.
        np.testing.assert_allclose(dists[0], 2.0 * np.sqrt(1.09), rtol=1e-3)
        assert max(_axis_distance(p, np.array([0, 0, 1.0])) for p in poses) < 1e-9
        # Starts at the first key's azimuth and the keys' mean height: near the first key.
        np.testing.assert_allclose(poses[0][:3, 3], keys[0][:3, 3], atol=0.05)

    def test_facing_orbit_stays_in_the_camera_plane(self):
        keys = _ring(5, radius=3.0, target=(0.0, 0.0, 1.0))
        poses = facing_orbit_poses(keys, 10)
        avg = average_pose(keys)
        local = (np.linalg.inv(avg)[None] @ poses)[:, :3, 3]
        np.testing.assert_allclose(local[:, 2], 0.0, atol=1e-9)  # in the average camera's image plane
        np.testing.assert_allclose(np.linalg.norm(local[:, :2], axis=1), np.linalg.norm(local[0, :2]), rtol=1e-9)
        assert max(_axis_distance(p, np.array([0, 0, 1.0])) for p in poses) < 1e-6

    def test_spiral_around_average_pose_looking_at_focus(self):
        # Forward-facing: cameras near the identity; near 1, far 10 -> focus 1 / (0.25/0.9 + 0.75/50).
        rng = np.random.default_rng(0)
        poses = np.tile(np.eye(4), (8, 1, 1))
        poses[:, :3, 3] = rng.uniform(-0.2, 0.2, (8, 3))
        path = spiral_poses(poses, 1.0, 10.0, n_frames=30)
        focus = 1 / (0.25 / 0.9 + 0.75 / 50.0)
        mean = poses[:, :3, 3].mean(0)
        target = mean + np.array([0, 0, focus])
        assert path.shape == (30, 4, 4)
        assert max(_axis_distance(p, target) for p in path) < 1e-9
        radii = np.percentile(np.abs(poses[:, :3, 3] - mean), 90, axis=0)
        assert np.all(np.abs(path[:, :3, 3] - mean) <= radii + 1e-9)

    def test_camera_path_uses_train_intrinsics_and_width(self):
        keys = _ring(4)
        K = np.array([[50.0, 0, 40], [0, 50.0, 30], [0, 0, 1]])
        scene = Scene(name="s", images=np.zeros((4, 60, 80, 3), np.float32), K=np.tile(K, (4, 1, 1)), c2w=keys,
                      depths=None, depth_kind=DepthKind.RELATIVE, train_ids=[0, 1, 2], test_ids=[3], near=1, far=3)
        cams = camera_path(scene, "interp", n_frames=9, width=40)
        assert len(cams) == 9 and cams[0].width == 40 and cams[0].height == 30
        np.testing.assert_allclose(cams[0].K[0, 0], 25.0)
        np.testing.assert_allclose(cams[3].c2w, keys[1], atol=1e-9)  # 3 keys over 9 frames
        with pytest.raises(ValueError, match="unknown path"):
            camera_path(scene, "zigzag")


class TestColormap:
    def test_lut_is_turbo_ends(self):
        assert TURBO_LUT.shape == (256, 3)
        assert TURBO_LUT[0, 2] > TURBO_LUT[0, 0]  # low end blue
        assert TURBO_LUT[255, 0] > TURBO_LUT[255, 2]  # high end red

    def test_invalid_black_and_near_warm(self):
        depth = np.array([[1.0, 2.0, np.nan, 5.0]])
        rgb = colorize(depth, (1.0, 2.0), valid=np.array([[True, True, True, False]]))
        np.testing.assert_array_equal(rgb[0, 1], TURBO_LUT[0])
        np.testing.assert_array_equal(rgb[0, 0], TURBO_LUT[255])
        assert not rgb[0, 2].any() and not rgb[0, 3].any()

    def test_robust_range_ignores_outliers(self):
        v = np.concatenate([np.linspace(1, 2, 1000), [1e6]])[None]
        lo, hi = robust_range(v)
        assert 1.0 <= lo < 1.02 and 1.98 < hi < 2.1


def _direct_render(cam: Camera) -> RenderResult:
    """A smooth image and depth that depend on the camera (a stand-in renderer for the writer)."""
    yy, xx = np.mgrid[0 : cam.height, 0 : cam.width].astype(np.float64)
    shift = cam.c2w[0, 3]
    rgb = np.stack([xx / cam.width, yy / cam.height, 0.5 + 0.4 * np.sin(shift + xx / 9)], -1)
    depth = (1.0 + yy / cam.height + shift).astype(np.float32)
    return RenderResult(rgb=(rgb * 255).round().astype(np.uint8), depth=depth,
                        acc=np.ones_like(depth), camera=cam, step=0)


def _cams(n: int, w: int = 63, h: int = 47) -> list[Camera]:
    out = []
    for k in range(n):
        c2w = np.eye(4)
        c2w[0, 3] = 0.3 * k
        out.append(Camera(K=np.eye(3), c2w=c2w, width=w, height=h))
    return out


class TestVideo:
    def test_decodes_to_expected_frames_and_size_left_half_matches(self, tmp_path):
        cams = _cams(6)
        done = []
        info = render_video(_direct_render, cams, tmp_path / "v.mp4", fps=10, on_frame=lambda k, n: done.append(k))
        # two 64 x 48 panels over the 16-pixel legend strip
        assert done == [1, 2, 3, 4, 5, 6] and (info.width, info.height) == (128, 48 + legend_height(64))
        with av.open(str(tmp_path / "v.mp4")) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert len(frames) == 6 and frames[0].shape == (64, 128, 3)
        for k, (f, cam) in enumerate(zip(frames, cams)):
            left = f[:47, :63].astype(np.float64)
            err = np.abs(left - _direct_render(cam).rgb).mean()
            # yuv420p's shared chroma alone costs ~2.4 levels on this saturated test image; H.264 adds little.
            assert err < 3.5
            other = _direct_render(cams[(k + 3) % 6]).rgb
            assert np.abs(left - other).mean() > 3 * err  # and it is this frame's render, not another's
        assert list(tmp_path.iterdir()) == [tmp_path / "v.mp4"]

    def test_failure_leaves_no_file(self, tmp_path):
        def broken(cam):
            if cam.c2w[0, 3] > 0.5:
                raise RuntimeError("render failed")
            return _direct_render(cam)

        with pytest.raises(RuntimeError):
            render_video(broken, _cams(5), tmp_path / "v.mp4")
        assert list(tmp_path.iterdir()) == []

    def test_missing_folder_is_input_error(self, tmp_path):
        with pytest.raises(InputError, match="does not exist"):
            render_video(_direct_render, _cams(1), tmp_path / "no" / "v.mp4")


class TestDepthPanel:
    def test_transparent_pixels_have_no_depth_colour(self):
        """A nearly transparent ray (acc 0.1) reporting a near depth is black, not a red "near" band."""
        cam = _cams(1, 8, 6)[0]
        depth = np.full((6, 8), 3.0, np.float32)
        depth[:, 0] = 0.5  # the edge column: fog in front of the camera
        acc = np.ones((6, 8), np.float32)
        acc[:, 0] = 0.1
        res = RenderResult(rgb=np.zeros((6, 8, 3), np.uint8), depth=depth, acc=acc, camera=cam, step=0)
        frame = side_by_side(res, (1.0, 4.0), legend=False)
        assert not frame[:, 8].any() and frame[:, 9].any()

    def test_legend_in_metres_or_near_far(self):
        metric = depth_legend(200, (0.5, 3.0), 1.0)
        ndc = depth_legend(200, (0.5, 3.0), None)
        assert metric.shape == (legend_height(200), 200, 3)
        np.testing.assert_array_equal(metric[0, 0], TURBO_LUT[255])  # near (left) is red as in the panel
        np.testing.assert_array_equal(metric[0, -1], TURBO_LUT[0])
        assert (metric != ndc).any()  # different labels
        cam = _cams(1, 8, 6)[0]
        res = RenderResult(rgb=np.zeros((6, 8, 3), np.uint8), depth=np.ones((6, 8), np.float32),
                           acc=np.ones((6, 8), np.float32), camera=cam, step=0, depth_is_ndc=True)
        frame = side_by_side(res, (0.0, 1.0), metres_per_unit=1.0)
        np.testing.assert_array_equal(frame[6:, 8:], depth_legend(8, (0.0, 1.0), None))  # NDC: near / far


class TestLegendScale:
    """One function decides metres or "near" / "far" for every depth legend (CLI, studio export, preview)."""

    def _scene(self, to_metres, ndc=False) -> Scene:
        K = np.array([[50.0, 0, 40], [0, 50.0, 30], [0, 0, 1]])
        return Scene(name="s", images=np.zeros((2, 60, 80, 3), np.float32), K=np.tile(K, (2, 1, 1)),
                     c2w=np.tile(np.eye(4), (2, 1, 1)), depths=None, depth_kind=DepthKind.METRIC,
                     train_ids=[0], test_ids=[1], near=1, far=3, to_metres=to_metres, ndc=ndc)

    def test_metric_scene_in_metres_else_near_far(self):
        from nerf import legend_scale

        assert legend_scale(self._scene(0.25)) == 0.25
        assert legend_scale(self._scene(None)) is None
        assert legend_scale(self._scene(1.0, ndc=True)) is None

    def test_legend_labels_follow_it(self):
        from nerf import legend_scale

        metric = depth_legend(160, (1.0, 4.0), legend_scale(self._scene(0.5)))
        plain = depth_legend(160, (1.0, 4.0), legend_scale(self._scene(None)))
        assert not np.array_equal(metric, plain)
        np.testing.assert_array_equal(metric, depth_legend(160, (1.0, 4.0), 0.5))  # "0.50 m" ... "2.00 m"
