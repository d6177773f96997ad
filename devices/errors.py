"""Errors a user can act on. Each message names the file and the problem in one line."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input from the user's side: a broken file, a wrong size, a missing calibration.

    The CLI prints ``str(err)`` as one line and exits with status 2, never a traceback.
    """

    def __init__(self, path: str | Path | None, problem: str):
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path is not None else problem)


class MissingDependencyError(ImportError):
    """An optional native SDK or package is not installed; the message says how to install it."""


class WriteError(InputError):
    """An output could not be written (a full disk, a read-only folder). Names the file or folder the
    user asked for, never a temporary one; nothing half-written is left. The CLI exits with status 2."""
