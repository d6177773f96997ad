"""The interface every radiance field implements. The trainer, renderer and losses see only this."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import torch
from torch import nn

from devices.frame import check_shape


@dataclass
class RayBatch:
    """A batch of R rays in the space the field works in (metric world space, or NDC).

    Attributes:
        origins: [R, 3].
        directions: [R, 3] NOT normalised: in metric space the camera-frame direction has z = 1, so the
            ray parameter t is the depth along the optical axis (the sensor's convention).
        viewdirs: [R, 3] unit view directions (for view-dependent colour).
        radii: [R, 1] base radius of the pixel's cone at t = 1 (Mip-NeRF), 2/sqrt(12) * pixel width.
        near: [R, 1] and far: [R, 1] ray bounds in t.
    """

    origins: torch.Tensor
    directions: torch.Tensor
    viewdirs: torch.Tensor
    radii: torch.Tensor
    near: torch.Tensor
    far: torch.Tensor

    def __post_init__(self) -> None:
        check_shape("origins", self.origins, (None, 3))
        r = self.origins.shape[0]
        for name, cols in (("directions", 3), ("viewdirs", 3), ("radii", 1), ("near", 1), ("far", 1)):
            check_shape(name, getattr(self, name), (r, cols))

    def __len__(self) -> int:
        return int(self.origins.shape[0])

    def index(self, idx: torch.Tensor | slice) -> RayBatch:
        """The rays at ``idx`` (for chunked rendering)."""
        return RayBatch(*(getattr(self, n)[idx] for n in ("origins", "directions", "viewdirs", "radii", "near", "far")))

    def to(self, device: torch.device | str) -> RayBatch:
        return RayBatch(*(getattr(self, n).to(device) for n in ("origins", "directions", "viewdirs", "radii", "near", "far")))


@dataclass
class RayTermination:
    """Where each ray's opacity lies, for losses on it (the metric depth loss): t [R, K] the samples' ray parameter
    (depth along the optical axis in metric space) and weights [R, K] their compositing weights (0: no sample)."""

    t: torch.Tensor
    weights: torch.Tensor


@dataclass
class FieldOutput:
    """What a field renders for a RayBatch.

    Attributes:
        rgb: [R, 3] colour of the final (fine) level.
        depth: [R] expected depth of the final level as the original computes it
            (sum(w * t_mid) / sum(w), clipped to [near, far], NaN -> far).
        acc: [R] accumulated opacity of the final level.
        rgb_coarse: [R, 3] colour of the coarse level for two-level fields, else None.
        regularisers: the field's regulariser terms by name, UNWEIGHTED (scalars); ``regulariser_weights`` holds
            their weights and ``nerf.losses.sparsenerf_loss`` applies them (a term with weight 0 is left out).
        termination: the samples and weights of the final level in training (fields trained with metric depth),
            else None.
    """

    rgb: torch.Tensor
    depth: torch.Tensor
    acc: torch.Tensor
    rgb_coarse: torch.Tensor | None = None
    regularisers: dict[str, torch.Tensor] = field(default_factory=dict)
    termination: RayTermination | None = None


class Field(nn.Module, abc.ABC):
    """A radiance field that renders rays end to end (it owns its sampling strategy).

    ``fast`` fields may keep an occupancy grid for empty-space skipping; the trainer calls
    ``before_step`` once per optimisation step so they can refresh it.
    """

    @abc.abstractmethod
    def forward(self, rays: RayBatch, *, train: bool) -> FieldOutput:  # type: ignore[override]
        """Render ``rays``; ``train`` enables sampling noise / randomised stratification."""

    def before_step(self, step: int) -> None:
        """Called by the trainer before optimisation step ``step`` (default: nothing)."""

    def regulariser_weights(self) -> dict[str, float]:
        """Weight of each term this field puts in ``FieldOutput.regularisers`` (default: none)."""
        return {}
