"""`sparsenerf export RUN --pointcloud OUT.ply | --mesh OUT.ply | --depth DIR`: geometry of a trained run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import tyro

from app.cli.options import Threads


@dataclass
class Export:
    """Export the geometry of a training run, for Blender, MeshLab, CloudCompare or a robot's planner.

    --pointcloud: a coloured point cloud (binary PLY) from the rendered depth of the chosen views, rays with
    low accumulated opacity dropped, cropped to the scene's box. --mesh: a triangle mesh (binary PLY, vertex
    colours) by TSDF fusion of the rendered colour + depth of the views (Open3D), cropped to the scene's box.
    --depth: one depth map per view, 16-bit PNG millimetres when the scene's depth is metric, float32 NPY
    in scene units otherwise, with cameras.json. Coordinates are the scene's world frame (its
    transforms.json), in metres when the scene's depth is metric. Every output is written atomically.

    Example: `sparsenerf export runs/desk --mesh desk_mesh.ply --pointcloud desk_points.ply`.
    """

    run_dir: Annotated[tyro.conf.Positional[Path], tyro.conf.arg(metavar="RUN")]
    """Training run folder (written by `sparsenerf train --out RUN`)."""
    pointcloud: Path | None = None
    """Point cloud to write (.ply)."""
    mesh: Path | None = None
    """Mesh to write (.ply)."""
    depth: Path | None = None
    """Folder to create with the depth maps."""
    views: Literal["auto", "all", "train", "test", "path"] = "auto"
    """Views to render: auto (the training views for a --field sensor run, where its metric depth pinned the
    surfaces; every view for the other fields), every view of the scene, its training or test views, or a
    loop through the training views (--path-frames views)."""
    path_frames: int = 24
    """Views on the loop (with --views path)."""
    width: int | None = None
    """Render width in pixels (default: the training images')."""
    min_acc: float = 0.5
    """Drop rays whose accumulated opacity is below this (empty space, background)."""
    voxel: float | None = None
    """Mesh: TSDF voxel size in scene units (metres for metric scenes; default: the scene box / 512)."""
    stride: int = 2
    """Point cloud: keep every STRIDE-th pixel in each direction."""
    depth_mode: Literal["normalised", "far_background"] = "normalised"
    """Depth of each ray: normalised (where its opacity lies, as renders show it, and as the metric depth
    loss fits it to a sensor's) or far_background (its transparent rest counted at the far bound, as the
    ranking prior sees it); see docs/export.md."""
    min_views: int = 1
    """Mesh: keep only surfaces at least this many of the views saw."""
    threads: Threads = None
    """CPU threads for torch (rendering the views)."""

    def check(self) -> None:
        from devices.errors import InputError

        if self.pointcloud is None and self.mesh is None and self.depth is None:
            raise InputError(None, "nothing to export: give --pointcloud OUT.ply, --mesh OUT.ply and/or --depth DIR")
        for name, out in (("--pointcloud", self.pointcloud), ("--mesh", self.mesh)):
            if out is not None and out.suffix.lower() != ".ply":
                raise InputError(out, f"{name} must end in .ply")
        for name, out in (("--pointcloud", self.pointcloud), ("--mesh", self.mesh), ("--depth", self.depth)):
            if out is not None and not out.parent.is_dir():
                raise InputError(out.parent, f"folder does not exist (for {name})")
        if self.depth is not None and self.depth.exists() and (not self.depth.is_dir() or any(self.depth.iterdir())):
            raise InputError(self.depth, "already exists and is not an empty folder (for --depth)")
        if not 0.0 <= self.min_acc < 1.0 or self.stride < 1 or self.path_frames < 2 or self.min_views < 1:
            raise InputError(None, "--min-acc must be in [0, 1), --stride, --min-views at least 1, --path-frames at least 2")
        if self.voxel is not None and not self.voxel > 0:
            raise InputError(None, f"--voxel must be positive, got {self.voxel}")

    def run(self) -> int:
        from app.cli.progress import Progress
        from app.runs import load_run_checked
        from nerf import geometry_export as ge
        from nerf import write_mesh

        self.check()  # before loading the run: a bad output fails in a second, not after minutes
        trainer = load_run_checked(self.run_dir)
        s = ge.GeometrySettings(views=self.views, path_frames=self.path_frames, width=self.width,
                                min_acc=self.min_acc, stride=self.stride, voxel=self.voxel, depth_mode=self.depth_mode,
                                min_views=self.min_views)
        cams = ge.export_cameras(trainer, s)
        print(f"views: {ge.describe_views(s.views, ge.run_field(trainer))}")
        bar = Progress(len(cams), f"render {len(cams)} views")
        rendered = ge.render_views(trainer, cams, on_view=lambda k, n: bar.update(k - bar.done), depth_mode=s.depth_mode)
        bar.close()
        units = "m" if rendered.to_metres is not None else "scene units"
        if self.pointcloud is not None:
            pts, cols = ge.point_cloud(rendered, s.min_acc, s.stride)
            ge.write_point_cloud(pts, cols, self.pointcloud)
            print(f"wrote {self.pointcloud}: {len(pts):,} points ({units})")
        if self.mesh is not None:
            mesh = ge.mesh_from_rendered(rendered, s.min_acc, s.voxel, min_views=s.min_views)
            write_mesh(mesh, self.mesh)
            print(f"wrote {self.mesh}: {len(mesh.vertices):,} vertices, {len(mesh.triangles):,} triangles ({units})")
        if self.depth is not None:
            ge.write_depth_maps(rendered, self.depth, s.min_acc)
            kind = "16-bit PNG millimetres" if rendered.to_metres is not None else "float32 NPY, scene units"
            print(f"wrote {self.depth}: {len(cams)} depth maps ({kind}) and cameras.json")
        return 0


COMMAND = Annotated[Export, tyro.conf.subcommand("export")]
