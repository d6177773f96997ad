"""The SparseNeRF Studio desktop app and the `sparsenerf` command line.

The only package that imports PyQt6 and pyqtgraph, and only inside `app.studio` (the CLI stays
importable and fast without a display).
"""
