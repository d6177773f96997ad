"""Live previews that keep up with training: a fast render path and a copy of the field to render it from.

``render_preview`` renders a camera like ``nerf.inference.render_image``, through ``nerf.preview_march``
(empty-space skipping by a distance grid, early ray termination) for the field that has a fast path (sensor); the
others (fast, mipnerf) through their own render.

``LivePreview`` lets a second thread render while the training thread steps: ``sync(trainer)``, called while
no step runs (under the loop's ``step_lock``), copies the field into a private mirror (in place when the
shapes still match: a few tens of milliseconds for the largest field); ``render(camera)`` then renders the
mirror, on any thread, while training goes on. Training is untouched: the preview only reads the copy and
draws no random numbers. On a 2-core box the training thread keeps its core (``nerf.threads`` leaves one
free) and the preview renders on the other.
"""

from __future__ import annotations

import copy
import threading
import weakref
from typing import Any

import torch

from nerf.fields.base import RayBatch
from nerf.inference import eval_mode, render_image
from nerf.march import clip_to_box
from nerf.preview_march import PreviewPlan, RayStarts, distance_grid, render_plan
from nerf.scene_rays import SceneRays
from nerf.types import Camera, RenderResult

__all__ = ["LivePreview", "has_fast_path", "preview_plan", "render_preview"]


def preview_plan(field: torch.nn.Module, rays: RayBatch, distance: torch.Tensor | None = None) -> PreviewPlan | None:
    """The fast-path plan of ``field`` for ``rays`` (the samples its eval render takes), or None without one;
    ``distance``: ``nerf.preview_march.distance_grid`` of the field's occupancy, when the caller keeps one.

    Only the sensor field has one: its sampler tests ~250 samples per ray against the occupancy grid. The fast
    field's own render is already as quick (~50 bins per ray at 48^3; 0.28 s of CPU at 320x240 against 0.34 s
    through this path, benchmarks/RESULTS.md), so it and the mipnerf field render as they are.
    """
    if not has_fast_path(field):
        return None
    c, grid, step = field.config, field.occupancy, field.step_size()
    near, far = clip_to_box(rays, grid.aabb)
    n = max(1, int(torch.ceil((far - near).clamp(min=0).max() / step)))
    return PreviewPlan(near, far, step, n, grid, c.max_samples, field.density_fn, field.colour_fn,
                       field.background(rays), c.weight_threshold, distance)


PREVIEW_CHUNK = 1 << 17
"""Rays per batch of the fast path at least (a 320x240 frame in one: the per-operation overhead of the skipping
loop is paid once per frame, not once per chunk; ~100 MB of temporaries)."""


def has_fast_path(field: torch.nn.Module) -> bool:
    """True for a field ``preview_plan`` has a plan for (the sensor field)."""
    from nerf.fields.sensor import SensorField

    return isinstance(field, SensorField)


@torch.no_grad()
def render_preview(field: torch.nn.Module, rays: SceneRays, camera: Camera, chunk: int, step: int = 0,
                   colour_weight: float = 0.0, starts: dict[int, RayStarts] | None = None,
                   distance: torch.Tensor | None = None, min_transmittance: float = 1e-4) -> RenderResult:
    """Render every pixel of ``camera`` through the fast path (``render_image`` for fields without one);
    ``colour_weight``: colour only at samples of at least this weight (``nerf.preview_march.render_plan``).
    ``starts``: what the last render of this camera through this occupancy learnt (by chunk), used and updated.
    ``distance``: the occupancy's ``distance_grid`` when the caller keeps one (else computed here, ~8 ms).
    ``min_transmittance``: a ray stops below it (what it leaves out is at most that much of each channel).

    Returns: rgb uint8 [H, W, 3], depth and acc float32 [H, W], as ``nerf.inference.render_image``.
    """
    if not has_fast_path(field):
        return render_image(field, rays, camera, chunk, step)  # builds its own rays
    batch = rays.camera(camera)
    with eval_mode(field):
        if distance is None:
            distance = distance_grid(field.occupancy.occupied)
        chunk = max(chunk, PREVIEW_CHUNK)
        rgb, depth, acc = [], [], []
        for s in range(0, len(batch), chunk):
            part = batch.index(slice(s, s + chunk))
            out = render_plan(part, preview_plan(field, part, distance), colour_weight=colour_weight,
                              min_transmittance=min_transmittance, starts=None if starts is None else starts.get(s))
            rgb.append(out[0]), depth.append(out[1]), acc.append(out[2])
            if starts is not None:
                starts[s] = out[3]
    h, w = camera.height, camera.width
    rgb_u8 = (torch.cat(rgb).clamp(0, 1) * 255 + 0.5).to(torch.uint8).reshape(h, w, 3).cpu().numpy()
    return RenderResult(rgb=rgb_u8, depth=torch.cat(depth).reshape(h, w).float().cpu().numpy(),
                        acc=torch.cat(acc).reshape(h, w).float().cpu().numpy(), camera=camera, step=step,
                        depth_is_ndc=rays.scene.ndc)


class LivePreview:
    """Renders a private copy of a trainer's field, so that previews run beside the training (module docstring).

    Colour is evaluated at the samples of weight >= ``COLOUR_WEIGHT`` (``nerf.preview_march.render_plan``):
    about half the colour evaluations of the field's own render, > 40 dB from its image on the virtual room.

    ``render`` uses the copy of the last ``sync``. Both may be called from any thread, one at a time: a ``sync``
    waits for a render in progress (the studio's render thread does both, so nothing waits). While the camera
    and the occupancy grid stay the same (a resting camera refreshed as the training goes on) each ray starts
    at the first occupied sample the last render found.

    The trainer is held weakly: a trainer the application has let go of (a new run, another scene) is freed
    with its optimizer state and images, even while the preview keeps its copy of the field.
    """

    COLOUR_WEIGHT = 0.03
    MIN_TRANSMITTANCE = 3e-3
    """A ray stops once less than this much light passes (the field's render goes on to 1e-4): at most 0.3 % of
    a channel left out, and ~30 % of the rays (the surfaces a few hundred steps in are still ~0.5 % transparent)
    spared a second round on through the room (benchmarks/RESULTS.md)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mirror: torch.nn.Module | None = None
        self._source: weakref.ref | None = None  # the trainer the mirror copies
        self._step = -1
        self._rays: SceneRays | None = None
        self._chunk = 16384
        self._starts: dict[int, RayStarts] = {}
        self._starts_for: Any = None  # the camera they belong to
        self._occ: torch.Tensor | None = None  # the occupancy they and the distance grid belong to
        self._distance: torch.Tensor | None = None

    @staticmethod
    def supports(trainer: Any) -> bool:
        """True for a local trainer (one whose field lives in this process); a remote one renders itself."""
        return isinstance(getattr(trainer, "field", None), torch.nn.Module) and hasattr(trainer, "rays")

    def sync(self, trainer: Any) -> None:
        """Copy ``trainer``'s field into the mirror when it changed (a new trainer or a new step). Call it while
        no training step runs (the studio holds the loop's step lock)."""
        with self._lock:
            same = self._source is not None and self._source() is trainer
            if same and self._step == trainer.step_count:
                return
            self._mirror = _mirror(trainer.field, self._mirror if same else None)
            if not same:  # what the last renders learnt belongs to another scene's rays and grid
                self._starts, self._starts_for, self._occ, self._distance = {}, None, None, None
            self._source, self._step = weakref.ref(trainer), trainer.step_count
            self._rays, self._chunk = trainer.rays, trainer.config.reporting.render_chunk

    def render(self, camera: Camera) -> RenderResult:
        """Render ``camera`` with the field as of the last ``sync``."""
        with self._lock:
            field, rays, chunk, step = self._mirror, self._rays, self._chunk, self._step
            if field is None or rays is None:
                raise RuntimeError("LivePreview.render before sync")
            occ = getattr(getattr(field, "occupancy", None), "occupied", None)
            key = (camera.width, camera.height, camera.K.tobytes(), camera.c2w.tobytes(), chunk)
            if occ is None or self._occ is None or not torch.equal(occ, self._occ):
                self._starts, self._starts_for, self._distance = {}, key, None
                self._occ = None if occ is None else occ.clone()
            if key != self._starts_for:
                self._starts, self._starts_for = {}, key
            if occ is not None and self._distance is None and has_fast_path(field):
                self._distance = distance_grid(occ)
            return render_preview(field, rays, camera, chunk, step, self.COLOUR_WEIGHT, self._starts,
                                  self._distance, self.MIN_TRANSMITTANCE)


@torch.no_grad()
def _mirror(field: torch.nn.Module, mirror: torch.nn.Module | None) -> torch.nn.Module:
    """``mirror`` overwritten with ``field``'s state when every tensor keeps its shape, else a new deep copy."""
    src = field.state_dict()
    if mirror is not None:
        dst = mirror.state_dict()
        if dst.keys() == src.keys() and all(dst[k].shape == v.shape and dst[k].dtype == v.dtype for k, v in src.items()):
            for k, v in src.items():
                dst[k].copy_(v)
            return mirror
    new = copy.deepcopy(field)
    for p in new.parameters():
        p.requires_grad_(False)
    return new.eval()

