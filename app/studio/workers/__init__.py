"""Background work in QThreads: capture, import, scene loading, training, rendering, export.

Workers never touch widgets; they report through Qt signals, which Qt delivers on the UI thread.
"""
