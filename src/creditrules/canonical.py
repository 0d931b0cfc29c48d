"""Canonical JSON for decisions: sorted keys, decimals as strings, UTF-8, no whitespace.

The same inputs, rules and date give the same bytes, so a decision can be
hashed, stored, and compared byte for byte on replay.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from enum import Enum
from typing import Any

import attrs

__all__ = ["canonical_json", "dec", "to_plain"]


def dec(value: Decimal) -> str:
    """A Decimal as a plain string: no exponent, no trailing zeros (``12.50`` → ``"12.5"``)."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def to_plain(value: Any) -> Any:
    """attrs values, enums, dates and decimals → JSON-able plain data."""
    if attrs.has(type(value)):
        return {a.name: to_plain(getattr(value, a.name)) for a in attrs.fields(type(value))}
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


def canonical_json(value: Any) -> str:
    return json.dumps(to_plain(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
