"""Settings of the virtual RGB-D sensor: image, camera path and time-of-flight depth model."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VirtualSensorConfig:
    """Everything that shapes the virtual sensor's frames. Same config (seed included) -> identical frames."""

    width: int = 320
    """Image width in pixels."""
    height: int = 240
    """Image height in pixels."""
    fps: float = 15.0
    """Frames per second: frame i has timestamp i / fps and the camera path is a function of time."""
    seed: int = 0
    """Seed of the textures, the hand-held wobble and the depth/colour noise."""
    num_frames: int | None = None
    """Frames before the source ends; None loops forever like a live sensor."""
    realtime: bool = False
    """Sleep between frames so they arrive at ``fps`` (the studio's live view); False yields as fast as rendered."""
    hfov_deg: float = 70.0
    """Horizontal field of view of the pinhole colour camera (square pixels, centred principal point)."""

    # -- camera path: an arc around the scene centre, swept back and forth, with hand-held wobble --
    path_radius_m: float = 2.2
    """Horizontal distance from the camera to the scene centre."""
    path_height_m: float = 1.35
    """Camera height above the floor."""
    path_arc_deg: float = 40.0
    """Half-width of the sweep: the camera swings between -arc and +arc around the scene centre."""
    path_period_s: float = 8.0
    """Seconds for one full back-and-forth sweep (the first half-period goes from -arc to +arc)."""
    wobble_m: float = 0.03
    """Amplitude of the low-frequency hand-held wobble of the camera position."""
    wobble_look_m: float = 0.05
    """Amplitude of the wobble of the point the camera looks at."""
    wobble_roll_deg: float = 1.5
    """Amplitude of the wobble of the camera's roll about its optical axis."""

    # -- time-of-flight depth model (devices/virtual/depth_model.py) --
    max_range_m: float = 4.5
    """Farthest measurable depth; anything farther reads 0 (no measurement)."""
    min_range_m: float = 0.25
    """Nearest measurable depth; anything nearer reads 0."""
    depth_noise_base_m: float = 0.001
    """Standard deviation of the depth noise at zero distance (metres)."""
    depth_noise_quadratic: float = 0.0015
    """Growth of the noise with distance: std = base + quadratic * depth**2 (metres, depth in metres)."""
    depth_quantum_m: float = 0.001
    """Depth resolution: readings are rounded to multiples of this (the 1 mm of a uint16 depth map)."""
    dark_albedo: float = 0.08
    """Surfaces whose albedo luminance is below this return too little light: depth 0."""
    edge_abs_m: float = 0.05
    """Flying-pixel rejection: a pixel whose depth differs from a 4-neighbour by more than
    ``edge_abs_m + edge_rel * depth`` reads 0 (both sides of every depth edge become holes)."""
    edge_rel: float = 0.03
    """Relative part of the flying-pixel threshold (see ``edge_abs_m``)."""

    # -- colour camera --
    rgb_noise_std: float = 1.5
    """Standard deviation of the colour noise, in 8-bit levels (0 for a noise-free image)."""
    ranking_window: tuple[int, int] = (30, 30)
    """The SparseNeRF ranking window (height, width) in pixels this sensor's depth supports."""

    def __post_init__(self) -> None:
        if self.width < 8 or self.height < 8:
            raise ValueError(f"image must be at least 8x8 pixels, got {self.width}x{self.height}")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.num_frames is not None and self.num_frames < 0:
            raise ValueError(f"num_frames must be >= 0 or None, got {self.num_frames}")
        if not 0 < self.min_range_m < self.max_range_m:
            raise ValueError(f"need 0 < min_range_m < max_range_m, got {self.min_range_m}, {self.max_range_m}")
        if not 1.0 < self.hfov_deg < 170.0:
            raise ValueError(f"hfov_deg must be in (1, 170), got {self.hfov_deg}")
