"""Sensors, recordings and importers: everything that turns the outside world into Frames and scene folders.

Importing this package is cheap: every optional or heavy dependency (pyk4a, pyzed.sl, PyAV, Open3D)
is imported inside the function that needs it.
"""
