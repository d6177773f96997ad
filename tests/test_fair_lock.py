"""nerf.fair_lock.FairLock: mutual exclusion, and a waiter is served before a thread that re-takes the lock."""

import threading
import time

import pytest

from nerf.fair_lock import FairLock


def test_mutual_exclusion_under_contention():
    lock, counter, inside = FairLock(), [0], [0]

    def work():
        for _ in range(2000):
            with lock:
                inside[0] += 1
                assert inside[0] == 1
                counter[0] += 1
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter[0] == 8000 and not lock.locked()


def test_a_waiter_gets_the_lock_before_a_greedy_holder_takes_it_again():
    """The training loop's pattern: hold, let go, take again at once. A waiter must get in at the next
    hand-over, i.e. within one or two of the greedy thread's turns (a plain Lock often lets it wait many)."""
    lock, stop, turns = FairLock(), threading.Event(), [0]

    def greedy():
        while not stop.is_set():
            with lock:
                turns[0] += 1
                time.sleep(0.002)  # a "step"

    t = threading.Thread(target=greedy)
    t.start()
    try:
        waits = []
        for _ in range(20):
            time.sleep(0.003)
            before = turns[0]
            with lock:
                waits.append(turns[0] - before)
        assert max(waits) <= 2, waits
    finally:
        stop.set()
        t.join()


def test_release_of_an_unlocked_lock_raises():
    with pytest.raises(RuntimeError, match="unlocked"):
        FairLock().release()


def test_a_waiter_interrupted_while_waiting_gives_its_turn_up():
    """An exception in the wait (KeyboardInterrupt reaches the main thread there) must not leave a ticket that is
    never served: every later acquire would wait for ever (the training loop's next step, the preview)."""
    lock = FairLock()

    class Interrupted(threading.Condition):
        def wait(self, timeout=None):
            raise KeyboardInterrupt

    lock.acquire()  # held by "the training"
    real, lock._cond = lock._cond, Interrupted(threading.Lock())
    with pytest.raises(KeyboardInterrupt):
        lock.acquire()  # the main thread, interrupted while it waits
    lock._cond = real
    got = threading.Event()
    waiter = threading.Thread(target=lambda: (lock.acquire(), got.set(), lock.release()), daemon=True)
    waiter.start()
    time.sleep(0.05)
    lock.release()
    assert got.wait(5), "the lock was never handed on"
    waiter.join(5)
    assert not lock.locked()
