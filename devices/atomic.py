"""The one atomic writer of the project: every output file and folder is written here.

Files go into a hidden temporary sibling, are fsync'ed, then renamed over the target (and the folder
fsync'ed), so a reader sees the old file or the new one, never half of one. Folders (scene folders)
are staged in a hidden ``.OUT.partial-PID`` sibling and renamed to OUT on commit.

Whatever goes wrong while writing (a full disk, a read-only folder), the temporary file or folder is
removed and a ``WriteError`` names the file the user asked for, never a hidden staging path.

What a ``kill -9`` can leave is recovered by ``recover_leftovers(OUT)``, called by the next run that
writes OUT: staging folders of dead processes are removed, and an ``--overwrite`` commit cut between
its two renames gets its previous OUT back.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devices.errors import WriteError

NAME_MAX = 255
"""Longest file name (bytes) of Linux / macOS file systems."""
_SUFFIX_ROOM = 32
"""Bytes kept free for ".partial-PID.ext": whether a name is hashed never depends on the PID or tag, so the
leftovers of any process are found under the same prefix."""


def hidden_sibling(path: str | Path, tag: str, pid: int | None = None, ext: str = "") -> Path:
    """``.NAME.TAG[-PID][EXT]`` next to ``path``; a name too long for the file system is replaced by its hash.

    Legal names of up to 255 bytes stay legal once the prefix and suffix are added.
    """
    path = Path(path)
    suffix = f".{tag}" + ("" if pid is None else f"-{pid}") + ext
    stem = path.name
    if len(("." + stem).encode("utf-8", "surrogateescape")) + _SUFFIX_ROOM > NAME_MAX:
        stem = "h" + hashlib.sha1(stem.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return path.with_name(f".{stem}{suffix}")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not supported everywhere (e.g. some network file systems): the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _problem(exc: OSError) -> str:
    return exc.strerror or str(exc)


def atomic_write_bytes(path: str | Path, data: bytes, *, name: str | Path | None = None) -> None:
    """Write ``data`` to ``path`` atomically (temporary sibling, fsync, rename).

    Args:
        name: the path to name in an error (default ``path``), e.g. the scene folder a staged file is for.
    Raises:
        WriteError: the file could not be written (the temporary file is gone, the old file kept).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(name if name is not None else path, _problem(exc)) from None
    with replace_when_done(path, name=name) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """``atomic_write_bytes`` of UTF-8 ``text``."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def replace_when_done(out: str | Path, tmp: str | Path | None = None, problem: str | None = None, *,
                      name: str | Path | None = None, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary sibling of ``out`` to write into; when the block succeeds, fsync it and rename it to
    ``out``. The temporary file never outlives the block, whatever ends it (an error, Ctrl-C).

    Args:
        tmp: the temporary path (default: a hidden sibling of ``out`` that names this process).
        name: what an error names (default ``out``).
        problem: words put before the OS's reason in an error (e.g. "cannot write the video").
        suffix: kept at the end of the temporary name (some writers pick the format from it, e.g. ".mp4").
    Raises:
        WriteError: for any OSError while writing, syncing or renaming.
    """
    out = Path(out)
    tmp = Path(tmp) if tmp is not None else hidden_sibling(out, "partial", os.getpid(), suffix)
    try:
        try:
            yield tmp
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, out)
        except OSError as exc:
            why = _problem(exc) if problem is None else f"{problem} ({_problem(exc)})"
            raise WriteError(name if name is not None else out, why) from None
        _fsync_dir(out.parent)
    finally:
        if os.path.lexists(tmp):
            tmp.unlink()


def remove_file(path: str | Path) -> None:
    """Remove ``path`` if it exists (and sync its folder), as a WriteError when it cannot be."""
    path = Path(path)
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise WriteError(path, f"cannot be removed ({_problem(exc)})") from None
    _fsync_dir(path.parent)


# ----------------------------------------------------------------------------------- staged folders
def staging_dir(out: str | Path) -> Path:
    """The hidden folder this process stages ``out`` in."""
    return hidden_sibling(out, "partial", os.getpid())


def _old_dir(out: Path, pid: int) -> Path:
    return hidden_sibling(out, "old", pid)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def _leftovers(out: Path) -> list[tuple[str, int, Path]]:
    """(kind, pid, path) of the staging ("partial") and previous ("old") folders of ``out`` next to it."""
    found = []
    pattern = re.compile(r"\.(partial|old)-(\d+)(\.[A-Za-z0-9]+)?$")
    prefixes = {hidden_sibling(out, k, 1).name.rsplit(".", 1)[0] for k in ("partial", "old")}
    if not out.parent.is_dir():
        return found
    for entry in out.parent.iterdir():
        m = pattern.search(entry.name)
        if m and entry.name[: m.start()] in prefixes:
            found.append((m.group(1), int(m.group(2)), entry))
    return found


def recover_leftovers(out: str | Path) -> list[Path]:
    """Clean up after a process that was killed while writing ``out`` (a file or folder); returns what it removed.

    A temporary file or staging folder of a dead process is removed (it was never committed). A previous folder left by an
    ``--overwrite`` commit cut between its two renames is renamed back to ``out`` when ``out`` is missing
    (the old scene comes back; the new one was not finished from the user's point of view), and removed
    when ``out`` is there (the commit completed).
    """
    out = Path(out)
    removed = []
    for kind, pid, path in sorted(_leftovers(out), key=lambda t: t[0] == "partial"):  # "old" first
        if _pid_alive(pid):
            continue
        if kind == "old" and not os.path.lexists(out):
            os.replace(path, out)
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def commit_dir(staging: Path, out: Path) -> None:
    """Rename the complete folder ``staging`` to ``out``, replacing an existing ``out``.

    Two renames (``out`` -> hidden old, ``staging`` -> ``out``); if the process dies between them,
    ``recover_leftovers(out)`` brings the old ``out`` back.
    """
    old = None
    try:
        if os.path.lexists(out):
            old = _old_dir(out, os.getpid())
            os.replace(out, old)
        os.replace(staging, out)
    except OSError as exc:
        if old is not None and not os.path.lexists(out):
            os.replace(old, out)
        raise WriteError(out, f"cannot be written ({_problem(exc)})") from None
    _fsync_dir(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
