"""``sparsenerf train``'s training options, generated from nerf.train_config.TrainConfig.

Every setting of TrainConfig (and of its groups) becomes an option, in a help section per group. The
groups budget / optim / losses / sampler / reporting drop their prefix (``--steps``, ``--rank-weight``:
the names are unique across them); the fields' settings keep theirs (``--fast.tv-color``). Each option's
help is the first sentence of the setting's docstring, so ``--help`` stays one line or two per option
(the docstrings themselves keep the measurements behind the defaults).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from typing import Annotated, Any

import tyro

from app.cli.options import Threads
from nerf.train_config import GROUPS, TrainConfig

FLAT_GROUPS = ("budget", "optim", "losses", "sampler", "reporting")
"""Groups whose options have no prefix."""

HELP = {
    "depth_prior": ("Train without SparseNeRF's depth-ranking prior (colour only).", "(default: the prior is on)"),
    "steps": ("Step budget.", "(default: 3000 when neither --minutes nor --steps is given)"),
}
"""(help, default hint) that read better than the docstring's first sentence (a --no- flag, a default that depends)."""


def field_docs(cls: type) -> dict[str, str]:
    """Each dataclass field's docstring (the string below it, as tyro reads it); empty when unavailable."""
    try:
        from tyro._docstrings import get_field_docstring
    except ImportError:
        return {}
    out = {}
    for f in dataclasses.fields(cls):
        try:
            out[f.name] = get_field_docstring(cls, f.name, ()) or ""
        except Exception:  # noqa: BLE001 - help text is a nicety
            out[f.name] = ""
    return out


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring, on one line ("" for none)."""
    text = " ".join(doc.split())
    m = re.search(r"^(.*?\.)\s+(?=[A-Z])", text)
    return m.group(1) if m else text


@functools.cache
def short_help(cls: type) -> type:
    """A dataclass subclass of ``cls`` whose fields carry a one-sentence help for tyro (same names and defaults)."""
    hints, docs = typing.get_type_hints(cls), field_docs(cls)
    fields = []
    for f in dataclasses.fields(cls):
        full = " ".join(docs.get(f.name, "").split())
        hint = "(default: the data set's)" if f.default is None and "data set's" in full else None
        doc, hint = HELP.get(f.name, (first_sentence(full), hint))
        default = ({"default_factory": f.default_factory} if f.default_factory is not dataclasses.MISSING
                   else {"default": f.default})
        marker = tyro.conf.arg(help=doc or None, help_behavior_hint=hint)
        fields.append((f.name, Annotated[hints[f.name], marker], dataclasses.field(**default)))
    params = getattr(cls, "__dataclass_params__", None)
    return dataclasses.make_dataclass(cls.__name__, fields, bases=(cls,), frozen=bool(params and params.frozen),
                                      namespace={"__doc__": cls.__doc__, "__module__": __name__})


def _group_field(name: str) -> tuple[str, Any, Any]:
    cls = short_help(GROUPS[name])
    hint = Annotated[cls, tyro.conf.OmitArgPrefixes] if name in FLAT_GROUPS else cls
    return name, hint, dataclasses.field(default_factory=cls)


def _train_options() -> type:
    """TrainConfig as options: its own settings with short help, each group as a section."""
    base = short_help(TrainConfig)
    fields = [_group_field(name) for name in GROUPS]
    fields.append(("threads", Annotated[Threads, tyro.conf.arg(help="CPU threads for torch (training and evaluation).")],
                   dataclasses.field(default=None)))
    return dataclasses.make_dataclass("TrainOptions", fields, bases=(base,), namespace={"__module__": __name__})


TrainOptions = _train_options()
"""The TrainConfig subclass ``sparsenerf train`` parses (``to_train_config`` turns it back into a TrainConfig)."""


def to_train_config(options: Any) -> TrainConfig:
    """A plain TrainConfig (groups of their own classes, not the help-carrying subclasses) with ``options``' values."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(TrainConfig):
        value = getattr(options, f.name)
        if f.name in GROUPS:
            value = {g.name: getattr(value, g.name) for g in dataclasses.fields(GROUPS[f.name])}
        values[f.name] = value
    return TrainConfig.from_flat(**values)


def options_from(config: TrainConfig) -> Any:
    """``config`` as the TrainOptions of a ``Train`` command built in code (``sparsenerf demo``)."""
    return TrainOptions(**{f.name: getattr(config, f.name) for f in dataclasses.fields(TrainConfig)})


def option_message(message: str) -> str:
    """A TrainConfig.check message with its "group.setting" written as the command-line option."""
    def flag(m: re.Match) -> str:
        group, name = m.group(1), m.group(2).replace("_", "-")
        return f"--{name}" if group in FLAT_GROUPS else f"--{group}.{name}"

    return re.sub(r"^(\w+)\.(\w+)", flag, message)
