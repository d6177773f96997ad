"""nerf.profiles: one table of per-data-set settings, and ``resolve`` leaving no None behind."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from devices.frame import DepthKind
from nerf.profiles import PROFILES, UNRESOLVED, check_resolved, profile_for, resolve
from nerf.scene import Scene
from nerf.train_config import TrainConfig


def _scene(name: str, dataset: str, window: tuple[int, int] = (30, 30), hw: tuple[int, int] = (32, 40)) -> Scene:
    h, w = hw
    return Scene(name=name, images=np.zeros((2, h, w, 3), np.float32), K=np.tile(np.eye(3), (2, 1, 1)),
                 c2w=np.tile(np.eye(4), (2, 1, 1)), depths=None, depth_kind=DepthKind.METRIC, train_ids=[0],
                 test_ids=[1], near=0.5, far=3.5, ranking_window=window, dataset=dataset)


def _value(config: TrainConfig, path: str):
    group, name = path.split(".")
    return getattr(getattr(config, group), name)


@pytest.mark.parametrize("dataset", [*PROFILES, "something_else"])
def test_resolve_leaves_no_none(dataset):
    config = resolve(TrainConfig(), _scene("s", dataset))
    assert check_resolved(config) is config
    assert all(_value(config, path) is not None for path in UNRESOLVED)
    with pytest.raises(ValueError, match="losses.rank_weight is None"):
        check_resolved(TrainConfig())


@pytest.mark.parametrize("dataset, expected", [
    # lambda, c, smoothness, colour TV, distortion
    ("dtu", (0.2, 1.0, 0.1, 0.03, 0.03)),
    ("llff", (0.5, 0.01, 0.0, 1e-3, 0.01)),
    ("nvs_kinect", (0.5, 0.1, 0.0, 1e-3, 0.01)),
    ("nvs_zed2", (0.5, 0.1, 0.0, 1e-3, 0.01)),
    ("nvs_iphone", (0.5, 0.1, 0.0, 1e-3, 0.01)),
    ("custom", (0.5, 0.1, 0.0, 1e-3, 0.01)),
    ("something_else", (0.5, 0.1, 0.0, 1e-3, 0.01)),  # unknown data sets are treated as our own captures
])
def test_each_data_set_gets_its_values(dataset, expected):
    c = resolve(TrainConfig(), _scene("s", dataset, window=(7, 9)))
    got = (c.losses.rank_weight, c.losses.cont_weight, c.losses.smooth_weight, c.fast.tv_color, c.fast.distortion)
    assert got == expected
    assert c.sampler.ranking_window == (7, 9)  # the scene's window (its loader took it from the profile)


def test_set_values_win_and_resolving_twice_changes_nothing():
    mine = TrainConfig.from_flat(rank_weight=0.0, smooth_weight=0.5, ranking_window=(3, 3), fast={"tv_color": 0.2})
    scene = _scene("scan24", "dtu")
    once = resolve(mine, scene)
    assert (once.losses.rank_weight, once.losses.smooth_weight, once.sampler.ranking_window) == (0.0, 0.5, (3, 3))
    assert (once.losses.cont_weight, once.fast.tv_color, once.fast.distortion) == (1.0, 0.2, 0.03)
    assert resolve(once, scene) == once
    assert mine.losses.cont_weight is None  # the caller's config is not changed
    faithful = resolve(TrainConfig.from_flat(preset="faithful"), scene)
    assert faithful.field == "mipnerf" and resolve(faithful, scene) == faithful


def test_resolve_refuses_a_setting_that_cannot_work():
    with pytest.raises(ValueError, match="sampler.batch_rays must be more than 0"):
        resolve(TrainConfig.from_flat(batch_rays=0), _scene("s", "custom"))
    with pytest.raises(ValueError, match="losses.rank_weight must be at least 0"):
        resolve(TrainConfig.from_flat(rank_weight=-1.0), _scene("s", "custom"))


def test_windows_of_the_original():
    whole = (32, 40)
    assert PROFILES["llff"].window_for("fern", whole) == (30, 30)
    assert PROFILES["llff"].window_for("Leaves", whole) == (180, 180)
    assert PROFILES["llff"].window_for("room", whole) == whole
    assert PROFILES["dtu"].window_for("dtu_scan38", whole) == (100, 100)
    assert PROFILES["dtu"].window_for("scan24", whole) == whole
    assert PROFILES["nvs_kinect"].window_for("scene01", whole) == (5, 5)
    assert profile_for("custom").window_for("desk", whole) is None  # our captures: the scene's own
    assert profile_for(None) is PROFILES["custom"]


def test_capture_side_windows_agree_with_the_profiles():
    """devices never imports nerf, so the sensors' windows are written there too: they must agree."""
    from devices.kinect.source import RANKING_WINDOW as KINECT_CAPTURE
    from devices.nvs_rgbd.sensors import IPHONE, KINECT, ZED2

    assert KINECT.ranking_window == KINECT_CAPTURE == PROFILES["nvs_kinect"].ranking_window
    assert ZED2.ranking_window == PROFILES["nvs_zed2"].ranking_window
    assert IPHONE.ranking_window == PROFILES["nvs_iphone"].ranking_window
    for sensor, dataset in ((KINECT, "nvs_kinect"), (ZED2, "nvs_zed2"), (IPHONE, "nvs_iphone")):
        assert sensor.image_factor == PROFILES[dataset].downscale


def test_profiles_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROFILES["dtu"].rank_weight = 1.0  # type: ignore[misc]


def test_auto_field_is_the_sensor_field_with_metric_depth_only():
    metric = dataclasses.replace(_scene("room", "custom"), depths=np.ones((2, 32, 40), np.float32), to_metres=1.0)
    assert resolve(TrainConfig(), metric).field == "sensor"
    assert resolve(TrainConfig(field="fast"), metric).field == "fast"  # an explicit choice stays
    relative = dataclasses.replace(metric, depth_kind=DepthKind.RELATIVE, to_metres=None)  # DTU's monocular depth
    assert resolve(TrainConfig(), relative).field == "fast"
    assert resolve(TrainConfig(), dataclasses.replace(metric, ndc=True)).field == "fast"  # LLFF / NVS-RGBD
    assert resolve(TrainConfig(), _scene("nodepth", "llff")).field == "fast"
    with pytest.raises(ValueError, match="field is 'auto'"):
        check_resolved(dataclasses.replace(resolve(TrainConfig(), metric), field="auto"))


def test_dtu_trains_the_fast_field_on_a_finer_grid_than_other_data_sets():
    """DTU's profile grows the fast field's grid to 96^3 (its training views were fitted to ~18.6 dB masked at
    48^3); every other data set keeps 48^3, and a schedule that was set wins."""
    from nerf.profiles import DTU_SCHEDULE

    assert resolve(TrainConfig(), _scene("scan24", "dtu")).fast.resolution_schedule == DTU_SCHEDULE
    assert DTU_SCHEDULE[-1][1] == 96
    for dataset in ("llff", "nvs_kinect", "custom"):
        assert resolve(TrainConfig(), _scene("s", dataset)).fast.resolution_schedule == ((0, 24), (300, 32), (1200, 48))
    mine = TrainConfig.from_flat(fast={"resolution_schedule": ((0, 16),)})
    assert resolve(mine, _scene("scan24", "dtu")).fast.resolution_schedule == ((0, 16),)
