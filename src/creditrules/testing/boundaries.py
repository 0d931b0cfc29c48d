"""The boundaries property: exactly at a threshold passes, one step on the wrong side does not.

Where a clause says 不少于 / 不低于 (≥), a measured value equal to the
threshold meets it. The property builds that case from the region's own
thresholds instead of hoping random input lands on it:

* **persons** — the subject is judged with no records; every minimum finding
  that is unmet (an amount in hours or credits over a period) is then judged
  again with one clean record worth exactly the threshold, and one worth one
  step less (0.1 hour or credit, or one rounding quantum if coarser). Works for
  any family whose findings carry ``required``, ``unit`` and ``period``.
* **record-level shares** — a record whose absent hours are exactly
  ``zero_at_share`` of its hours earns nothing; one tenth of an hour less earns.
* **units** — any family with ``numerator``/``denominator``/``min_share``
  parameters: the numerator field set to exactly ``min_share ×`` the
  denominator passes, one unit (count) or one tenth (amount) less does not.
* **projects** — practice share and survey sample at exactly the minimum
  share pass, one step less does not; a deadline met on the day passes, a day
  later does not; a budget exactly at the expense ceiling passes, a fen more
  does not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import attrs
from attrs import evolve

from ..engine import Engine
from ..families.base import judgment_date
from ..families.project import DeadlineFamily, ExpenseStandardFamily, PracticeShareFamily, SurveySampleFamily
from ..families.records import AbsenceFamily
from ..model import (
    MAX_RECORD_HOURS,
    Category,
    Decision,
    Finding,
    Level,
    LocationScope,
    Mode,
    Outcome,
    Person,
    Project,
    Subject,
    TrainingRecord,
    Unit,
)
from . import _introspect as intro

__all__ = ["check_boundaries"]

PROP = "boundaries"
TENTH = Decimal("0.1")
#: Categories tried, in order, when a finding does not name its own.
DEFAULT_CATEGORIES = (
    Category.CENTRALIZED,
    Category.SCHOOL_BASED,
    Category.REMOTE,
    Category.RESEARCH,
    Category.DEGREE,
    Category.PUBLIC_SUBJECT,
    Category.TRAINER_DUTY,
)


def _fail(region: str, as_of: dt.date, subject: Subject, detail: str) -> AssertionError:
    return AssertionError(f"[{PROP}] region {region}, as_of {as_of.isoformat()}, "
                          f"{subject.kind.value} {subject.id}: {detail}")


def _n(value: Decimal | None) -> str:
    if value is None:
        return "nothing"
    v = value.normalize()
    return format(v, "f") if v != v.to_integral_value() else str(v.quantize(Decimal(1)))


def check_boundaries(
    engine: Engine, region: str, as_of: dt.date, subject: Subject, records: Sequence[TrainingRecord]
) -> None:
    """A measured value exactly at a ≥ threshold passes; one step below does not (≤ and dates: one step above)."""
    if isinstance(subject, Person):
        _person(engine, region, as_of, subject)
        _absence(engine, region, as_of, subject)
    elif isinstance(subject, Unit):
        _unit(engine, region, as_of, subject)
    elif isinstance(subject, Project):
        _project(engine, region, as_of, subject)


# -- persons ---------------------------------------------------------------------------


def _minimum_candidates(decision: Decision) -> Iterator[Finding]:
    """Findings of an unmet minimum over a period: measured 0, shortfall = required > 0."""
    keys = [(f.rule, f.period, f.item) for f in decision.findings]
    for f in decision.findings:
        if (
            f.required is not None and f.required > 0 and f.measured == 0 and f.shortfall == f.required
            and f.unit in ("hours", "credits") and f.period is not None
            and f.outcome in (Outcome.FAIL, Outcome.WARN, Outcome.PENDING)
            and not (f.item or "").startswith("max:")
            and keys.count((f.rule, f.period, f.item)) == 1
        ):
            yield f


def _categories(item: str | None, capped: frozenset[Category]) -> list[Category]:
    named = [Category(c) for c in (item or "").split("+") if c in Category._value2member_map_]
    pool = named or list(DEFAULT_CATEGORIES)
    return sorted(pool, key=lambda c: c in capped)


def _same(decision: Decision, f: Finding) -> Finding | None:
    found = [g for g in decision.findings if (g.rule, g.period, g.item) == (f.rule, f.period, f.item)]
    return found[0] if len(found) == 1 else None


def _hours_for(engine: Engine, region: str, on: dt.date, category: Category, unit: str,
               amount: Decimal) -> tuple[Decimal, Decimal] | None:
    """Record hours worth ``amount`` in ``unit`` on ``on``, and the step below; ``None`` if not constructible."""
    if unit == "hours":
        return amount, TENTH
    chain = engine.chain(region)
    rules = intro.conversion_rules(engine, chain, on)
    if not rules:
        return None
    rule, _ = rules[-1]
    try:
        table = chain.param(f"{rule.params}.hours_per_credit", on).value
        quantum = chain.param(f"{rule.params}.quantum", on).value
    except LookupError:
        return None
    per = table.get(category.value, table.get("default"))
    if not per:
        return None
    return amount * per, max(TENTH, quantum)


def _clean_record(person: Person, category: Category, on: dt.date, hours: Decimal, rid: str) -> TrainingRecord:
    return TrainingRecord(
        record_id=rid, person_id=person.person_id, level=Level.MUNICIPAL, category=category,
        start_date=on, end_date=on, hours=hours, passed=True, organised_by_unit=True,
    )


def _person(engine: Engine, region: str, as_of: dt.date, person: Person) -> None:
    chain = engine.chain(region)
    capped = intro.capped_categories(chain)
    probe = engine.adjudicate(person, [], region=region, as_of=as_of)
    for f in _minimum_candidates(probe):
        assert f.period is not None and f.required is not None and f.unit is not None
        on = min(f.period.end, as_of)
        if on < f.period.start:
            continue
        for category in _categories(f.item, capped):
            hours_step = _hours_for(engine, region, on, category, f.unit, f.required)
            if hours_step is None:
                continue
            hours, step = hours_step
            if hours > MAX_RECORD_HOURS:
                continue
            at = _same(engine.adjudicate(person, [_clean_record(person, category, on, hours, "AT")],
                                         region=region, as_of=as_of), f)
            if at is None or at.measured != f.required:
                continue  # this family does not count such a record the plain way: try another category
            label = _finding_label(f)
            if at.outcome is not Outcome.PASS:
                raise _fail(region, as_of, person,
                            f"{label}: a {category.value} record of {_n(hours)} h on {on.isoformat()} measures "
                            f"exactly the required {_n(f.required)} {f.unit}, but the outcome is "
                            f"{at.outcome.value}, not pass (≥ means equal passes)")
            below_amount = f.required - step
            below_hours = _hours_for(engine, region, on, category, f.unit, below_amount)
            if below_hours is None or below_amount < 0:
                break
            below = _same(engine.adjudicate(
                person, [_clean_record(person, category, on, below_hours[0], "BELOW")], region=region, as_of=as_of
            ), f)
            if below is None or below.measured != below_amount:
                break
            if below.outcome is Outcome.PASS:
                raise _fail(region, as_of, person,
                            f"{label}: {_n(below_amount)} {f.unit} is one step below the required "
                            f"{_n(f.required)}, yet the outcome is pass")
            break


def _finding_label(f: Finding) -> str:
    at = f"@{f.period.end.isoformat()}" if f.period else ""
    return f"{f.rule}{at}" + (f"[{f.item}]" if f.item else "")


def _absence(engine: Engine, region: str, as_of: dt.date, person: Person) -> None:
    """Absence of exactly ``zero_at_share`` of the hours zeroes the record; a tenth of an hour less does not."""
    chain = engine.chain(region)
    for active in chain.rules:
        rule = active.rule
        fam = engine.families.get(rule.family)
        if not isinstance(fam, AbsenceFamily) or rule.id not in chain.rule_ids_in_force(as_of):
            continue
        try:
            share = chain.param(f"{rule.params}.zero_at_share", as_of).value
        except LookupError:
            continue
        hours = Decimal(100)
        absent = share * hours
        if not (TENTH <= absent <= hours):
            continue
        for amount, zeroed in ((absent, True), (absent - TENTH, False)):
            record = evolve(_clean_record(person, Category.CENTRALIZED, as_of, hours, "ABS"), absent_hours=amount)
            line = engine.adjudicate(person, [record], region=region, as_of=as_of).lines[0]
            if zeroed and rule.id in line.rules and line.credited_hours != 0:
                raise _fail(region, as_of, person,
                            f"{rule.id}: absent {_n(amount)} of {_n(hours)} h is exactly the share {_n(share)}, "
                            f"yet the record is still credited {_n(line.credited_hours)} h")
            if not zeroed and rule.id in line.rules:
                raise _fail(region, as_of, person,
                            f"{rule.id}: absent {_n(amount)} of {_n(hours)} h is below the share {_n(share)}, "
                            "yet the rule zeroed the record")


# -- units -----------------------------------------------------------------------------


def _is_count(cls: type, name: str) -> bool:
    return "int" in str(attrs.fields_dict(cls)[name].type)


def _scale(share: Decimal, *, whole: bool) -> Decimal:
    """A denominator (a power of ten, ≥ 100) that makes ``share ×`` it whole when counts must be whole."""
    den = Decimal(100)
    while whole and (share * den) != (share * den).to_integral_value() and den < 10**9:
        den *= 10
    return den


def _one(decision: Decision, rule_id: str) -> Finding | None:
    found = [f for f in decision.findings if f.rule == rule_id]
    return found[0] if len(found) == 1 else None


def _unit(engine: Engine, region: str, as_of: dt.date, unit: Unit) -> None:
    chain = engine.chain(region)
    on = judgment_date(unit, as_of)  # a unit is held to the rules of its budget year's end
    for rule, fam in engine.rules(region, on):
        if not {"numerator", "denominator", "min_share"} <= set(fam.params):
            continue
        try:
            num_f = str(chain.param(f"{rule.params}.numerator", on).value)
            den_f = str(chain.param(f"{rule.params}.denominator", on).value)
            share = chain.param(f"{rule.params}.min_share", on).value
        except LookupError:
            continue
        if num_f == den_f or not isinstance(share, Decimal) or share <= 0:
            continue
        whole = _is_count(Unit, num_f)
        den = _scale(share, whole=whole)
        at = share * den
        step = Decimal(1) if whole else TENTH

        def field(name: str, value: Decimal) -> Decimal | int:
            return int(value) if _is_count(Unit, name) else value

        for amount, ok in ((at, True), (at - step, False)):
            if amount < 0:
                continue
            changes: dict[str, Any] = {num_f: field(num_f, amount), den_f: field(den_f, den)}
            probe = evolve(unit, **changes)
            f = _one(engine.adjudicate(probe, region=region, as_of=as_of), rule.id)
            if f is None or f.outcome in (Outcome.NOT_APPLICABLE,):
                break
            if ok and f.outcome is not Outcome.PASS:
                raise _fail(region, as_of, unit,
                            f"{rule.id}: {num_f} = {_n(amount)} is exactly {_n(share)} × {den_f} {_n(den)}, "
                            f"yet the outcome is {f.outcome.value}, not pass")
            if not ok and f.outcome is Outcome.PASS:
                raise _fail(region, as_of, unit,
                            f"{rule.id}: {num_f} = {_n(amount)} is one step below {_n(share)} × {den_f} "
                            f"{_n(den)} = {_n(at)}, yet the outcome is pass")


# -- projects --------------------------------------------------------------------------


def _project(engine: Engine, region: str, as_of: dt.date, project: Project) -> None:
    chain = engine.chain(region)
    base = evolve(project, cross_year=False)
    on = judgment_date(base, as_of)  # a project is held to the rules of the day it ended
    for rule, fam in engine.rules(region, on):
        cases: list[tuple[Project, bool, str]] = []
        try:
            if isinstance(fam, PracticeShareFamily):
                share = chain.param(f"{rule.params}.min_share", on).value
                total = Decimal(1000)
                if 0 < share <= 1:
                    at = share * total
                    p = evolve(base, total_course_hours=total, practice_hours=at)
                    cases = [(p, True, f"practice {_n(at)} of {_n(total)} h"),
                             (evolve(p, practice_hours=at - TENTH), False, f"practice {_n(at - TENTH)} of {_n(total)} h")]
            elif isinstance(fam, SurveySampleFamily):
                share = chain.param(f"{rule.params}.min_share", on).value
                target = _scale(share, whole=True)
                if 0 < share <= 1 and target < 10**6:
                    at = int(share * target)
                    p = evolve(base, target_size=int(target), survey_sample_size=at)
                    cases = [(p, True, f"sample {at} of {int(target)}"),
                             (evolve(p, survey_sample_size=at - 1), False, f"sample {at - 1} of {int(target)}")]
            elif isinstance(fam, DeadlineFamily):
                end_by = chain.param(f"{rule.params}.end_by", on).value
                if isinstance(end_by, dt.date) and end_by > dt.date.min:
                    late = end_by + dt.timedelta(days=1)
                    start = min(base.start_date, end_by)
                    cases = [(evolve(base, start_date=start, end_date=end_by), True, f"ends {end_by.isoformat()}"),
                             (evolve(base, start_date=start, end_date=late), False, f"ends {late.isoformat()}")]
            elif isinstance(fam, ExpenseStandardFamily):
                rates = chain.param(f"{rule.params}.per_person_day", on).value
                scope = next((s for s in LocationScope if s.value in rates), None)
                if scope is not None:
                    ceiling = rates[scope.value] * 10 * 2
                    p = evolve(base, mode=Mode.IN_PERSON, location_scope=scope, headcount_planned=10,
                               headcount_actual=None, days=Decimal(2), budget_cny=ceiling)
                    over = ceiling + Decimal("0.01")
                    cases = [(p, True, f"budget {_n(ceiling)} = the ceiling"),
                             (evolve(p, budget_cny=over), False, f"budget {_n(over)}, a fen over the ceiling")]
        except LookupError:
            continue
        for probe, ok, what in cases:
            f = _one(engine.adjudicate(probe, region=region, as_of=as_of), rule.id)
            if f is None or f.outcome is Outcome.NOT_APPLICABLE:
                break
            if ok and f.outcome is not Outcome.PASS:
                raise _fail(region, as_of, project,
                            f"{rule.id}: {what} is exactly at the limit, yet the outcome is {f.outcome.value}")
            if not ok and f.outcome is Outcome.PASS:
                raise _fail(region, as_of, project, f"{rule.id}: {what} is one step past the limit, yet it passes")
