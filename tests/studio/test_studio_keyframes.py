"""The camera-path editor's model (app.studio.models.keyframes), with no widget: add, reorder, retime, delete,
the looping path's duration, and a save / load round trip through nerfstudio's camera_path.json."""

from __future__ import annotations

import numpy as np
import pytest

from app.studio.models.keyframes import KeyframeList
from devices.errors import InputError
from nerf.types import Camera


def camera(x: float) -> Camera:
    c2w = np.eye(4)
    c2w[0, 3] = x
    K = np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]])
    return Camera(K=K, c2w=c2w, width=64, height=48)


def three() -> KeyframeList:
    keys = KeyframeList()
    assert [keys.add(camera(x)) for x in (0.0, 1.0, 2.0)] == [0, 1, 2]
    return keys


def positions(keys: KeyframeList) -> list[float]:
    return [float(k.c2w[0, 3]) for k in keys.keyframes]


def test_keyframes_are_added_a_second_apart_and_moved_keeping_their_times():
    keys = three()
    assert [k.time for k in keys.keyframes] == [0.0, 1.0, 2.0]
    assert keys.move(2, -1) == 1
    assert positions(keys) == [0.0, 2.0, 1.0] and [k.time for k in keys.keyframes] == [0.0, 1.0, 2.0]
    assert keys.move(0, -1) == 0 and positions(keys) == [0.0, 2.0, 1.0]  # nothing above the first


def test_retiming_keeps_the_list_sorted_and_refuses_a_taken_time():
    keys = three()
    assert keys.set_time(0, 1.5) == 1  # now between the others
    assert positions(keys) == [1.0, 0.0, 2.0]
    with pytest.raises(ValueError, match="Another keyframe is at 2 s"):
        keys.set_time(0, 2.0)
    assert keys.set_fov(1, 55.0) == 1 and keys.keyframes[1].fov_deg == 55.0
    assert keys.delete(2) == 1 and len(keys.keyframes) == 2


def test_a_looping_path_returns_to_the_first_keyframe_after_the_closing_gap():
    keys = three()
    assert keys.path(64, 48).duration == pytest.approx(2.0)
    keys.loop = True
    path = keys.path(64, 48)
    assert path.loop and path.duration == pytest.approx(3.0)
    assert KeyframeList().path(64, 48) is None


def test_save_and_load_round_trip(tmp_path):
    keys = three()
    keys.loop = True
    with pytest.raises(InputError):
        KeyframeList().save(tmp_path / "empty.json", 24, 64, 48)
    out = keys.save(tmp_path / "camera_path.json", 8, 64, 48)
    back = KeyframeList()
    path = back.load(out)
    assert back.loop and path.loop and len(back.keyframes) == 3
    assert back.path(64, 48).duration == pytest.approx(3.0)
    for a, b in zip(back.keyframes, keys.keyframes):
        np.testing.assert_allclose(a.c2w, b.c2w, atol=1e-6)
        assert a.time == pytest.approx(b.time)
