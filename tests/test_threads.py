"""nerf.threads: a thread that renders beside the training takes the cores the training leaves free, not a
second budget of its own (each Python thread gets its own OpenMP team in torch)."""

import threading

import pytest
import torch

import nerf.threads as th


def _on_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


@pytest.fixture
def four_cores(monkeypatch):
    saved = torch.get_num_threads()
    monkeypatch.setattr(th, "available_cores", lambda: 4)
    monkeypatch.setattr(th, "_budget", None)
    yield
    torch.set_num_threads(saved)


def test_a_thread_that_ran_torch_keeps_its_team_size_and_a_new_thread_takes_the_process_value(four_cores):
    """What the studio met: the preview thread runs with the training's whole budget, whatever the training
    thread does (the fact the helpers below rest on)."""
    th.apply_threads(3)
    assert _on_thread(torch.get_num_threads) == 3


def test_a_side_thread_gets_the_free_cores_and_the_process_keeps_its_budget(four_cores):
    assert th.side_threads() is None  # no budget applied: leave torch's default alone
    th.apply_threads(3)
    assert th.side_threads() == 1

    def side():
        th.limit_this_thread(th.side_threads())
        (torch.rand(64, 64) @ torch.rand(64, 64)).sum()  # its first ops keep the limit
        return torch.get_num_threads()

    assert _on_thread(side) == 1
    assert torch.get_num_threads() == 3  # the caller of apply_threads (the training) keeps its budget
    assert _on_thread(torch.get_num_threads) == 3  # and so does a thread started later (the next training)
    assert th.side_threads(training=False) == 3  # no training runs: the preview may take the budget
    th.apply_threads(1)
    assert th.side_threads() == 3
    with pytest.raises(ValueError):
        th.limit_this_thread(0)
