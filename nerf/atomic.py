"""Writing an output file atomically: into a temporary sibling, renamed over the target only when complete."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devices.errors import InputError


@contextmanager
def replace_when_done(out: Path, tmp: Path, problem: str) -> Iterator[Path]:
    """Yield ``tmp`` to write into; on success rename it to ``out``. ``tmp`` never outlives the block.

    Raises:
        InputError: ``out``: ``problem`` (the OS's reason), for any OSError while writing or renaming
            (a full disk, a folder that cannot be written).
    """
    try:
        yield tmp
        os.replace(tmp, out)
    except OSError as exc:
        raise InputError(out, f"{problem} ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
