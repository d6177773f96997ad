"""A factorised colour volume for the fast field: TensoRF vector-matrix features + a small MLP decoder to RGB.

A dense RGB grid holds texture at its voxel size only, and its cost grows with the cube of the resolution;
the VM factorisation (``nerf.fields.vm_ops``) holds 3 x C x R^2 numbers, so planes of 256-384 samples
(about 1.5 px of a DTU view over the object) cost less than a 64^3 RGB grid. The decoder is diffuse (no view
direction): with three views a view-dependent colour explains each view separately and overfits.
"""

from __future__ import annotations

import torch
from torch import nn

from nerf.fields.vm_ops import plane_tv, resize_vm, vm_features


class VMColour(nn.Module):
    """RGB at normalised points: ``sigmoid(decoder(vm_features(planes, lines, pts)))``.

    ``planes`` [3, C, R, R] and ``lines`` [3, C, R] over [-1, 1]^3; ``resize`` resamples them (the owner bumps its
    ``param_version`` so the optimizer is rebuilt).
    """

    def __init__(self, components: int, resolution: int, hidden: int):
        super().__init__()
        self.planes = nn.Parameter(torch.randn(3, components, resolution, resolution) * 0.1)
        self.lines = nn.Parameter(torch.ones(3, components, resolution))
        self.decoder = nn.Sequential(nn.Linear(3 * components, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 3))

    @property
    def resolution(self) -> int:
        return int(self.planes.shape[-1])

    def forward(self, pts: torch.Tensor) -> torch.Tensor:
        """RGB [N, 3] in [0, 1] at points [N, 3] in [-1, 1] (clamped)."""
        return torch.sigmoid(self.decoder(vm_features(self.planes, self.lines, pts)))

    @torch.no_grad()
    def resize(self, res: int) -> bool:
        """Resample to ``res`` samples per side; True when the parameters were replaced."""
        if res == self.resolution:
            return False
        p, ln = resize_vm(self.planes.data, self.lines.data, res)
        self.planes, self.lines = nn.Parameter(p), nn.Parameter(ln)
        return True

    def prepare_load(self, state: dict, prefix: str) -> None:
        """Resize to the resolution a state dict holds (before ``load_state_dict``)."""
        planes = state[prefix + "planes"]
        if planes.shape != self.planes.shape:
            self.planes = nn.Parameter(torch.zeros_like(planes, device=self.planes.device))
            self.lines = nn.Parameter(torch.zeros_like(state[prefix + "lines"], device=self.lines.device))

    def tv(self) -> torch.Tensor:
        """Total variation of the planes (scalar)."""
        return plane_tv(self.planes)

    def grids(self) -> list[nn.Parameter]:
        return [self.planes, self.lines]
