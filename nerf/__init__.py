"""SparseNeRF in PyTorch, with no Qt: the public API the CLI and the studio use (nerfacc's habit).

Everything a user of the library needs is a name here (``from nerf import Trainer, load_scene``);
the rest of the package (fields, renderer, sampler, losses, the trainer's parts) is internal, and
import-linter keeps ``app`` off it. Three modules are public as modules, because they are contracts
with files: ``nerf.run_dir`` (the run folder), ``nerf.train_config`` (run.json and the CLI generated
from it) and ``nerf.geometry_export`` (exported geometry).

Names are imported on first use (PEP 562), so ``import nerf`` costs nothing and a command's
``--help`` never loads torch. No public name may be a submodule's name (importing ``nerf.evaluate``
binds the module to ``nerf.evaluate``): the function ``nerf.evaluate.evaluate`` is ``evaluate_views``
here and ``nerf.paths.camera_path`` is ``path_cameras``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str | tuple[str, str]] = {
    # scenes
    "Scene": "nerf.scene",
    "load_scene": "nerf.loaders",
    "detect_layout": "nerf.loaders",
    # training
    "TrainConfig": "nerf.train_config",
    "ConfigError": "nerf.choices",
    "Budget": "nerf.train_config",
    "Optimiser": "nerf.train_config",
    "Losses": "nerf.train_config",
    "Sampler": "nerf.train_config",
    "Reporting": "nerf.train_config",
    "Trainer": "nerf.trainer",
    "RunState": "nerf.run_state",
    "ACTIVE_STATES": "nerf.run_state",
    "ENDED_STATES": "nerf.run_state",
    "LatestSlot": "nerf.latest",
    "FairLock": "nerf.fair_lock",
    "apply_threads": "nerf.threads",
    "available_cores": "nerf.threads",
    "default_threads": "nerf.threads",
    "limit_this_thread": "nerf.threads",
    "side_threads": "nerf.threads",
    # values passed to the app
    "Camera": "nerf.types",
    "RenderResult": "nerf.types",
    "TrainSnapshot": "nerf.types",
    "StepStats": "nerf.types",
    "view_camera": "nerf.inference",
    "LivePreview": "nerf.preview",
    # evaluation
    "evaluate_views": ("nerf.evaluate", "evaluate"),
    "load_lpips": "nerf.lpips",
    "LPIPS_ENV_VAR": ("nerf.lpips", "ENV_VAR"),
    # videos and camera paths
    "path_cameras": ("nerf.paths", "camera_path"),
    "CameraPath": "nerf.camera_path",
    "Keyframe": "nerf.camera_path",
    "keyframe_from_camera": "nerf.camera_path",
    "load_camera_path": "nerf.camera_path_json",
    "save_camera_path": "nerf.camera_path_json",
    "render_video": "nerf.video",
    "side_by_side": "nerf.video",
    "legend_scale": "nerf.video",
    "marking_unseen": "nerf.video",
    "MIN_ACC": "nerf.video",
    "robust_range": "nerf.colormap",
    # geometry
    "GeometrySettings": "nerf.geometry_export",
    "write_mesh": "nerf.tsdf_mesh",
}
"""Public name -> the module that defines it (or (module, name there))."""

__all__ = [
    "ACTIVE_STATES", "Budget", "Camera", "CameraPath", "ConfigError", "ENDED_STATES", "FairLock", "GeometrySettings",
    "Keyframe", "LPIPS_ENV_VAR", "LatestSlot", "LivePreview", "Losses", "MIN_ACC", "Optimiser", "RenderResult",
    "Reporting", "RunState", "Sampler", "Scene", "StepStats", "TrainConfig", "TrainSnapshot", "Trainer",
    "apply_threads", "available_cores", "default_threads", "detect_layout", "evaluate_views",
    "keyframe_from_camera", "legend_scale", "limit_this_thread", "load_camera_path", "load_lpips", "load_scene",
    "marking_unseen", "path_cameras", "render_video", "robust_range", "save_camera_path", "side_by_side", "side_threads",
    "view_camera", "write_mesh",
]


def __getattr__(name: str) -> Any:
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'nerf' has no attribute {name!r}")
    module, attr = where if isinstance(where, tuple) else (where, name)
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and IDEs see
    from nerf.camera_path import CameraPath, Keyframe, keyframe_from_camera
    from nerf.camera_path_json import load_camera_path, save_camera_path
    from nerf.choices import ConfigError
    from nerf.colormap import robust_range
    from nerf.evaluate import evaluate as evaluate_views
    from nerf.fair_lock import FairLock
    from nerf.geometry_export import GeometrySettings
    from nerf.inference import view_camera
    from nerf.latest import LatestSlot
    from nerf.loaders import detect_layout, load_scene
    from nerf.lpips import ENV_VAR as LPIPS_ENV_VAR
    from nerf.lpips import load_lpips
    from nerf.paths import camera_path as path_cameras
    from nerf.preview import LivePreview
    from nerf.run_state import ACTIVE_STATES, ENDED_STATES, RunState
    from nerf.scene import Scene
    from nerf.threads import apply_threads, available_cores, default_threads, limit_this_thread, side_threads
    from nerf.train_config import Budget, Losses, Optimiser, Reporting, Sampler, TrainConfig
    from nerf.trainer import Trainer
    from nerf.tsdf_mesh import write_mesh
    from nerf.types import Camera, RenderResult, StepStats, TrainSnapshot
    from nerf.video import MIN_ACC, legend_scale, marking_unseen, render_video, side_by_side
