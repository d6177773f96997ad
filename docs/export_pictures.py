"""The pictures of docs/export.md: a run's exported mesh, point cloud and depth map, seen from one camera.

    python docs/export_pictures.py RUN OUT.jpg [--title TEXT] [--views auto] [--min-acc 0.5] [--depth-mode normalised]

Exports with the same functions and defaults as `sparsenerf export` (every view of the scene, opacity >= 0.5), then
draws, from a camera behind and above the training views looking at their centre: the mesh shaded by
its normals (Open3D's CPU ray casting, no display needed), the mesh with its vertex colours, the point
cloud (z-buffered splats), and the rendered depth of the first test view (Turbo, near = red).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nerf.types import Camera  # noqa: E402


def viewpoint(trainer, width: int = 400) -> Camera:
    """Behind and above the training cameras, looking at the point they look at."""
    from devices.camera_geometry import look_at, lookat_centre, mean_up

    s = trainer.scene
    c2w = s.c2w[s.train_ids]
    centre = lookat_centre(c2w) if len(c2w) > 1 else c2w[0, :3, 3] + c2w[0, :3, 2]
    mean = c2w[:, :3, 3].mean(0)
    down = -mean_up(c2w)
    dist = np.linalg.norm(mean - centre)
    pos = centre + (mean - centre) * 1.25 - down * 0.5 * dist
    cam = trainer.view_camera(s.train_ids[0])
    cam = Camera(K=cam.K, c2w=look_at(pos, centre, -down), width=cam.width, height=cam.height)
    return cam.scaled(width / cam.width)


def raycast_mesh(mesh, cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """(normal shading uint8 [H, W, 3], vertex colours uint8 [H, W, 3]) of ``mesh`` (nerf.tsdf_mesh.Mesh)."""
    import open3d as o3d
    import open3d.core as o3c

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3c.Tensor(mesh.vertices.astype(np.float32)), o3c.Tensor(mesh.triangles.astype(np.uint32)))
    v, u = np.mgrid[0:cam.height, 0:cam.width] + 0.5
    d = np.stack([(u - cam.K[0, 2]) / cam.K[0, 0], (v - cam.K[1, 2]) / cam.K[1, 1], np.ones_like(u)], -1) @ cam.c2w[:3, :3].T
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    rays = np.concatenate([np.broadcast_to(cam.c2w[:3, 3], d.shape), d], -1).astype(np.float32)
    hit = scene.cast_rays(o3c.Tensor(rays))
    ok = np.isfinite(hit["t_hit"].numpy())
    n = hit["primitive_normals"].numpy()
    shade = np.abs((n * d).sum(-1)) * 0.8 + 0.2
    grey = np.where(ok, shade, 0.0)[..., None] * np.array([0.85, 0.85, 0.9])
    tri = np.where(ok, hit["primitive_ids"].numpy(), 0).astype(np.int64)
    uv = hit["primitive_uvs"].numpy()
    w = np.stack([1 - uv[..., 0] - uv[..., 1], uv[..., 0], uv[..., 1]], -1)
    cols = (mesh.colours[mesh.triangles[tri]].astype(float) * w[..., None]).sum(-2)
    cols = np.where(ok[..., None], cols, 0.0)
    return (grey * 255).astype(np.uint8), cols.astype(np.uint8)


def splat(points: np.ndarray, colours: np.ndarray, cam: Camera, radius: int = 1) -> np.ndarray:
    """Points seen by ``cam``, nearest first, as (2 radius + 1)^2 squares: uint8 [H, W, 3]."""
    local = (points - cam.c2w[:3, 3]) @ cam.c2w[:3, :3]
    z = local[:, 2]
    keep = z > 1e-3
    local, z, colours = local[keep], z[keep], colours[keep]
    u = np.floor(local[:, 0] / z * cam.K[0, 0] + cam.K[0, 2]).astype(int)
    v = np.floor(local[:, 1] / z * cam.K[1, 1] + cam.K[1, 2]).astype(int)
    img = np.zeros((cam.height, cam.width, 3), np.uint8)
    zbuf = np.full((cam.height, cam.width), np.inf)
    order = np.argsort(-z)  # far first, near overwrite
    for du in range(-radius, radius + 1):
        for dv in range(-radius, radius + 1):
            uu, vv = u[order] + du, v[order] + dv
            ok = (uu >= 0) & (uu < cam.width) & (vv >= 0) & (vv < cam.height)
            idx = order[ok]
            uu, vv = uu[ok], vv[ok]
            nearer = z[idx] < zbuf[vv, uu]
            img[vv[nearer], uu[nearer]] = colours[idx[nearer]]
            zbuf[vv[nearer], uu[nearer]] = z[idx[nearer]]
    return img


def compose(panels: list[tuple[np.ndarray, str]], title: str, out: Path) -> None:
    """Panels side by side, each under its label, the title on top; written as PNG."""
    import cv2

    h = max(img.shape[0] for img, _ in panels)
    cells = []
    for img, label in panels:
        cell = np.full((h + 28, img.shape[1] + 8, 3), 255, np.uint8)
        cell[24:24 + img.shape[0], 4:4 + img.shape[1]] = img
        cv2.putText(cell, label, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        cells.append(cell)
    row = np.concatenate(cells, axis=1)
    head = np.full((30, row.shape[1], 3), 255, np.uint8)
    cv2.putText(head, title, (6, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    if not cv2.imwrite(str(out), cv2.cvtColor(np.concatenate([head, row]), cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {out}")


def main() -> None:
    from app.runs import load_run_checked
    from nerf import geometry_export as ge
    from nerf.colormap import colorize, robust_range

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--title", default="")
    ap.add_argument("--width", type=int, default=None, help="render width of the exported views")
    ap.add_argument("--views", default="auto", choices=ge.VIEW_SETS, help="views to export from (as sparsenerf export)")
    ap.add_argument("--min-acc", type=float, default=0.5)
    ap.add_argument("--depth-mode", default="normalised", choices=ge.DEPTH_MODES)
    args = ap.parse_args()
    trainer = load_run_checked(args.run)
    cams = ge.export_cameras(trainer, ge.GeometrySettings(views=args.views, width=args.width))
    rendered = ge.render_views(trainer, cams, depth_mode=args.depth_mode)
    scale = rendered.to_metres or 1.0
    mesh = ge.mesh_from_rendered(rendered, args.min_acc).scaled(1.0 / scale)  # back to scene units for the camera
    pts, cols = ge.point_cloud(rendered, args.min_acc, stride=2)
    cam = viewpoint(trainer)
    shaded, coloured = raycast_mesh(mesh, cam)
    cloud = splat(pts / scale, cols, cam)
    test = trainer.scene.test_ids[0] if trainer.scene.test_ids else trainer.scene.train_ids[0]
    r = trainer.render(trainer.view_camera(test))
    valid = r.acc >= 0.5
    depth = colorize(np.where(valid, r.depth, 0), robust_range(r.depth, valid), valid)
    unit = "m" if rendered.to_metres is not None else "scene units"
    panels = [(shaded, f"mesh ({len(mesh.triangles):,} triangles)"), (coloured, "mesh, vertex colours"),
              (cloud, f"point cloud ({len(pts):,} points)"), (depth, f"depth map, view {test} ({unit})")]
    compose(panels, args.title, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
