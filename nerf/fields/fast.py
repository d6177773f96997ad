"""The ``fast`` field: a dense voxel density grid + a dense RGB grid + a background (pure PyTorch), built from parts.

Parts (nerfacc's shape): ``nerf.occupancy.OccupancyGrid`` (which cells may hold density), ``nerf.march.stratified``
(the samples), ``nerf.render_fn.render_samples`` (compositing through this field's ``density_fn`` / ``colour_fn``)
and ``nerf.fields.background`` (what a ray that hits nothing shows). The field itself holds the grids, their
coarse-to-fine schedule and its regulariser terms, returned unweighted (``nerf.losses.sparsenerf_loss`` weighs
them with ``regulariser_weights``).

Why this design (numbers in docs/fast_field.md): on 2 CPU cores the cost of a step is the number
of samples touched times the cost per sample. Density is ONE channel, looked up trilinearly from a
dense grid at every sample the occupancy grid keeps; colour (3 channels, or features + a small MLP
when ``color_channels > 3``) is evaluated only at the samples whose compositing weight passes a
threshold. The occupancy grid is the max-pooled density grid itself (no network queries), refreshed
in ``before_step``; resolution grows coarse-to-fine on a step schedule, so the first minute already
gives a blurry but recognisable view. What a ray does not hit comes from a latitude-longitude
environment map whose latitude is measured from the training cameras' up.

Samples span [near, far] of each ray (stratified, ``samples_per_ray`` bins); samples outside the scene
box or in empty cells get density 0. The depth the ranking prior sees counts a ray's transparent part
as lying at ``far`` (``depth_mode``; the original's normalised expected depth is the other option).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nerf.fields.background import EnvMap, LearnedColour, background_fn, frame_around
from nerf.fields.base import Field, FieldOutput, RayBatch
from nerf.fields.config import FAST_FILLED, FastFieldConfig
from nerf.fields.grid_ops import resize_grid, schedule_value, trilinear, tv_loss
from nerf.fields.vm_colour import VMColour
from nerf.losses import distortion_loss
from nerf.march import stratified
from nerf.occupancy import OccupancyGrid, nearest_resample, opaque_cells, view_count
from nerf.render_fn import render_samples
from nerf.rendering import expected_depth

LEGACY_KEYS = {"background": "bg_colour.rgb", "envmap": "env.map", "occupancy": "occupancy.occupied"}
"""Checkpoints written before the field was split into parts: old state_dict key -> new key."""


class FastField(Field):
    """Dense-grid radiance field over the axis-aligned box ``aabb`` (float [2, 3]: min, max corners)."""

    def __init__(self, config: FastFieldConfig, aabb: torch.Tensor, up: torch.Tensor | None = None):
        super().__init__()
        if any(getattr(config, name) is None for name in FAST_FILLED):  # nerf.profiles.resolve fills them
            raise ValueError("FastFieldConfig.tv_density, .tv_color, .distortion, .resolution_schedule and .min_views "
                             "must be set (resolve the TrainConfig first)")
        self.config = config
        self.register_buffer("aabb", torch.as_tensor(aabb, dtype=torch.float32).reshape(2, 3))
        self.param_version = 0  # bumped when parameters are replaced (the trainer rebuilds its optimizer)
        res = config.resolution_schedule[0][1]
        self.density = nn.Parameter(torch.zeros(res, res, res, 1))
        cres = _color_res(res, config.color_ratio)
        self.vm: VMColour | None = None
        if config.appearance == "vm":  # the dense colour grid stays a 1-voxel placeholder (state layout unchanged)
            cres = 1
            self.vm = VMColour(config.vm_components, config.vm_schedule[0][1], config.hidden)
        self.color = nn.Parameter(torch.randn(cres, cres, cres, config.color_channels) * 0.1)
        self.mlp = None
        if config.color_channels != 3 and self.vm is None:
            vdim = 3 if config.view_dependent else 0
            self.mlp = nn.Sequential(
                nn.Linear(config.color_channels + vdim, config.hidden), nn.ReLU(inplace=True),
                nn.Linear(config.hidden, config.hidden), nn.ReLU(inplace=True),
                nn.Linear(config.hidden, 3),
            )
        self.bg_colour = LearnedColour()
        # the map's frame is not saved: the factory derives ``up`` from the scene's cameras, so a resumed run rebuilds it
        self.env = EnvMap(config.envmap_size, frame_around(up))
        self.occupancy = OccupancyGrid(self.aabb, res)
        self.register_buffer("view_mask", torch.ones(1, 1, 1, dtype=torch.bool))  # see restrict_to_views

    # ----------------------------------------------------------------------------- grids
    @property
    def resolution(self) -> int:
        return int(self.density.shape[0])

    def normalise(self, pts: torch.Tensor) -> torch.Tensor:
        """Scene points [..., 3] -> box coordinates in [-1, 1]."""
        return (pts - self.aabb[0]) / (self.aabb[1] - self.aabb[0]) * 2.0 - 1.0

    def _density_of(self, raw: torch.Tensor) -> torch.Tensor:
        """Density per scene unit from raw grid values: softplus(raw + shift) / dt.

        dt is the nominal sample spacing: step_ratio voxels of the FINAL resolution, and the shift makes a raw 0
        give ``init_alpha`` over one interval; neither depends on the current resolution, so upsampling keeps
        the field unchanged.
        """
        shift = math.log(math.expm1(-math.log(1.0 - self.config.init_alpha)))
        return F.softplus(raw + shift) / _sample_spacing(self.config, self.aabb)

    def density_fn(self, pts: torch.Tensor) -> torch.Tensor:
        """Density per unit length [N] at world points [N, 3] (the renderer's density function)."""
        return self._density_of(trilinear(self.density, self.normalise(pts))[:, 0])

    def colour_fn(self, pts: torch.Tensor, viewdirs: torch.Tensor) -> torch.Tensor:
        """RGB [N, 3] in [0, 1] at world points [N, 3] seen along unit directions [N, 3]."""
        if self.vm is not None:
            return self.vm(self.normalise(pts))
        feat = trilinear(self.color, self.normalise(pts))
        if self.mlp is None:
            return torch.sigmoid(feat)
        if self.config.view_dependent:
            feat = torch.cat([feat, viewdirs], dim=-1)
        return torch.sigmoid(self.mlp(feat))

    # ----------------------------------------------------------------------------- schedule and occupancy
    def set_resolution(self, res: int) -> None:
        """Resample the grids to ``res`` voxels per side (trilinear); the optimizer must be rebuilt."""
        if res == self.resolution:
            return
        with torch.no_grad():
            self.density = nn.Parameter(resize_grid(self.density.data, res))
            if self.vm is None:
                self.color = nn.Parameter(resize_grid(self.color.data, _color_res(res, self.config.color_ratio)))
        self._new_occupancy(res)
        self.param_version += 1
        self.update_occupancy()

    def _new_occupancy(self, res: int) -> None:
        self.occupancy = OccupancyGrid(self.aabb, res).to(self.aabb.device)
        self.occupancy.base = nearest_resample(self.view_mask, res)

    @torch.no_grad()
    def update_occupancy(self) -> None:
        """Cells whose 3x3x3 neighbourhood can make a sample interval more opaque than occupancy_alpha."""
        dens = self._density_of(self.density.data[..., 0])
        self.occupancy.refresh(opaque_cells(dens, _sample_spacing(self.config, self.aabb), self.config.occupancy_alpha))

    @torch.no_grad()
    def restrict_to_views(self, K: torch.Tensor, w2c: torch.Tensor, width: int, height: int, near: float) -> None:
        """Only space inside at least ``min_views`` training frusta (K [V, 3, 3], w2c [V, 4, 4]) beyond ``near``
        may hold density.

        With 3 views, a voxel only one view sees can explain that view's pixels with a floater that
        every other view sees as a smear; two views are the least that constrain a surface.
        """
        count = view_count(self.aabb, self.config.view_mask_resolution, K, w2c, width, height, near)
        self.view_mask = count >= min(self.config.min_views, len(K))
        self.occupancy.base = nearest_resample(self.view_mask, self.resolution)
        self.update_occupancy()

    def samples_per_ray(self, rays: RayBatch) -> int:
        """Bins per ray now: the longest ray's length over step_ratio voxels of the current grid."""
        length = float(((rays.far - rays.near) * rays.directions.norm(dim=-1, keepdim=True)).max())
        voxel = float((self.aabb[1] - self.aabb[0]).max()) / (self.resolution - 1)
        n = math.ceil(length / (self.config.step_ratio * voxel))
        return int(min(max(n, 8), self.config.max_samples))

    def before_step(self, step: int) -> None:
        self.set_resolution(schedule_value(self.config.resolution_schedule, step))
        if self.vm is not None and self.vm.resize(schedule_value(self.config.vm_schedule, step)):
            self.param_version += 1
        if step % self.config.occupancy_every == 0:
            self.update_occupancy()

    # ----------------------------------------------------------------------------- training
    def param_groups(self) -> list[dict]:
        """Adam parameter groups with their base learning rates (the order old checkpoints' optimizers hold)."""
        c = self.config
        small = [*(self.mlp.parameters() if self.mlp is not None else ()), self.bg_colour.rgb, self.env.map]
        if self.vm is not None:
            small = [*self.vm.decoder.parameters(), *small]
        color = {"params": [self.color], "lr": c.lr_color, "name": "color"}
        if self.vm is not None:
            color = {"params": self.vm.grids(), "lr": c.lr_vm, "name": "color"}
        return [
            {"params": [self.density], "lr": c.lr_density, "name": "density"},
            color,
            {"params": small, "lr": c.lr_mlp, "name": "mlp"},
        ]

    def regulariser_weights(self) -> dict[str, float]:
        c = self.config
        weights = {"tv_density": c.tv_density, "tv_color": c.tv_color, "distortion": c.distortion}
        return weights if self.vm is None else {**weights, "tv_planes": c.tv_planes}

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # type: ignore[override]
        """Resize the grids to the checkpoint's resolution first, then load (old layouts: ``LEGACY_KEYS``)."""
        state = _upgrade(state_dict)
        if self.vm is not None:
            self.vm.prepare_load(state, "vm.")
        res = int(state["density"].shape[0])
        if res != self.resolution:
            dev = self.density.device
            self.density = nn.Parameter(torch.zeros(res, res, res, 1, device=dev))
            cres = int(state["color"].shape[0])
            self.color = nn.Parameter(torch.zeros(cres, cres, cres, self.config.color_channels, device=dev))
            self._new_occupancy(res)
        return super().load_state_dict(state, strict=strict, assign=assign)

    # ----------------------------------------------------------------------------- rendering
    def forward(self, rays: RayBatch, *, train: bool) -> FieldOutput:  # type: ignore[override]
        c = self.config
        samples = stratified(rays, self.occupancy, self.samples_per_ray(rays), randomized=train)
        background = background_fn(c.background, self.env, self.bg_colour)(rays.viewdirs)
        out = render_samples(rays, samples, self.density_fn, self.colour_fn, background, c.weight_threshold)
        # The losses see ``depth_mode``; views shown, evaluated and exported keep the original's normalised
        # depth, which stays readable while the field is still semi-transparent.
        if train and c.depth_mode == "far_background":  # the transparent part lies where the last bin ends
            depth = out.depth
        else:
            depth = expected_depth(out.weights, samples.edges)
        res = FieldOutput(rgb=out.rgb, depth=depth, acc=out.acc)
        if train:
            if c.tv_density > 0:
                res.regularisers["tv_density"] = _tv_block(self.density, c.tv_fraction)
            if c.tv_color > 0 and self.vm is None:
                res.regularisers["tv_color"] = _tv_block(self.color, c.tv_fraction)
            if c.tv_planes > 0 and self.vm is not None:
                res.regularisers["tv_planes"] = self.vm.tv()
            if c.distortion > 0:
                span = (rays.far - rays.near).clamp(min=1e-6)
                res.regularisers["distortion"] = distortion_loss(out.weights, (samples.edges - rays.near) / span)
        return res


def _color_res(res: int, ratio: float) -> int:
    """Colour grid voxels per side for a density grid of ``res``."""
    return max(4, int(round(res * ratio)))


def _sample_spacing(config: FastFieldConfig, aabb: torch.Tensor) -> float:
    """Nominal sample interval (scene units): step_ratio voxels of the FINAL resolution over ``aabb`` [2, 3]."""
    final = config.resolution_schedule[-1][1]
    return config.step_ratio * float((aabb[1] - aabb[0]).max()) / (final - 1)


def _upgrade(state: dict) -> dict:
    """A state dict in today's layout from one written before the split into parts (``LEGACY_KEYS``)."""
    if "occupancy" not in state:
        return state
    new = {LEGACY_KEYS.get(k, k): v for k, v in state.items()}
    occ = state["occupancy"]
    new["occupancy.aabb"] = state["aabb"]
    new["occupancy.base"] = nearest_resample(state["view_mask"], occ.shape[0]) if "view_mask" in state else occ.clone()
    for name in ("surface", "free", "hole"):
        new[f"occupancy.{name}"] = torch.zeros_like(occ)
    return new


def _tv_block(grid: torch.Tensor, fraction: float) -> torch.Tensor:
    """Total variation in a random block holding ``fraction`` of the grid [X, Y, Z, C]."""
    side = max(2, int(round(grid.shape[0] * fraction ** (1.0 / 3.0))))
    o = torch.randint(0, grid.shape[0] - side + 1, (3,)).tolist()
    return tv_loss(grid[o[0] : o[0] + side, o[1] : o[1] + side, o[2] : o[2] + side])
