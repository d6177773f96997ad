"""The depth half of a video frame, read back from its colours: no "near" band along the frame edges and no
artefacts against the sensor, on the virtual room and the real 7-Scenes kitchen (its 3-view split as
``benchmarks/sensor_scenes.py`` makes it, at a quarter of the resolution).

A frame's depth half is decoded to the Turbo position of each pixel (1 = near = red, 0 = far, NaN = black, no
depth). An edge band is the outermost row or column being nearer than the pixels a few rows inside it far more
often than lines inside the frame are: a floor that comes nearer towards the bottom edge is no band.
"""

from __future__ import annotations

import numpy as np
import pytest

from nerf.colormap import TURBO_LUT, robust_range
from nerf.video import MIN_ACC, side_by_side
from tests.conftest import shared_path

STEPS = 40
"""Training steps of each short model (the sensor field is depth-seeded: its geometry is there from step 0)."""


def decode_depth_half(frame: np.ndarray, h: int) -> np.ndarray:
    """[h, W/2] Turbo position in [0, 1] of each pixel of a frame's depth half (1 = near), NaN where black."""
    half = frame[:h, frame.shape[1] // 2:].astype(np.int64)
    lut = TURBO_LUT.astype(np.int64)
    dist = ((half[:, :, None, :] - lut[None, None]) ** 2).sum(-1)  # [h, w, 256]
    x = dist.argmin(-1) / 255.0  # colorize maps near to the high (red) end of the table
    x[half.sum(-1) == 0] = np.nan
    return x


def nearer_fraction(x: np.ndarray, line: int, step: int = 4, jump: float = 0.15) -> float:
    """Over the four sides, the fraction of pixels on the line ``line`` rows / columns in from the edge that are
    nearer by more than ``jump`` (of the colour scale) than the pixel ``step`` further in."""
    pairs = [(x[line], x[line + step]), (x[-1 - line], x[-1 - line - step]),
             (x[:, line], x[:, line + step]), (x[:, -1 - line], x[:, -1 - line - step])]
    outer = np.concatenate([a for a, _ in pairs])
    inner = np.concatenate([b for _, b in pairs])
    ok = np.isfinite(outer) & np.isfinite(inner)
    return float(np.mean(outer[ok] - inner[ok] > jump)) if ok.any() else 0.0


def assert_no_edge_band(x: np.ndarray, what: str) -> None:
    border = nearer_fraction(x, 0)
    interior = max(nearer_fraction(x, k) for k in (8, 12, 16))
    assert border <= max(0.05, 2.0 * interior), f"{what}: {border:.0%} of the edge is a near band (inside: {interior:.0%})"


def test_a_red_edge_band_is_caught():
    """The check itself: a smooth depth ramp passes; the same with fog in front of the edges does not."""
    h, w = 48, 64
    depth = np.tile(np.linspace(1.0, 3.0, h)[:, None], (1, w)).astype(np.float32)  # a floor: nearer at the bottom
    banded = depth.copy()
    banded[:, :2] = banded[:, -2:] = banded[:2] = 0.2  # the old band: fog right in front of the camera
    for d, band in ((depth, False), (banded, True)):
        rgb = np.zeros((h, w, 3), np.uint8)
        from nerf.types import Camera, RenderResult

        cam = Camera(K=np.eye(3), c2w=np.eye(4), width=w, height=h)
        result = RenderResult(rgb=rgb, depth=d, acc=np.ones_like(d), camera=cam, step=0)
        x = decode_depth_half(side_by_side(result, (0.2, 3.0)), h)
        if band:
            with pytest.raises(AssertionError, match="near band"):
                assert_no_edge_band(x, "banded")
        else:
            assert_no_edge_band(x, "ramp")


def _train(scene, tmp_path, field: str = "auto"):
    from nerf.train_config import TrainConfig
    from nerf.trainer import Trainer

    cfg = TrainConfig.from_flat(field=field, steps=STEPS, batch_rays=512, threads=1, snapshot_interval_s=1e9,
                                eval_every_s=1e9, preview_every_s=1e9, checkpoint_every_s=1e9)
    trainer = Trainer.create(scene, cfg, run_dir=tmp_path / "run")
    trainer.control.run()
    return trainer


def _check_scene(trainer, what: str) -> None:
    """Frames of the interp and orbit paths have no edge band; a training view's shown depth is the sensor's."""
    from nerf.paths import camera_path

    scene = trainer.scene
    for kind in ("interp", "orbit"):
        cams = camera_path(scene, kind, 12)
        first = trainer.render(cams[0])
        rng = robust_range(first.depth, first.acc > MIN_ACC)  # as the video: the first frame's range
        for k in (0, 3, 7):
            r = first if k == 0 else trainer.render(cams[k])
            assert_no_edge_band(decode_depth_half(side_by_side(r, rng), r.depth.shape[0]), f"{what} {kind} {k}")
    # no triangles or spikes: at a training view, where a depth is shown it is the sensor's (after STEPS steps the
    # opacity still has gaps, which show black: a hole, never a wrong colour)
    i = scene.train_ids[0]
    r = trainer.render(trainer.view_camera(i))
    sensor = scene.depths[i] / scene.to_metres
    rng = robust_range(sensor, sensor > 0)
    shown = decode_depth_half(side_by_side(r, rng, legend=False), r.depth.shape[0])
    truth = 1.0 - (np.clip(sensor, *rng) - rng[0]) / (rng[1] - rng[0])
    valid = (sensor > 0) & (sensor >= rng[0]) & (sensor <= rng[1])
    assert np.isfinite(shown[valid]).mean() > 0.7, f"{what}: black where the sensor measured depth"
    ok = valid & np.isfinite(shown)
    wrong = np.abs(shown[ok] - truth[ok]) > 0.1  # a tenth of the colour scale
    print(f"{what}: {wrong.mean():.1%} off the sensor by > 0.1 of the scale")
    # measured after STEPS steps: room 0 %, kitchen 6 % (its depth is registered to colour, not exact)
    assert wrong.mean() < 0.1, f"{what}: {wrong.mean():.1%} of the depth half disagrees with the sensor"


@pytest.mark.slow
def test_virtual_room_depth_video_has_no_edge_band(tmp_path):
    from devices.capture import record
    from devices.virtual import VirtualSensor, VirtualSensorConfig
    from nerf.loaders import load_scene

    with VirtualSensor(VirtualSensorConfig(width=96, height=72, num_frames=16)) as source:
        record(source, tmp_path / "room", train_views=3)
    _check_scene(_train(load_scene(tmp_path / "room"), tmp_path), "room")


def _kitchen():
    from nerf.loaders.seven_scenes import load_seven_scenes

    return load_seven_scenes(shared_path("7scenes_redkitchen"), downscale=4)  # 160 x 120, the benchmark's split


def test_kitchen_depth_video_has_no_edge_band(tmp_path):
    _check_scene(_train(_kitchen(), tmp_path), "kitchen")


def test_the_check_catches_the_old_band_on_a_real_render(tmp_path):
    """The band as it was: the fast field's depth shown wherever it rendered, however transparent (no MIN_ACC):
    the expected depth of a ray through a little fog is right in front of the camera."""
    from nerf.paths import camera_path

    trainer = _train(_kitchen(), tmp_path, field="fast")
    caught = []
    for cam in camera_path(trainer.scene, "interp", 12)[:4]:
        r = trainer.render(cam)
        x = decode_depth_half(side_by_side(r, robust_range(r.depth), min_acc=0.0), r.depth.shape[0])
        try:
            assert_no_edge_band(x, "no MIN_ACC")
        except AssertionError:
            caught.append(cam)
    assert caught, "the old edge band went unnoticed"
