"""Writing scene folders (layout in ``devices.scene_folder``): SceneWriter streams frames into a new
folder atomically; update_scene / write_transforms rewrite transforms.json; encode_depth quantises depth.

Every file goes through ``devices.atomic`` (temporary name, fsync, rename), and a SceneWriter stages the
whole folder in a hidden ``.OUT.partial-PID`` sibling renamed to OUT on commit, so an interrupted write
(a full disk, a crash, kill -9) never leaves a folder that loads half-written; the next SceneWriter of
OUT removes what a killed one left (``devices.atomic.recover_leftovers``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from devices.atomic import atomic_write_bytes, commit_dir, recover_leftovers, staging_dir
from devices.axes import opencv_to_opengl
from devices.errors import InputError, WriteError
from devices.frame import DepthKind, Frame
from devices.scene_folder import (
    DIST_KEYS,
    FORMAT_VERSION,
    METRIC_DEPTH_SCALE,
    PIXEL_CENTRE_IN_FILE,
    TRANSFORMS,
    Intrinsics,
    SceneFolder,
    SceneFrame,
    read_scene,
)


def _encode_png(array: np.ndarray, what: str) -> bytes:
    ok, buf = cv2.imencode(".png", array, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ValueError(f"could not encode {what} as PNG")
    return buf.tobytes()


def _intrinsics_dict(intr: Intrinsics) -> dict[str, Any]:
    """transforms.json's keys of ``intr``: the principal point in nerfstudio's convention (``devices.scene_folder``)."""
    c = PIXEL_CENTRE_IN_FILE
    d: dict[str, Any] = {"fl_x": intr.fx, "fl_y": intr.fy, "cx": intr.cx + c, "cy": intr.cy + c, "w": intr.width,
                         "h": intr.height}
    if intr.distortion:
        coeffs = list(intr.distortion) + [0.0] * (8 - len(intr.distortion))
        d["camera_model"] = "FULL_OPENCV" if any(coeffs[5:]) else "OPENCV"
        d.update({k: float(v) for k, v in zip(DIST_KEYS, coeffs)})
    return d


def scene_to_json(scene: SceneFolder) -> dict[str, Any]:
    """The transforms.json document of ``scene`` (poses converted to OpenGL axes)."""
    doc: dict[str, Any] = {"camera_model": "OPENCV"}
    intrs = {f.intrinsics for f in scene.frames}
    shared = len(intrs) == 1
    if shared:
        doc.update(_intrinsics_dict(scene.frames[0].intrinsics))
    if scene.depth_kind is DepthKind.METRIC:
        doc["depth_unit_scale_factor"] = METRIC_DEPTH_SCALE
    frames = []
    for f in scene.frames:
        fd: dict[str, Any] = {"file_path": f.image_path}
        if not shared:
            fd.update(_intrinsics_dict(f.intrinsics))
        if f.c2w is not None:
            fd["transform_matrix"] = opencv_to_opengl(f.c2w).tolist()
        if f.depth_path is not None:
            fd["depth_file_path"] = f.depth_path
            if scene.depth_kind is not DepthKind.METRIC:
                fd["depth_unit_scale_factor"] = f.depth_scale
        if f.confidence_path is not None:
            fd["confidence_file_path"] = f.confidence_path
        if f.timestamp is not None:
            fd["timestamp"] = f.timestamp
        if f.meta:
            fd["sparsenerf"] = f.meta
        frames.append(fd)
    doc["frames"] = frames
    names = [f.image_path for f in scene.frames]
    if scene.train_ids or scene.test_ids:
        doc["train_filenames"] = [names[i] for i in scene.train_ids]
        doc["test_filenames"] = [names[i] for i in scene.test_ids]
    ours: dict[str, Any] = {"version": FORMAT_VERSION, "sensor": scene.sensor, "depth_kind": scene.depth_kind.value}
    if scene.ranking_window:
        ours["ranking_window"] = list(scene.ranking_window)
    if scene.extra:
        ours["capture"] = scene.extra
    if scene.split_reasons:
        ours["split_reasons"] = scene.split_reasons
    doc["sparsenerf"] = ours
    return doc


def write_transforms(scene: SceneFolder, root: Path | None = None) -> None:
    """Atomically (re)write ``transforms.json`` of ``scene`` in ``root`` (default ``scene.root``)."""
    root = Path(root or scene.root)
    text = json.dumps(scene_to_json(scene), indent=2)
    atomic_write_bytes(root / TRANSFORMS, text.encode())


def update_scene(scene: SceneFolder, **changes: Any) -> SceneFolder:
    """Return ``scene`` with ``changes`` (e.g. ``frames=``, ``train_ids=``) and rewrite its transforms.json atomically."""
    new = replace(scene, **changes)
    write_transforms(new)
    return new


class SceneWriter:
    """Stream Frames into a new scene folder, atomically.

    Everything is written into a hidden staging folder next to ``root``; ``commit()`` writes
    transforms.json, calls ``before_commit(staging)`` (e.g. pose estimation, which may rewrite
    transforms.json there) and renames it to ``root``. Leaving the ``with`` block by an exception
    discards the staging folder, unless ``keep_partial`` is set and the exception came from the source
    (live capture: an unplugged sensor keeps every frame written so far); a failed write (a full disk)
    always discards it and raises WriteError naming ``root``.

    Example::

        with SceneWriter(out, sensor="virtual", ranking_window=(30, 30)) as writer:
            for frame in source:
                writer.add(frame)
    """

    def __init__(
        self,
        root: str | Path,
        *,
        sensor: str,
        depth_kind: DepthKind = DepthKind.METRIC,
        ranking_window: tuple[int, int] | None = None,
        extra: dict[str, Any] | None = None,
        overwrite: bool = False,
        keep_partial: bool = False,
        checkpoint_every: int = 25,
        before_commit: Callable[[Path], None] | None = None,
    ):
        self.root = Path(root)
        for folder in (self.root, *self.root.parents):  # a file where a folder must go: mkdir says only "exists"
            if folder.exists() and not folder.is_dir():
                if folder == self.root:
                    break  # an existing non-empty OUT: said below
                raise InputError(folder, "is a file, not a folder")
        recover_leftovers(self.root)  # a killed writer's staging folder; an --overwrite cut between renames
        if self.root.exists() and not overwrite and (not self.root.is_dir() or any(self.root.iterdir())):
            raise InputError(self.root, "already exists and is not empty (pass --overwrite to replace it)")
        self.keep_partial = keep_partial
        self.before_commit = before_commit
        self.checkpoint_every = checkpoint_every
        self.write_failed = False  # a failed write (full disk) discards everything, even with keep_partial
        self.staging = staging_dir(self.root)
        self.scene = SceneFolder(
            root=self.staging, frames=[], depth_kind=depth_kind, sensor=sensor,
            ranking_window=ranking_window, extra=dict(extra or {}),
        )
        self._closed = False
        try:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            if self.staging.exists():
                shutil.rmtree(self.staging)
            for sub in ("images", "depth"):
                (self.staging / sub).mkdir(parents=True)
        except OSError as exc:
            shutil.rmtree(self.staging, ignore_errors=True)
            raise WriteError(self.root, exc.strerror or str(exc)) from None

    def __len__(self) -> int:
        return len(self.scene.frames)

    def add(self, frame: Frame, *, name: str | None = None) -> int:
        """Write ``frame``'s files and list it; returns its index. The frame is listed only once all its files exist."""
        if self._closed:
            raise RuntimeError("SceneWriter is closed")
        if frame.depth_kind is not self.scene.depth_kind and frame.depth is not None:
            raise ValueError(f"frame depth kind {frame.depth_kind.value} != scene depth kind {self.scene.depth_kind.value}")
        idx = len(self.scene.frames)
        stem = name or f"{idx:06d}"
        with self._writing():
            image_path, depth_path, conf_path, scale = self._write_files(frame, stem)
        self.scene.frames.append(
            SceneFrame(
                image_path=image_path,
                intrinsics=Intrinsics.from_K(frame.K, frame.width, frame.height, frame.distortion),
                c2w=None if frame.c2w is None else np.asarray(frame.c2w, dtype=np.float64),
                depth_path=depth_path,
                confidence_path=conf_path,
                depth_scale=scale,
                timestamp=float(frame.timestamp),
                meta=dict(frame.meta),
            )
        )
        if self.checkpoint_every and len(self.scene.frames) % self.checkpoint_every == 0:
            with self._writing():
                write_transforms(self.scene)  # a crash of the whole process still leaves a recoverable staging folder
        return idx

    def _write_files(self, frame: Frame, stem: str) -> tuple[str, str | None, str | None, float]:
        """Write the PNGs of one frame; returns (image, depth, confidence paths, depth scale)."""
        image_path = f"images/{stem}.png"
        atomic_write_bytes(self.staging / image_path, _encode_png(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR), image_path))
        depth_path, scale = None, METRIC_DEPTH_SCALE
        if frame.depth is not None:
            depth_path = f"depth/{stem}.png"
            raw, scale = encode_depth(frame.depth, frame.depth_kind)
            atomic_write_bytes(self.staging / depth_path, _encode_png(raw, depth_path))
        conf_path = None
        if frame.confidence is not None:
            conf_path = f"confidence/{stem}.png"
            (self.staging / "confidence").mkdir(exist_ok=True)
            atomic_write_bytes(self.staging / conf_path, _encode_png(frame.confidence.astype(np.uint8), conf_path))
        return image_path, depth_path, conf_path, scale

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A failed write becomes a WriteError naming ``root`` and marks the writer failed (no partial commit)."""
        try:
            yield
        except (OSError, WriteError) as exc:
            self.write_failed = True
            raise WriteError(self.root, _why(exc)) from None

    def set_split(self, train_ids: list[int], test_ids: list[int]) -> None:
        n = len(self.scene.frames)
        bad = [i for i in [*train_ids, *test_ids] if not 0 <= i < n]
        if bad:
            raise ValueError(f"split indices {bad} out of range for {n} frames")
        self.scene.train_ids, self.scene.test_ids = list(train_ids), list(test_ids)

    def commit(self) -> SceneFolder:
        """Write transforms.json and move the staging folder to ``root``. Returns the scene as read back."""
        if self._closed:
            raise RuntimeError("SceneWriter is closed")
        if not self.scene.frames:
            self.abort()
            raise InputError(self.root, "no frames were written, so no scene was created")
        try:
            with self._writing():
                write_transforms(self.scene)
                if self.before_commit is not None:
                    self.before_commit(self.staging)
            commit_dir(self.staging, self.root)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return read_scene(self.root, check_files=False)

    def abort(self) -> None:
        """Discard everything written so far."""
        self._closed = True
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> SceneWriter:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if self._closed:
            return
        source_failed = exc_type is not None and not self.write_failed and not isinstance(exc, WriteError)
        if exc_type is None or (self.keep_partial and source_failed and self.scene.frames):
            self.commit()  # live capture: an unplugged sensor keeps every frame written so far
        else:
            self.abort()  # a failed write (full disk) or a bad input: leave nothing half-written behind


def _why(exc: BaseException) -> str:
    if isinstance(exc, WriteError):
        return exc.problem
    return getattr(exc, "strerror", None) or str(exc)


def encode_depth(depth: np.ndarray, kind: DepthKind) -> tuple[np.ndarray, float]:
    """Depth float32 [H, W] -> (uint16 [H, W], scale) such that ``uint16 * scale`` recovers it.

    Metric depth is stored in millimetres (values past 65.535 m and non-finite values become 0).
    Relative/inverse depth is scaled so its maximum uses the full 16-bit range.
    """
    d = np.asarray(depth, dtype=np.float32)
    d = np.where(np.isfinite(d) & (d > 0), d, 0.0)
    if kind is DepthKind.METRIC:
        scale = METRIC_DEPTH_SCALE
    else:
        peak = float(d.max()) if d.size else 0.0
        scale = peak / 65535.0 if peak > 0 else 1.0
    q = np.round(d / scale)
    q[q > 65535] = 0  # out of range is unknown, never clipped to a wrong value
    return q.astype(np.uint16), scale
