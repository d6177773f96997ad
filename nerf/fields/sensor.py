"""The ``sensor`` field: for captures with metric depth (virtual sensor, Kinect, ZED, iPhone), built from parts.

- geometry: a dense density grid (``density_resolution``^3, trilinear) SEEDED from the training views'
  depth: cells holding depth points start opaque, so the first preview already has the right geometry;
- ``nerf.occupancy.OccupancyGrid``: surface / free (carved: the sensor saw through it) / hole cells from
  the same depth; only surface and hole cells are ever sampled;
- ``nerf.march.march``: samples every half cell in occupied cells, the first ``max_samples`` of each ray
  (i.e. around its surface);
- appearance: a TensoRF vector-matrix feature volume (``nerf.fields.vm_ops``, planes up to 512^2: ~1 cm
  over a room) with a small MLP decoder to RGB (diffuse: no view direction);
- ``nerf.render_fn.render_samples``: compositing through the density / colour functions;
- background (what rays that hit nothing show): ``nerf.fields.shell.ShellMap``, a texture on a sphere around the
  cameras fitted to the training views' pixels without depth (``background`` "shell"), or
  ``nerf.fields.background.EnvMap`` started at the mean training colour ("envmap", what TSDF fusion shows).

The trainer adds SparseNeRF's ranking and continuity losses as for every field, and a metric depth
loss (``metric_depth_weight``) on training pixels with sensor depth.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nerf.fields.background import EnvMap, frame_around
from nerf.fields.base import Field, FieldOutput, RayBatch, RayTermination
from nerf.fields.config import SensorFieldConfig
from nerf.fields.grid_ops import schedule_value, trilinear, tv_loss
from nerf.fields.shell import ShellMap, fit_shell
from nerf.fields.vm_ops import plane_tv, resize_vm, vm_features
from nerf.march import march
from nerf.occupancy import DepthViews, OccupancyGrid, opaque_cells
from nerf.render_fn import render_samples


class SensorField(Field):
    """See the module docstring. ``aabb`` float [2, 3]; ``up`` the scene's up [3] for the environment map."""

    fused_adam = True
    """``nerf.optim.FieldOptimizer``: fused Adam, gradient buffers kept (the planes are millions of numbers)."""

    def __init__(self, config: SensorFieldConfig, aabb: torch.Tensor, up: torch.Tensor | None = None):
        super().__init__()
        self.config = config
        box = torch.as_tensor(aabb, dtype=torch.float32).reshape(2, 3)
        ext = box[1] - box[0]
        cell = float(ext.max()) / (config.density_resolution - 1)
        shape = [max(4, int(math.ceil(float(e) / cell)) + 1) for e in ext]
        box[1] = box[0] + cell * (torch.tensor(shape, dtype=torch.float32) - 1)  # cubic cells
        self.register_buffer("aabb", box)
        self.param_version = 0
        self.density = nn.Parameter(torch.zeros(*shape, 1))
        self.occupancy = OccupancyGrid(self.aabb, tuple(shape))
        p, c = config.plane_schedule[0][1], config.components
        self.planes = nn.Parameter(torch.randn(3, c, p, p) * 0.1)
        self.lines = nn.Parameter(torch.ones(3, c, p))
        self.decoder = nn.Sequential(nn.Linear(3 * c, config.hidden), nn.ReLU(inplace=True), nn.Linear(config.hidden, 3))
        frame = frame_around(up)
        self.env = ShellMap(config.shell_size, frame) if config.background == "shell" else EnvMap(config.envmap_size, frame)

    # ------------------------------------------------------------------ geometry
    def cell(self) -> float:
        return float((self.aabb[1] - self.aabb[0]).max()) / (max(self.density.shape[:3]) - 1)

    def step_size(self) -> float:
        return self.config.step_ratio * self.cell()

    def normalise(self, pts: torch.Tensor) -> torch.Tensor:
        return (pts - self.aabb[0]) / (self.aabb[1] - self.aabb[0]) * 2.0 - 1.0

    def _shift(self, alpha: float) -> float:
        """Raw value whose density gives ``alpha`` over one march step (softplus(raw + shift0) / step)."""
        return math.log(math.expm1(-math.log(1.0 - alpha)))

    def density_fn(self, pts: torch.Tensor) -> torch.Tensor:
        """Density per unit length [N] at world points [N, 3]."""
        raw = trilinear(self.density, self.normalise(pts))[:, 0]
        return F.softplus(raw + self._shift(self.config.init_alpha)) / self.step_size()

    def colour_fn(self, pts: torch.Tensor, viewdirs: torch.Tensor) -> torch.Tensor:
        """Diffuse RGB [N, 3] at world points [N, 3] (view direction unused)."""
        return torch.sigmoid(self.decoder(vm_features(self.planes, self.lines, self.normalise(pts))))

    @torch.no_grad()
    def seed_from_depth(self, views: DepthViews, near: float, far: float, mean_rgb: torch.Tensor,
                        images: torch.Tensor | None = None) -> None:
        """Occupancy from the views' depth, density raised in the cells that hold depth points; the background: the
        shell fitted to the pixels of ``images`` (the views' RGB [V, H, W, 3] in [0, 1]) without depth, or the mean
        colour ``mean_rgb`` [3] (the "envmap" background, or no images)."""
        self.occupancy.seed_from_depth(views, near, far, holes=self.config.hole_cells)
        raw = self._shift(self.config.seed_alpha) - self._shift(self.config.init_alpha)
        pts_cells = self.occupancy.surface & ~F.max_pool3d((~self.occupancy.surface)[None, None].float(), 3, 1, 1)[0, 0].bool()
        self.density.data[..., 0] = torch.where(pts_cells, torch.full_like(self.density.data[..., 0], raw), self.density.data[..., 0])
        self.env.map.data[:] = torch.logit(mean_rgb.clamp(0.02, 0.98)).reshape(1, 3, 1, 1).to(self.env.map.device)
        if isinstance(self.env, ShellMap) and images is not None:
            fit_shell(self.env, *_depthless_rays(views, images))

    # ------------------------------------------------------------------ schedule
    def before_step(self, step: int) -> None:
        res = schedule_value(self.config.plane_schedule, step)
        if res != self.planes.shape[-1]:
            with torch.no_grad():
                p, ln = resize_vm(self.planes.data, self.lines.data, res)
            self.planes, self.lines = nn.Parameter(p), nn.Parameter(ln)
            self.param_version += 1
        if step % self.config.occupancy_every == 0:
            self.refresh_occupancy()

    @torch.no_grad()
    def refresh_occupancy(self) -> None:
        dens = F.softplus(self.density.data[..., 0] + self._shift(self.config.init_alpha)) / self.step_size()
        self.occupancy.refresh(opaque_cells(dens, self.step_size(), self.config.occupancy_alpha))

    def param_groups(self) -> list[dict]:
        c = self.config
        return [
            {"params": [self.density], "lr": c.lr_density, "name": "density"},
            {"params": [self.planes, self.lines], "lr": c.lr_vm, "name": "vm"},
            {"params": list(self.decoder.parameters()), "lr": c.lr_decoder, "name": "decoder"},
            {"params": list(self.env.parameters()), "lr": c.lr_background, "name": "background"},
        ]

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # type: ignore[override]
        """Resize the VM to the checkpoint's resolution first, then load. A checkpoint from before the shell
        background (an environment map, no ``env.radius``) keeps its environment map."""
        if isinstance(self.env, ShellMap) and "env.radius" not in state_dict:
            self.env = EnvMap(tuple(state_dict["env.map"].shape[-2:]), self.env.frame).to(self.env.map.device)
            self.param_version += 1
        res = int(state_dict["planes"].shape[-1])
        if res != self.planes.shape[-1]:
            self.planes = nn.Parameter(torch.zeros_like(state_dict["planes"], device=self.planes.device))
            self.lines = nn.Parameter(torch.zeros_like(state_dict["lines"], device=self.lines.device))
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # ------------------------------------------------------------------ rendering
    def background(self, rays: RayBatch) -> torch.Tensor:
        """RGB [R, 3] the rays show where they hit nothing (the shell reads their origins too)."""
        return self.env(rays.origins, rays.viewdirs) if isinstance(self.env, ShellMap) else self.env(rays.viewdirs)

    def forward(self, rays: RayBatch, *, train: bool) -> FieldOutput:  # type: ignore[override]
        samples = march(rays, self.occupancy, self.step_size(), self.config.max_samples, randomized=train)
        out = render_samples(rays, samples, self.density_fn, self.colour_fn, self.background(rays),
                             self.config.weight_threshold)
        res = FieldOutput(rgb=out.rgb, depth=out.depth if train else out.depth_normalised, acc=out.acc)
        if train:
            res.termination = RayTermination(samples.t, out.weights)  # for the trainer's metric depth loss
            if self.config.tv_density > 0:
                res.regularisers["tv_density"] = _tv(self.density)
            if self.config.tv_planes > 0:
                res.regularisers["tv_planes"] = plane_tv(self.planes, self.config.tv_planes_block)
        return res

    def regulariser_weights(self) -> dict[str, float]:
        c = self.config
        return {"tv_density": c.tv_density, "tv_planes": c.tv_planes, "metric_depth": c.metric_depth_weight}


def _tv(grid: torch.Tensor, side: int = 24) -> torch.Tensor:
    """Mean squared neighbour difference in a random block of up to ``side``^3 cells of grid [X, Y, Z, C]."""
    o = [int(torch.randint(0, max(1, n - side + 1), ())) for n in grid.shape[:3]]
    return tv_loss(grid[o[0] : o[0] + side, o[1] : o[1] + side, o[2] : o[2] + side])


def _depthless_rays(views: DepthViews, images: torch.Tensor) -> tuple[list, torch.Tensor, float]:
    """``fit_shell``'s inputs: per view the (origins, directions, RGB) [N, 3] of its pixels without depth; the
    cameras' centre [3]; the farthest depth point's distance from it."""
    V, H, W = views.depth.shape
    dev = views.depth.device
    ys, xs = torch.meshgrid(torch.arange(H, device=dev), torch.arange(W, device=dev), indexing="ij")
    c2w = torch.linalg.inv(views.w2c.double()).float()  # [V, 4, 4]
    centre = c2w[:, :3, 3].mean(0)
    rays, reach = [], 0.0
    for v in range(V):
        K = views.K[v]
        d_cam = torch.stack([(xs + 0.5 - K[0, 2]) / K[0, 0], (ys + 0.5 - K[1, 2]) / K[1, 1], torch.ones_like(xs, dtype=K.dtype)], -1)
        dirs = d_cam @ c2w[v, :3, :3].T  # [H, W, 3]
        has = views.depth[v] > 0
        if bool(has.any()):
            pts = c2w[v, :3, 3] + dirs[has] * views.depth[v][has][:, None]
            reach = max(reach, float((pts - centre).norm(dim=-1).max()))
        none = ~has
        rays.append((c2w[v, :3, 3].expand(int(none.sum()), 3), dirs[none], images[v][none].float()))
    return rays, centre, reach
