"""Backgrounds: what the transparent part of a ray shows.

Four kinds (``BackgroundKind``): a latitude-longitude environment map over world directions (``EnvMap``), one
learned colour (``LearnedColour``), black or white. A field builds the learned parts it may use and asks
``background_fn`` for the function of the kind its config names; the renderer calls that function with the
rays' view directions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nerf.fields.config import BackgroundKind

BackgroundFn = Callable[[torch.Tensor], "torch.Tensor | float | None"]
"""viewdirs [R, 3] -> RGB [R, 3] or [3], a constant, or None (black: nothing is added)."""


def frame_around(up: torch.Tensor | None) -> torch.Tensor:
    """A rotation [3, 3] whose last row is the unit vector ``up`` (world z when None)."""
    if up is None:
        return torch.eye(3)
    z = torch.as_tensor(up, dtype=torch.float32).reshape(3)
    z = z / z.norm()
    helper = torch.tensor([1.0, 0.0, 0.0]) if abs(float(z[0])) < 0.9 else torch.tensor([0.0, 1.0, 0.0])
    x = torch.linalg.cross(helper, z)
    x = x / x.norm()
    return torch.stack([x, torch.linalg.cross(z, x), z])


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


class LearnedColour(nn.Module):
    """One learned RGB behind every ray (sigmoid of ``rgb``, mid-grey at the start)."""

    def __init__(self) -> None:
        super().__init__()
        self.rgb = nn.Parameter(torch.zeros(3))

    def forward(self, viewdirs: torch.Tensor) -> torch.Tensor:
        """RGB [3] in [0, 1] (the same for every ray; broadcasts against [R, 3])."""
        return torch.sigmoid(self.rgb)


def background_fn(kind: BackgroundKind, env: EnvMap, colour: LearnedColour) -> BackgroundFn:
    """The background function of ``kind`` (``env`` and ``colour`` are the field's learned parts)."""
    table: dict[str, BackgroundFn] = {"envmap": env, "learned": colour, "white": lambda v: 1.0, "black": lambda v: None}
    return table[kind]
