"""Import format "tum-rgbd": a TUM RGB-D benchmark sequence folder -> scene folder with its poses.

Layout::

    rgb.txt            "timestamp filename" per line ("#" comments), e.g. "1305031102.175304 rgb/1305031102.175304.png"
    depth.txt          the same for the depth maps (uint16 PNG, 5000 units per metre, 0 = none)
    groundtruth.txt    optional: "timestamp tx ty tz qx qy qz qw", the colour camera's optical centre
                       to world (OpenCV camera axes), at the motion-capture rate

Depth is already registered to colour in this data set. Colour and depth are paired by nearest
timestamp (within ``MAX_DT``), as the benchmark's ``associate.py`` does; each pair takes the
ground-truth pose nearest its colour timestamp (within ``MAX_DT``). Intrinsics come from the
sequence's camera (``freiburg1``/``2``/``3`` in the folder name, the values published with the
data set, distortion included), else the data set's default (fx = fy = 525, centre 319.5, 239.5).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from devices.errors import InputError
from devices.importers.registry import ImportFormat, ImportOptions, ProgressFn, register
from devices.scene_folder import SceneFolder

DEPTH_UNITS_PER_METRE = 5000.0
MAX_DT = 0.02
"""Seconds: the most a colour image, its depth map and its pose may be apart (associate.py's default)."""
CAMERAS: dict[str, tuple[tuple[float, float, float, float], tuple[float, ...]]] = {
    "freiburg1": ((517.3, 516.5, 318.6, 255.3), (0.2624, -0.9531, -0.0054, 0.0026, 1.1633)),
    "freiburg2": ((520.9, 521.0, 325.1, 249.7), (0.2312, -0.7849, -0.0033, -0.0001, 0.9172)),
    "freiburg3": ((535.4, 539.2, 320.1, 247.6), ()),
}
DEFAULT_CAMERA = ((525.0, 525.0, 319.5, 239.5), ())


def detect(path: Path) -> bool:
    return path.is_dir() and (path / "rgb.txt").is_file() and (path / "depth.txt").is_file()


def near_miss(path: Path) -> str | None:
    """What a folder with only some of the TUM lists lacks (rgb.txt and depth.txt are both needed)."""
    if not path.is_dir():
        return None
    has = {name: (path / name).is_file() for name in ("rgb.txt", "depth.txt", "groundtruth.txt")}
    if has["rgb.txt"] != has["depth.txt"] or (has["groundtruth.txt"] and not has["rgb.txt"]):
        there = ", ".join(n for n, ok in has.items() if ok)
        lacking = " and ".join(n for n in ("rgb.txt", "depth.txt") if not has[n])
        return (f"looks like a TUM RGB-D sequence ({there}) but has no {lacking}: the colour images and the "
                "depth maps are each listed in their own file (\"timestamp filename\" per line)")
    return None


def read_list(path: Path, columns: int) -> list[list[str]]:
    """Rows of a TUM list file (``#`` comments and blank lines skipped), each with ``columns`` fields and
    its line number appended (``row[columns]``, for messages)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot be read ({exc})") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) != columns:
            raise InputError(path, f"line {n}: expected {columns} fields, got {len(fields)}")
        try:
            t = float(fields[0])
        except ValueError:
            raise InputError(path, f"line {n}: timestamp {fields[0]!r} is not a number") from None
        if not np.isfinite(t):
            raise InputError(path, f"line {n}: timestamp {fields[0]!r} is not finite")
        rows.append([*fields, str(n)])
    if not rows:
        raise InputError(path, "lists no entries")
    return rows


def associate(a: np.ndarray, b: np.ndarray, max_dt: float = MAX_DT) -> list[tuple[int, int]]:
    """Pairs (i, j) of timestamps ``a[i]``, ``b[j]`` closest to each other, each used once, |dt| <= max_dt.

    Greedy on the smallest difference first, like the benchmark's associate.py; sorted by i.
    """
    cands = []
    order = np.argsort(b)
    bs = b[order]
    for i, t in enumerate(a):
        k = int(np.searchsorted(bs, t))
        for j in (k - 1, k):
            if 0 <= j < len(bs) and abs(bs[j] - t) <= max_dt:
                cands.append((abs(bs[j] - t), i, int(order[j])))
    used_a, used_b, pairs = set(), set(), []
    for _, i, j in sorted(cands):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def read_groundtruth(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps float64 [N], c2w float64 [N, 4, 4]) of ``groundtruth.txt``."""
    from devices.sequences.common import quat_to_matrix

    rows = read_list(path, 8)
    table = np.empty((len(rows), 8))
    for k, row in enumerate(rows):
        try:
            table[k] = [float(v) for v in row[:8]]
        except ValueError:
            raise InputError(path, f"line {row[8]}: an entry is not a number") from None
        if not np.all(np.isfinite(table[k])):
            raise InputError(path, f"line {row[8]}: a non-finite value (NaN or infinity) in the pose")
        if np.linalg.norm(table[k, 4:8]) < 1e-6:
            raise InputError(path, f"line {row[8]}: the quaternion qx qy qz qw is zero")
    poses = np.tile(np.eye(4), (len(table), 1, 1))
    for k, row in enumerate(table):
        poses[k, :3, :3] = quat_to_matrix(row[4:8])
        poses[k, :3, 3] = row[1:4]
    return table[:, 0], poses


def camera_for(root: Path) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(K [3, 3], distortion or None, camera name) from the sequence's folder name."""
    name = root.resolve().name.lower()
    key = next((k for k in CAMERAS if k in name or k.replace("reiburg", "r") in name), None)
    (fx, fy, cx, cy), dist = CAMERAS[key] if key else DEFAULT_CAMERA
    K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    return K, (np.array(dist) if dist else None), key or "default"


def _frames(root: Path, pairs: list[tuple[str, str, float]], gt: dict[int, np.ndarray], gt_as_pose: bool,
            K: np.ndarray, dist: np.ndarray | None) -> Iterator:

    from devices.frame import Frame
    from devices.sequences.common import GROUND_TRUTH_KEY, read_pair

    t0 = pairs[0][2]
    for k, (rgb_name, depth_name, t) in enumerate(pairs):
        cpath, dpath = root / rgb_name, root / depth_name
        rgb, raw = read_pair(cpath, dpath, ("rgb.txt", "depth.txt"))
        if raw.shape != rgb.shape[:2]:
            raise InputError(dpath, f"is {raw.shape[1]}x{raw.shape[0]}, its colour image is {rgb.shape[1]}x{rgb.shape[0]}")
        meta: dict = {"source_frame": rgb_name, "tum_timestamp": t}
        if k in gt:
            meta[GROUND_TRUTH_KEY] = np.round(gt[k], 8).tolist()
        yield Frame(rgb=rgb, depth=raw.astype(np.float32) / np.float32(DEPTH_UNITS_PER_METRE),
                    K=K, c2w=gt.get(k) if gt_as_pose else None, timestamp=t - t0, distortion=dist, index=k, meta=meta)


def import_tum(path: Path, out: Path, options: ImportOptions = ImportOptions(),
               progress: ProgressFn | None = None) -> SceneFolder:
    """Import a TUM RGB-D sequence folder (colour/depth by timestamp, ground truth when present)."""
    from devices.sequences.common import write_sequence

    root = Path(path)
    rgb, depth = read_list(root / "rgb.txt", 2), read_list(root / "depth.txt", 2)
    t_rgb = np.array([float(r[0]) for r in rgb])
    t_depth = np.array([float(r[0]) for r in depth])
    matched = associate(t_rgb, t_depth)
    if not matched:
        raise InputError(root / "depth.txt", f"no depth map is within {MAX_DT} s of a colour image in rgb.txt")
    pairs = [(rgb[i][1], depth[j][1], float(t_rgb[i])) for i, j in matched][:: max(1, options.every)]
    for listed, column in (("rgb.txt", 0), ("depth.txt", 1)):  # fail before writing, not half-way
        absent = [p[column] for p in pairs if not (root / p[column]).is_file()]
        if absent:
            raise InputError(root / absent[0], f"does not exist (listed in {listed}; {len(absent)} of "
                                               f"{len(pairs)} listed files are missing)")
    gt: dict[int, np.ndarray] = {}
    if (root / "groundtruth.txt").is_file():
        t_gt, poses = read_groundtruth(root / "groundtruth.txt")
        gt = {k: poses[j] for k, j in associate(np.array([p[2] for p in pairs]), t_gt)}
    # a partly posed scene cannot train: then every frame's pose is estimated, the truth stays in the meta
    K, dist, camera = camera_for(root)
    frames = _frames(root, pairs, gt, len(gt) == len(pairs), K, dist)
    extra = {"source": f"TUM RGB-D {root.name}", "camera": camera, "depth_units_per_metre": DEPTH_UNITS_PER_METRE}
    return write_sequence(frames, len(pairs), out, options, progress, sensor="kinect_v1", extra=extra)


FORMAT = register(ImportFormat(
    name="tum-rgbd",
    description="TUM RGB-D sequence (folder with rgb.txt, depth.txt, optional groundtruth.txt)",
    detect=detect,
    run=lambda path, out, options, progress: import_tum(path, out, options, progress),
    near_miss=near_miss,
))
