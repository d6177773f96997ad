"""The faithful Mip-NeRF field of SparseNeRF/RegNeRF: IPE, 8x256 MLP, two levels sharing one MLP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from nerf.choices import check_choices
from nerf.fields import mip_ops
from nerf.fields.base import Field, FieldOutput, RayBatch
from nerf.presets import NearFarAnneal, anneal_near_far
from nerf.sampling import stratified_edges


@dataclass
class MipNeRFConfig:
    """Sizes and constants of the Mip-NeRF field; the defaults are the original's."""

    num_samples: int = 128
    """Samples (frustums) per ray on each level."""
    num_levels: int = 2
    """Levels: 1 coarse + (num_levels - 1) fine levels resampled from the previous one."""
    min_deg_point: int = 0
    """Lowest IPE degree of positions."""
    max_deg_point: int = 16
    """IPE degrees are min_deg_point .. max_deg_point - 1."""
    deg_view: int = 4
    """Positional-encoding degrees of view directions (identity appended)."""
    net_depth: int = 8
    """Layers of the trunk MLP."""
    net_width: int = 256
    """Width of the trunk MLP."""
    skip_layer: int = 4
    """The trunk's input is concatenated back in after every skip_layer layers."""
    net_depth_condition: int = 1
    """Layers of the view-conditioned colour branch."""
    net_width_condition: int = 128
    """Width of the colour branch."""
    density_bias: float = -1.0
    """Added to the raw density before the softplus."""
    density_noise: float = 1.0
    """Std of Gaussian noise on the raw density while training."""
    rgb_padding: float = 0.001
    """Colour = sigmoid * (1 + 2 pad) - pad, so 0 and 1 are reachable."""
    resample_padding: float = 0.01
    """Added to the blurred coarse weights before resampling the fine level."""
    ray_shape: Literal["cone", "cylinder"] = "cone"
    """Gaussian of each sample: "cone" (conical frustum; Mip-NeRF, DTU) or "cylinder" (the authors'
    LLFF and NVS-RGBD configs)."""
    near_far: NearFarAnneal = field(default_factory=NearFarAnneal)
    """RegNeRF's near/far annealing of the training rays over the first steps (off by default)."""

    def __post_init__(self) -> None:
        check_choices(self)


def _dense(n_in: int, n_out: int) -> nn.Linear:
    """A linear layer initialised as the original's Dense (Glorot-uniform weights, zero bias)."""
    layer = nn.Linear(n_in, n_out)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class MipMLP(nn.Module):
    """Trunk with a skip connection, density head, bottleneck and view-conditioned colour branch."""

    def __init__(self, cfg: MipNeRFConfig):
        super().__init__()
        self.cfg = cfg
        d_in = 2 * 3 * (cfg.max_deg_point - cfg.min_deg_point)
        d_view = 3 + 2 * 3 * cfg.deg_view
        layers, width_in = [], d_in
        for i in range(cfg.net_depth):
            layers.append(_dense(width_in, cfg.net_width))
            width_in = cfg.net_width + (d_in if self._skip_after(i) else 0)
        self.trunk = nn.ModuleList(layers)
        self.density = _dense(width_in, 1)
        self.bottleneck = _dense(width_in, cfg.net_width)
        cond, width_in = [], cfg.net_width + d_view
        for _ in range(cfg.net_depth_condition):
            cond.append(_dense(width_in, cfg.net_width_condition))
            width_in = cfg.net_width_condition
        self.condition = nn.ModuleList(cond)
        self.rgb = _dense(width_in, 3)

    def _skip_after(self, i: int) -> bool:
        """The input is concatenated to the output of trunk layer i (0-based) when i % skip == 0, i > 0."""
        return i > 0 and i % self.cfg.skip_layer == 0

    def forward(
        self,
        enc: torch.Tensor,  # [R, S, d_in]
        view_enc: torch.Tensor,  # [R, d_view]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw colour [R, S, 3] and raw density [R, S] (before activations)."""
        x = enc
        for i, layer in enumerate(self.trunk):
            x = F.relu(layer(x))
            if self._skip_after(i):
                x = torch.cat([x, enc], dim=-1)
        raw_density = self.density(x)[..., 0]
        h = self.bottleneck(x)
        v = view_enc[:, None, :].expand(-1, h.shape[1], -1)
        h = torch.cat([h, v], dim=-1)
        for layer in self.condition:
            h = F.relu(layer(h))
        return self.rgb(h), raw_density


class MipNeRFField(Field):
    """Mip-NeRF rendering rays end to end: coarse stratified level, fine level resampled from it.

    Loss terms: the coarse level's colour goes out as ``FieldOutput.rgb_coarse`` (``LossConfig.coarse_weight`` weighs
    it in ``nerf.losses.sparsenerf_loss``); the field has no regularisers of its own (``regulariser_weights``: none).
    """

    def __init__(self, cfg: MipNeRFConfig | None = None):
        super().__init__()
        self.cfg = cfg or MipNeRFConfig()
        self.mlp = MipMLP(self.cfg)
        self._step = 0

    def before_step(self, step: int) -> None:
        self._step = step

    def forward(self, rays: RayBatch, *, train: bool) -> FieldOutput:  # type: ignore[override]
        cfg = self.cfg
        view_enc = mip_ops.pos_enc(rays.viewdirs, 0, cfg.deg_view, append_identity=True)
        rgb_coarse = None
        near, far = rays.near, rays.far
        if train:
            near, far = anneal_near_far(near, far, self._step, cfg.near_far)
        t_edges = stratified_edges(near, far, cfg.num_samples, randomized=train)
        weights = None
        for level in range(cfg.num_levels):
            if level > 0:
                t_edges = mip_ops.resample_edges(t_edges, weights, cfg.resample_padding, randomized=train)
            rgb, depth, acc, weights = self._render_level(rays, t_edges, view_enc, train)
            if level == 0 and cfg.num_levels > 1:
                rgb_coarse = rgb
        return FieldOutput(rgb=rgb, depth=depth, acc=acc, rgb_coarse=rgb_coarse)

    def _render_level(
        self, rays: RayBatch, t_edges: torch.Tensor, view_enc: torch.Tensor, train: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        means, cov = mip_ops.cast_rays(rays.origins, rays.directions, rays.radii, t_edges, cfg.ray_shape)
        enc = mip_ops.integrated_pos_enc(means, cov, cfg.min_deg_point, cfg.max_deg_point)
        raw_rgb, raw_density = self.mlp(enc, view_enc)
        if train and cfg.density_noise > 0:
            raw_density = raw_density + cfg.density_noise * torch.randn_like(raw_density)
        density = F.softplus(raw_density + cfg.density_bias)
        rgb = torch.sigmoid(raw_rgb) * (1 + 2 * cfg.rgb_padding) - cfg.rgb_padding
        return mip_ops.volume_render(rgb, density, t_edges, rays.directions)
