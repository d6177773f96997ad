"""Backgrounds: what the transparent part of a ray shows. A latitude-longitude environment map over world directions."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class EnvMap(nn.Module):
    """A ``size`` = (latitude, longitude) grid of RGB (before a sigmoid) over directions; latitude from ``frame[2]``.

    ``frame``: rows = the map's x, y and up axes in world coordinates [3, 3]. ``init_rgb``: the colour every
    cell starts at (e.g. the mean training colour, which is what a sensor user's fusion shows where it saw
    nothing).
    """

    def __init__(self, size: tuple[int, int], frame: torch.Tensor, init_rgb: torch.Tensor | None = None):
        super().__init__()
        start = torch.zeros(3) if init_rgb is None else torch.logit(torch.as_tensor(init_rgb).float().clamp(0.02, 0.98))
        self.map = nn.Parameter(start.reshape(1, 3, 1, 1).repeat(1, 1, *size).contiguous())
        self.register_buffer("frame", frame.float(), persistent=False)

    def forward(self, viewdirs: torch.Tensor) -> torch.Tensor:
        """RGB [R, 3] in [0, 1] for unit view directions [R, 3]."""
        d = viewdirs / viewdirs.norm(dim=-1, keepdim=True) @ self.frame.T
        lat = torch.asin(d[:, 2].clamp(-1.0, 1.0)) / (0.5 * math.pi)
        lon = torch.atan2(d[:, 1], d[:, 0]) / math.pi
        g = torch.stack([lon, lat], dim=-1)[None, :, None, :]
        env = F.grid_sample(self.map, g, mode="bilinear", padding_mode="border", align_corners=False)
        return torch.sigmoid(env[0, :, :, 0].t())
