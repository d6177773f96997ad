"""Export panel: a short video along a path is a valid MP4 (decoded with PyAV); cancel leaves no file;
exporting while training first stops the training and keeps its checkpoint."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt

from tests.studio.helpers import run_until, tiny_train_config


def trained(studio, qtbot, scene, steps: int) -> None:
    with qtbot.waitSignal(studio.scene.sceneChanged, timeout=20_000):
        studio.open_path(scene)
    studio.train_panel.start(tiny_train_config(steps=steps))
    run_until(lambda: studio.training.state == "finished" if steps < 1000 else studio.training.trainer is not None,
              120_000)


def test_export_a_short_video(studio, qtbot, tiny_scene, stall_probe):
    import av

    trained(studio, qtbot, tiny_scene, steps=10)
    panel = studio.export_panel
    panel.frames.setValue(6)
    panel.fps.setValue(12)
    panel.scale.setCurrentIndex([panel.scale.itemData(i) for i in range(panel.scale.count())].index(0.5))
    panel.path.setCurrentIndex(panel.path.findData("orbit"))
    progress: list[tuple[int, int]] = []
    results = []
    studio.export.progress.connect(lambda d, t: progress.append((d, t)))
    studio.export.frame.connect(results.append)
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    run_until(lambda: studio.export.state in ("done", "failed"), 120_000)
    assert studio.export.state == "done", panel.status.text()
    out = studio.export.output
    assert out.suffix == ".mp4" and out.is_file()
    assert progress[-1] == (6, 6) and [d for d, _ in progress] == list(range(1, 7))
    scene = studio.training.trainer.scene
    w, h = scene.width // 2, scene.height // 2
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        rate = container.streams.video[0].average_rate
    assert len(frames) == 6
    from nerf.video import legend_height

    # RGB | depth side by side, even halves, over the depth legend strip
    assert frames[0].shape == (h + h % 2 + legend_height(w + w % 2), 2 * (w + w % 2), 3)
    assert float(rate) == 12
    assert panel.open_button.isEnabled()
    assert panel.frame_view.item.image.shape == frames[0].shape  # the last frame is shown in the panel
    check_metric_legend(panel.frame_view.item.image, frames[-1], results[0], h + h % 2)


def check_metric_legend(shown, decoded, first, rows: int) -> None:
    """The virtual capture is metric: the legend under the depth half, in the panel and in the MP4, is the
    one in metres (``nerf.legend_scale``: 1 m per unit here), not "near" / "far"."""
    from nerf import MIN_ACC, robust_range
    from nerf.video import depth_legend

    half = shown.shape[1] // 2
    rng = robust_range(first.depth, first.acc > MIN_ACC)  # the video's range: its first frame's
    metres, plain = depth_legend(half, rng, 1.0), depth_legend(half, rng, None)
    assert not np.array_equal(metres, plain)
    np.testing.assert_array_equal(shown[rows:, half:], metres)  # the panel draws it exactly
    video = decoded[rows:, half:].astype(np.float64)  # the MP4's, through H.264
    assert np.abs(video - metres).mean() < 0.5 * np.abs(video - plain).mean()


def test_cancel_leaves_no_file(studio, qtbot, tiny_scene):
    trained(studio, qtbot, tiny_scene, steps=5)
    panel = studio.export_panel
    panel.frames.setValue(2000)
    started: list[int] = []
    studio.export.progress.connect(lambda d, t: started.append(d))
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    run_until(lambda: len(started) >= 2, 60_000)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    run_until(lambda: studio.export.state == "cancelled", 60_000)
    videos = studio.workspace.sub("videos")
    assert not any(videos.iterdir()) if videos.exists() else True  # neither the video nor its partial file
    assert studio.export.output is None


def test_export_while_training_stops_training_first(studio, qtbot, tiny_scene):
    trained(studio, qtbot, tiny_scene, steps=100_000)
    training = studio.training
    run_until(lambda: training.trainer.step_count >= 2, 60_000)
    studio.export_panel.frames.setValue(2)
    studio.export_panel.start()
    assert studio.export.state == "waiting"
    run_until(lambda: studio.export.state == "done", 120_000)
    assert training.state == "stopped"
    assert (training.run_dir / "checkpoints" / "latest.pt").is_file()


def test_open_a_saved_run_preview_and_export_it(studio, qtbot, tiny_scene, tmp_path):
    """`sparsenerf studio RUN`: a run folder opens at its checkpoint, renders a preview and exports."""
    from app.studio.main_window import MainWindow, Workspace

    trained(studio, qtbot, tiny_scene, steps=5)
    run_dir, steps = studio.training.run_dir, studio.training.trainer.step_count
    other = MainWindow(Workspace(tmp_path / "other"), devices=[])
    qtbot.addWidget(other)
    other.show()
    try:
        other.open_path(run_dir)
        run_until(lambda: other.training.state in ("stopped", "finished", "failed"), 60_000)
        assert other.training.state == "finished"  # its metrics say the 5-step budget was reached
        assert other.training.trainer.step_count == steps == 5
        assert other.tabs.currentWidget() is other.train_panel
        assert other.training.history.steps[-1] == steps  # the run's curves, read from its metrics.jsonl
        run_until(lambda: other.train_panel.preview.last is not None, 30_000)
        assert other.train_panel.train_button.isEnabled()  # more training continues the run
        other.export_panel.frames.setValue(2)
        other.export_panel.start()
        run_until(lambda: other.export.state == "done", 60_000)
        assert other.export.output.is_file()
    finally:
        other.close()
