"""Coverage of a render by the training views (nerf.coverage) and `sparsenerf render --mark-unseen`."""

from __future__ import annotations

import numpy as np
import pytest

from devices.errors import InputError
from nerf.coverage import coverage, mark_unseen, unseen_weight
from nerf.inference import view_camera
from nerf.loaders import load_scene
from nerf.types import RenderResult
from nerf.video import marking_unseen
from tests.nerf_scenes import H, W, plane_scene


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    """The checkerboard plane at z = 2 m; training views 0, 2, 4 slide along x by 0.2 m steps."""
    return load_scene(plane_scene(tmp_path_factory.mktemp("cov") / "plane"))


def test_the_plane_is_seen_by_the_views_whose_frustum_holds_it(plane):
    cam = view_camera(plane, 2)  # the middle training view
    cov = coverage(plane, cam, np.full((H, W), 2.0), np.ones((H, W), bool))
    assert cov.views.min() >= 1 and cov.views.max() == 3
    # the views at x = 0 and 0.4 see the plane over x in [-1.2, 1.2] and [-0.8, 1.6]: this one's (x = 0.2)
    # columns 0-1 (x = -0.95, -0.85) and 22-23 (x = 1.25, 1.35) are outside one of them
    assert np.all(cov.views[:, 2:22] == 3) and np.all(cov.views[:, :2] == 2) and np.all(cov.views[:, 22:] == 2)
    np.testing.assert_allclose(cov.footprint, 1.0, atol=1e-6)  # its own view samples it as finely as it renders


def test_a_surface_no_sensor_measured_has_no_view(plane):
    cam = view_camera(plane, 1)
    depth = np.full((H, W), 2.0)
    depth[:, :10] = 1.5  # rendered 0.5 m in front of what every sensor measured
    valid = np.ones((H, W), bool)
    valid[0] = False
    cov = coverage(plane, cam, depth, valid)
    assert np.all(cov.views[:, :10] == 0) and np.all(cov.views[1:, 12:] >= 1)
    assert np.all(cov.views[0] == 0) and np.all(np.isinf(cov.footprint[0]))


def test_unseen_weight_keeps_regions_and_drops_thin_edges(plane):
    cam = view_camera(plane, 1)
    depth = np.full((H, W), 2.0)
    depth[:, :10] = 1.5  # a region nobody saw
    depth[:, 16:18] = 1.5  # a 2-pixel line, as at a depth edge: no marking there
    w = unseen_weight(plane, cam, depth, np.ones((H, W), bool))
    assert w[:, :7].min() > 0.9 and w[:, 16:18].max() < 0.05 and w[:, 12:15].max() < 0.2


def test_mark_unseen_greys_only_where_the_weight_says():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    weight = np.zeros((H, W), np.float32)
    weight[:, :5] = 1.0
    out = mark_unseen(rgb, weight)
    np.testing.assert_array_equal(out[:, 5:], rgb[:, 5:])
    assert out[:, :5].std() < 0.5 * rgb[:, :5].std()  # flattened towards a grey
    assert np.abs(out[:, :5].astype(float) - 170).mean() < np.abs(rgb[:, :5].astype(float) - 170).mean()


def test_marking_needs_metric_depth(plane):
    from dataclasses import replace

    def render(camera):
        depth = np.full((camera.height, camera.width), 1.5, np.float32)
        return RenderResult(rgb=np.zeros((camera.height, camera.width, 3), np.uint8), depth=depth,
                            acc=np.ones_like(depth), camera=camera, step=0)

    out = marking_unseen(render, plane)(view_camera(plane, 1))
    assert np.all(out.rgb == out.rgb[0, 0]) and out.rgb.min() > 60  # nothing at 1.5 m was seen: all grey
    with pytest.raises(InputError, match="metric sensor depth"):
        marking_unseen(render, replace(plane, depths=None))
