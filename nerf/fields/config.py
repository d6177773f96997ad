"""The settings of the fast and sensor fields, apart from the fields themselves (no torch here: the CLI,
run.json and the studio read them without loading a model).

Settings left at None (the fast field's ``resolution_schedule``, ``tv_density``, ``tv_color``, ``distortion``, ``min_views``)
are the data set's: ``nerf.profiles.resolve``
fills them before a field is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nerf.choices import check_choices

BackgroundKind = Literal["envmap", "learned", "black", "white"]
"""What the transparent part of a ray shows (``nerf.fields.background``): envmap (learned, by view direction),
learned (one RGB), black or white."""


FAST_FILLED = ("tv_density", "tv_color", "distortion", "resolution_schedule", "min_views")
"""The fast field's settings left at None here and filled from the data set's profile (``nerf.profiles.resolve``)."""


@dataclass(frozen=True)
class FastFieldConfig:
    """Settings of the fast field."""

    resolution_schedule: tuple[tuple[int, int], ...] | None = None
    """(step, voxels per side) pairs: the density grid grows to that resolution at that step; None: the data
    set's (``nerf.profiles``: DTU 32 -> 48 -> 64 -> 96 at steps 0 / 300 / 800 / 1,400, else 24 -> 32 -> 48 at
    0 / 300 / 1,200). On DTU the finer grid gave +0.36 dB masked after 3 CPU-min (benchmarks/RESULTS.md)."""
    color_ratio: float = 1.0
    """Colour grid resolution as a fraction of the density grid's."""
    color_channels: int = 3
    """Channels of the colour grid: 3 = direct RGB (sigmoid, no MLP), more = features for the MLP."""
    hidden: int = 64
    """Width of the colour MLP (two hidden layers) when color_channels > 3."""
    view_dependent: bool = False
    """Feed the view direction to the colour MLP (diffuse colour overfits less with few views)."""
    step_ratio: float = 1.0
    """Sample spacing in density voxels: the samples per ray follow the resolution (coarse-to-fine)."""
    max_samples: int = 192
    """Upper bound on the stratified bins per ray."""
    init_alpha: float = 1e-3
    """Opacity of one sample interval at initialisation (sets the density activation's shift)."""
    occupancy_alpha: float = 1e-5
    """A cell is skipped when no density near it gives a sample interval more opacity than this."""
    occupancy_every: int = 16
    """Refresh the occupancy grid every this many steps."""
    weight_threshold: float = 1e-5
    """Colour is evaluated only at samples with a compositing weight above this."""
    tv_density: float | None = None
    """Weight of the density grid's total variation; None: the data set's (DTU 0.03, else 0.1). The term ``tv_density``,
    the values from ``nerf.profiles``. On DTU's 96^3 grid with the one-view mask, 0.03 / 0.1 / 0.3 gave 17.50 /
    16.86 / 15.69 dB masked held-out at 60 CPU s (benchmarks/RESULTS.md); at 48^3, 1e-3 / 1e-2 / 0.1 gave 9.41 / 9.58 /
    10.53 dB full-image after 300 steps (docs/fast_field.md)."""
    tv_color: float | None = None
    """Weight of the total-variation regulariser on the colour grid; None: the data set's (``nerf.profiles``:
    DTU 0.03, else 1e-3). On DTU, whose held-out views look at sides no training view shaded, 1e-3 / 0.01 /
    0.03 / 0.1 gave 13.34 / 13.82 / 13.99 / 13.60 dB after 2,000 steps; on the virtual room, whose held-out
    views lie between the training views, 0.03 cost 0.6 dB (docs/fast_field.md)."""
    distortion: float | None = None
    """Weight of Mip-NeRF 360's distortion loss (concentrates each ray's weight; 0 = off); None: the data
    set's (``nerf.profiles``: DTU 0.03, else 0.01). DTU, 0 / 0.01 / 0.03 / 0.1 / 0.3: 14.73 / 15.04 / 15.51 / 15.57 / 14.44 dB
    held-out after 2,000 steps; the virtual room: 0.03 cost 0.3 dB against 0.01 (docs/fast_field.md)."""
    depth_mode: Literal["far_background", "normalised"] = "far_background"
    """Depth the ranking prior (and the rendered depth) uses: "far_background" = sum(w t) + (1 - sum(w)) * far,
    the transparent part of a ray counts as far, so faint fog cannot reorder it (+1 dB held-out on DTU);
    "normalised" = the original's sum(w t) / sum(w), which the mipnerf field keeps. Only training uses this
    setting: renders (preview, eval, video) always show the normalised depth."""
    tv_fraction: float = 1.0
    """Fraction of voxels (a random block) the TV terms see per step."""
    lr_density: float = 0.3
    """Adam learning rate of the density grid."""
    lr_color: float = 0.1
    """Adam learning rate of the colour-feature grid."""
    lr_mlp: float = 0.05
    """Adam learning rate of the colour MLP and the background colour."""
    min_views: int | None = None
    """Density only inside at least this many training frusta; None: the data set's (DTU 1, else 2). Used by
    ``restrict_to_views``, the values from ``nerf.profiles``. On DTU scan24 3-view, 180 CPU s: 1 gave 17.54 dB masked held-out
    against 16.54 for 2 (the sides one training view saw keep their surfaces; benchmarks/RESULTS.md)."""
    view_mask_resolution: int = 64
    """Cells per side of the view-count mask."""
    envmap_size: tuple[int, int] = (4, 8)
    """(latitude, longitude) cells of the environment-map background."""
    envmap_up: Literal["cameras", "world_z"] = "cameras"
    """Which axis the environment map's latitude is measured from: "cameras" (the training cameras' mean
    up direction, ``devices.camera_geometry.mean_up``: floor below, backdrop above, from any side) or "world_z". On DTU
    (world up ~40 degrees off z) "cameras" gave +0.7 dB held-out (docs/fast_field.md)."""
    background: BackgroundKind = "envmap"
    """Colour of the transparent part of each ray: "envmap" (learned, by view direction), "learned"
    (one RGB), "black" or "white" (``nerf.fields.background``)."""
    appearance: Literal["grid", "vm"] = "grid"
    """Colour representation: "grid" (the dense colour grid) or "vm" (factorised features + a small diffuse MLP).
    The grid uses ``color_ratio`` / ``color_channels``; "vm" is TensoRF's vector-matrix volume (``nerf.fields.vm_colour``;
    ``vm_schedule``, ``vm_components``, ``hidden``): finer texture per parameter, slower steps (docs/fast_field.md)."""
    vm_schedule: tuple[tuple[int, int], ...] = ((0, 64), (300, 128), (1200, 256))
    """(step, samples per side) of the VM planes and lines (appearance "vm"): coarse to fine."""
    vm_components: int = 8
    """VM components per plane (decoder input = 3 x components; appearance "vm")."""
    lr_vm: float = 0.02
    """Adam learning rate of the VM planes and lines (appearance "vm"; the decoder uses ``lr_mlp``)."""
    tv_planes: float = 1e-3
    """Weight of the VM planes' total variation (appearance "vm"; the term ``tv_planes``)."""

    def __post_init__(self) -> None:
        check_choices(self)  # a misspelt string option fails here, naming the values it takes


@dataclass(frozen=True)
class SensorFieldConfig:
    """Settings of the sensor field."""

    density_resolution: int = 128
    """Cells along the longest side of the density and occupancy grids (cells are cubes: fewer on the others)."""
    plane_schedule: tuple[tuple[int, int], ...] = ((0, 128), (250, 256), (700, 512))
    """(step, samples per side) of the VM planes and lines: coarse to fine."""
    components: int = 8
    """VM components per plane (features = 3 x components)."""
    hidden: int = 32
    """Width of the colour decoder's hidden layer."""
    step_ratio: float = 0.5
    """March step in density cells."""
    max_samples: int = 24
    """Samples kept per ray (the nearest occupied ones)."""
    seed_alpha: float = 0.5
    """Opacity of one march step in a cell holding a depth point at the start."""
    init_alpha: float = 1e-3
    """Opacity of one march step elsewhere at the start."""
    occupancy_alpha: float = 1e-4
    """Cells whose neighbourhood cannot reach this opacity per step stop being sampled."""
    occupancy_every: int = 16
    weight_threshold: float = 1e-3
    """Colour is evaluated only at samples whose compositing weight passes this."""
    tv_density: float = 0.01
    tv_planes: float = 1e-4
    metric_depth_weight: float = 0.1
    """Weight of the metric depth term on training pixels with sensor depth (the trainer computes it,
    ``nerf.metric_depth.metric_depth_loss``; ``nerf.losses.sparsenerf_loss`` applies the weight)."""
    lr_density: float = 0.1
    lr_vm: float = 0.02
    lr_decoder: float = 0.005
    lr_background: float = 0.05
    envmap_size: tuple[int, int] = (4, 8)
    """(latitude, longitude) cells of the environment map (``background`` "envmap")."""
    background: Literal["shell", "envmap"] = "shell"
    """What rays that hit nothing show. The "shell" is a texture on a sphere around the cameras, fitted
    before training to the training views' pixels without depth (``nerf.fields.shell``); the "envmap" an ``envmap_size``
    map over view directions started at the mean training colour. Virtual room, 180 CPU-s: shell 25.00 dB / SSIM
    0.823, envmap 23.85 / 0.798 (benchmarks/RESULTS.md)."""
    shell_size: tuple[int, int] = (256, 512)
    """(latitude, longitude) texels of the shell background."""
    tv_planes_block: int = 128
    """Side of the random square the planes' TV term sees per step (0: all). The mean over a random block is an
    unbiased estimate of the whole planes' mean at a fraction of the cost."""
    hole_cells: bool = False
    """Also sample the cells on the rays of training pixels without depth (else only cells near depth points). On the
    virtual room (3 min, 1 thread, loaded box) on: 20.72 dB / SSIM 0.652 held-out, off: 21.43 / 0.718."""

    def __post_init__(self) -> None:
        check_choices(self)  # a misspelt string option fails here, naming the values it takes
