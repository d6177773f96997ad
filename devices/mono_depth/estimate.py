"""Monocular depth for scenes without a depth sensor, as SparseNeRF computes its LLFF/DTU prior.

Preprocessing is MiDaS's ``dpt_transform``: RGB / 255, resize keeping the aspect ratio with the
scale closest to 1 that makes one side 384 ("minimal"; for images larger than 384 this is
"short side 384"), both sides rounded to a multiple of 32, bicubic; then (x - 0.5) / 0.5. The
prediction is resized back to the image bicubically (as the original does) and clipped at 0.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from devices.errors import InputError
from devices.frame import DepthKind
from devices.scene_folder import SceneFolder, read_scene
from devices.scene_writer import encode_depth, update_scene

NET_SIZE = 384
MULTIPLE = 32
MEAN = 0.5
STD = 0.5


def network_size(width: int, height: int, target: int = NET_SIZE, multiple: int = MULTIPLE) -> tuple[int, int]:
    """(width, height) the network sees for a ``width`` x ``height`` image (MiDaS "minimal" resize)."""
    sw, sh = target / width, target / height
    s = sw if abs(1 - sw) < abs(1 - sh) else sh

    def snap(x: float) -> int:
        return max(multiple, int(np.round(x / multiple)) * multiple)

    return snap(s * width), snap(s * height)


def prepare(rgb: np.ndarray, target: int = NET_SIZE) -> np.ndarray:
    """uint8 RGB [H, W, 3] -> float32 network input [1, 3, h, w] (h, w multiples of 32)."""
    w, h = network_size(rgb.shape[1], rgb.shape[0], target)
    img = cv2.resize(rgb.astype(np.float64) / 255.0, (w, h), interpolation=cv2.INTER_CUBIC)
    img = (img - MEAN) / STD
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)


class MonoDepth:
    """A loaded DPT-Hybrid network that turns an RGB image into relative inverse depth."""

    def __init__(self, weights: str | Path, device: str = "cpu", net_size: int = NET_SIZE):
        from devices.mono_depth.weights import load_dpt

        self.weights = Path(weights)
        self.device = device
        self.net_size = net_size
        self.model = load_dpt(weights).to(device)

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 RGB [H, W, 3] -> float32 [H, W] relative inverse depth (larger = nearer), >= 0."""
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(prepare(rgb, self.net_size)).to(self.device)
        with torch.inference_mode():
            pred = self.model(x)  # [1, h, w]
            pred = F.interpolate(pred[:, None], size=rgb.shape[:2], mode="bicubic", align_corners=False)
        return pred[0, 0].clamp_min(0).float().cpu().numpy()


def _storable(inv: np.ndarray, image: str) -> np.ndarray:
    """Check a prediction and lift exact zeros (infinitely far) to the smallest stored step: 0 means unknown."""
    if not np.all(np.isfinite(inv)):
        raise InputError(image, "the depth network produced NaN or infinite values: check the weights file")
    peak = float(inv.max())
    if peak <= 0:
        raise InputError(image, "the depth network predicted zero everywhere: check the weights file")
    return np.maximum(inv, np.float32(peak / 65535.0))


def _write_png(path: Path, raw: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", raw)
    if not ok:
        raise OSError(f"could not encode {path.name} as PNG")
    path.write_bytes(buf.tobytes())


def _swap_in(scene: SceneFolder, staging: Path, **changes) -> SceneFolder:
    """Move ``staging`` to ``depth/`` and rewrite transforms.json; on failure restore what was there."""
    depth_dir, old = scene.root / "depth", None
    if depth_dir.exists():
        if any(depth_dir.iterdir()):
            old = scene.root / f".depth.old-{os.getpid()}"
            os.replace(depth_dir, old)
        else:
            depth_dir.rmdir()
    os.replace(staging, depth_dir)
    try:
        new = update_scene(scene, **changes)  # the commit point: transforms.json is replaced atomically
    except BaseException:
        shutil.rmtree(depth_dir, ignore_errors=True)
        if old is not None:
            os.replace(old, depth_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return new


def add_mono_depth(root: str | Path, weights: str | Path, *, overwrite: bool = False, device: str = "cpu",
                   net_size: int = NET_SIZE, progress: Callable[[int, int], None] | None = None) -> SceneFolder:
    """Write DPT-Hybrid inverse depth for every frame of the scene folder ``root``.

    Depth goes to ``depth/<image stem>.png`` (uint16 with a per-frame scale) and transforms.json
    is updated to DepthKind.INVERSE; nothing changes when an error stops the run.

    Raises:
        InputError: not a scene folder, it already has depth (without ``overwrite``), a missing or
            wrong weights file, or a degenerate prediction.
    """
    scene = read_scene(root)
    if any(f.depth_path for f in scene.frames) and not overwrite:
        raise InputError(scene.root, f"already has {scene.depth_kind.value} depth (sensor {scene.sensor}); "
                                     "pass --overwrite to replace it with monocular depth")
    estimator = MonoDepth(weights, device, net_size)  # a bad weights file fails before anything is written
    staging = scene.root / f".depth.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        frames = []
        for i, f in enumerate(scene.frames):
            inv = _storable(estimator.predict(scene.load_rgb(i)), str(scene.root / f.image_path))
            raw, scale = encode_depth(inv, DepthKind.INVERSE)
            name = Path(f.image_path).stem + ".png"
            _write_png(staging / name, raw)
            frames.append(replace(f, depth_path=f"depth/{name}", depth_scale=scale))
            if progress is not None:
                progress(i + 1, len(scene.frames))
        extra = {**scene.extra, "depth_source": "dpt_hybrid", "depth_weights": estimator.weights.name}
        return _swap_in(scene, staging, frames=frames, depth_kind=DepthKind.INVERSE, extra=extra)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
