"""What the strategies and properties need to know about a region's chain.

Everything here reads the ruleset chain (parameters, rules, dates) the engine
already validated; nothing evaluates rules. Parameters are recognised by the
*relative* names the built-in families use (``…items``, ``…maximum``,
``…roles``), so a plugin family that reuses those names is covered too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ..chain import RulesetChain
from ..engine import Engine
from ..families.base import Context, RuleFamily
from ..model import Category, Period, Person, Role
from ..ruleset import RuleDef

__all__ = [
    "capped_categories",
    "conversion_rules",
    "cycle_of",
    "interesting_dates",
    "item_subcategories",
    "listed_subcategories",
    "parameter_values",
    "region_roles",
]

#: The earliest and latest day the strategies draw when a chain says nothing narrower.
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2030, 12, 31)


def parameter_values(chain: RulesetChain, suffix: str) -> Iterator[tuple[str, Any]]:
    """``(name, value)`` of every dated value of every parameter whose name ends with ``suffix``."""
    for name in sorted(chain.parameter_names()):
        if name == suffix or name.endswith(f".{suffix}"):
            for use in chain.history(name):
                yield name, use.value


def item_subcategories(chain: RulesetChain) -> tuple[str, ...]:
    """Subcategories the chain scores per item (keys of any ``…items`` table, e.g. ``credit_conversion.items``)."""
    found = {key for _, value in parameter_values(chain, "items") if isinstance(value, dict) for key in value}
    return tuple(sorted(found))


def listed_subcategories(chain: RulesetChain) -> tuple[str, ...]:
    """Subcategories a chain names in an ``…allowed`` list (Beihai's audited centralised sub-types)."""
    found = {
        v
        for _, value in parameter_values(chain, "allowed")
        if isinstance(value, tuple)
        for v in value
        if isinstance(v, str)
    }
    return tuple(sorted(found))


def region_roles(chain: RulesetChain) -> tuple[Role, ...]:
    """Roles some rule of the chain singles out (values of ``…roles`` lists), plus the plain teacher."""
    roles = {Role.TEACHER}
    for _, value in parameter_values(chain, "roles"):
        if isinstance(value, tuple):
            roles.update(Role(v) for v in value if v in Role._value2member_map_)
    return tuple(sorted(roles, key=lambda r: r.value))


def capped_categories(chain: RulesetChain) -> frozenset[Category]:
    """Categories some ``…maximum`` table caps, at any date of the chain."""
    found: set[Category] = set()
    for _, value in parameter_values(chain, "maximum"):
        if isinstance(value, dict):
            found.update(Category(k) for k in value if k in Category._value2member_map_)
    return frozenset(found)


def conversion_rules(engine: Engine, chain: RulesetChain, on: dt.date) -> list[tuple[RuleDef, RuleFamily]]:
    """Rules in force on ``on`` whose family converts hours to credits (has ``hours_per_credit``)."""
    ids = chain.rule_ids_in_force(on)
    out = []
    for active in chain.rules:
        fam = engine.families.get(active.rule.family)
        if fam is not None and "hours_per_credit" in fam.params and active.rule.id in ids:
            out.append((active.rule, fam))
    out.sort(key=lambda p: (p[1].stage, p[0].id))
    return out


def cycle_of(chain: RulesetChain, as_of: dt.date) -> Period | None:
    """The training cycle containing ``as_of``, as the engine computes it; ``None`` without cycle parameters."""
    ctx = Context(Person("probe"), [], region=chain.region, as_of=as_of, chain=chain, known_at=None)
    try:
        return ctx.cycle()
    except LookupError:
        return None


def interesting_dates(chain: RulesetChain) -> tuple[dt.date, ...]:
    """Dates where the chain changes, the day before each, and the year ends between them.

    Judging on these dates exercises every value a parameter took and every
    rule's first and last day.
    """
    changes: set[dt.date] = set()
    for name in chain.parameter_names():
        changes.update(u.since for u in chain.history(name))
    for active in chain.rules:
        changes.add(active.rule.since)
        if active.rule.until is not None:
            changes.add(active.rule.until)
        if active.disabled is not None:
            changes.add(active.disabled.since)
    changes = {d for d in changes if EARLIEST <= d <= LATEST}
    dates = set(changes) | {d - dt.timedelta(days=1) for d in changes}
    first = min(changes, default=dt.date(2011, 1, 1))
    for year in range(max(first.year, EARLIEST.year), min(first.year + 16, LATEST.year) + 1):
        dates.add(dt.date(year, 12, 31))
    return tuple(sorted(d for d in dates if EARLIEST <= d <= LATEST))


def as_decimal(value: Any) -> Decimal | None:
    """A numeric parameter value as a Decimal, or ``None`` (booleans are not numbers)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return None
