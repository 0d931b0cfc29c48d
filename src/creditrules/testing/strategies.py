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
import weakref
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


# Strategies are built once, here: building one per draw costs more than drawing from it.
_TYPICAL_HOURS = st.sampled_from([0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 30, 32, 40, 48, 60, 72, 80, 120, 150])
_HOURS = st.one_of(
    _TYPICAL_HOURS.map(lambda n: Decimal(n).quantize(Decimal("0.1"))),
    one_decimal(0, 12),
    # tenths of an hour up to 399.9, near uniform (see _FRACTION)
    st.tuples(st.integers(0, 3), st.integers(0, 9), st.integers(0, 9), st.integers(0, 9)).map(
        lambda d: Decimal(d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]).scaleb(-1)
    ),
)
# A position within a range, in thousandths. Three digits drawn apart are near uniform, where one
# wide integer would be drawn mostly near 0 (hypothesis favours small integers): dates would bunch
# at the start of every window.
_DIGIT = st.integers(0, 9)
_FRACTION = st.tuples(_DIGIT, _DIGIT, _DIGIT).map(lambda d: d[0] * 100 + d[1] * 10 + d[2])
_DURATION = st.sampled_from([0, 0, 0, 1, 2, 4, 6, 13, 29]) | st.integers(0, 120)
_TENTHS = st.integers(0, 10)
_ONE_IN_FOUR = st.integers(0, 3)
_LEVELS = st.sampled_from(Level)
_CATEGORIES = st.sampled_from(Category)
_MODES = _optional(st.sampled_from(Mode))
_SCOPES = _optional(st.sampled_from(LocationScope))
_TOPICS = _optional(st.sampled_from(TOPICS))
_FLAGS = _optional(st.booleans())
_RECORD_IDS = _ids("R")
_PROJECT_IDS = _optional(_ids("PJ", 50))
_PROVIDERS = _optional(_ids("PV", 9))
_PERSON_IDS = _ids("T")
_SCHOOLS = _optional(_ids("S", 99))
_PROBATION_DAYS = st.sampled_from([182, 364, 365, 729])
_NEW_TEACHER_PROBATION = st.sampled_from([True, True, True, False])


_ONE_IN_FIVE = st.integers(0, 4)
_FOCUS = st.none() | _CATEGORIES


@cache
def _sizes(most: int) -> st.SearchStrategy[int]:
    return st.integers(0, most)


@cache
def _numbers(size: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(1, 999), min_size=size, max_size=size, unique=True)


_region_cache: weakref.WeakKeyDictionary[RulesetChain, tuple[Any, Any]] = weakref.WeakKeyDictionary()


def _region_strategies(
    chain: RulesetChain | None,
) -> tuple[st.SearchStrategy[Role], st.SearchStrategy[str | None]]:
    """The role and subcategory strategies of ``chain``, built once per chain."""
    if chain is None:
        return st.sampled_from(tuple(Role)), _subcategories(None)
    hit = _region_cache.get(chain)
    if hit is None:
        hit = _region_cache[chain] = (st.sampled_from(intro.region_roles(chain)), _subcategories(chain))
    return hit


def _day(draw: st.DrawFn, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=(end - start).days * draw(_FRACTION) // 999)


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
    return _persons(st.sampled_from(pool), probation_around or dt.date(2020, 6, 30))


def _draw_person(draw: st.DrawFn, roles: st.SearchStrategy[Role], around: dt.date) -> Person:
    role = draw(roles)
    start = end = None
    if draw(st.booleans() if role is not Role.NEW_TEACHER else _NEW_TEACHER_PROBATION):
        start = _day(draw, around - dt.timedelta(days=730), around + dt.timedelta(days=180))
        end = start + dt.timedelta(days=draw(_PROBATION_DAYS))
    school = draw(_SCHOOLS)
    return Person(draw(_PERSON_IDS), role, school, start, end)


def _persons(roles: st.SearchStrategy[Role], around: dt.date) -> st.SearchStrategy[Person]:
    @st.composite
    def build(draw: st.DrawFn) -> Person:
        return _draw_person(draw, roles, around)

    return build()


def _subcategories(chain: RulesetChain | None) -> st.SearchStrategy[str | None]:
    subs = set(GENERIC_SUBCATEGORIES)
    if chain is not None:
        subs.update(intro.item_subcategories(chain), intro.listed_subcategories(chain))
    return _optional(st.sampled_from(sorted(subs)))


def _record(
    draw: st.DrawFn, person_id: str, start: dt.date, end: dt.date, subcategories: st.SearchStrategy[str | None]
) -> TrainingRecord:
    first = _day(draw, start, end)
    last = min(first + dt.timedelta(days=draw(_DURATION)), end)
    hours = draw(_HOURS)

    def part() -> Decimal | None:
        if draw(_ONE_IN_FOUR):
            return None
        share = Decimal(draw(_TENTHS)) / 10
        return (hours * share).quantize(Decimal("0.1"), rounding=ROUND_DOWN)

    return TrainingRecord(
        record_id=draw(_RECORD_IDS),
        person_id=person_id,
        level=draw(_LEVELS),
        category=draw(_CATEGORIES),
        start_date=first,
        end_date=last,
        hours=hours,
        project_id=draw(_PROJECT_IDS),
        subcategory=draw(subcategories),
        mode=draw(_MODES),
        practice_hours=part(),
        absent_hours=part(),
        topic=draw(_TOPICS),
        passed=draw(_FLAGS),
        practice_passed=draw(_FLAGS),
        organised_by_unit=draw(_FLAGS),
        source_project_id=draw(_PROJECT_IDS),
        location_scope=draw(_SCOPES),
        provider_id=draw(_PROVIDERS),
    )


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
    subcategories = _subcategories(_chain(region, engine))

    @st.composite
    def build(draw: st.DrawFn) -> TrainingRecord:
        return _record(draw, person_id, start, end, subcategories)

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
    ignored. Now and then most records share one category (so caps are
    reached), and a record is registered twice (same content, new id), as a
    clerk would.
    """
    chain = _chain(region, engine)
    year = dt.timedelta(days=365)
    cycle = intro.cycle_of(chain, as_of) if chain is not None else None
    first = min(cycle.start, as_of - year) if cycle is not None else as_of - 5 * year
    window_start = max(intro.EARLIEST, first - year)
    window_end = as_of + dt.timedelta(days=400)

    roles, subcategories = _region_strategies(chain)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[Person, list[TrainingRecord]]:
        person = _draw_person(draw, roles, as_of)
        size = draw(_sizes(max_records))  # every length equally likely, not mostly short lists
        drawn = [_record(draw, person.person_id, window_start, window_end, subcategories) for _ in range(size)]
        numbers = draw(_numbers(size))
        out = [evolve(r, record_id=f"R{n:03d}") for r, n in zip(drawn, numbers)]
        # Sometimes most records share a category, so caps (远程≦40) are reached.
        focus = draw(_FOCUS)
        if focus is not None:
            out = [evolve(r, category=focus) if draw(_ONE_IN_FOUR) else r for r in out]
        if out and draw(_ONE_IN_FIVE) == 0:
            twin = out[len(out) * draw(_FRACTION) // 1000]
            out.append(evolve(twin, record_id=f"{twin.record_id}b"))
        return person, out

    return build()


# -- projects and units --------------------------------------------------------------


_COUNTS = st.integers(0, 600)
_OPT_COUNTS = _optional(_COUNTS)
_PROJECT_HOURS = one_decimal(0, 200)
_OPT_PROJECT_HOURS = _optional(_PROJECT_HOURS)
_DAYS = _optional(one_decimal(0, 30))
_BUDGET = _optional(st.integers(0, 10**8).map(lambda n: Decimal(n).scaleb(-2)))
_PROJECT_TITLES = _optional(st.sampled_from(["国培项目", "Summer school", "县培"]))
_MONEY = _optional(st.integers(0, 10**10).map(lambda n: Decimal(n).scaleb(-2)))
_UNIT_COUNTS = _optional(st.integers(0, 5000))
_UNIT_TITLES = _optional(st.sampled_from(["第一中学", "County office"]))
_PROJECT_SPAN = st.integers(0, 400)


def _draw_project(draw: st.DrawFn, start: dt.date, end: dt.date) -> Project:
    first = _day(draw, start, end)
    last = min(first + dt.timedelta(days=draw(_PROJECT_SPAN)), end)
    total = draw(_OPT_PROJECT_HOURS)
    practice = None
    if draw(st.booleans()):
        ceiling = total if total is not None else Decimal(200)
        practice = (ceiling * Decimal(draw(_TENTHS)) / 10).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return Project(
        project_id=draw(_ids_pj),
        level=draw(_LEVELS),
        mode=draw(st.sampled_from(Mode)),
        start_date=first,
        end_date=last,
        hours=draw(_PROJECT_HOURS),
        days=draw(_DAYS),
        total_course_hours=total,
        practice_hours=practice,
        headcount_planned=draw(_OPT_COUNTS),
        headcount_actual=draw(_OPT_COUNTS),
        budget_cny=draw(_BUDGET),
        location_scope=draw(_SCOPES),
        cross_year=draw(_FLAGS),
        provider_remote_licence=draw(_FLAGS),
        survey_sample_size=draw(_OPT_COUNTS),
        target_size=draw(_OPT_COUNTS),
        title=draw(_PROJECT_TITLES),
    )


_ids_pj = _ids("PJ")
_ids_unit = _ids("U")


def _draw_unit(draw: st.DrawFn, first: int, last: int) -> Unit:
    year = first + (last - first) * draw(_FRACTION) // 999
    return Unit(
        unit_id=draw(_ids_unit),
        year=year,
        payroll_total=draw(_MONEY),
        public_funds=draw(_MONEY),
        training_budget=draw(_MONEY),
        school_based_budget=draw(_MONEY),
        fulltime_teachers=draw(_UNIT_COUNTS),
        trainer_team_size=draw(_UNIT_COUNTS),
        schools=draw(_UNIT_COUNTS),
        training_bases=draw(_UNIT_COUNTS),
        title=draw(_UNIT_TITLES),
    )


def projects(
    *, start: dt.date = dt.date(2015, 1, 1), end: dt.date = dt.date(2026, 12, 31)
) -> st.SearchStrategy[Project]:
    """Training programmes running within ``start``..``end``, with every optional field sometimes ``None``."""

    @st.composite
    def build(draw: st.DrawFn) -> Project:
        return _draw_project(draw, start, end)

    return build()


def units(*, years: tuple[int, int] = (2010, 2026)) -> st.SearchStrategy[Unit]:
    """School or county budget years, amounts in CNY with two decimals, counts as whole numbers."""

    @st.composite
    def build(draw: st.DrawFn) -> Unit:
        return _draw_unit(draw, *years)

    return build()


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

    dates = as_of_dates(chain)
    subject_kinds = st.sampled_from(list(kinds))

    @st.composite
    def build(draw: st.DrawFn) -> PropertyCase:
        as_of = draw(dates)
        kind = draw(subject_kinds)
        if kind is SubjectKind.PERSON:
            person, recs = draw(histories(chain, as_of, engine=engine, max_records=max_records))
            return PropertyCase(as_of, person, tuple(recs))
        if kind is SubjectKind.PROJECT:
            project = _draw_project(draw, as_of - dt.timedelta(days=800), as_of + dt.timedelta(days=200))
            return PropertyCase(as_of, project)
        return PropertyCase(as_of, _draw_unit(draw, as_of.year - 3, as_of.year + 1))

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
