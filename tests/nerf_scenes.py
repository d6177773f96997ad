"""A tiny real-looking scene folder for NeRF tests: a checkerboard plane seen by a few sliding cameras."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from devices.frame import DepthKind, Frame
from devices.scene_writer import SceneWriter

W, H = 24, 18
"""Image size of the test scene."""


def plane_scene(root: Path, n: int = 5) -> Path:
    """A checkerboard plane at z = 2 seen by ``n`` cameras sliding along x; metric depth 2 m everywhere."""
    K = np.array([[20.0, 0, W / 2], [0, 20.0, H / 2], [0, 0, 1]])
    with SceneWriter(root, sensor="virtual", ranking_window=(5, 5)) as writer:
        for i in range(n):
            c2w = np.eye(4)
            c2w[0, 3] = 0.1 * i
            ys, xs = np.mgrid[0:H, 0:W] + 0.5
            wx = (xs - K[0, 2]) / K[0, 0] * 2.0 + c2w[0, 3]
            wy = (ys - K[1, 2]) / K[1, 1] * 2.0
            check = ((np.floor(wx * 4) + np.floor(wy * 4)) % 2).astype(np.float32)
            rgb = np.stack([check, 0.5 * np.ones_like(check), 1 - check], -1)
            writer.add(Frame(rgb=(rgb * 255).astype(np.uint8), depth=np.full((H, W), 2.0, np.float32), K=K,
                             c2w=c2w, depth_kind=DepthKind.METRIC))
        writer.set_split([0, 2, 4], [1, 3])
    return root
