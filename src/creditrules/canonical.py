"""Canonical JSON for decisions: sorted keys, decimals as strings, UTF-8, no whitespace.

The same inputs, rules and date give the same bytes, so a decision can be
hashed, stored, and compared byte for byte on replay. Decimals are written
normalised (``Decimal("4.00")`` → ``"4"``): equal values, equal bytes.

A decision read back with :func:`read_decision` re-serialises to the same
bytes; parameter values stay in their JSON form (strings for decimals), since
their Python type is the ruleset's business, not the decision's.
"""

from __future__ import annotations

import datetime as dt
import json
import json.encoder
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from enum import Enum, StrEnum
from functools import cache
from typing import Any, TypeVar

import attrs
import cattrs

from .model import Category, Citation, Decision, Outcome, ParameterUse, RulesetRef, SubjectKind

__all__ = ["canonical_json", "dec", "decision_converter", "plain_json", "read_decision", "to_plain"]


def dec(value: Decimal) -> str:
    """A Decimal as a plain string: no exponent, no trailing zeros (``12.50`` → ``"12.5"``).

    Exact at any size: ``format(…, "f")`` uses the number's own digits, where
    ``normalize()`` would round to the context's 28 digits.
    """
    try:
        hit = _DECS.get(value)
    except TypeError:  # a signalling NaN cannot be hashed
        hit = None
    if hit is not None:
        return hit
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    text = "0" if text in ("-0", "") else text
    if len(_DECS) < 100_000 and value.is_finite():
        _DECS[value] = text
    return text


# Credits and hours repeat a few hundred values; equal decimals have equal text
# (``dec`` normalises: 4.00 and 4 are both "4"), so a value's text is looked up by the value.
_DECS: dict[Decimal, str] = {}


def to_plain(value: Any) -> Any:
    """Any value (attrs classes, enums, dates, decimals, containers) → JSON-able plain data."""
    if attrs.has(type(value)):
        return decision_converter().unstructure(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return dec(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


@cache
def decision_converter() -> cattrs.Converter:
    """The converter for decisions (output side), built once."""
    conv = cattrs.Converter()
    conv.register_unstructure_hook(Decimal, dec)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    for enum in (Category, Outcome, SubjectKind):
        conv.register_unstructure_hook(enum, _enum_value)
        conv.register_structure_hook(enum, lambda v, t: t(v))
    # Parameter values are typed Any: dicts/tuples of decimals, dates, strings.
    conv.register_unstructure_hook_func(lambda t: t is Any, to_plain)
    conv.register_structure_hook(Decimal, lambda v, _: Decimal(v))
    conv.register_structure_hook(dt.date, lambda v, _: dt.date.fromisoformat(v))
    conv.register_structure_hook_func(lambda t: t is Any, lambda v, _: v)
    # Findings share ParameterUse objects from the chain's cached timelines, so
    # their plain form is memoised by identity.
    conv.register_unstructure_hook(ParameterUse, _memoised(conv.get_unstructure_hook(ParameterUse)))
    return conv


def _enum_value(member: Enum) -> Any:
    return member.value


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON text (sorted keys, no whitespace, UTF-8 characters kept)."""
    writer = _WRITERS.get(type(value))
    if writer is not None:
        return writer(value)
    return plain_json(value)


def plain_json(value: Any) -> str:
    """The reference serialisation: via plain data and :func:`json.dumps`.

    :func:`canonical_json` writes decisions with compiled writers instead (a
    batch spends a third of its time here otherwise); the test suite checks
    both give the same bytes.
    """
    return json.dumps(to_plain(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# -- compiled writers for decisions ---------------------------------------------------
#
# A decision is mostly repeated text: every finding carries its citation and the
# parameter uses (each with its own citation) it relied on, and those objects are
# shared from the chain's cached timelines. The writers below are made once per
# attrs class from its fields (sorted by name, as ``sort_keys`` would), and the
# text of a shared citation or parameter use is memoised by identity.

_quote = json.encoder.encode_basestring


def _write_any(value: Any) -> str:
    return json.dumps(to_plain(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


T = TypeVar("T")
_SHARED = (Citation, ParameterUse, RulesetRef)
_WRITERS: dict[type, Callable[[Any], str]] = {}


def _expression(t: Any, v: str, env: dict[str, Any]) -> str:
    """Python source writing the value named ``v`` of type ``t`` as JSON text."""
    origin = typing.get_origin(t)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(t) if a is not type(None)]
        inner = _expression(args[0], v, env) if len(args) == 1 else f"_any({v})"
        return f'("null" if {v} is None else {inner})'
    if origin is tuple:
        item = _expression(typing.get_args(t)[0], "x", env)
        return f'"[" + ",".join([{item} for x in {v}]) + "]"'
    if t is str:
        return f"_quote({v})"
    if t is Decimal:
        return f"""('"' + _dec({v}) + '"')"""
    if t is dt.date:
        return f"""('"' + {v}.isoformat() + '"')"""
    if isinstance(t, type) and issubclass(t, StrEnum):
        return f"_quote({v})"  # a StrEnum member is its value
    if isinstance(t, type) and issubclass(t, Enum):
        return f"_quote({v}.value)"
    if isinstance(t, type) and attrs.has(t):
        name = f"_w_{t.__name__}"
        env[name] = _class_writer(t)
        return f"{name}({v})"
    return f"_any({v})"


def _class_writer(cls: type) -> Callable[[Any], str]:
    """A function writing an attrs instance of ``cls`` as canonical JSON, compiled once.

    The source is one concatenation over the fields sorted by name, as
    ``json.dumps(sort_keys=True)`` orders them; it runs several times faster
    than walking the fields generically.
    """
    if cls in _WRITERS:
        return _WRITERS[cls]
    hints = typing.get_type_hints(cls)
    env: dict[str, Any] = {"_quote": _quote, "_dec": dec, "_any": _write_any}
    pieces = []
    for i, f in enumerate(sorted(attrs.fields(cls), key=lambda f: f.name)):
        key = ("{" if i == 0 else ",") + _quote(f.name) + ":"
        value = _expression(hints[f.name], f"o.{f.name}", env)
        pieces.append(f"{key!r}, {value}")
    # One join, not a chain of ``+``: a decision is tens of kilobytes, and each
    # ``+`` would copy everything before it again.
    source = "def write(o):\n    return ''.join((" + ", ".join(pieces or ["'{'"]) + ", '}'))\n"
    exec(compile(source, f"<canonical writer for {cls.__name__}>", "exec"), env)
    write: Callable[[Any], str] = env["write"]
    if cls in _SHARED:
        write = _memoised(write)
    _WRITERS[cls] = write
    return write


def _memoised(write: Callable[[Any], T]) -> Callable[[Any], T]:
    """``write`` memoised by the identity of its argument (for immutable, shared objects).

    Each entry keeps its object alive, so an id is never reused while it is cached.
    """
    memo: dict[int, tuple[Any, T]] = {}

    def cached(obj: Any) -> T:
        hit = memo.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        text = write(obj)
        if len(memo) < 100_000:
            memo[id(obj)] = (obj, text)
        return text

    return cached


_class_writer(Decision)


def read_decision(text: str | bytes) -> Decision:
    """Parse a decision's canonical JSON back into a :class:`~creditrules.model.Decision`."""
    return decision_converter().structure(json.loads(text), Decision)
