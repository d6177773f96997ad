"""Relocalisation when odometry has lost the track: ORB features matched to a keyframe, lifted to 3D
with the keyframe's depth, and a PnP pose by RANSAC (OpenCV). The pose seeds an odometry refinement,
which decides whether it is accepted."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from devices.poses.config import PoseConfig
from devices.poses.geometry import rigid_inverse


@dataclass(frozen=True)
class Features:
    """ORB keypoints of one frame at working resolution.

    Attributes:
        xy: float32 [N, 2] pixel positions.
        descriptors: uint8 [N, 32] (None when N is 0).
    """

    xy: np.ndarray
    descriptors: np.ndarray | None


def orb_features(gray: np.ndarray, config: PoseConfig) -> Features:
    """ORB features of a grey image (float [H, W] in [0, 1] or uint8)."""
    img = gray if gray.dtype == np.uint8 else np.clip(gray * 255.0 + 0.5, 0, 255).astype(np.uint8)
    orb = cv2.ORB_create(nfeatures=config.relocalise_features)
    kps, desc = orb.detectAndCompute(img, None)
    xy = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
    return Features(xy, desc if desc is not None and len(desc) else None)


@dataclass(frozen=True)
class PnpPose:
    """A relocalised pose: T [4, 4] maps query-camera points into the reference camera."""

    T: np.ndarray
    inliers: int
    matches: int


def pnp_pose(query: Features, ref: Features, ref_depth: np.ndarray, K: np.ndarray,
             config: PoseConfig) -> PnpPose | None:
    """Pose of the query camera relative to the reference one from feature matches, or None.

    Matches pass Lowe's ratio test (0.8); the reference keypoints are lifted with ``ref_depth``
    (float [H, W] metres, 0 = unknown; same intrinsics ``K`` [3, 3] for both frames); PnP by RANSAC
    (3 px reprojection error) must keep ``relocalise_min_inliers`` matches.
    """
    if query.descriptors is None or ref.descriptors is None or len(ref.xy) < 2 or len(query.xy) < 2:
        return None
    knn = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(query.descriptors, ref.descriptors, k=2)
    good = [m[0] for m in knn if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    if len(good) < config.relocalise_min_inliers:
        return None
    q = query.xy[[m.queryIdx for m in good]]
    r = ref.xy[[m.trainIdx for m in good]]
    h, w = ref_depth.shape
    u = np.clip(np.round(r[:, 0]).astype(int), 0, w - 1)
    v = np.clip(np.round(r[:, 1]).astype(int), 0, h - 1)
    z = ref_depth[v, u]
    ok = z > 0
    if np.count_nonzero(ok) < config.relocalise_min_inliers:
        return None
    P = np.stack([(r[ok, 0] - K[0, 2]) * z[ok] / K[0, 0], (r[ok, 1] - K[1, 2]) * z[ok] / K[1, 1], z[ok]], 1)
    found, rvec, tvec, inl = cv2.solvePnPRansac(P.astype(np.float64), q[ok].astype(np.float64), K, None,
                                                 iterationsCount=200, reprojectionError=3.0, confidence=0.999,
                                                 flags=cv2.SOLVEPNP_EPNP)
    if not found or inl is None or len(inl) < config.relocalise_min_inliers:
        return None
    ref_to_query = np.eye(4)
    ref_to_query[:3, :3], ref_to_query[:3, 3] = cv2.Rodrigues(rvec)[0], tvec.ravel()
    return PnpPose(rigid_inverse(ref_to_query), int(len(inl)), len(good))
