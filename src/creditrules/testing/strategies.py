"""Hypothesis strategies for valid creditrules input, shaped by a region's rulesets.

Every value drawn here respects the data contract (``docs/reference/data-contract.md``):
dates within the range asked for and ``end_date ≥ start_date``, hours as exact
:class:`~decimal.Decimal` with one decimal place, categories, levels and modes
from their enums, optional fields sometimes ``None``, ids and texts stripped
and non-empty. Give a ``region`` and the strategies also draw what that
region's rules look at: the subcategories its ``credit_conversion.items``
table scores per item, the sub-types an ``…allowed`` list names, the roles a
``…roles`` list singles out.

>>> from creditrules.testing import histories
>>> @given(histories("beihai", as_of=date(2020, 12, 31)))   # doctest: +SKIP
... def test_mine(history):
...     person, records = history

A ``region`` is a region id (resolved against ``engine``, or against
:func:`default_engine`, the installed plugins) or a
:class:`~creditrules.chain.RulesetChain`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_DOWN, Decimal
from functools import cache
from typing import Any, TypeAlias

from attrs import evolve, frozen
from hypothesis import strategies as st

from ..chain import RulesetChain
from ..convert import unstructure
from ..engine import Engine
from ..model import (
    Category,
    Level,
    LocationScope,
    Mode,
    Person,
    Project,
    Role,
    Subject,
    SubjectKind,
    TrainingRecord,
    Unit,
)
from . import _introspect as intro

__all__ = [
    "BoundaryValue",
    "PropertyCase",
    "RegionArg",
    "Threshold",
    "as_of_dates",
    "boundary_values",
    "cases",
    "default_engine",
    "histories",
    "invalid_record_rows",
    "junk_record_rows",
    "one_decimal",
    "persons",
    "projects",
    "records",
    "threshold_parameters",
    "units",
]

RegionArg: TypeAlias = "str | RulesetChain"

#: Subcategories drawn for any region, besides the region's own.
GENERIC_SUBCATEGORIES = ("general", "other")
#: A few topics, so that repeated topics (重复培训) occur often enough to matter.
TOPICS = ("literacy", "ethics", "ict", "safety", "pedagogy")


@cache
def default_engine() -> Engine:
    """The engine of the installed plugins, loaded once per process."""
    return Engine.load()


def _chain(region: RegionArg | None, engine: Engine | None) -> RulesetChain | None:
    if region is None or isinstance(region, RulesetChain):
        return region
    return (engine or default_engine()).chain(region)


def one_decimal(low: int | Decimal, high: int | Decimal) -> st.SearchStrategy[Decimal]:
    """Exact decimals with one decimal place between ``low`` and ``high`` (``Decimal('12.5')``)."""
    return st.integers(int(Decimal(low) * 10), int(Decimal(high) * 10)).map(lambda n: Decimal(n).scaleb(-1))


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def _ids(prefix: str, high: int = 99_999) -> st.SearchStrategy[str]:
    return st.integers(0, high).map(lambda i: f"{prefix}{i}")


_hours = one_decimal(0, 48) | one_decimal(0, 400)


# -- persons and records -------------------------------------------------------------


def persons(
    region: RegionArg | None = None,
    roles: Sequence[Role | str] | None = None,
    *,
    engine: Engine | None = None,
    probation_around: dt.date | None = None,
) -> st.SearchStrategy[Person]:
    """Persons with a role from ``roles`` (default: the roles ``region``'s rules single out, and teacher).

    New teachers usually get a probation period; with ``probation_around`` it
    ends within two years either side of that date, so a judgment on that date
    sees it. Other roles sometimes get one too.
    """
    chain = _chain(region, engine)
    if roles is not None:
        pool = tuple(Role(r) for r in roles)
    elif chain is not None:
        pool = intro.region_roles(chain)
    else:
        pool = tuple(Role)
    around = probation_around or dt.date(2020, 6, 30)

    @st.composite
    def build(draw: st.DrawFn) -> Person:
        role = draw(st.sampled_from(pool))
        start = end = None
        if draw(st.booleans() if role is not Role.NEW_TEACHER else st.sampled_from([True, True, True, False])):
            start = draw(st.dates(around - dt.timedelta(days=730), around + dt.timedelta(days=180)))
            end = start + dt.timedelta(days=draw(st.sampled_from([182, 364, 365, 729])))
        school = draw(_optional(_ids("S", 99)))
        return Person(draw(_ids("T")), role, school, start, end)

    return build()


def records(
    person_id: str,
    *,
    start: dt.date,
    end: dt.date,
    region: RegionArg | None = None,
    engine: Engine | None = None,
) -> st.SearchStrategy[TrainingRecord]:
    """One training record of ``person_id``, its dates within ``start``..``end``.

    Subcategories include the item-scored ones of ``region`` (read from its
    chain's ``credit_conversion.items``) and any sub-types an ``…allowed`` list
    names; record ids are drawn, so several drawn records may share one
    (:func:`histories` numbers them apart).
    """
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    chain = _chain(region, engine)
    subs = GENERIC_SUBCATEGORIES
    if chain is not None:
        subs = tuple(sorted({*subs, *intro.item_subcategories(chain), *intro.listed_subcategories(chain)}))

    @st.composite
    def build(draw: st.DrawFn) -> TrainingRecord:
        first = draw(st.dates(start, end))
        days = draw(st.sampled_from([0, 0, 0, 1, 2, 4, 6, 13, 29]) | st.integers(0, 120))
        last = min(first + dt.timedelta(days=days), end)
        hours = draw(_hours)

        def part() -> Decimal:
            share = Decimal(draw(st.integers(0, 10))) / 10
            return (hours * share).quantize(Decimal("0.1"), rounding=ROUND_DOWN)

        return TrainingRecord(
            record_id=draw(_ids("R")),
            person_id=person_id,
            level=draw(st.sampled_from(Level)),
            category=draw(st.sampled_from(Category)),
            start_date=first,
            end_date=last,
            hours=hours,
            project_id=draw(_optional(_ids("PJ", 50))),
            subcategory=draw(_optional(st.sampled_from(subs))),
            mode=draw(_optional(st.sampled_from(Mode))),
            practice_hours=part() if draw(st.integers(0, 3)) == 0 else None,
            absent_hours=part() if draw(st.integers(0, 3)) == 0 else None,
            topic=draw(_optional(st.sampled_from(TOPICS))),
            passed=draw(_optional(st.booleans())),
            practice_passed=draw(_optional(st.booleans())),
            organised_by_unit=draw(_optional(st.booleans())),
            source_project_id=draw(_optional(_ids("PJ", 50))),
            location_scope=draw(_optional(st.sampled_from(LocationScope))),
            provider_id=draw(_optional(_ids("PV", 9))),
        )

    return build()


def histories(
    region: RegionArg,
    as_of: dt.date,
    *,
    engine: Engine | None = None,
    max_records: int = 12,
) -> st.SearchStrategy[tuple[Person, list[TrainingRecord]]]:
    """A person of ``region`` and a list of their records (unique ids), some ending after ``as_of``.

    Records fall between a year before the training cycle containing ``as_of``
    (at least two years before ``as_of``) and about a year after it, so the
    cycle is well covered, the one before is touched, and some records must be
    ignored. Now and then most records share
    one category (so caps are reached), and a record is registered twice (same
    content, new id), as a clerk would.
    """
    chain = _chain(region, engine)
    year = dt.timedelta(days=365)
    cycle = intro.cycle_of(chain, as_of) if chain is not None else None
    first = min(cycle.start, as_of - year) if cycle is not None else as_of - 5 * year
    window_start = max(intro.EARLIEST, first - year)
    window_end = as_of + dt.timedelta(days=400)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[Person, list[TrainingRecord]]:
        person = draw(persons(chain, engine=engine, probation_around=as_of))
        size = draw(st.integers(0, max_records))  # every length equally likely, not mostly short lists
        one = records(person.person_id, start=window_start, end=window_end, region=chain, engine=engine)
        drawn = [draw(one) for _ in range(size)]
        numbers = draw(st.lists(st.integers(1, 999), min_size=len(drawn), max_size=len(drawn), unique=True))
        out = [evolve(r, record_id=f"R{n:03d}") for r, n in zip(drawn, numbers)]
        # Sometimes most records share a category, so caps (远程≦40) are reached.
        focus = draw(st.none() | st.sampled_from(Category))
        if focus is not None:
            out = [evolve(r, category=focus) if draw(st.integers(0, 3)) else r for r in out]
        if out and draw(st.integers(0, 4)) == 0:
            twin = draw(st.sampled_from(out))
            out.append(evolve(twin, record_id=f"{twin.record_id}b"))
        return person, out

    return build()


# -- projects and units --------------------------------------------------------------


def projects(
    *, start: dt.date = dt.date(2015, 1, 1), end: dt.date = dt.date(2026, 12, 31)
) -> st.SearchStrategy[Project]:
    """Training programmes running within ``start``..``end``, with every optional field sometimes ``None``."""

    @st.composite
    def build(draw: st.DrawFn) -> Project:
        first = draw(st.dates(start, end))
        last = min(first + dt.timedelta(days=draw(st.integers(0, 400))), end)
        hours = draw(one_decimal(0, 200))
        total = draw(_optional(one_decimal(0, 200)))
        practice = None
        if draw(st.booleans()):
            ceiling = total if total is not None else Decimal(200)
            practice = draw(one_decimal(0, ceiling))
        counts = st.integers(0, 600)
        return Project(
            project_id=draw(_ids("PJ")),
            level=draw(st.sampled_from(Level)),
            mode=draw(st.sampled_from(Mode)),
            start_date=first,
            end_date=last,
            hours=hours,
            days=draw(_optional(one_decimal(0, 30))),
            total_course_hours=total,
            practice_hours=practice,
            headcount_planned=draw(_optional(counts)),
            headcount_actual=draw(_optional(counts)),
            budget_cny=draw(_optional(st.integers(0, 10**8).map(lambda n: Decimal(n).scaleb(-2)))),
            location_scope=draw(_optional(st.sampled_from(LocationScope))),
            cross_year=draw(_optional(st.booleans())),
            provider_remote_licence=draw(_optional(st.booleans())),
            survey_sample_size=draw(_optional(counts)),
            target_size=draw(_optional(counts)),
            title=draw(_optional(st.sampled_from(["国培项目", "Summer school", "县培"]))),
        )

    return build()


def units(*, years: tuple[int, int] = (2010, 2026)) -> st.SearchStrategy[Unit]:
    """School or county budget years, amounts in CNY with two decimals, counts as whole numbers."""
    money = _optional(st.integers(0, 10**10).map(lambda n: Decimal(n).scaleb(-2)))
    counts = _optional(st.integers(0, 5000))
    return st.builds(
        Unit,
        unit_id=_ids("U"),
        year=st.integers(*years),
        payroll_total=money,
        public_funds=money,
        training_budget=money,
        school_based_budget=money,
        fulltime_teachers=counts,
        trainer_team_size=counts,
        schools=counts,
        training_bases=counts,
        title=_optional(st.sampled_from(["第一中学", "County office"])),
    )


# -- dates and whole cases -----------------------------------------------------------


def as_of_dates(region: RegionArg, *, engine: Engine | None = None) -> st.SearchStrategy[dt.date]:
    """Judgment dates: where ``region``'s chain changes (and the day before), its year ends, or any day."""
    chain = _chain(region, engine)
    assert chain is not None
    return st.sampled_from(intro.interesting_dates(chain)) | st.dates(dt.date(2010, 1, 1), dt.date(2027, 12, 31))


@frozen
class PropertyCase:
    """One drawn input of a consistency property: a date, a subject, and (for a person) their records."""

    as_of: dt.date
    subject: Subject
    records: tuple[TrainingRecord, ...] = ()


def cases(
    region: RegionArg,
    *,
    engine: Engine | None = None,
    kinds: Sequence[SubjectKind] = (SubjectKind.PERSON,),
    max_records: int = 12,
) -> st.SearchStrategy[PropertyCase]:
    """Whole inputs for ``region``: a judgment date and a person with history, a project or a unit."""
    chain = _chain(region, engine)
    assert chain is not None

    @st.composite
    def build(draw: st.DrawFn) -> PropertyCase:
        as_of = draw(as_of_dates(chain))
        kind = draw(st.sampled_from(list(kinds)))
        if kind is SubjectKind.PERSON:
            person, recs = draw(histories(chain, as_of, engine=engine, max_records=max_records))
            return PropertyCase(as_of, person, tuple(recs))
        if kind is SubjectKind.PROJECT:
            window = (as_of - dt.timedelta(days=800), as_of + dt.timedelta(days=200))
            return PropertyCase(as_of, draw(projects(start=window[0], end=window[1])))
        return PropertyCase(as_of, draw(units(years=(as_of.year - 3, as_of.year + 1))))

    return build()


# -- near-boundary values --------------------------------------------------------------

#: Relative parameter names that are thresholds of a ≥ or ≤ comparison.
THRESHOLD_NAMES = ("minimum", "maximum", "category_minimum", "min_share", "zero_at_share")


@frozen
class Threshold:
    """A numeric threshold in force: ``parameter`` (and ``key`` within a table) = ``value``."""

    parameter: str
    key: str | None
    value: Decimal
    unit: str | None
    step: Decimal

    @property
    def label(self) -> str:
        return self.parameter + (f"[{self.key}]" if self.key else "")


@frozen
class BoundaryValue:
    """A value exactly at a threshold (``below = False``) or one step below it."""

    threshold: Threshold
    value: Decimal
    below: bool


def _step(value: Decimal, unit: str | None) -> Decimal:
    """One tenth for hours and credits, one for counts, else the value's last decimal place."""
    if unit == "count":
        return Decimal(1)
    exponent = value.normalize().as_tuple().exponent
    if unit in ("hours", "credits", "days", "cny") or not isinstance(exponent, int) or exponent >= -1:
        return Decimal("0.1")
    return Decimal(1).scaleb(exponent)


def threshold_parameters(engine: Engine, region: str, as_of: dt.date) -> list[Threshold]:
    """Every numeric threshold parameter (``minimum``, ``maximum``, ``min_share`` …) of a rule in force on ``as_of``."""
    chain = engine.chain(region)
    out: dict[tuple[str, str | None], Threshold] = {}
    for rule, fam in engine.rules(region, as_of):
        for rel in (*fam.params, *fam.optional):
            if rel not in THRESHOLD_NAMES:
                continue
            name = f"{rule.params}.{rel}"
            try:
                use = chain.param(name, as_of)
            except LookupError:
                continue
            unit_use = None
            try:
                unit_use = chain.param(f"{rule.params}.unit", as_of).value
            except LookupError:
                pass
            pdef = next((layer.parameters[name] for layer in reversed(chain.layers) if name in layer.parameters), None)
            unit = str(unit_use) if unit_use is not None else (pdef.unit if pdef else None)
            values: Mapping[str | None, Any] = use.value if isinstance(use.value, dict) else {None: use.value}
            for key, raw in sorted(values.items(), key=lambda kv: kv[0] or ""):
                number = intro.as_decimal(raw)
                if number is not None:
                    out[(name, key)] = Threshold(name, key, number, unit, _step(number, unit))
    return [out[k] for k in sorted(out, key=lambda k: (k[0], k[1] or ""))]


def boundary_values(engine: Engine, region: str, as_of: dt.date) -> st.SearchStrategy[BoundaryValue]:
    """For each numeric threshold in force on ``as_of``: exactly at it, and one tenth (one unit) below.

    ``st.nothing()`` when the region has no threshold in force on that date.
    """
    choices = [
        BoundaryValue(t, v, below)
        for t in threshold_parameters(engine, region, as_of)
        for v, below in ((t.value, False), (t.value - t.step, True))
    ]
    return st.sampled_from(choices) if choices else st.nothing()


# -- invalid rows ----------------------------------------------------------------------


def _bump(field: str, by: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def mutate(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, field: str(Decimal(row["hours"]) + Decimal(by))}

    return mutate


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda row: {**row, field: value}


def _drop(field: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda row: {k: v for k, v in row.items() if k != field}


#: Changes that make any valid record row invalid, each with what it breaks.
REFUSALS: tuple[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
    ("negative hours", _set("hours", "-1")),
    ("hours not a number", _set("hours", "abc")),
    ("hours NaN", _set("hours", "NaN")),
    ("hours infinite", _set("hours", Decimal("Infinity"))),
    ("hours above the maximum", _set("hours", "10000.1")),
    ("hours with an underscore", _set("hours", "1_000")),
    ("hours in Arabic-Indic digits", _set("hours", "١٢")),
    ("hours a boolean", _set("hours", True)),
    ("hours a list", _set("hours", [1])),
    ("hours missing", _drop("hours")),
    ("hours blank", _set("hours", " ")),
    ("impossible date", _set("start_date", "2019-02-30")),
    ("date without dashes", _set("start_date", "20190101")),
    ("date a number", _set("end_date", 20190101)),
    ("end before start", _set("end_date", "1999-01-01")),
    ("unknown category", _set("category", "bogus")),
    ("blank level", _set("level", "")),
    ("unknown mode", _set("mode", "telepathy")),
    ("location scope a number", _set("location_scope", 3)),
    ("empty record id", _set("record_id", "")),
    ("blank record id", _set("record_id", "   ")),
    ("record id a boolean", _set("record_id", True)),
    ("person id a list", _set("person_id", [])),
    ("practice hours above hours", _bump("practice_hours", "0.1")),
    ("absent hours above hours", _bump("absent_hours", "1")),
    ("negative absent hours", _set("absent_hours", "-0.1")),
    ("passed neither true nor false", _set("passed", "maybe")),
    ("passed a number", _set("passed", 2)),
    ("topic a float", _set("topic", 5.5)),
    ("topic a table", _set("topic", {})),
    ("unknown column", _set("colour", "red")),
    ("non-text column name", _set(1, "x")),  # type: ignore[arg-type]
    ("missing required column", _drop("category")),
)

_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", " ", "2019-02-29", "2020-02-29", "1e5", "１２", "true", "是", "remote", "-0", "0x10"]),
    st.dates().map(dt.date.isoformat),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _valid_row(person_id: str) -> st.SearchStrategy[dict[str, Any]]:
    span = records(person_id, start=dt.date(2016, 1, 1), end=dt.date(2024, 12, 31))
    return span.map(unstructure)


def invalid_record_rows(person_id: str = "T1") -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """``(what is wrong, row)``: a valid record's dict with one change every reader must refuse."""
    return st.tuples(_valid_row(person_id), st.sampled_from(REFUSALS)).map(
        lambda pair: (pair[1][0], pair[1][1](pair[0]))
    )


def junk_record_rows(person_id: str = "T1") -> st.SearchStrategy[dict[str, Any]]:
    """A valid record's dict with a few fields (or extra keys) replaced by arbitrary values: valid or not."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        row = draw(_valid_row(person_id))
        keys = sorted(row) + ["extra"]
        for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
            row[key] = draw(_JUNK)
        return row

    return build()
