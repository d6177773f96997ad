"""Helpers of the studio tests: a real event loop to wait in, and a tiny training config."""

from __future__ import annotations


def tiny_train_config(steps: int = 40, **overrides):
    """A TrainConfig small enough for a CPU test: 32^3 grid, 512 rays, one torch thread, frequent snapshots."""
    from nerf.fields.fast import FastFieldConfig
    from nerf.train_config import TrainConfig

    values = dict(steps=steps, batch_rays=512, threads=1, snapshot_interval_s=0.1, eval_every_s=0.5,
                  eval_rays=512, preview_every_s=1e9, checkpoint_every_s=1e9,
                  fast=FastFieldConfig(resolution_schedule=((0, 32),), max_samples=48))
    values.update(overrides)
    return TrainConfig(**values)


def run_until(predicate, timeout_ms: int = 30_000, poll_ms: int = 10) -> None:
    """Run a real Qt event loop until ``predicate()`` is true (unlike qtbot.waitUntil, which sleeps in 10 ms
    slices, this keeps the UI thread free, so the stall probe measures the app and not the test).

    Raises TimeoutError naming the predicate when it is still false after ``timeout_ms``.
    """
    from PyQt6.QtCore import QEventLoop, QTimer

    if predicate():
        return
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: predicate() and loop.quit())
    poll.start(poll_ms)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    poll.stop()
    if not predicate():
        raise TimeoutError(f"still false after {timeout_ms} ms: {getattr(predicate, '__name__', predicate)}")
