"""Camera paths you design: keyframes (pose, field of view, time) and a smooth path through them.

Poses are OpenCV camera-to-world (x right, y down, z forward) in the scene's world frame, as
everywhere in ``nerf``. Between keyframes, positions follow a Catmull-Rom spline (through every
keyframe, tangents from the neighbours), rotations Shoemake's squad (a C1-smooth quaternion spline
through every keyframe's rotation) and the vertical field of view a straight line. A looping path
goes from the last keyframe back to the first. Files: ``nerf.camera_path_json`` (nerfstudio's
camera_path.json).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from devices.axes import matrix_to_quat, quat_to_matrix
from nerf.paths import catmull_rom
from nerf.types import Camera


@dataclass(frozen=True, eq=False)
class Keyframe:
    """One keyframe: ``c2w`` float64 [4, 4] (OpenCV axes), vertical field of view in degrees, time in seconds.
    Compared by identity (the editor finds a keyframe in its list)."""

    c2w: np.ndarray
    fov_deg: float
    time: float


@dataclass(frozen=True)
class CameraPath:
    """Keyframes sorted by time, plus how to render them.

    Attributes:
        keyframes: at least one; distinct times (sorted on construction).
        loop: the path returns from the last keyframe to the first; the loop lasts ``duration``.
        duration: seconds of video. A path that does not loop runs from the first keyframe's time to
            the last one's, so its duration is that span.
        fps: frames per second of the video.
        width, height: image size in pixels.
    """

    keyframes: tuple[Keyframe, ...]
    loop: bool = False
    duration: float = 4.0
    fps: float = 24.0
    width: int = 640
    height: int = 480
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        keys = tuple(sorted(self.keyframes, key=lambda k: k.time))
        object.__setattr__(self, "keyframes", keys)
        times = [k.time for k in keys]
        if len(set(times)) != len(times):
            raise ValueError("two keyframes have the same time")
        if not self.loop and len(keys) > 1:
            object.__setattr__(self, "duration", float(times[-1] - times[0]))
        elif self.loop and len(keys) > 1 and self.duration <= times[-1] - times[0]:
            raise ValueError(f"a looping path must last longer than its last keyframe's time ({times[-1]:g} s)")

    @property
    def start(self) -> float:
        return self.keyframes[0].time if self.keyframes else 0.0

    @property
    def num_frames(self) -> int:
        return max(1, round(self.duration * self.fps))

    def frame_times(self, n: int | None = None) -> np.ndarray:
        """[n] sample times (default fps x duration frames): a loop excludes its end (= its start), a path
        that does not loop includes both ends."""
        n = self.num_frames if n is None else n
        if self.loop:
            return self.start + self.duration * np.arange(n) / n
        return self.start + self.duration * np.linspace(0.0, 1.0, n) if n > 1 else np.array([self.start])

    def pose_at(self, t: float) -> tuple[np.ndarray, float]:
        """(c2w [4, 4], vertical fov in degrees) at time ``t`` (clamped to the path, wrapped when it loops)."""
        keys = self.keyframes
        if not keys:
            raise ValueError("the camera path has no keyframes")
        if len(keys) == 1:
            return keys[0].c2w.copy(), keys[0].fov_deg
        i, u = self._segment(t)
        k = len(keys)
        idx = [(i + d) % k for d in (-1, 0, 1, 2)] if self.loop else [min(max(i + d, 0), k - 1) for d in (-1, 0, 1, 2)]
        p = [keys[j].c2w[:3, 3] for j in idx]
        pos = catmull_rom(*p, u)
        q = _aligned_quats([matrix_to_quat(keys[j].c2w[:3, :3])[[3, 0, 1, 2]] for j in idx])  # (w, x, y, z) here
        rot = quat_to_matrix(_squad(q, u)[[1, 2, 3, 0]])
        fov = (1 - u) * keys[idx[1]].fov_deg + u * keys[idx[2]].fov_deg
        out = np.eye(4)
        out[:3, :3], out[:3, 3] = rot, pos
        return out, float(fov)

    def _segment(self, t: float) -> tuple[int, float]:
        """(keyframe index i, fraction u in [0, 1]) of time ``t`` between keyframe i and the next."""
        times = np.array([k.time for k in self.keyframes])
        if self.loop:
            t = self.start + (t - self.start) % self.duration
            ends = np.append(times, self.start + self.duration)
        else:
            t = float(np.clip(t, times[0], times[-1]))
            ends = times
        i = int(np.clip(np.searchsorted(ends, t, side="right") - 1, 0, len(ends) - 2))
        return i, float((t - ends[i]) / (ends[i + 1] - ends[i]))

    def camera_at(self, t: float, width: int | None = None) -> Camera:
        """The Camera at time ``t``, ``width`` pixels wide (default: the path's), centred principal point."""
        c2w, fov = self.pose_at(t)
        w = self.width if width is None else width
        h = max(1, round(self.height * w / self.width))
        return camera_from_fov(c2w, fov, w, h)

    def cameras(self, n: int | None = None, width: int | None = None) -> list[Camera]:
        """Cameras at ``frame_times(n)``."""
        return [self.camera_at(float(t), width) for t in self.frame_times(n)]

    def with_keyframes(self, keyframes: list[Keyframe] | tuple[Keyframe, ...]) -> CameraPath:
        return replace(self, keyframes=tuple(keyframes))


def camera_from_fov(c2w: np.ndarray, fov_deg: float, width: int, height: int) -> Camera:
    """A pinhole Camera with vertical field of view ``fov_deg``, square pixels and the principal point at
    the image centre (nerfstudio / three.js: focal = height / 2 / tan(fov / 2))."""
    f = 0.5 * height / math.tan(math.radians(fov_deg) / 2)
    K = np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])
    return Camera(K=K, c2w=np.asarray(c2w, np.float64).copy(), width=int(width), height=int(height))


def vertical_fov_deg(camera: Camera) -> float:
    """The vertical field of view of ``camera`` in degrees (from its fy and height)."""
    return math.degrees(2 * math.atan(0.5 * camera.height / camera.K[1, 1]))


def keyframe_from_camera(camera: Camera, time: float) -> Keyframe:
    return Keyframe(c2w=np.asarray(camera.c2w, np.float64).copy(), fov_deg=vertical_fov_deg(camera), time=float(time))


def retime(keyframes: list[Keyframe], seconds_apart: float = 1.0) -> list[Keyframe]:
    """The same keyframes in their list order, ``seconds_apart`` apart from 0 (after a reorder)."""
    return [replace(k, time=i * seconds_apart) for i, k in enumerate(keyframes)]


def _aligned_quats(qs: list[np.ndarray]) -> list[np.ndarray]:
    """Flip signs so each quaternion is on the same hemisphere as the previous one (shortest arcs)."""
    out = [qs[0]]
    for q in qs[1:]:
        out.append(-q if np.dot(out[-1], q) < 0 else q)
    return out


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def _qconj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def _qlog(q: np.ndarray) -> np.ndarray:
    """Log of a unit quaternion: the pure quaternion (0, axis * angle / 2)."""
    v = q[1:]
    n = np.linalg.norm(v)
    ang = math.atan2(n, q[0])
    return np.concatenate([[0.0], v * (ang / n if n > 1e-12 else 1.0)])


def _qexp(q: np.ndarray) -> np.ndarray:
    v = q[1:]
    n = np.linalg.norm(v)
    return np.concatenate([[math.cos(n)], v * (math.sin(n) / n if n > 1e-12 else 1.0)])


def _squad(q: list[np.ndarray], u: float) -> np.ndarray:
    """Shoemake's squad between q[1] and q[2] (neighbours q[0], q[3]; sign-aligned): a unit quaternion."""
    def inner(prev, cur, nxt):
        inv = _qconj(cur)
        return _qmul(cur, _qexp(-0.25 * (_qlog(_qmul(inv, nxt)) + _qlog(_qmul(inv, prev)))))

    s1, s2 = inner(q[0], q[1], q[2]), inner(q[1], q[2], q[3])
    out = _slerp_same_sign(_slerp_same_sign(q[1], q[2], u), _slerp_same_sign(s1, s2, u), 2 * u * (1 - u))
    return out / np.linalg.norm(out)


def _slerp_same_sign(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    """Slerp without choosing the shorter arc: squad needs its four quaternions interpolated as given
    (a sign flip in an inner slerp would make the outer one jump by half a turn)."""
    cos = float(np.clip(np.dot(q0, q1), -1.0, 1.0))
    if abs(cos) > 0.9995:
        out = q0 + t * (q1 - q0)
        return out / np.linalg.norm(out)
    ang = math.acos(cos)
    return (math.sin((1 - t) * ang) * q0 + math.sin(t * ang) * q1) / math.sin(ang)
