"""Import format "7scenes": a Microsoft 7-Scenes sequence folder -> scene folder with its poses.

Layout (one ``seq-NN`` folder, or a folder holding frames directly)::

    frame-000000.color.png | .jpg   640x480 colour
    frame-000000.depth.png          uint16 mm in the DEPTH camera's grid (0 and 65535 = none)
    frame-000000.pose.txt           4x4 camera-to-world, metres, OpenCV axes (KinectFusion)
    camera-intrinsics.txt           optional 3x3 (the depth camera; default fx = fy = 585, centre)

The Kinect v1's depth is not registered to its colour camera in this data set. We register it with
the one 7-Scenes rig, ``devices.registration.seven_scenes_rig`` (its docstring gives the numbers and
where they come from; the NeRF loader uses the same). The poses in the files are the depth camera's
(KinectFusion tracks depth); the scene's poses and its ground truth are the colour camera's, moved by
the same rig (``Rig.color_c2w``), so poses estimated from the registered depth compare like with like.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from devices.errors import InputError
from devices.importers.registry import ImportFormat, ImportOptions, ProgressFn, register
from devices.registration import seven_scenes_rig
from devices.scene_folder import SceneFolder
from devices.seven_scenes_format import read_intrinsics, read_pose_matrix

__all__ = ["FORMAT", "detect", "import_seven_scenes", "read_intrinsics", "read_pose"]

_FRAME = re.compile(r"^frame-(\d+)\.depth\.png$")


def _frame_ids(root: Path) -> list[int]:
    return sorted(int(m.group(1)) for p in root.iterdir() if (m := _FRAME.match(p.name)))


def detect(path: Path) -> bool:
    if not path.is_dir():
        return False
    try:
        return any(_FRAME.match(p.name) for p in path.iterdir())
    except OSError:
        return False


_ANY_FRAME = re.compile(r"^frame-(\d+)\.(color\.(png|jpg)|pose\.txt)$")


def near_miss(path: Path) -> str | None:
    """What a folder of 7-Scenes colour / pose files without any depth map lacks."""
    try:
        if not path.is_dir() or not any(_ANY_FRAME.match(p.name) for p in path.iterdir()):
            return None
    except OSError:
        return None
    return ("looks like a 7-Scenes sequence (frame-NNNNNN.color / .pose files) but holds no "
            "frame-NNNNNN.depth.png: the depth maps are needed")


def _color_path(root: Path, i: int) -> Path:
    for ext in (".png", ".jpg"):
        p = root / f"frame-{i:06d}.color{ext}"
        if p.is_file():
            return p
    raise InputError(root / f"frame-{i:06d}.color.png", "missing (no .png or .jpg colour image for this depth map)")


def read_pose(path: Path) -> np.ndarray:
    """The 4x4 camera-to-world of a ``.pose.txt`` file (made exactly rigid)."""
    from devices.sequences.common import nearest_rigid

    return nearest_rigid(read_pose_matrix(path), path, "the pose")


def _frames(root: Path, ids: list[int], K_depth: np.ndarray, poses: list[np.ndarray] | None) -> Iterator:

    from devices.frame import Frame
    from devices.registration import register_depth
    from devices.sequences.common import GROUND_TRUTH_KEY, read_pair

    rig = None
    for k, i in enumerate(ids):
        cpath, dpath = _color_path(root, i), root / f"frame-{i:06d}.depth.png"
        rgb, raw = read_pair(cpath, dpath)
        raw = np.where(raw == 65535, 0, raw).astype(np.uint16)
        if rig is None or rig.color_size != (rgb.shape[1], rgb.shape[0]):
            rig = seven_scenes_rig(K_depth, (rgb.shape[1], rgb.shape[0]))
        depth = register_depth(raw, rig).astype(np.float32) * np.float32(1e-3)
        meta: dict = {"source_frame": cpath.name}
        c2w = None
        if poses is not None:
            c2w = rig.color_c2w(poses[k])
            meta[GROUND_TRUTH_KEY] = np.round(c2w, 8).tolist()
        yield Frame(rgb=rgb, depth=depth, K=rig.K_color.copy(), c2w=c2w,
                    timestamp=(i - ids[0]) / 30.0, index=k, meta=meta)  # 30 fps, frames kept or not


def import_seven_scenes(path: Path, out: Path, options: ImportOptions = ImportOptions(),
                        progress: ProgressFn | None = None) -> SceneFolder:
    """Import a 7-Scenes sequence folder: depth registered to colour, the files' poses as ground truth."""
    from devices.sequences.common import write_sequence

    root = Path(path)
    ids = _frame_ids(root)
    if not ids:
        raise InputError(root, "holds no frame-NNNNNN.depth.png files")
    ids = ids[:: max(1, options.every)]
    missing = [i for i in ids if not (root / f"frame-{i:06d}.pose.txt").is_file()]
    if missing and len(missing) < len(ids):
        raise InputError(root / f"frame-{missing[0]:06d}.pose.txt",
                         f"missing ({len(missing)} of {len(ids)} frames have no pose file)")
    K_depth = read_intrinsics(root)
    poses = None if missing else [read_pose(root / f"frame-{i:06d}.pose.txt") for i in ids]  # checked before writing
    rig = seven_scenes_rig(K_depth)
    extra = {"source": f"7-Scenes {root.name}", "fps": 30.0 / max(1, options.every),
             "depth_registration": {"rig": "devices.registration.seven_scenes_rig",
                                    "color_fx": float(rig.K_color[0, 0]),
                                    "depth_to_color": np.round(rig.depth_to_color, 8).tolist()}}
    return write_sequence(_frames(root, ids, K_depth, poses), len(ids), out, options, progress,
                          sensor="kinect_v1", extra=extra)


FORMAT = register(ImportFormat(
    name="7scenes",
    description="7-Scenes RGB-D sequence (folder of frame-NNNNNN.color/depth/pose files)",
    detect=detect,
    run=lambda path, out, options, progress: import_seven_scenes(path, out, options, progress),
    near_miss=near_miss,
))
