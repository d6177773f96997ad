"""Loaders: every supported layout -> one in-memory ``nerf.scene.Scene``.

``load_scene(path)`` detects the layout:
- our scene folder (``transforms.json``) -> ``scene_folder.load_scene_folder``;
- DTU in the MonoSDF form (``cameras.npz`` + ``NNNNNN_rgb.png``) -> ``dtu.load_dtu``;
- DTU in the IDR / NeuS form (``image/`` or ``images/``, ``mask/``, ``cameras_sphere.npz``) and in the
  authors' form (``Rectified/scanN`` + ``Calibration/cal18`` + ``idrmasks``) -> ``dtu_layouts``;
- LLFF / NVS-RGBD (``poses_bounds.npy``) -> ``llff.load_llff`` (imported lazily);
- a 7-Scenes sequence (``camera-intrinsics.txt`` + ``frame-*.color.jpg``) -> ``seven_scenes.load_seven_scenes``.
"""

from __future__ import annotations

import re
from pathlib import Path

from devices.errors import InputError
from nerf.scene import Scene


def detect_layout(path: Path) -> str:
    """"scene_folder", "dtu", "dtu_idr", "dtu_rectified", "llff" or "seven_scenes"; InputError when ``path`` is none of them."""
    from nerf.loaders.dtu_layouts import is_dtu_idr, is_dtu_rectified

    if not path.is_dir():
        raise InputError(path, "not a folder")
    if (path / "transforms.json").is_file():
        return "scene_folder"
    if is_dtu_idr(path):
        return "dtu_idr"
    if is_dtu_rectified(path):
        return "dtu_rectified"
    if (path / "cameras.npz").is_file():
        return "dtu"
    if (path / "poses_bounds.npy").is_file():
        return "llff"
    from nerf.loaders.seven_scenes import is_seven_scenes

    if is_seven_scenes(path):
        return "seven_scenes"
    raise InputError(path, "is not a scene: expected transforms.json (scene folder), cameras.npz (DTU), "
                           "image/ + cameras_sphere.npz (DTU, IDR / NeuS), rect_NNN_3_r5000.png (DTU Rectified), "
                           "poses_bounds.npy (LLFF / NVS-RGBD) or camera-intrinsics.txt + frame-*.color.jpg (7-Scenes)")


def load_scene(path: str | Path, *, split: str | None = None, downscale: int | None = None) -> Scene:
    """Load the scene at ``path`` (any supported layout).

    Args:
        split: layout specific: DTU "3view" (default) / "6view" / "9view" / "all"; scene folder
            None (its own split) / "all"; LLFF / NVS-RGBD "Nview" = N training views of the every-8th
            protocol when files are not named ``*_train``.
        downscale: integer image downscale; None = the layout's default (1, LLFF: the authors').
    """
    path = Path(path)
    layout = detect_layout(path)
    if layout == "scene_folder":
        from nerf.loaders.scene_folder import load_scene_folder

        scene = load_scene_folder(path, split=split, downscale=downscale or 1)
    elif layout == "dtu":
        from nerf.loaders.dtu import load_dtu

        scene = load_dtu(path, split=split, downscale=downscale or 1)
    elif layout in ("dtu_idr", "dtu_rectified"):
        from nerf.loaders.dtu_layouts import load_dtu_idr, load_dtu_rectified

        scene = (load_dtu_idr if layout == "dtu_idr" else load_dtu_rectified)(path, split=split, downscale=downscale)
    elif layout == "seven_scenes":
        from nerf.loaders.seven_scenes import load_seven_scenes

        scene = load_seven_scenes(path, downscale=downscale)
    else:
        from nerf.loaders.llff import load_llff

        n_train = _llff_train_views(path, split)
        scene = load_llff(path, factor=downscale, n_train=n_train)
    scene.extra["load_args"] = {"path": str(path.resolve()), "split": split, "downscale": downscale}
    return scene


def _llff_train_views(path: Path, split: str | None) -> int:
    """N of an LLFF / NVS-RGBD split "Nview" (default 3); InputError for anything else."""
    if split is None:
        return 3
    m = re.fullmatch(r"([1-9]\d*)view", split)
    if m is None:
        raise InputError(path, f"unknown split {split!r} for an LLFF / NVS-RGBD scene (expected e.g. 3view)")
    return int(m.group(1))
