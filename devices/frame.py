"""The Frame type and the FrameSource interface shared by every sensor, recording and importer."""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class DepthKind(str, enum.Enum):
    """What the numbers in a depth map mean. Ranking direction depends on it (sparsenerf.md)."""

    METRIC = "metric"
    """Metres along the camera's optical axis (z). Smaller is nearer."""
    RELATIVE = "relative"
    """Unitless, monotone in distance: larger is farther (e.g. the DTU monocular depth)."""
    INVERSE = "inverse"
    """Unitless inverse depth / disparity: larger is nearer (DPT output, NVS-RGBD ZED and iPhone)."""

    @property
    def larger_is_nearer(self) -> bool:
        return self is DepthKind.INVERSE


def check_shape(name: str, array: Any, expected: tuple[Any, ...]) -> None:
    """Raise ``ValueError`` naming ``name``, the expected and the actual shape when they differ.

    The one shape check of the project (kornia's ``KORNIA_CHECK_SHAPE``), used at public entry points
    of ``devices`` and ``nerf`` for numpy arrays and torch tensors alike (anything with ``.shape``).
    ``expected`` holds ints (that size), ``None`` (any size on that axis) and, first only, ``...``
    (any number of leading axes, none included): ``check_shape("rgb", rgb, (..., 3))``.
    """
    shape = tuple(getattr(array, "shape", ()))
    lead = bool(expected) and expected[0] is Ellipsis
    tail = expected[1:] if lead else expected
    ok = (len(shape) >= len(tail) if lead else len(shape) == len(tail)) and all(
        e is None or e == a for e, a in zip(tail, shape[len(shape) - len(tail):]))
    if not ok:
        shown = ", ".join("..." if e is Ellipsis else "*" if e is None else str(e) for e in expected)
        raise ValueError(f"{name}: expected shape ({shown}), got {shape}")


@dataclass(frozen=True)
class Frame:
    """One RGB-D observation, depth already aligned to the colour image.

    Attributes:
        rgb: uint8 [H, W, 3], RGB order.
        depth: float32 [H, W] in the colour camera's pixel grid, z along the optical axis; metres
            when ``depth_kind`` is METRIC, else unitless (see DepthKind). 0 = no measurement.
            None for a colour-only frame.
        K: float64 [3, 3] intrinsics of ``rgb``.
        c2w: float64 [4, 4] camera-to-world, OpenCV axes (x right, y down, z forward), or None
            until poses are estimated.
        timestamp: seconds since the start of the capture.
        depth_kind: meaning of ``depth``.
        confidence: optional uint8 [H, W] (sensor specific: 0 = worst).
        distortion: optional OpenCV coefficients (k1, k2, p1, p2[, k3, k4, k5, k6]) of ``rgb``;
            None when the image is already undistorted.
        index: frame number within its source.
        meta: small per-frame extras (tracking state, blur score, ...).
    """

    rgb: np.ndarray
    depth: np.ndarray | None
    K: np.ndarray
    c2w: np.ndarray | None = None
    timestamp: float = 0.0
    depth_kind: DepthKind = DepthKind.METRIC
    confidence: np.ndarray | None = None
    distortion: np.ndarray | None = None
    index: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_shape("Frame.rgb", self.rgb, (None, None, 3))
        if self.rgb.dtype != np.uint8:
            raise ValueError(f"Frame.rgb: expected uint8, got {self.rgb.dtype}")
        h, w = self.rgb.shape[:2]
        if self.depth is not None:
            check_shape("Frame.depth", self.depth, (h, w))
        if self.confidence is not None:
            check_shape("Frame.confidence", self.confidence, (h, w))
        check_shape("Frame.K", np.asarray(self.K), (3, 3))
        if self.c2w is not None:
            check_shape("Frame.c2w", np.asarray(self.c2w), (4, 4))

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])


@dataclass(frozen=True)
class SourceInfo:
    """What a FrameSource knows about itself before the first frame."""

    name: str
    """Human-readable name, e.g. "Virtual sensor" or "Azure Kinect recording.mkv"."""
    sensor: str
    """Machine name of the sensor kind: "virtual", "azure_kinect", "zed2", "iphone", ..."""
    width: int
    height: int
    fps: float
    depth_kind: DepthKind = DepthKind.METRIC
    frame_count: int | None = None
    """Number of frames for recordings; None for live sources."""
    has_poses: bool = False
    """True when frames carry c2w (virtual sensor, ARKit, ZED tracking)."""
    ranking_window: tuple[int, int] = (30, 30)
    """The sensor's default SparseNeRF ranking window (height, width) in pixels."""
    extra: dict[str, Any] = field(default_factory=dict)


class FrameSource(abc.ABC):
    """A sensor, recording or import that yields Frames. Live sources and recordings look the same.

    Use as a context manager::

        with VirtualSensor(seed=0) as source:
            for frame in source:
                ...
    """

    @property
    @abc.abstractmethod
    def info(self) -> SourceInfo:
        """Metadata available once the source is open."""

    @abc.abstractmethod
    def open(self) -> None:
        """Acquire the device or file. Raises InputError / MissingDependencyError with one clear sentence."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the device or file. Safe to call twice."""

    @abc.abstractmethod
    def frames(self) -> Iterator[Frame]:
        """Yield frames in capture order until the recording ends (or forever for a live source)."""

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
