"""`sparsenerf capture ...`: record a sensor into a scene folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import tyro

from app.cli.groups import subcommand_group


@dataclass
class CaptureVirtual:
    """Record the built-in virtual RGB-D sensor (no hardware needed) into a scene folder."""

    out: Annotated[tyro.conf.Positional[Path], tyro.conf.arg(metavar="OUT")]
    """Scene folder to create."""
    frames: int = 60
    """Number of frames to record."""
    width: int = 320
    """Image width in pixels."""
    height: int = 240
    """Image height in pixels."""
    seed: int = 0
    """Seed of the procedural scene and the sensor noise (same seed, same capture)."""
    train_views: int = 3
    """Number of training views picked along the path (the few-shot split); the rest are test views."""
    overwrite: bool = False
    """Replace OUT if it already exists."""

    def run(self) -> int:
        from app.cli.progress import Progress
        from devices.capture import record
        from devices.errors import InputError
        from devices.virtual import VirtualSensor, VirtualSensorConfig

        try:
            cfg = VirtualSensorConfig(width=self.width, height=self.height, seed=self.seed, num_frames=self.frames)
        except ValueError as exc:  # e.g. a 0-pixel image: say which option
            raise InputError(None, f"invalid option: {exc}") from None
        bar = Progress(self.frames, "capture")
        with VirtualSensor(cfg) as source:
            scene = record(source, self.out, max_frames=self.frames, train_views=self.train_views,
                           overwrite=self.overwrite, on_frame=lambda i, f: bar.update())
        bar.close()
        print(f"wrote {len(scene)} frames to {self.out} (train views {scene.train_ids})")
        return 0


@dataclass
class CaptureZed:
    """Record a ZED 2 (live, or replay an .svo/.svo2 with --svo) into a scene folder: left image, depth in
    metres and the SDK's positional-tracking poses. Needs the ZED SDK and its pyzed.sl (get_python_api.py)."""

    out: Annotated[tyro.conf.Positional[Path], tyro.conf.arg(metavar="OUT")]
    """Scene folder to create."""
    frames: int = 300
    """Stop after this many written frames (a recording also stops at its end)."""
    every: int = 1
    """Keep one frame in EVERY."""
    svo: Path | None = None
    """Replay this .svo/.svo2 recording instead of the live camera."""
    depth_mode: str = "NEURAL"
    """ZED depth mode: NEURAL, NEURAL_PLUS, ULTRA, QUALITY or PERFORMANCE."""
    resolution: str = "HD720"
    """Live camera resolution: HD2K, HD1080, HD720 or VGA."""
    fps: int = 30
    """Live camera frame rate."""
    train_views: int = 3
    """Number of training views picked along the path (the few-shot split); the rest are test views."""
    overwrite: bool = False
    """Replace OUT if it already exists."""

    def run(self) -> int:
        from app.cli.progress import Progress
        from devices.capture import record
        from devices.zed import ZedConfig, ZedSource

        cfg = ZedConfig(svo=self.svo, depth_mode=self.depth_mode, resolution=self.resolution, fps=self.fps)
        bar = Progress(self.frames, "capture")
        with ZedSource(cfg) as source:
            scene = record(source, self.out, max_frames=self.frames, every=self.every,
                           train_views=self.train_views, overwrite=self.overwrite, on_frame=lambda i, f: bar.update())
        bar.close()
        lost = sum(1 for f in scene.frames if not f.meta.get("tracking_ok", True))
        print(f"wrote {len(scene)} frames to {self.out} (train views {scene.train_ids}; "
              f"{lost} with tracking not OK)")
        return 0


@dataclass
class CaptureKinect:
    """Record a connected Azure Kinect into a scene folder: colour, depth aligned to it (the SDK's
    semantics), undistorted to a pinhole camera; poses by RGB-D odometry afterwards. Needs pyk4a and
    Microsoft's libk4a 1.4. Unplugging the device keeps every frame written so far."""

    out: Annotated[tyro.conf.Positional[Path], tyro.conf.arg(metavar="OUT")]
    """Scene folder to create."""
    device: int = 0
    """Index of the device (0 = the first one connected)."""
    color_resolution: Literal["720p", "1080p", "1440p", "1536p", "2160p", "3072p"] = "720p"
    """Colour resolution."""
    depth_mode: Literal["NFOV_2X2BINNED", "NFOV_UNBINNED", "WFOV_2X2BINNED", "WFOV_UNBINNED"] = "NFOV_UNBINNED"
    """Depth mode (NFOV: narrow field of view; 2X2BINNED: half resolution, longer range)."""
    fps: Literal[5, 15, 30] = 30
    """Camera frame rate (30 is not available with 3072p colour or WFOV_UNBINNED depth)."""
    frames: int = 300
    """Stop after this many written frames."""
    every: int = 1
    """Keep one frame in EVERY."""
    keep_distortion: bool = False
    """Keep the colour camera's own pixel grid and write its distortion coefficients."""
    train_views: int = 3
    """Number of training views picked along the path (the few-shot split); the rest are test views."""
    no_poses: bool = False
    """Do not estimate poses after the capture."""
    overwrite: bool = False
    """Replace OUT if it already exists."""

    def run(self) -> int:
        from app.cli.poses import pose_bar, print_pose_report
        from app.cli.progress import Progress
        from devices.capture import record
        from devices.kinect.live import KinectLive, KinectLiveConfig
        from devices.poses.staging import poses_before_commit

        cfg = KinectLiveConfig(device=self.device, color_resolution=self.color_resolution,
                               depth_mode=self.depth_mode, fps=self.fps, keep_distortion=self.keep_distortion)
        bar = Progress(self.frames, "capture")
        posed: list = []
        pose_progress, close_pose_bar = pose_bar()
        poser = None if self.no_poses else poses_before_commit(self.out, self.train_views, pose_progress,
                                                               posed.append)  # OUT appears posed
        with KinectLive(cfg) as source:
            scene = record(source, self.out, max_frames=self.frames, every=self.every, train_views=self.train_views,
                           overwrite=self.overwrite, on_frame=lambda i, f: bar.update(), before_commit=poser)
        bar.close()
        close_pose_bar()
        if posed and len(posed[0]) > 1:  # one frame: the identity, nothing to report
            print_pose_report(posed[0], [f.meta for f in scene.frames])
        print(f"wrote {len(scene)} frames to {self.out} (train views {scene.train_ids})")
        return 0


COMMAND = subcommand_group(
    "capture",
    "Record RGB-D from a sensor into a scene folder.",
    {"virtual": CaptureVirtual, "zed": CaptureZed, "kinect": CaptureKinect},
)
