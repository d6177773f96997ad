"""Rendering a whole image and measuring held-out PSNR with a field, as functions.

Both run without gradients in the field's eval mode and give the field back in the mode it was in
(``eval_mode``), so calling them between two training steps, or on a loaded model, changes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

from nerf.metrics import MSE_FLOOR, psnr_from_mse
from nerf.scene import Scene
from nerf.scene_rays import SceneRays
from nerf.types import Camera, RenderResult

__all__ = ["HELDOUT_SEED", "eval_mode", "heldout_psnr", "render_image", "view_camera"]

HELDOUT_SEED = 1234
"""Seed of the fixed pixel subsample the held-out PSNR is measured on."""


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """``module`` in eval mode for the block, then back in the train/eval mode it had before."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def view_camera(scene: Scene, i: int) -> Camera:
    """The pinhole camera of scene view ``i`` at the scene's resolution."""
    return Camera(K=scene.K[i].copy(), c2w=scene.c2w[i].copy(), width=scene.width, height=scene.height)


@torch.no_grad()
def render_image(field: torch.nn.Module, rays: SceneRays, camera: Camera, chunk: int, step: int = 0) -> RenderResult:
    """Render every pixel of ``camera`` (any size) in chunks of ``chunk`` rays.

    Returns: rgb uint8 [H, W, 3], depth and acc float32 [H, W] (depth in NDC for an NDC scene), ``step``.
    """
    ray_batch = rays.camera(camera)
    rgb, depth, acc = [], [], []
    with eval_mode(field):
        for s in range(0, len(ray_batch), chunk):
            out = field(ray_batch.index(slice(s, s + chunk)), train=False)
            rgb.append(out.rgb), depth.append(out.depth), acc.append(out.acc)
    h, w = camera.height, camera.width
    rgb_u8 = (torch.cat(rgb).clamp(0, 1) * 255 + 0.5).to(torch.uint8).reshape(h, w, 3).cpu().numpy()
    return RenderResult(
        rgb=rgb_u8,
        depth=torch.cat(depth).reshape(h, w).float().cpu().numpy(),
        acc=torch.cat(acc).reshape(h, w).float().cpu().numpy(),
        camera=camera, step=step, depth_is_ndc=rays.scene.ndc,
    )


@torch.no_grad()
def heldout_psnr(field: torch.nn.Module, rays: SceneRays, images: torch.Tensor, view: int | None, n: int) -> float | None:
    """PSNR (dB) of ``field`` on a fixed random subsample of ``n`` pixels of scene view ``view`` (default: the
    first test view; None without one). ``images``: the scene's images, float [N, H, W, 3] on the rays' device.

    The pixels come from their own generator (``HELDOUT_SEED``), the same every time and independent of training.
    """
    s = rays.scene
    if view is None:
        if not s.test_ids:
            return None
        view = s.test_ids[0]
    rng = np.random.default_rng(HELDOUT_SEED)
    ys, xs = rng.integers(s.height, size=n), rng.integers(s.width, size=n)
    with eval_mode(field):
        out = field(rays.view(view, ys, xs), train=False)
    dev = images.device
    target = images[view, torch.as_tensor(ys, device=dev), torch.as_tensor(xs, device=dev)]
    return psnr_from_mse(float(torch.mean((out.rgb.clamp(0, 1) - target) ** 2)), MSE_FLOOR)
