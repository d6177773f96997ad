"""The ``fast`` field: a dense voxel density grid + a dense RGB grid + an environment map (pure PyTorch).

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

from nerf.fields.base import Field, FieldOutput, RayBatch
from nerf.fields.config import FastFieldConfig
from nerf.fields.grid_ops import trilinear
from nerf.losses import distortion_loss
from nerf.rendering import accumulated_opacity, composite_rgb, expected_depth, volume_weights
from nerf.sampling import stratified_edges


class FastField(Field):
    """Dense-grid radiance field over the axis-aligned box ``aabb`` (float [2, 3]: min, max corners)."""

    def __init__(self, config: FastFieldConfig, aabb: torch.Tensor, up: torch.Tensor | None = None):
        super().__init__()
        if config.tv_color is None or config.distortion is None:  # the data set's: nerf.profiles.resolve fills them
            raise ValueError("FastFieldConfig.tv_color and .distortion must be set (resolve the TrainConfig first)")
        if config.depth_mode not in ("normalised", "far_background"):
            raise ValueError(f"depth_mode must be 'normalised' or 'far_background', not {config.depth_mode!r}")
        if config.envmap_up not in ("cameras", "world_z"):
            raise ValueError(f"envmap_up must be 'cameras' or 'world_z', not {config.envmap_up!r}")
        self.config = config
        self.register_buffer("aabb", torch.as_tensor(aabb, dtype=torch.float32).reshape(2, 3))
        self.param_version = 0  # bumped when parameters are replaced (the trainer rebuilds its optimizer)
        res = config.resolution_schedule[0][1]
        self.density = nn.Parameter(torch.zeros(res, res, res, 1))
        cres = self._color_res(res)
        self.color = nn.Parameter(torch.randn(cres, cres, cres, config.color_channels) * 0.1)
        self.mlp = None
        if config.color_channels != 3:
            vdim = 3 if config.view_dependent else 0
            self.mlp = nn.Sequential(
                nn.Linear(config.color_channels + vdim, config.hidden), nn.ReLU(inplace=True),
                nn.Linear(config.hidden, config.hidden), nn.ReLU(inplace=True),
                nn.Linear(config.hidden, 3),
            )
        self.background = nn.Parameter(torch.zeros(3))
        h, w = config.envmap_size
        self.envmap = nn.Parameter(torch.zeros(1, 3, h, w))  # latitude-longitude over world directions
        # Rows: the environment map's (x, y, up) axes in world coordinates. Not saved: the factory derives
        # ``up`` from the scene's cameras, so a resumed run rebuilds the same frame.
        self.register_buffer("env_frame", _frame_around(up), persistent=False)
        self.register_buffer("occupancy", torch.ones(res, res, res, dtype=torch.bool))
        self.register_buffer("view_mask", torch.ones(1, 1, 1, dtype=torch.bool))  # see restrict_to_views

    # ----------------------------------------------------------------------------- geometry helpers
    def _color_res(self, res: int) -> int:
        return max(4, int(round(res * self.config.color_ratio)))

    @property
    def resolution(self) -> int:
        return int(self.density.shape[0])

    def voxel_size(self) -> float:
        """Edge length of a density voxel in scene units (the largest axis)."""
        return float((self.aabb[1] - self.aabb[0]).max()) / (self.resolution - 1)

    def normalise(self, pts: torch.Tensor) -> torch.Tensor:
        """Scene points [..., 3] -> box coordinates in [-1, 1]."""
        return (pts - self.aabb[0]) / (self.aabb[1] - self.aabb[0]) * 2.0 - 1.0

    def _density_of(self, raw: torch.Tensor) -> torch.Tensor:
        """Density per scene unit from raw grid values: softplus(raw + shift) / dt.

        dt is the typical sample spacing and the shift makes a raw 0 give ``init_alpha`` over one
        interval; neither depends on the grid resolution, so upsampling keeps the field unchanged.
        """
        shift = math.log(math.expm1(-math.log(1.0 - self.config.init_alpha)))
        return F.softplus(raw + shift) / self._sample_spacing()

    # ----------------------------------------------------------------------------- schedule
    def target_resolution(self, step: int) -> int:
        res = self.config.resolution_schedule[0][1]
        for s, r in self.config.resolution_schedule:
            if step >= s:
                res = r
        return res

    def set_resolution(self, res: int) -> None:
        """Resample the grids to ``res`` voxels per side (trilinear); the optimizer must be rebuilt."""
        if res == self.resolution:
            return
        with torch.no_grad():
            dens = _resize(self.density.data, res)
            col = _resize(self.color.data, self._color_res(res))
        self.density = nn.Parameter(dens)
        self.color = nn.Parameter(col)
        self.occupancy = torch.ones(res, res, res, dtype=torch.bool, device=dens.device)
        self.param_version += 1
        self.update_occupancy()

    @torch.no_grad()
    def update_occupancy(self) -> None:
        """Cells whose 3x3x3 neighbourhood can make a sample interval more opaque than occupancy_alpha."""
        dt = self._sample_spacing()
        dens = self._density_of(self.density.data[..., 0])
        alpha = 1.0 - torch.exp(-dens * dt)
        pooled = F.max_pool3d(alpha[None, None], kernel_size=3, stride=1, padding=1)[0, 0]
        res = self.resolution
        self.occupancy = (pooled > self.config.occupancy_alpha) & self._view_mask_at(res)

    def _view_mask_at(self, res: int) -> torch.Tensor:
        """The view mask resampled (nearest) to ``res`` cells per side. bool [res, res, res]."""
        m = self.view_mask
        idx = (torch.arange(res, device=m.device) * (m.shape[0] / res) + 0.5 * m.shape[0] / res).long().clamp(max=m.shape[0] - 1)
        return m[idx][:, idx][:, :, idx]

    @torch.no_grad()
    def restrict_to_views(
        self,
        K: torch.Tensor,  # [V, 3, 3]
        w2c: torch.Tensor,  # [V, 4, 4] world-to-camera (OpenCV), the space rays live in
        width: int,
        height: int,
        near: float,
    ) -> None:
        """Only space inside at least ``min_views`` training frusta (beyond ``near``) may hold density.

        With 3 views, a voxel only one view sees can explain that view's pixels with a floater that
        every other view sees as a smear; two views are the least that constrain a surface.
        """
        r = self.config.view_mask_resolution
        axis = (torch.arange(r, device=K.device, dtype=torch.float32) + 0.5) / r * 2 - 1
        grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1).reshape(-1, 3)
        pts = (grid + 1) * 0.5 * (self.aabb[1] - self.aabb[0]) + self.aabb[0]  # cell centres [r^3, 3]
        count = torch.zeros(pts.shape[0], dtype=torch.int32, device=K.device)
        for k, m in zip(K.float(), w2c.float()):
            cam = pts @ m[:3, :3].T + m[:3, 3]
            z = cam[:, 2].clamp(min=1e-6)
            u, v = k[0, 0] * cam[:, 0] / z + k[0, 2], k[1, 1] * cam[:, 1] / z + k[1, 2]
            count += ((cam[:, 2] > near) & (u >= 0) & (u <= width) & (v >= 0) & (v <= height)).int()
        self.view_mask = (count >= min(self.config.min_views, len(K))).reshape(r, r, r)
        self.update_occupancy()

    def _sample_spacing(self) -> float:
        """Nominal sample interval (scene units): step_ratio voxels of the FINAL resolution.

        The density activation is scaled by it, so it must not change when the grid is upsampled.
        """
        final = self.config.resolution_schedule[-1][1]
        return self.config.step_ratio * float((self.aabb[1] - self.aabb[0]).max()) / (final - 1)

    def samples_per_ray(self, rays: RayBatch) -> int:
        """Bins per ray now: the longest ray's length over step_ratio voxels of the current grid."""
        length = float(((rays.far - rays.near) * rays.directions.norm(dim=-1, keepdim=True)).max())
        n = math.ceil(length / (self.config.step_ratio * self.voxel_size()))
        return int(min(max(n, 8), self.config.max_samples))

    def before_step(self, step: int) -> None:
        self.set_resolution(self.target_resolution(step))
        if step % self.config.occupancy_every == 0:
            self.update_occupancy()

    def param_groups(self) -> list[dict]:
        """Adam parameter groups with their base learning rates."""
        c = self.config
        small = [*(self.mlp.parameters() if self.mlp is not None else ()), self.background, self.envmap]
        return [
            {"params": [self.density], "lr": c.lr_density, "name": "density"},
            {"params": [self.color], "lr": c.lr_color, "name": "color"},
            {"params": small, "lr": c.lr_mlp, "name": "mlp"},
        ]

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # type: ignore[override]
        """Resize the grids to the checkpoint's resolution first, then load."""
        res = int(state_dict["density"].shape[0])
        if res != self.resolution:
            self.density = nn.Parameter(torch.zeros(res, res, res, 1, device=self.density.device))
            cres = int(state_dict["color"].shape[0])
            self.color = nn.Parameter(torch.zeros(cres, cres, cres, self.config.color_channels, device=self.color.device))
            self.occupancy = torch.ones(res, res, res, dtype=torch.bool, device=self.density.device)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # ----------------------------------------------------------------------------- rendering
    def forward(self, rays: RayBatch, *, train: bool) -> FieldOutput:  # type: ignore[override]
        c = self.config
        edges = stratified_edges(rays.near, rays.far, self.samples_per_ray(rays), randomized=train)  # [R, S + 1]
        mids = 0.5 * (edges[:, 1:] + edges[:, :-1])  # [R, S]
        pts = self.normalise(rays.origins[:, None, :] + mids[..., None] * rays.directions[:, None, :])  # [R, S, 3]
        keep = (pts.abs() <= 1.0).all(dim=-1) & self._occupied(pts)  # [R, S]
        dir_norm = rays.directions.norm(dim=-1, keepdim=True)
        density = torch.zeros_like(mids)
        sel = keep.nonzero(as_tuple=True)
        if sel[0].numel():
            density = density.index_put(sel, self._density_of(trilinear(self.density, pts[sel])[:, 0]))
        weights = volume_weights(density, edges, dir_norm)  # [R, S]
        shade = keep & (weights.detach() > c.weight_threshold)
        rgb = torch.zeros((*mids.shape, 3), device=mids.device, dtype=mids.dtype)
        sel = shade.nonzero(as_tuple=True)
        if sel[0].numel():
            rgb = rgb.index_put(sel, self._colour(pts[sel], rays.viewdirs[sel[0]]))
        bg = self._background(rays.viewdirs)
        out = FieldOutput(
            rgb=composite_rgb(weights, rgb, background=bg),
            # The losses see ``depth_mode``; views shown, evaluated and exported keep the original's
            # normalised depth, which stays readable while the field is still semi-transparent.
            depth=self._depth(weights, edges) if train else expected_depth(weights, edges),
            acc=accumulated_opacity(weights),
        )
        if train:
            out.aux_losses = self._tv_losses()
            if c.distortion > 0:
                span = (rays.far - rays.near).clamp(min=1e-6)
                out.aux_losses["distortion"] = c.distortion * distortion_loss(weights, (edges - rays.near) / span)
        return out

    def _depth(self, weights: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        """Depth [R] of each ray from weights [R, S] and bin edges [R, S + 1] (``depth_mode``)."""
        if self.config.depth_mode == "normalised":
            return expected_depth(weights, edges)
        t_mid = 0.5 * (edges[:, 1:] + edges[:, :-1])
        return (weights * t_mid).sum(-1) + (1.0 - weights.sum(-1)).clamp(min=0.0) * edges[:, -1]

    def _background(self, viewdirs: torch.Tensor) -> torch.Tensor | float | None:
        """Background colour [R, 3] (or a constant) behind each ray."""
        kind = self.config.background
        if kind == "envmap":
            d = viewdirs / viewdirs.norm(dim=-1, keepdim=True) @ self.env_frame.T
            lat = torch.asin(d[:, 2].clamp(-1.0, 1.0)) / (0.5 * math.pi)  # [-1, 1]
            lon = torch.atan2(d[:, 1], d[:, 0]) / math.pi  # [-1, 1]
            g = torch.stack([lon, lat], dim=-1)[None, :, None, :]  # [1, R, 1, 2]
            env = F.grid_sample(self.envmap, g, mode="bilinear", padding_mode="border", align_corners=False)
            return torch.sigmoid(env[0, :, :, 0].t())
        if kind == "learned":
            return torch.sigmoid(self.background)
        return {"white": 1.0, "black": None}[kind]

    def _occupied(self, pts: torch.Tensor) -> torch.Tensor:
        """Nearest-cell occupancy lookup. pts [..., 3] in [-1, 1] -> bool [...]."""
        res = self.occupancy.shape[0]
        idx = ((pts + 1.0) * 0.5 * (res - 1)).round().long().clamp(0, res - 1)
        return self.occupancy[idx[..., 0], idx[..., 1], idx[..., 2]]

    def _colour(self, pts: torch.Tensor, viewdirs: torch.Tensor) -> torch.Tensor:
        """RGB [N, 3] in [0, 1] at box points [N, 3]."""
        feat = trilinear(self.color, pts)
        if self.mlp is None:
            return torch.sigmoid(feat)
        if self.config.view_dependent:
            feat = torch.cat([feat, viewdirs], dim=-1)
        return torch.sigmoid(self.mlp(feat))

    def _tv_losses(self) -> dict[str, torch.Tensor]:
        c = self.config
        out = {}
        if c.tv_density > 0:
            out["tv_density"] = c.tv_density * _tv_block(self.density, c.tv_fraction)
        if c.tv_color > 0:
            out["tv_color"] = c.tv_color * _tv_block(self.color, c.tv_fraction)
        return out


def _frame_around(up: torch.Tensor | None) -> torch.Tensor:
    """A rotation [3, 3] whose last row is the unit vector ``up`` (world z when None)."""
    if up is None:
        return torch.eye(3)
    z = torch.as_tensor(up, dtype=torch.float32).reshape(3)
    z = z / z.norm()
    helper = torch.tensor([1.0, 0.0, 0.0]) if abs(float(z[0])) < 0.9 else torch.tensor([0.0, 1.0, 0.0])
    x = torch.linalg.cross(helper, z)
    x = x / x.norm()
    return torch.stack([x, torch.linalg.cross(z, x), z])


def _resize(grid: torch.Tensor, res: int) -> torch.Tensor:
    """Channels-last grid [X, Y, Z, C] resampled trilinearly (corner-aligned) to [res, res, res, C]."""
    vol = grid.permute(3, 0, 1, 2)[None]
    out = F.interpolate(vol, size=(res, res, res), mode="trilinear", align_corners=True)
    return out[0].permute(1, 2, 3, 0).contiguous()


def _tv_block(grid: torch.Tensor, fraction: float) -> torch.Tensor:
    """Mean squared difference between neighbouring voxels in a random block holding ``fraction`` of the grid."""
    side = max(2, int(round(grid.shape[0] * fraction ** (1.0 / 3.0))))
    o = torch.randint(0, grid.shape[0] - side + 1, (3,)).tolist()
    b = grid[o[0] : o[0] + side, o[1] : o[1] + side, o[2] : o[2] + side]
    return ((b[1:] - b[:-1]) ** 2).mean() + ((b[:, 1:] - b[:, :-1]) ** 2).mean() + ((b[:, :, 1:] - b[:, :, :-1]) ** 2).mean()
