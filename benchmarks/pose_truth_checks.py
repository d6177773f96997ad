"""What the 7-Scenes pose files can and cannot tell about a tracker (used by ``pose_accuracy.py``).

- ``registration_scores``: how well a depth-to-colour rig lines registered depth edges up with colour
  edges (mean distance from a depth discontinuity's near side to the nearest Canny edge, pixels,
  capped at 10). The source of the one 7-Scenes rig, ``devices.registration.seven_scenes_rig``.
- ``pair_consistency``: is a trajectory consistent with the depth it was estimated from? For pairs of
  frames 2 s or more apart that overlap, point-to-plane ICP on the two depth maps (640 px, started
  from the pose files' relative pose) finds where the depth itself puts frame b relative to frame a;
  we report how far the pose files' and the estimate's relative poses are from that. It needs no
  ground truth, so it can say which of the two trajectories the data disagree with.
- ``kinectfusion_trajectory``: a second, independent tracker built the way the pose files were made
  (KinectFusion: frame-to-model ICP of the raw DEPTH camera against a TSDF volume, at the data set's
  depth intrinsics), with Open3D's tensor SLAM pieces at reduced resolution. ``trajectory_spread``: the
  ATE between every two trajectories; when two good methods agree with each other much better than
  either agrees with the pose files, the pose files set the floor of the ATE.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

LIRIS_DEPTH_TO_RGB = np.array([
    [9.9996518012567637e-01, 2.6765126468950343e-03, -7.9041012313000904e-03, -2.5558943178152542e-02],
    [-2.7409311281316700e-03, 9.9996302803027592e-01, -8.1504520778013286e-03, 1.0109636268061706e-04],
    [7.8819942130445332e-03, 8.1718328771890631e-03, 9.9993554558014031e-01, 2.0318321729487039e-03],
    [0.0, 0.0, 0.0, 1.0],
])
"""The generic Kinect v1 depth-to-colour calibration (LIRIS) that DSAC* / ACE / SimpleRecon use for 7-Scenes."""


def _rigid(m: np.ndarray) -> np.ndarray:
    U, _, Vt = np.linalg.svd(m[:3, :3])
    out = m.copy()
    out[:3, :3] = U @ Vt
    return out


def edge_distance(gray: np.ndarray, depth_mm: np.ndarray, jump_mm: float = 80.0) -> float:
    """Mean distance (px, capped at 10) from the near side of each depth jump > ``jump_mm`` to the
    nearest colour edge. gray: uint8 [H, W]; depth_mm: registered [H, W] (0 = none)."""
    edges = cv2.Canny(cv2.GaussianBlur(gray, (3, 3), 0), 40, 120)
    dist = cv2.distanceTransform((edges == 0).astype(np.uint8), cv2.DIST_L2, 3)
    d = depth_mm.astype(np.float32)
    near = np.zeros(d.shape, bool)
    for dy, dx in ((0, 1), (1, 0)):
        a, b = d[: d.shape[0] - dy, : d.shape[1] - dx], d[dy:, dx:]
        jump = (a > 0) & (b > 0) & (np.abs(a - b) > jump_mm)
        near[: d.shape[0] - dy, : d.shape[1] - dx] |= jump & (a < b)
        near[dy:, dx:] |= jump & (b < a)
    return float(np.mean(np.minimum(dist[near], 10.0))) if near.any() else float("nan")


def registration_scores(root: Path, ids: list[int]) -> list[tuple[str, float]]:
    """(rig name, mean edge distance over ``ids``) for the 7-Scenes rig and the alternatives."""
    from devices.registration import Rig, register_depth, seven_scenes_rig
    from devices.sequences.seven_scenes import read_intrinsics

    ours = seven_scenes_rig(read_intrinsics(root))
    rigs = {"ours: 22.5 mm along x, colour f 525 (devices.registration)": ours,
            "LIRIS calibration (DSAC*, ACE, SimpleRecon), colour f 525": Rig(ours.K_depth, ours.K_color,
                                                                             _rigid(LIRIS_DEPTH_TO_RGB), ours.color_size),
            "no offset (identity), colour f 525": Rig(ours.K_depth, ours.K_color, np.eye(4), ours.color_size)}
    out = []
    for name, rig in rigs.items():
        scores = []
        for i in ids:
            gray = cv2.imread(str(root / f"frame-{i:06d}.color.jpg"), cv2.IMREAD_GRAYSCALE)
            raw = cv2.imread(str(root / f"frame-{i:06d}.depth.png"), cv2.IMREAD_UNCHANGED)
            raw = np.where(raw == 65535, 0, raw).astype(np.uint16)
            scores.append(edge_distance(gray, register_depth(raw, rig)))
        out.append((name, float(np.nanmean(scores))))
    return out


@dataclass(frozen=True)
class PairCheck:
    """Offsets (mm, degrees) of two trajectories' relative poses from the depth's own ICP optimum.

    Attributes:
        pairs: frame pairs checked; truth_mm / truth_deg and estimate_mm / estimate_deg: medians;
        estimate_closer: pairs where the estimate is nearer the depth's optimum than the pose files.
    """

    pairs: int
    truth_mm: float
    truth_deg: float
    estimate_mm: float
    estimate_deg: float
    estimate_closer: int


def pair_consistency(scene, ids: list[int], est: list[np.ndarray], truth: list[np.ndarray],
                     spacing: int = 25, min_gap: int = 60, min_fitness: float = 0.5) -> PairCheck:
    """Compare two trajectories of the frames ``ids`` of ``scene`` with pairwise ICP (module docstring).

    Args:
        est, truth: c2w [4, 4] per entry of ``ids`` (the same camera: the scene's colour camera).
        spacing: every ``spacing``-th entry is a pair candidate; min_gap: entries apart at least.
        min_fitness: ICP inlier share a pair needs to count (else the two views hardly overlap).
    """
    from devices.poses import PoseConfig
    from devices.poses.geometry import rigid_inverse, rotation_angle
    from devices.poses.pyramid import register
    from devices.poses.rgbd import prepare_frame

    cfg = PoseConfig(odometry_width=640)
    prepared: dict[int, object] = {}

    def frame(k: int):
        if k not in prepared:
            prepared[k] = prepare_frame(scene.frame(ids[k]), cfg)
        return prepared[k]

    rows = []
    for a in range(0, len(ids), spacing):
        for b in range(a + min_gap, len(ids), spacing):
            Tt, Te = rigid_inverse(truth[a]) @ truth[b], rigid_inverse(est[a]) @ est[b]
            icp = register(frame(b).pyramid(), frame(a).pyramid(), Tt, cfg)
            if icp.fitness < min_fitness:
                continue
            back = rigid_inverse(icp.T)
            dt, de = back @ Tt, back @ Te
            rows.append((1000 * np.linalg.norm(dt[:3, 3]), rotation_angle(dt),
                         1000 * np.linalg.norm(de[:3, 3]), rotation_angle(de)))
    if not rows:
        return PairCheck(0, float("nan"), float("nan"), float("nan"), float("nan"), 0)
    r = np.array(rows)
    med = np.median(r, axis=0)
    return PairCheck(len(r), float(med[0]), float(med[1]), float(med[2]), float(med[3]), int((r[:, 2] < r[:, 0]).sum()))


def _raw_depth(root: Path, i: int, scale: int) -> np.ndarray:
    """uint16 [480 / scale, 640 / scale] millimetres in the depth camera's grid (0 = none)."""
    raw = cv2.imread(str(root / f"frame-{i:06d}.depth.png"), cv2.IMREAD_UNCHANGED)
    raw = np.where(raw == 65535, 0, raw).astype(np.uint16)
    if scale == 1:
        return raw
    return cv2.resize(raw, (raw.shape[1] // scale, raw.shape[0] // scale), interpolation=cv2.INTER_NEAREST)


def kinectfusion_trajectory(root: Path, ids: list[int], K: np.ndarray, scale: int = 2,
                            voxel: float = 0.01, depth_max: float = 4.0) -> tuple[np.ndarray, float]:
    """Depth-camera c2w [N, 4, 4] of 7-Scenes frames ``ids`` by frame-to-model tracking (module docstring).

    Each frame's raw depth (nearest-neighbour downscaled by ``scale``, intrinsics scaled with it) is
    registered by point-to-plane ICP to the volume's raycast at the previous pose, then fused into the
    TSDF (``voxel`` metres). No keyframes, loop closure or relocalisation: KinectFusion's own loop.

    Returns:
        (poses, first frame the identity; CPU seconds of the process over the frames).
    """
    import open3d as o3d
    import open3d.core as o3c

    slam = o3d.t.pipelines.slam
    o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)  # one warning a frame otherwise
    dev = o3c.Device("CPU:0")
    Ks = np.asarray(K, np.float64).copy()
    Ks[:2] /= scale
    first = _raw_depth(root, ids[0], scale)
    h, w = first.shape
    Kt = o3c.Tensor(Ks, o3c.float64)
    model = slam.Model(voxel, 16, 40000, o3c.Tensor(np.eye(4)), dev)
    frame, raycast = slam.Frame(h, w, Kt, dev), slam.Frame(h, w, Kt, dev)
    # integrate() wants a colour image too; a black one keeps the TSDF depth-only in effect
    frame.set_data_from_image("color", o3d.t.geometry.Image(o3c.Tensor(np.zeros((h, w, 3), np.uint8))))
    pose, out, cpu = np.eye(4), [], time.process_time()
    for k, i in enumerate(ids):
        depth = first if k == 0 else _raw_depth(root, i, scale)
        frame.set_data_from_image("depth", o3d.t.geometry.Image(o3c.Tensor(depth)))
        if k > 0:
            step = model.track_frame_to_model(frame, raycast, 1000.0, depth_max, 0.07)
            pose = pose @ step.transformation.cpu().numpy()
        model.update_frame_pose(k, o3c.Tensor(pose))
        model.integrate(frame, 1000.0, depth_max, 8.0)
        model.synthesize_model_frame(raycast, 1000.0, 0.1, depth_max, 8.0, False)
        out.append(pose.copy())
    return np.stack(out), time.process_time() - cpu


def trajectory_spread(trajectories: dict[str, np.ndarray]) -> list[tuple[str, str, float]]:
    """(name a, name b, ATE RMSE mm after a rigid alignment) for every two of ``trajectories``
    (c2w [N, 4, 4] each, the same camera and frames)."""
    from devices.poses import absolute_trajectory_error

    names = list(trajectories)
    out = []
    for k, a in enumerate(names):
        for b in names[k + 1:]:
            err = absolute_trajectory_error(trajectories[a], trajectories[b])
            out.append((a, b, 1000 * float(np.sqrt(np.mean(err ** 2)))))
    return out
