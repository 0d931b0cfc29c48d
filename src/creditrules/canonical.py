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
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

import attrs
import cattrs

from .model import Category, Decision, Outcome, ParameterUse, SubjectKind

__all__ = ["canonical_json", "dec", "decision_converter", "read_decision", "to_plain"]


def dec(value: Decimal) -> str:
    """A Decimal as a plain string: no exponent, no trailing zeros (``12.50`` → ``"12.5"``).

    Exact at any size: ``format(…, "f")`` uses the number's own digits, where
    ``normalize()`` would round to the context's 28 digits.
    """
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


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
    # their plain form is memoised by identity (the entry keeps the object alive,
    # so an id is never reused while cached).
    plain_use = conv.get_unstructure_hook(ParameterUse)
    memo: dict[int, tuple[ParameterUse, Any]] = {}

    def unstructure_use(use: ParameterUse) -> Any:
        hit = memo.get(id(use))
        if hit is not None and hit[0] is use:
            return hit[1]
        plain = plain_use(use)
        if len(memo) < 100_000:
            memo[id(use)] = (use, plain)
        return plain

    conv.register_unstructure_hook(ParameterUse, unstructure_use)
    return conv


def _enum_value(member: Enum) -> Any:
    return member.value


def canonical_json(value: Any) -> str:
    return json.dumps(to_plain(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def read_decision(text: str | bytes) -> Decision:
    """Parse a decision's canonical JSON back into a :class:`~creditrules.model.Decision`."""
    return decision_converter().structure(json.loads(text), Decision)
