"""The PyQt6 studio: capture, scene, training, live preview and export in one window.

Layout follows napari's split: ``models/`` hold state and the controller logic and emit signals (no widgets),
``workers/`` run blocking work in QThreads and report through signals (never touching widgets), and
``widgets/`` are views that subscribe to models; a widget never imports a worker (an import-linter contract).
``types.py`` holds the frozen dataclasses the three pass to each other, and every signal declares its payload
type. ``main_window.py`` wires them together.

Two rules keep the state in one place: a training run's state is the loop's own ``nerf.run_state.RunState``,
which ``models.training_session.TrainingSession`` mirrors (it adds only loading, stopping and failed around
the loop); and whatever only the newest value of matters (preview render requests, live sensor frames)
goes through one ``nerf.latest.LatestSlot``.
"""
