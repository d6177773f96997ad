"""The shared run-state enum and the latest-wins slot (nerf.run_state, nerf.latest)."""

from __future__ import annotations

import json
import threading

from nerf.latest import LatestSlot
from nerf.run_state import RunState


def test_run_state_equals_the_strings_saved_runs_hold():
    assert RunState.RUNNING == "running" and RunState("finished") is RunState.FINISHED
    assert json.dumps({"state": RunState.PAUSED}) == '{"state": "paused"}'  # metrics.jsonl stays readable
    assert {s for s in RunState if s.active} == {"loading", "running", "paused", "stopping"}
    assert {s for s in RunState if s.ended} == {"stopped", "finished"}
    assert not RunState.FAILED.active and not RunState.IDLE.ended


def test_latest_slot_keeps_only_the_newest_value():
    slot: LatestSlot[int] = LatestSlot()
    assert slot.take() is None and not slot.pending()
    assert slot.put(1) is True  # empty before: the consumer needs a wake-up
    assert slot.put(2) is False and slot.put(3) is False  # replaced, no second wake-up
    assert slot.pending() and slot.take() == 3
    assert slot.take() is None


def test_latest_slot_under_concurrent_producers_ends_with_one_value():
    slot: LatestSlot[tuple[int, int]] = LatestSlot()
    taken: list[tuple[int, int]] = []

    def produce(k: int) -> None:
        for i in range(2000):
            slot.put((k, i))

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        v = slot.take()
        if v is not None:
            taken.append(v)
    for t in threads:
        t.join()
    last = slot.take()
    if last is not None:
        taken.append(last)
    assert slot.take() is None
    for k in range(4):  # each producer's values arrive in order (never an older one after a newer one)
        mine = [i for kk, i in taken if kk == k]
        assert mine == sorted(mine)
    assert any(i == 1999 for _, i in taken)  # the last value put by some producer is seen
