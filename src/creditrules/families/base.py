"""What a rule family is, and the context it judges in.

A *family* is code (``cycle_total``, ``category_mix`` …); a *rule* is a family
bound, in a ruleset file, to parameters and a citation. One family serves many
rules: Binyang's 360 hours and Guangxi's 120 credits are both ``cycle_total``.

Families run in stages (:attr:`RuleFamily.stage`), then by rule id:

* below 100, *record stages*: they adjust :class:`Line` objects (reclassify,
  exclude, convert to credits, cap) using the rule and parameters in force on
  each record's end date;
* from 100 on, *judgments*: they read the lines and return findings, using the
  rule and parameters in force on ``as_of``.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from attrs import define, field

from ..canonical import dec
from ..chain import RulesetChain
from ..model import (
    Category,
    Finding,
    Outcome,
    ParameterUse,
    Period,
    Reason,
    Subject,
    SubjectKind,
    TrainingRecord,
)
from ..ruleset import RuleDef

__all__ = ["Context", "Line", "RuleFamily", "fmt", "Judgement"]

RECORD_STAGE_END = 100

T = TypeVar("T")
U = TypeVar("U")


class RuleFamily:
    """Base class of rule-family implementations.

    Subclasses set the class attributes and implement :meth:`evaluate`.
    ``params`` are read relative to the rule's parameter prefix
    (``<prefix>.<name>``); ``shared`` are absolute names many rules share
    (``cycle.years``). ``optional`` params may be absent from a chain. The
    engine refuses, at load, a rule whose chain lacks a required parameter.
    """

    name: ClassVar[str]
    subject: ClassVar[SubjectKind]
    stage: ClassVar[int]
    params: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()
    shared: ClassVar[tuple[str, ...]] = ()
    #: The input fields the family reads, for the generated region reference.
    inputs: ClassVar[tuple[str, ...]] = ()
    #: Parameters whose every value must be one of a few words, checked at load.
    choices: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: The shape each parameter's values must have (see :data:`KINDS`), checked at load,
    #: so a value written as text where a number belongs is refused with its key path.
    kinds: ClassVar[dict[str, str]] = {}
    description: ClassVar[str] = ""

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        raise NotImplementedError

    def check_value(self, rule: RuleDef, name: str, value: Any) -> str | None:
        """Why ``value`` of parameter ``name`` (relative) is unusable, or ``None`` if it is fine.

        Called at load for every dated value, so a bad value is refused with the
        file and key path before any decision is made. Override to check more.
        """
        allowed = self.choices.get(name)
        if allowed is not None and value not in allowed:
            return f"must be one of {', '.join(allowed)}, got {value!r}"
        kind = self.kinds.get(name) or SHARED_KINDS.get(name)
        return check_kind(kind, value) if kind else None

    def required_parameters(self, rule: RuleDef) -> tuple[str, ...]:
        return tuple(f"{rule.params}.{p}" for p in self.params) + self.shared

    def planned(self, rule: RuleDef, ctx: Context, build: Callable[[], T]) -> T:
        """``build()``, made once per (chain, rule, as_of, known_at) and kept.

        For what a judgment needs that does not depend on the person (values in
        force, their sorted uses, periods, labels), so a batch makes it once.
        """
        plans: dict[tuple[Any, ...], Any] = self.__dict__.setdefault("_plans", {})
        key = (ctx.chain.hash, rule.id, ctx.as_of, ctx.known_at)
        plan = plans.get(key)
        if plan is None:
            plan = build()
            if len(plans) > 1024:
                plans.clear()
            plans[key] = plan
        return plan


@define(slots=True)
class Line:
    """Working state of one record while record-level rules run (engine-internal)."""

    record: TrainingRecord
    category: Category
    credited_hours: Decimal
    credits: Decimal | None = None
    rules: list[str] = field(factory=list)
    excluded: bool = False
    content: tuple[tuple[int, str], ...] | None = None  # the record's content sort key, made once
    #: The record's end date, read by every rule for every line: a slot, not a property.
    end: dt.date = field(init=False)

    def __attrs_post_init__(self) -> None:
        self.end = self.record.end_date

    def exclude(self, rule_id: str) -> None:
        self.excluded = True
        self.credited_hours = Decimal(0)
        if self.credits is not None:
            self.credits = Decimal(0)
        self.touch(rule_id)

    def touch(self, rule_id: str) -> None:
        if rule_id not in self.rules:
            self.rules.append(rule_id)


#: Cycles by (chain hash, as_of, known_at): the same for every person of a batch.
_CYCLES: dict[tuple[str, dt.date, dt.date | None], Period] = {}


class Context:
    """Everything a family may read while judging one subject."""

    def __init__(
        self,
        subject: Subject,
        lines: list[Line],
        *,
        region: str,
        as_of: dt.date,
        chain: RulesetChain,
        known_at: dt.date | None,
    ) -> None:
        self.subject = subject
        self.lines = lines
        self.region = region
        self.as_of = as_of
        self.chain = chain
        self.known_at = known_at
        self.on = judgment_date(subject, as_of)
        # The engine hands lines over sorted by end date, so a period's lines are
        # one slice; a context built by hand with unsorted lines is scanned.
        ends = [ln.end for ln in lines]
        self._ends = ends if all(a <= b for a, b in zip(ends, ends[1:])) else None
        self._bundles: dict[tuple[str, tuple[str, ...], int], tuple[bool, tuple[ParameterUse | None, ...]]] = {}
        self._changes: dict[tuple[str, tuple[str, ...]], tuple[dt.date, ...]] = {}

    # -- parameters ---------------------------------------------------------------

    def param(self, rule: RuleDef, name: str, on: dt.date | None = None) -> ParameterUse:
        return self.chain.param(f"{rule.params}.{name}", on or self.on, self.known_at)

    def optional_param(self, rule: RuleDef, name: str, on: dt.date | None = None) -> ParameterUse | None:
        full = f"{rule.params}.{name}"
        if full not in self.chain.parameter_names():
            return None
        try:
            return self.chain.param(full, on or self.on, self.known_at)
        except LookupError:
            return None

    def params_on(
        self, rule: RuleDef, names: tuple[str, ...], on: dt.date, optional: tuple[str, ...] = ()
    ) -> tuple[bool, tuple[ParameterUse | None, ...], bool]:
        """(rule in force on ``on``, the values of ``names`` then, first time this span is seen).

        For loops over records: the values are looked up once per span between
        change dates (:meth:`RulesetChain.change_dates`), not once per record.
        A name in ``optional`` gives ``None`` where absent, as :meth:`optional_param`
        does; a required one raises as :meth:`param` does, on the first record that
        needs it. The third item tells a caller when to record the uses.
        """
        changes = self._changes.get((rule.id, names))
        if changes is None:
            full = tuple(f"{rule.params}.{name}" for name in names)
            changes = self._changes[rule.id, names] = self.chain.change_dates(full, self.known_at)
        key = (rule.id, names, bisect.bisect_right(changes, on))
        hit = self._bundles.get(key)
        if hit is not None:
            return hit[0], hit[1], False
        applies = self.rule_applies(rule, on)
        uses = tuple(
            (self.optional_param(rule, name, on) if name in optional else self.param(rule, name, on))
            if applies else None
            for name in names
        )
        self._bundles[key] = (applies, uses)
        return applies, uses, True

    def shared(self, name: str, on: dt.date | None = None) -> ParameterUse:
        return self.chain.param(name, on or self.as_of, self.known_at)

    def rule_applies(self, rule: RuleDef, on: dt.date) -> bool:
        """Is ``rule`` in force on ``on`` (not before ``since``, not after ``until`` or a disable)?"""
        return rule.id in self.chain.rule_ids_in_force(on)

    # -- periods ------------------------------------------------------------------

    def cycle(self) -> Period:
        """The training cycle containing ``as_of`` (``cycle.anchor`` + k × ``cycle.years``)."""
        key = (self.chain.hash, self.as_of, self.known_at)
        hit = _CYCLES.get(key)
        if hit is None:
            if len(_CYCLES) > 4096:
                _CYCLES.clear()
            hit = _CYCLES[key] = self._cycle()
        return hit

    def _cycle(self) -> Period:
        anchor: dt.date = self.shared("cycle.anchor").value
        years = int(self.shared("cycle.years").value)
        k = (self.as_of.year - anchor.year) // years
        start = _add_years(anchor, k * years)
        if start > self.as_of:
            start = _add_years(start, -years)
        end = _add_years(start, years) - dt.timedelta(days=1)
        return Period(start, end)

    def cycle_uses(self) -> list[ParameterUse]:
        return [self.shared("cycle.anchor"), self.shared("cycle.years")]

    def lines_in(self, period: Period, *, counted_only: bool = True) -> list[Line]:
        if self._ends is None:
            chosen: Iterable[Line] = (ln for ln in self.lines if period.start <= ln.end <= period.end)
        else:
            lo = bisect.bisect_left(self._ends, period.start)
            chosen = self.lines[lo:bisect.bisect_right(self._ends, period.end, lo)]
        return [ln for ln in chosen if not (counted_only and ln.excluded)]

    # -- findings -----------------------------------------------------------------

    def finding(
        self,
        rule: RuleDef,
        family: str,
        outcome: Outcome,
        reason: Reason,
        *,
        uses: Sequence[ParameterUse] = (),
        **kw: Any,
    ) -> Finding:
        return Finding(
            rule=rule.id,
            family=family,
            outcome=outcome,
            reason=reason,
            citation=rule.citation,
            parameters=tuple(sorted(uses, key=lambda u: u.name)),
            **kw,
        )

    def failed(self, rule: RuleDef) -> Outcome:
        """The outcome a rule's unmet requirement has: its severity."""
        return Outcome.FAIL if rule.severity == "fail" else Outcome.WARN


@define
class Judgement:
    """A measured value against a threshold, with the pending/pass/fail logic in one place."""

    measured: Decimal
    required: Decimal
    at_least: bool = True  # ≥ (不低于/不少于); False means ≤ (不超过/不高于)

    @property
    def met(self) -> bool:
        return self.measured >= self.required if self.at_least else self.measured <= self.required

    @property
    def gap(self) -> Decimal:
        return max(Decimal(0), self.required - self.measured if self.at_least else self.measured - self.required)

    def outcome(self, ctx: Context, rule: RuleDef, period: Period | None = None) -> Outcome:
        if self.met:
            return Outcome.PASS
        if period is not None and period.end > ctx.as_of and self.at_least:
            return Outcome.PENDING
        return ctx.failed(rule)


def _words(vocabulary: type[Any]) -> Callable[[Any], str | None]:
    names = {m.value for m in vocabulary}

    def check(value: Any) -> str | None:
        if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
            return f"must be a list of words from: {', '.join(sorted(names))}"
        unknown = sorted(set(value) - names)
        return f"unknown {unknown[0]!r} (known: {', '.join(sorted(names))})" if unknown else None

    return check


def _number(value: Any) -> str | None:
    return None if isinstance(value, Decimal) and value.is_finite() else f"must be a number, got {value!r}"


def _positive(value: Any) -> str | None:
    return _number(value) or (None if value > 0 else f"must be > 0, got {value}")


def _share(value: Any) -> str | None:
    return _number(value) or (None if 0 <= value <= 1 else f"must be a share between 0 and 1, got {value}")


def _table(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(v, Decimal) and v.is_finite() for v in value.values()):
        return f"must be a table of name = number, got {value!r}"
    return None


def _of(kind: type, label: str) -> Callable[[Any], str | None]:
    return lambda value: None if isinstance(value, kind) else f"must be {label}, got {value!r}"


def _category(value: Any) -> str | None:
    names = {c.value for c in Category}
    return None if value in names else f"must be one of {', '.join(sorted(names))}, got {value!r}"


#: The value shapes a family may ask for in :attr:`RuleFamily.kinds`.
KINDS: dict[str, Callable[[Any], str | None]] = {
    "number": _number,
    "positive": _positive,
    "share": _share,
    "table": _table,
    "bool": _of(bool, "true or false"),
    "date": _of(dt.date, "a date like 2016-01-01"),
    "word": _of(str, "a word in quotes"),
    "category": _category,
}


def _late_kinds() -> None:
    from ..model import Mode, Role

    KINDS.update(categories=_words(Category), roles=_words(Role), modes=_words(Mode))


_late_kinds()

#: Shapes of the parameters many rules share.
SHARED_KINDS = {"cycle.anchor": "date", "cycle.years": "positive"}


def check_kind(kind: str, value: Any) -> str | None:
    """Why ``value`` does not have the shape ``kind``, or ``None``."""
    return KINDS[kind](value)


def judgment_date(subject: Subject, as_of: dt.date) -> dt.date:
    """The date whose rules judge ``subject``: ``as_of`` for a person; for a project
    the day it ended, for a unit the last day of its budget year — never after
    ``as_of``. A project run in 2018 is held to 2018's rules, even when judged later."""
    from ..model import Project, Unit  # local: base is imported by the model's users

    if isinstance(subject, Project):
        return min(subject.end_date, as_of)
    if isinstance(subject, Unit) and subject.year >= 1:
        return min(dt.date(subject.year, 12, 31), as_of)
    return as_of


def sorted_with_ties(items: Iterable[U], primary: Callable[[U], Any], tiebreak: Callable[[U], Any]) -> list[U]:
    """``items`` sorted by ``(primary, tiebreak)``, with ``tiebreak`` made only for items that tie.

    The tie-break keys (a record's whole content) are costly and rarely needed.
    """
    out = sorted(items, key=primary)
    keys = [primary(x) for x in out]
    i, n = 0, len(out)
    while i < n:
        j = i + 1
        while j < n and keys[j] == keys[i]:
            j += 1
        if j - i > 1:
            out[i:j] = sorted(out[i:j], key=tiebreak)
        i = j
    return out


def fmt(value: Decimal | int | None) -> str:
    """A decimal as people write it: no exponent, no trailing zeros."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    return dec(value)


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def sum_hours(lines: Iterable[Line]) -> Decimal:
    return sum((ln.credited_hours for ln in lines), Decimal(0))


def sum_credits(lines: Iterable[Line]) -> Decimal:
    return sum((ln.credits or Decimal(0) for ln in lines), Decimal(0))


def measure(lines: Iterable[Line], unit: str) -> Decimal:
    return sum_credits(lines) if unit == "credits" else sum_hours(lines)


#: How a category reads in a Chinese reason (学分类别 as the regulations name them).
CATEGORY_ZH = {
    "centralized": "集中培训",
    "remote": "远程培训",
    "school_based": "校本研修",
    "degree": "学历提升",
    "research": "教育科研",
    "trainer_duty": "承担培训任务",
    "public_subject": "公需科目",
    "secondary_training": "二级培训",
}


def category_zh(key: str) -> str:
    """``"centralized+remote"`` → ``"集中培训+远程培训"``; unknown words stay as they are."""
    return "+".join(CATEGORY_ZH.get(part, part) for part in key.split("+"))


UNIT_ZH = {"hours": "学时", "credits": "学分", "cny": "元", "share": "", "count": "", "days": "天"}


def unit_zh(unit: str) -> str:
    return UNIT_ZH.get(unit, unit)

