"""The PyQt6 studio: capture, scene, training, live preview and export in one window.

Layout follows napari's split: ``models/`` hold state and emit signals (no widgets), ``workers/``
run blocking work in QThreads and report through signals (never touching widgets), and
``widgets/`` are views that subscribe to models. ``main_window.py`` wires them together.
"""
