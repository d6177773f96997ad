"""The LLFF scene layout (also used by SparseNeRF's NVS-RGBD data set): a small, pure parser.

Layout::

    scene/
      poses_bounds.npy      float [N, 17]: per image a 3x5 matrix (row-major) + near, far
      images/ images_4/ ... the same N images at full size and downsampled by 4, ...
      depth_maps/           optional (NVS-RGBD): one depth map per image, same name
                            (iPhone: <stem>-depth.jpg, <stem>-depth_train.jpg)

Each 3x5 matrix is ``[R | t | hwf]``: the 3x4 camera-to-world pose whose rotation columns are the
camera's (down, right, backwards) axes in world coordinates, then a column (height, width, focal)
of the full-size ``images/``. LLFF / nerf-pytorch / RegNeRF reorder the columns to
(right, up, backwards) = OpenGL; we go one step further to OpenCV (right, down, forwards), i.e.
``x = col1, y = col0, z = -col2``. Images are sorted by file name and matched to the rows in order.
The principal point is the image centre; focal scales with the image size.

Split: SparseNeRF names training images ``*_train.<ext>``; every other image is a test view. The
LLFF protocol instead holds out every 8th image and picks ``round(linspace(0, n_rest - 1, n))``
of the rest for training.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devices.atomic import atomic_write_bytes
from devices.errors import InputError
from devices.scene_folder import Intrinsics

POSES_FILE = "poses_bounds.npy"
DEPTH_DIR = "depth_maps"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
TRAIN_SUFFIX = "_train"
LLFF_HOLD = 8
MAX_SIDE = 65536
MAX_COORDINATE = 1e5
_FOLDER_RE = re.compile(r"^images(?:_(\d+)|_(\d+)x(\d+))?$")


@dataclass(frozen=True)
class PosesBounds:
    """Contents of ``poses_bounds.npy``.

    Attributes:
        c2w: float64 [N, 4, 4] camera-to-world, OpenCV axes (x right, y down, z forward).
        hwf: float64 [N, 3] (height, width, focal) in pixels of the full-size ``images/``.
        bounds: float64 [N, 2] (near, far) scene depth bounds per image, world units.
    """

    c2w: np.ndarray
    hwf: np.ndarray
    bounds: np.ndarray

    def __len__(self) -> int:
        return int(self.c2w.shape[0])

    def intrinsics(self, i: int, width: int, height: int) -> Intrinsics:
        """Pinhole intrinsics of image ``i`` when it is ``width`` x ``height`` (e.g. an ``images_4`` file)."""
        h, w, f = (float(v) for v in self.hwf[i])
        return Intrinsics(fx=f * width / w, fy=f * height / h, cx=width / 2.0, cy=height / 2.0,
                          width=int(width), height=int(height))


def llff_to_opencv(poses: np.ndarray) -> np.ndarray:
    """LLFF poses [N, 3, 4] (columns down, right, backwards, translation) -> OpenCV c2w [N, 4, 4]."""
    p = np.asarray(poses, dtype=np.float64)
    out = np.zeros((p.shape[0], 4, 4))
    out[:, :3, 0] = p[:, :, 1]  # right
    out[:, :3, 1] = p[:, :, 0]  # down
    out[:, :3, 2] = -p[:, :, 2]  # forwards
    out[:, :3, 3] = p[:, :, 3]
    out[:, 3, 3] = 1.0
    return out


def opencv_to_llff(c2w: np.ndarray) -> np.ndarray:
    """OpenCV c2w [N, 4, 4] -> LLFF poses [N, 3, 4] (inverse of ``llff_to_opencv``)."""
    m = np.asarray(c2w, dtype=np.float64)
    return np.stack([m[:, :3, 1], m[:, :3, 0], -m[:, :3, 2], m[:, :3, 3]], axis=-1)


def write_poses_bounds(path: str | Path, c2w: np.ndarray, hwf: np.ndarray, bounds: np.ndarray) -> None:
    """Write ``poses_bounds.npy`` from OpenCV c2w [N, 4, 4], hwf [N, 3] and bounds [N, 2]."""
    poses = opencv_to_llff(c2w)
    mats = np.concatenate([poses, np.asarray(hwf, dtype=np.float64)[:, :, None]], axis=2)  # [N, 3, 5]
    arr = np.concatenate([mats.reshape(len(mats), 15), np.asarray(bounds, dtype=np.float64)], axis=1)
    buf = io.BytesIO()
    np.save(buf, arr)
    atomic_write_bytes(path, buf.getvalue())


def read_poses_bounds(path: str | Path) -> PosesBounds:
    """Read and check ``poses_bounds.npy``. Raises InputError for a missing, broken or implausible file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "not found: an LLFF scene needs poses_bounds.npy (N x 17 poses and bounds)")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(path, f"cannot be read as a NumPy array ({exc.__class__.__name__})") from None
    if not isinstance(arr, np.ndarray):  # an .npz archive saved under the .npy name
        arr.close()
        raise InputError(path, "is an .npz archive, not the single N x 17 .npy array LLFF uses")
    if arr.dtype.kind not in "iuf":
        raise InputError(path, f"expected numbers, got an array of dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != 17 or arr.shape[0] == 0:
        raise InputError(path, f"expected an N x 17 array (3x5 pose + near, far per image), got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise InputError(path, f"row {int(np.argwhere(~np.isfinite(arr))[0, 0])} has a NaN or infinite value")
    mats = arr[:, :15].reshape(-1, 3, 5)
    hwf, bounds = mats[:, :, 4].copy(), arr[:, 15:17].copy()
    c2w = llff_to_opencv(mats[:, :, :4])
    for i in range(len(arr)):
        r = c2w[i, :3, :3]
        if not (np.allclose(r @ r.T, np.eye(3), atol=1e-3) and abs(np.linalg.det(r) - 1.0) < 1e-3):
            raise InputError(path, f"row {i}: the 3x3 rotation is not a proper rotation (det {np.linalg.det(r):.3f})")
        h, w, f = hwf[i]
        if not (0 < h <= MAX_SIDE and 0 < w <= MAX_SIDE and 0 < f <= 100 * max(h, w)):
            raise InputError(path, f"row {i}: height, width (at most {MAX_SIDE}) and focal (at most 100 x the "
                                   f"larger side) must be positive, got {hwf[i].tolist()}")
        if np.abs(c2w[i, :3, 3]).max() > MAX_COORDINATE or bounds[i, 1] > 1e3 * MAX_COORDINATE:
            raise InputError(path, f"row {i}: the camera position or the far bound is beyond +-{MAX_COORDINATE:g}")
        if not 0 < bounds[i, 0] < bounds[i, 1] <= 1e6 * bounds[i, 0]:
            raise InputError(path, f"row {i}: bounds must satisfy 0 < near < far <= 1e6 x near, got {bounds[i].tolist()}")
    return PosesBounds(c2w=c2w, hwf=hwf, bounds=bounds)


@dataclass(frozen=True)
class ImageFolder:
    """One ``images*`` folder. ``factor`` is the downsampling factor (1 for ``images``), None for ``images_WxH``."""

    path: Path
    factor: int | None


def image_folders(root: str | Path) -> list[ImageFolder]:
    """The ``images``, ``images_N`` and ``images_WxH`` folders of ``root``, by increasing factor."""
    found = []
    for p in Path(root).iterdir() if Path(root).is_dir() else ():
        m = _FOLDER_RE.match(p.name)
        if m and p.is_dir():
            factor = int(m.group(1)) if m.group(1) else (None if m.group(2) else 1)
            found.append(ImageFolder(p, factor))
    return sorted(found, key=lambda f: (f.factor is None, f.factor or 0, f.path.name))


def pick_image_folder(root: str | Path, factor: int = 1) -> ImageFolder:
    """``images_<factor>`` (``images`` for 1); falls back to ``images``. InputError when neither exists."""
    folders = {f.factor: f for f in image_folders(root)}
    if factor in folders:
        return folders[factor]
    if 1 in folders:
        return folders[1]
    raise InputError(root, "has no images/ folder (an LLFF scene keeps its photos in images/)")


def list_images(folder: str | Path) -> list[Path]:
    """Image files (.jpg, .jpeg, .png, any case) of ``folder``, sorted by name as LLFF does."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise InputError(folder, "contains no .jpg or .png images")
    return files


def is_train_name(path: str | Path) -> bool:
    """True when the file's stem ends in ``_train`` (SparseNeRF's marker of a training view)."""
    return Path(path).stem.endswith(TRAIN_SUFFIX)


def depth_candidates(image: str | Path) -> list[str]:
    """Depth-map file names for ``image``, in the order they are tried.

    Same name; same stem as .png; iPhone style ``<stem>-depth.jpg`` (``a_train.jpg`` ->
    ``a-depth_train.jpg``), also with .png.
    """
    image = Path(image)
    stem, ext = image.stem, image.suffix
    base, tag = (stem[: -len(TRAIN_SUFFIX)], TRAIN_SUFFIX) if stem.endswith(TRAIN_SUFFIX) else (stem, "")
    names = [image.name, f"{stem}.png", f"{base}-depth{tag}{ext}", f"{base}-depth{tag}.jpg", f"{base}-depth{tag}.png"]
    return list(dict.fromkeys(names))


def find_depth(depth_dir: str | Path, image: str | Path) -> Path:
    """The depth map of ``image`` in ``depth_dir``. InputError naming the expected file when it is missing."""
    depth_dir = Path(depth_dir)
    for name in depth_candidates(image):
        if (depth_dir / name).is_file():
            return depth_dir / name
    names = depth_candidates(image)
    raise InputError(depth_dir / names[0], f"missing: no depth map for {Path(image).name} "
                                            f"(looked for {', '.join(names)})")


def split_by_name(paths: list[Path] | list[str]) -> tuple[list[int], list[int]]:
    """(train ids, test ids): files whose stem ends in ``_train`` train, the others test."""
    train = [i for i, p in enumerate(paths) if is_train_name(p)]
    test = [i for i, p in enumerate(paths) if not is_train_name(p)]
    return train, test


def llff_holdout_split(n: int, n_train: int, hold: int = LLFF_HOLD) -> tuple[list[int], list[int]]:
    """LLFF protocol: test = every ``hold``-th image (0, 8, ...); train = ``n_train`` spread over the rest.

    The training picks are ``round(linspace(0, n_rest - 1, n_train))`` with Python's round, as RegNeRF does.
    """
    test = list(range(0, n, hold))
    rest = [i for i in range(n) if i % hold]
    if n_train <= 0 or not rest:
        return [], test
    picks = [round(float(x)) for x in np.linspace(0, len(rest) - 1, min(n_train, len(rest)))]
    return [rest[j] for j in picks], test


@dataclass(frozen=True)
class LLFFScene:
    """An LLFF / NVS-RGBD scene folder, resolved to files.

    Attributes:
        root: the scene folder.
        images: [N] image files of the chosen ``images*`` folder, sorted by name (row i of the poses).
        poses: the parsed ``poses_bounds.npy``.
        depth: [N] depth-map files, or None when the scene has no ``depth_maps/``.
        train_ids, test_ids: split from the ``_train`` names (empty train list when no name has it).
    """

    root: Path
    images: list[Path]
    poses: PosesBounds
    depth: list[Path] | None
    train_ids: list[int]
    test_ids: list[int]


def read_llff_scene(root: str | Path, factor: int = 1, with_depth: bool | None = None) -> LLFFScene:
    """Resolve an LLFF / NVS-RGBD scene. ``with_depth`` None: use ``depth_maps/`` when it exists.

    Raises:
        InputError: missing poses file or images, poses rows != images, missing depth map.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "not a folder")
    poses = read_poses_bounds(root / POSES_FILE)
    images = list_images(pick_image_folder(root, factor).path)
    if len(poses) < len(images):
        raise InputError(root / POSES_FILE, f"has {len(poses)} rows but {images[0].parent.name}/ has "
                                            f"{len(images)} images (one row per image is needed)")
    if len(poses) > len(images):
        raise InputError(images[0].parent, f"has {len(images)} images but {POSES_FILE} has {len(poses)} rows")
    depth_dir = root / DEPTH_DIR
    if with_depth is None:
        with_depth = depth_dir.is_dir()
    depth = None
    if with_depth:
        if not depth_dir.is_dir():
            raise InputError(depth_dir, "not found: this scene has no depth maps")
        depth = [find_depth(depth_dir, p) for p in images]
    train, test = split_by_name(images)
    return LLFFScene(root=root, images=images, poses=poses, depth=depth, train_ids=train, test_ids=test)
