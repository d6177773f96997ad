"""The in-memory Scene every loader produces and the trainer, evaluation and video consume."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from devices.frame import DepthKind, check_shape


@dataclass
class Scene:
    """A posed image set with an optional coarse depth prior, ready for training.

    All views share one image size. Poses are OpenCV camera-to-world in the scene's world frame
    (loaders may recentre/rescale it; ``to_metres`` converts scene units back to metres).

    Attributes:
        name: for logs and file names.
        images: float32 [N, H, W, 3] in [0, 1].
        K: float64 [N, 3, 3] intrinsics of ``images``.
        c2w: float64 [N, 4, 4] camera-to-world, OpenCV axes.
        depths: float32 [N, H, W] coarse depth (0 = invalid), meaning given by ``depth_kind``; or None.
        depth_kind: metric (smaller nearer), relative (larger farther) or inverse (larger nearer).
        train_ids / test_ids: view indices of the split (disjoint).
        near / far: bounds of the scene along rays in scene units (metric space) — unused by NDC scenes.
        ndc: True for forward-facing scenes (LLFF, NVS-RGBD), which train in normalised device coordinates.
        ranking_window: (height, width) of the SparseNeRF ranking window in pixels.
        distortion: float64 [N, D] OpenCV distortion coefficients (k1, k2, p1, p2[, k3..k6]) of the
            images, or None when they are pinhole.
        masks: bool [N, H, W] evaluation masks (object masks), or None. When ``extra["masked_views"]`` is set
            (DTU's authors' layout ships masks for some views only) only those views have one.
        to_metres: scene units -> metres for metric depth priors (None when unknown).
        source: which loader made it ("scene_folder", "dtu", "llff", "nvs_rgbd").
        dataset: preset key for faithful hyperparameters ("dtu", "llff", "nvs_kinect", "nvs_zed2",
            "nvs_iphone", "custom").
    """

    name: str
    images: np.ndarray
    K: np.ndarray
    c2w: np.ndarray
    depths: np.ndarray | None
    depth_kind: DepthKind
    train_ids: list[int]
    test_ids: list[int]
    near: float
    far: float
    ndc: bool = False
    ranking_window: tuple[int, int] = (30, 30)
    distortion: np.ndarray | None = None
    masks: np.ndarray | None = None
    to_metres: float | None = None
    source: str = "scene_folder"
    dataset: str = "custom"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_shape("Scene.images", self.images, (None, None, None, 3))
        n, h, w, _ = self.images.shape
        check_shape("Scene.K", self.K, (n, 3, 3))
        check_shape("Scene.c2w", self.c2w, (n, 4, 4))
        if self.depths is not None:
            check_shape("Scene.depths", self.depths, (n, h, w))
        if self.masks is not None:
            check_shape("Scene.masks", self.masks, (n, h, w))
        if self.distortion is not None:
            check_shape("Scene.distortion", self.distortion, (n, None))
        if not self.train_ids:
            raise ValueError(f"scene {self.name!r} has no training views")
        if set(self.train_ids) & set(self.test_ids):
            raise ValueError(f"scene {self.name!r}: train and test views overlap")
        if not (0 < self.near < self.far) and not self.ndc:
            raise ValueError(f"scene {self.name!r}: need 0 < near < far, got {self.near}, {self.far}")

    @property
    def num_views(self) -> int:
        return int(self.images.shape[0])

    @property
    def height(self) -> int:
        return int(self.images.shape[1])

    @property
    def width(self) -> int:
        return int(self.images.shape[2])
