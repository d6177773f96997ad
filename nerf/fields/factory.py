"""Build the field a TrainConfig asks for, sized to a scene."""

from __future__ import annotations

import numpy as np
import torch

from devices.camera_geometry import mean_up
from nerf.fields.base import Field
from nerf.scene import Scene


def scene_aabb(scene: Scene) -> np.ndarray:
    """The axis-aligned box [2, 3] (min, max) the field covers, in the space rays live in.

    NDC scenes: the NDC cube [-1, 1]^3. Metric scenes: ``scene.extra["aabb"]`` when the loader set
    one (DTU: the unit sphere's cube), else the box around the training views' frusta between near
    and far (corners and centre of each image), which always contains everything the views see.
    """
    if scene.ndc:
        return np.array([[-1.0] * 3, [1.0] * 3])
    if "aabb" in scene.extra:
        return np.asarray(scene.extra["aabb"], dtype=np.float64).reshape(2, 3)
    h, w = scene.height, scene.width
    pix = np.array([[0, 0], [w, 0], [0, h], [w, h], [w / 2, h / 2]], dtype=np.float64)
    pts = []
    for i in scene.train_ids:
        K, c2w = scene.K[i], scene.c2w[i]
        d = np.stack([(pix[:, 0] - K[0, 2]) / K[0, 0], (pix[:, 1] - K[1, 2]) / K[1, 1], np.ones(len(pix))], -1)
        for t in (scene.near, scene.far):
            pts.append(c2w[:3, 3] + t * d @ c2w[:3, :3].T)
    pts = np.concatenate(pts)
    return np.stack([pts.min(0), pts.max(0)])


def depth_aabb(scene: Scene, margin: float = 0.05) -> np.ndarray | None:
    """The box [2, 3] around the training views' metric depth points (0.5-99.5 % per axis, widened by ``margin``
    of its size and of its largest side), or None without metric depth. Tighter than the frusta box: the grid's cells go where surfaces are."""
    if scene.depths is None or scene.to_metres is None or scene.ndc or scene.depth_kind.value != "metric":
        return None
    pts = []
    for i in scene.train_ids:
        d = scene.depths[i][::2, ::2] / scene.to_metres
        v, u = np.nonzero(d > 0)
        z = d[v, u]
        K, c2w = scene.K[i], scene.c2w[i]
        cam = np.stack([(2 * u + 0.5 - K[0, 2]) / K[0, 0] * z, (2 * v + 0.5 - K[1, 2]) / K[1, 1] * z, z], -1)
        pts.append(cam @ c2w[:3, :3].T + c2w[:3, 3])
    if not pts or not sum(len(p) for p in pts):
        return None
    pts = np.concatenate(pts)
    lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
    pad = margin * (hi - lo) + margin * float((hi - lo).max()) + 1e-3
    return np.stack([lo - pad, hi + pad])


def build_field(scene: Scene, config) -> Field:  # config: nerf.train_config.TrainConfig
    """The field named by ``config.field``: "fast", "sensor" or "mipnerf" (imported lazily)."""
    if config.field == "fast":
        from nerf.fields.fast import FastField

        up = None if scene.ndc or config.fast.envmap_up != "cameras" else torch.as_tensor(mean_up(scene.c2w[scene.train_ids]), dtype=torch.float32)
        aabb = torch.as_tensor(scene_aabb(scene), dtype=torch.float32)
        return FastField(config.fast, aabb, up=up)
    if config.field == "sensor":
        from nerf.fields.sensor import SensorField

        if scene.ndc:
            raise ValueError("the sensor field needs a metric (non-NDC) scene; use --field fast for forward-facing scenes")
        up = torch.as_tensor(mean_up(scene.c2w[scene.train_ids]), dtype=torch.float32)
        box = depth_aabb(scene)
        box = scene_aabb(scene) if box is None else box
        return SensorField(config.sensor, torch.as_tensor(box, dtype=torch.float32), up=up)
    if config.field == "mipnerf":
        from nerf.fields.mipnerf import MipNeRFField
        from nerf.presets import mipnerf_config

        return MipNeRFField(mipnerf_config(scene))
    raise ValueError(f"unknown field {config.field!r} (expected 'fast', 'sensor' or 'mipnerf')")
