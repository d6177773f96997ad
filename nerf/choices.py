"""String options typed as ``Literal[...]`` and checked when a config is built, not when it is first used.

A config dataclass calls ``check_choices(self)`` in ``__post_init__``: a value outside its ``Literal`` raises a
one-line ``ConfigError`` (a ``ValueError``) naming the option and the values it takes, so a typo such as
``background="evnmap"`` fails where the config is written (the CLI prints it and exits 2) instead of with a
KeyError deep inside rendering.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, Literal


class ConfigError(ValueError):
    """A config setting outside the values its type allows (the message is one line)."""


def literal_values(tp: Any) -> tuple[Any, ...] | None:
    """The values of ``Literal[...]`` (also inside ``X | None``), None for any other type."""
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        found = [literal_values(a) for a in typing.get_args(tp)]
        if any(v is not None for v in found):
            nones = (None,) if type(None) in typing.get_args(tp) else ()
            return tuple(x for v in found if v for x in v) + nones
    return None


@functools.cache
def _choices_of(cls: type) -> dict[str, tuple[Any, ...]]:
    """Field name -> allowed values, for the ``Literal`` fields of dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        values = literal_values(hints[f.name])
        if values is not None:
            out[f.name] = values
    return out


def check_choices(config: Any) -> None:
    """Raise ``ConfigError`` when a ``Literal``-typed field of the dataclass ``config`` holds another value."""
    for name, allowed in _choices_of(type(config)).items():
        value = getattr(config, name)
        if value not in allowed:
            raise ConfigError(f"{name} = {value!r} is not one of {', '.join(map(repr, allowed))} "
                              f"({type(config).__name__})")
