"""Every threshold of pose estimation, in one config dataclass (the CLI is generated from it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PoseConfig:
    """How RGB-D odometry, keyframe selection, loop closure and the pose graph behave.

    Distances are metres (metric depth only), angles degrees.
    """

    working_width: int | None = 640
    """Frames wider than this are downscaled to this width for odometry (None: full resolution)."""
    depth_min: float = 0.1
    """Depth nearer than this (metres) is ignored."""
    depth_max: float = 5.0
    """Depth farther than this (metres) is ignored."""
    min_valid_depth: float = 0.05
    """A frame needs at least this fraction of pixels with valid depth, else it is flagged as failed."""
    odometry_width: int = 320
    """Odometry runs on a pyramid whose finest level is this wide (reduced resolution: on the 7-Scenes
    walk about 2x faster than 640 pixels and no less accurate, benchmarks/RESULTS.md)."""
    iterations_per_level: tuple[int, ...] = (10, 6, 4)
    """Odometry iterations per pyramid level, coarsest first (multi-scale; a level stops early once
    its fitness no longer changes)."""
    odometry_method: str = "point_to_plane"
    """"point_to_plane" (depth geometry only) or "hybrid" (depth and colour intensity)."""
    max_depth_diff: float = 0.07
    """Odometry correspondences farther apart than this in depth (metres) are outliers."""
    min_fitness: float = 0.3
    """An odometry edge is accepted when its inlier ratio (correspondences / valid source pixels) reaches this."""
    min_correspondences: int = 1000
    """... and it has at least this many correspondences (the strength of its information matrix)."""
    keyframe_translation: float = 0.20
    """A new keyframe is taken once the camera has moved this far (metres) from the current keyframe."""
    keyframe_rotation: float = 15.0
    """... or turned this much (degrees)."""
    keyframe_min_fitness: float = 0.5
    """... or when the overlap (fitness) with the current keyframe drops below this."""
    blur_ratio: float = 0.6
    """A keyframe candidate whose sharpness is below this fraction of its sharpest neighbour's is
    replaced by that neighbour (sharpness: variance of the Laplacian)."""
    sharpness_window: int = 5
    """Neighbours (frames back from the candidate, already tracked) considered when replacing a blurry keyframe."""
    recovery_keyframes: int = 3
    """When odometry to the current keyframe fails, try up to this many other keyframes (the latest
    ones and those nearest the predicted pose) before relocalising."""
    relocalise: bool = True
    """When every keyframe tried fails, relocalise by ORB features + PnP/RANSAC against the keyframes,
    then refine by odometry; only a frame that still fails is flagged."""
    second_opinion_fitness: float = 0.6
    """An accepted edge with an inlier share below this is checked against odometry started from a
    feature (PnP) pose; the one with more inliers is kept (odometry slides on planes when overlap is low)."""
    second_opinion_step: float = 0.03
    """... but only when the odometry moved the frame at least this far (metres) from its starting pose
    (the previous frame's), or turned it by the angle below: a small step at low overlap is the
    camera leaving its keyframe, not a slide (at full rate on 7-Scenes the check never changed a pose)."""
    second_opinion_angle: float = 3.0
    """... or turned it this much (degrees)."""
    relocalise_features: int = 1000
    """ORB features per frame for relocalisation."""
    relocalise_min_inliers: int = 25
    """A PnP pose needs at least this many RANSAC inliers."""
    loop_closure: bool = True
    """Look for loop-closure edges between non-adjacent keyframes that overlap (--no-loop-closure: odometry only)."""
    loop_max_distance: float = 1.0
    """Keyframes whose camera centres are farther apart than this (metres) are not loop candidates."""
    loop_max_angle: float = 45.0
    """Keyframes whose viewing directions differ by more than this (degrees) are not loop candidates."""
    loop_min_overlap: float = 0.3
    """Fraction of one keyframe's depth points that must project into the other's image (frustum overlap)."""
    loop_min_fitness: float = 0.45
    """A loop-closure edge is kept when its odometry succeeds with at least this inlier ratio."""
    loop_max_candidates: int = 5
    """At most this many loop-closure attempts per keyframe (nearest candidates first)."""
    graph_max_correspondence_distance: float = 0.07
    """Pose-graph optimisation: the correspondence distance used to weigh edges (metres)."""
    graph_edge_prune_threshold: float = 0.25
    """Pose-graph optimisation: uncertain (loop) edges whose line-process weight falls below this are pruned."""
    graph_preference_loop_closure: float = 1.0
    """Pose-graph optimisation: weight of loop-closure edges relative to odometry edges."""

    def __post_init__(self) -> None:
        if self.working_width is not None and self.working_width < 16:
            raise ValueError(f"working_width must be at least 16 pixels, got {self.working_width}")
        if not 0 < self.depth_min < self.depth_max:
            raise ValueError(f"need 0 < depth_min < depth_max, got {self.depth_min} and {self.depth_max}")
        if not self.iterations_per_level or min(self.iterations_per_level) < 1:
            raise ValueError(f"iterations_per_level must be positive, got {self.iterations_per_level}")
        if self.sharpness_window < 0 or self.loop_max_candidates < 0:
            raise ValueError("sharpness_window and loop_max_candidates must not be negative")
