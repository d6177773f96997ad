"""A background with parallax: a textured sphere around the training cameras (the sensor field's default).

What a depth sensor cannot range (walls past its maximum range, black or shiny surfaces) has colour in the
training views but no depth, so no sample ever lands there and the ray shows the background. A direction-only
environment map (``nerf.fields.background.EnvMap``) at 4 x 8 cells gives those pixels one flat colour, and at a
fine resolution it would slide with the camera (a wall 4 m away moves by degrees between the training views).
``ShellMap`` puts the texture on a sphere of radius ``radius`` around ``centre``: a ray reads the texel where it
leaves the sphere, so far surfaces keep roughly their parallax. ``fit_shell`` sets it up before training from
the training views' pixels without depth: the radius that makes the views agree best (a plane sweep over
spheres), their colours averaged per texel, and texels no view saw filled from coarser levels (push-pull), so
unseen directions continue the seen colours smoothly instead of showing one mean colour.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

RADIUS_FACTORS = (1.0, 1.25, 1.5, 2.0, 3.0, 5.0)
"""Candidate radii of ``fit_shell``, in units of the farthest depth point's distance from the cameras' centre."""
SWEEP_SIZE = (32, 64)
"""Texture size at which ``fit_shell`` compares the views for each candidate radius."""


class ShellMap(nn.Module):
    """A (latitude, longitude) = ``size`` texture of RGB logits [1, 3, H, W] on a sphere (``centre`` [3], ``radius``);
    latitude from ``frame[2]`` (rows of ``frame`` [3, 3]: the map's x, y and up axes in world coordinates)."""

    def __init__(self, size: tuple[int, int], frame: torch.Tensor):
        super().__init__()
        self.map = nn.Parameter(torch.zeros(1, 3, *size))
        self.register_buffer("centre", torch.zeros(3))
        self.register_buffer("radius", torch.ones(()))
        self.register_buffer("frame", frame.float(), persistent=False)

    def coords(self, origins: torch.Tensor, dirs: torch.Tensor, radius: torch.Tensor | None = None) -> torch.Tensor:
        """grid_sample coordinates [R, 2] (longitude, latitude in [-1, 1]) where rays (``origins``, ``dirs`` [R, 3])
        leave the sphere; a ray that misses it (its origin outside) reads its direction."""
        r = self.radius if radius is None else radius
        d = dirs / dirs.norm(dim=-1, keepdim=True)
        oc = origins - self.centre
        b = (oc * d).sum(-1, keepdim=True)
        disc = b * b - ((oc * oc).sum(-1, keepdim=True) - r * r)
        p = torch.where(disc > 0, oc + (disc.clamp(min=0).sqrt() - b) * d, d)
        u = (p / p.norm(dim=-1, keepdim=True).clamp(min=1e-9)) @ self.frame.T
        lat = torch.asin(u[:, 2].clamp(-1.0, 1.0)) / (0.5 * math.pi)
        lon = torch.atan2(u[:, 1], u[:, 0]) / math.pi
        return torch.stack([lon, lat], dim=-1)

    def forward(self, origins: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
        """RGB [R, 3] in [0, 1] of rays ``origins``, ``dirs`` [R, 3]."""
        g = self.coords(origins, dirs)[None, :, None, :]
        out = F.grid_sample(self.map, g, mode="bilinear", padding_mode="border", align_corners=False)
        return torch.sigmoid(out[0, :, :, 0].t())


def _splat(grid: torch.Tensor, rgb: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of colours [3, H, W] and count [H, W] of samples at grid coordinates [N, 2] (nearest texel)."""
    H, W = size
    x = ((grid[:, 0] + 1) * 0.5 * W).long().clamp(0, W - 1)
    y = ((grid[:, 1] + 1) * 0.5 * H).long().clamp(0, H - 1)
    idx = y * W + x
    total = torch.zeros(3, H * W, dtype=rgb.dtype, device=rgb.device).index_add_(1, idx, rgb.t())
    count = torch.zeros(H * W, dtype=rgb.dtype, device=rgb.device).index_add_(0, idx, torch.ones_like(idx, dtype=rgb.dtype))
    return total.view(3, H, W), count.view(H, W)


def push_pull(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Mean colour [3, H, W] per texel from splatted sums [3, H, W] and counts [H, W]; empty texels take the mean of
    the nearest coarser level that has samples (a mip pyramid of the sums, up-sampled bilinearly)."""
    if count.sum() == 0:
        return torch.full_like(total, 0.5)
    if min(count.shape) <= 1:
        return (total.sum((1, 2)) / count.sum())[:, None, None].expand_as(total).clone()
    coarse = push_pull(F.avg_pool2d(total[None], 2, ceil_mode=True)[0], F.avg_pool2d(count[None, None], 2, ceil_mode=True)[0, 0])
    up = F.interpolate(coarse[None], size=count.shape, mode="bilinear", align_corners=False)[0]
    return torch.where(count > 0, total / count.clamp(min=1e-9), up)


def _disagreement(shell: ShellMap, rays: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], radius: torch.Tensor) -> float:
    """Mean colour variance across views per texel (texels two or more views hit) at ``radius``; inf if none."""
    means, hits = [], []
    for o, d, rgb in rays:
        total, count = _splat(shell.coords(o, d, radius), rgb, SWEEP_SIZE)
        means.append(total / count.clamp(min=1)), hits.append(count > 0)
    m, h = torch.stack(means), torch.stack(hits).float()  # [V, 3, H, W], [V, H, W]
    n = h.sum(0)
    both = n >= 2
    if not bool(both.any()):
        return math.inf
    mu = (m * h[:, None]).sum(0) / n.clamp(min=1)
    var = (((m - mu) ** 2).sum(1) * h).sum(0) / n.clamp(min=1)
    return float(var[both].mean())


@torch.no_grad()
def fit_shell(shell: ShellMap, rays: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], centre: torch.Tensor,
              reach: float) -> float:
    """Set ``shell`` from the training views' pixels without depth: ``rays`` = per view (origins [N, 3], directions
    [N, 3], RGB [N, 3] in [0, 1]); ``centre`` [3] the cameras' centre; ``reach`` the farthest depth point's distance
    from it. Picks the radius among ``RADIUS_FACTORS`` x reach where the views agree best, averages the colours per
    texel and fills the rest (``push_pull``). Returns the radius."""
    shell.centre.copy_(centre)
    rays = [r for r in rays if len(r[0])]
    if not rays:
        return float(shell.radius)
    radii = [torch.tensor(f * reach, dtype=torch.float32, device=centre.device) for f in RADIUS_FACTORS]
    scores = [_disagreement(shell, rays, r) for r in radii]
    best = radii[min(range(len(radii)), key=lambda i: scores[i])] if min(scores) < math.inf else radii[0]
    shell.radius.copy_(best)
    size = tuple(shell.map.shape[-2:])
    total, count = torch.zeros(3, *size), torch.zeros(size)
    for o, d, rgb in rays:
        t, c = _splat(shell.coords(o, d), rgb, size)
        total, count = total + t.cpu(), count + c.cpu()
    colour = push_pull(total, count).clamp(0.02, 0.98)
    shell.map.copy_(torch.logit(colour)[None].to(shell.map.device))
    return float(best)
