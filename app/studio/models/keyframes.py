"""The keyframes of a camera path designed on the Export tab: add, reorder, retime, delete, save and load.

The path editor's logic with no widget in it; nerf.camera_path makes the smooth path through them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from devices.errors import InputError
from nerf import Camera, CameraPath, Keyframe, keyframe_from_camera


class KeyframeList:
    """Keyframes sorted by time (at most one per instant), and whether the path loops back to the first.

    Edits take the index of a keyframe and return the index it has afterwards (for the selection).
    """

    def __init__(self) -> None:
        self.keyframes: list[Keyframe] = []
        self.loop = False
        self.closing_gap = 1.0
        """Seconds from the last keyframe back to the first when the path loops."""

    def path(self, width: int, height: int) -> CameraPath | None:
        """The CameraPath of the keyframes at ``width`` x ``height`` pixels (None without keyframes)."""
        keys = self.keyframes
        if not keys:
            return None
        duration = keys[-1].time - keys[0].time + (self.closing_gap if self.loop else 0.0)
        return CameraPath(tuple(keys), loop=self.loop and len(keys) > 1, duration=max(duration, 1e-3),
                          width=width, height=height)

    def add(self, camera: Camera) -> int:
        """A keyframe at ``camera``, one second after the last one."""
        key = keyframe_from_camera(camera, self.keyframes[-1].time + 1.0 if self.keyframes else 0.0)
        self.keyframes = sorted([*self.keyframes, key], key=lambda k: k.time)
        return self.keyframes.index(key)

    def move(self, i: int, step: int) -> int:
        """Swap keyframe ``i``'s pose and field of view with its neighbour ``i + step``; the times stay in place."""
        j = i + step
        if not (0 <= i < len(self.keyframes) and 0 <= j < len(self.keyframes)):
            return i
        a, b = self.keyframes[i], self.keyframes[j]
        self.keyframes[i], self.keyframes[j] = replace(b, time=a.time), replace(a, time=b.time)
        return j

    def delete(self, i: int) -> int:
        if 0 <= i < len(self.keyframes):
            del self.keyframes[i]
        return min(i, len(self.keyframes) - 1)

    def set_time(self, i: int, seconds: float) -> int:
        """Move keyframe ``i`` to ``seconds`` (the list stays sorted); ValueError if another one is there."""
        if not 0 <= i < len(self.keyframes):
            return i
        if any(abs(k.time - seconds) < 1e-6 for j, k in enumerate(self.keyframes) if j != i):
            raise ValueError(f"Another keyframe is at {seconds:g} s; pick another time.")
        key = replace(self.keyframes[i], time=float(seconds))
        self.keyframes[i] = key
        self.keyframes.sort(key=lambda k: k.time)
        return self.keyframes.index(key)

    def set_fov(self, i: int, degrees: float) -> int:
        if 0 <= i < len(self.keyframes):
            self.keyframes[i] = replace(self.keyframes[i], fov_deg=float(degrees))
        return i

    def save(self, out: Path, fps: float, width: int, height: int) -> Path:
        """Write nerfstudio's camera_path.json (nerf.camera_path_json) of the path at ``fps``."""
        from nerf import save_camera_path

        path = self.path(width, height)
        if path is None:
            raise InputError(out, "no keyframes to save")
        return save_camera_path(replace(path, fps=float(fps)), out)

    def load(self, file: Path) -> CameraPath:
        """Replace the keyframes by those of a camera_path.json (InputError when it has none to edit)."""
        from nerf import load_camera_path

        path = load_camera_path(file).path
        if path is None:
            raise InputError(file, "has no keyframes to edit (only rendered frames)")
        self.keyframes = list(path.keyframes)
        span = path.keyframes[-1].time - path.keyframes[0].time
        self.closing_gap = path.duration - span if path.loop else 1.0
        self.loop = path.loop
        return path
