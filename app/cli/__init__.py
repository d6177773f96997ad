"""`sparsenerf`: one command line that does everything the studio does.

Each subcommand is a dataclass (its fields are the options, their docstrings the help) with a
``run()`` method; tyro generates the parser from them. Heavy imports (torch, PyAV, Open3D, Qt)
happen inside ``run()``, so ``sparsenerf --help`` is instant.

To add a subcommand: write a module in this package that defines ``COMMAND`` (an annotated
dataclass type, see ``capture.py``) and list the module in ``_COMMAND_MODULES``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Union

_COMMAND_MODULES = (
    "app.cli.capture",
    "app.cli.demo",
    "app.cli.importing",
    "app.cli.poses",
    "app.cli.studio",
    "app.cli.depth",
    "app.cli.train",
    "app.cli.eval",
    "app.cli.render",
    "app.cli.export",
    "app.cli.batch",
)


def build_command_type() -> object:
    """The Union of every subcommand's annotated dataclass, in the order of ``_COMMAND_MODULES``."""
    commands = tuple(importlib.import_module(m).COMMAND for m in _COMMAND_MODULES)
    return Union[commands]  # type: ignore[valid-type]


def version() -> str:
    """The installed package's version (the source tree's pyproject.toml when not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("sparsenerf-studio")
    except PackageNotFoundError:
        import re
        from pathlib import Path

        text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
        match = re.search(r'^version = "([^"]+)"', text, re.M)
        return match.group(1) if match else "unknown"


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand. Returns the process exit status."""
    import tyro

    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] in (["--version"], ["-V"]):
        print(f"sparsenerf {version()}")
        return 0

    from devices.errors import InputError, MissingDependencyError
    from nerf import ConfigError

    try:
        command = tyro.cli(
            build_command_type(),  # type: ignore[arg-type]
            prog="sparsenerf",
            description="SparseNeRF Studio: from a depth sensor to a trained few-shot NeRF.",
            args=argv,
            config=(tyro.conf.FlagCreatePairsOff,  # --overwrite, not --no-overwrite too
                    tyro.conf.DisallowNone),  # `--width INT`, not `--width {None}|INT`: leave an option out for None
        )
    except ConfigError as exc:  # a config's own check (a Literal option) when tyro builds it
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        from app.cli.options import apply_command_threads

        apply_command_threads(command)  # before any torch work: the budget holds for every thread
        result = command.run()
    except (InputError, MissingDependencyError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only folder: the OS's own sentence, with the file
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
