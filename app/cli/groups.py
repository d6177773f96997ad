"""Building nested subcommand groups (`sparsenerf capture virtual ...`) for tyro."""

from __future__ import annotations

from typing import Annotated, Union

import tyro


def subcommand_group(name: str, description: str, members: dict[str, type]) -> object:
    """An annotated Union type that tyro turns into ``sparsenerf NAME {member,...}``.

    A suppressed ``None`` member keeps the Union a Union when the group has a single member
    (``Union[X]`` collapses to ``X``, which tyro would then not show as a nested subcommand).
    """
    options = tuple(Annotated[cls, tyro.conf.subcommand(key)] for key, cls in members.items())
    options += (Annotated[None, tyro.conf.Suppress],)
    return Annotated[Union[options], tyro.conf.subcommand(name, description=description)]  # type: ignore[valid-type]
