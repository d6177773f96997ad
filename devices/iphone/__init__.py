"""iPhone / iPad LiDAR captures from three apps: Record3D (.r3d), Stray Scanner and Polycam raw exports.

All three store ARKit data: colour at full resolution, LiDAR depth in metres (or millimetres) at
256x192 with a 0/1/2 confidence, and camera-to-world poses in ARKit (OpenGL) camera axes. The
importers mask low-confidence depth, upsample depth to the colour resolution edge-aware
(``upsample.py``) and convert poses to OpenCV axes once (``common.py``). Importing this package is
cheap; each format module registers itself in ``devices.importers.registry``.
"""
