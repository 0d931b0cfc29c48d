"""Person-level judgments: cycle totals, category mix, annual and trainer minimums, new teachers.

Judgments read the parameters in force on ``as_of``. A period whose last day
is on or before ``as_of`` is complete and judged; the period containing
``as_of`` is ``pending`` while its requirement is not yet met (a met
requirement passes early).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ..model import Finding, Outcome, ParameterUse, Person, Period, Reason, SubjectKind
from ..ruleset import RuleDef
from .base import Context, Judgement, Line, RuleFamily, category_zh, fmt, measure, unit_zh

__all__ = [
    "AnnualMinimumFamily",
    "CategoryMixFamily",
    "CycleTotalFamily",
    "NewTeacherFamily",
    "TrainerMinimumFamily",
]


def _period_text(p: Period) -> tuple[str, str]:
    return (f"{p.start.isoformat()}至{p.end.isoformat()}", f"{p.start.isoformat()}–{p.end.isoformat()}")


def _threshold_reason(
    label_zh: str, label_en: str, j: Judgement, unit: str, outcome: Outcome
) -> Reason:
    measured, required, per = fmt(j.measured), fmt(j.required), unit_zh(unit)
    op_zh, op_en = ("不少于", "at least") if j.at_least else ("不超过", "at most")
    zh = f"{label_zh}{measured}{per},要求{op_zh}{required}{per}"
    en = f"{label_en}: {measured} {unit}, {op_en} {required} required"
    if j.met:
        return Reason(zh + ",达标。", en + "; met.")
    gap = fmt(j.gap)
    if outcome is Outcome.PENDING:
        return Reason(f"{zh},尚差{gap}{per}(周期未结束)。", f"{en}; {gap} still to go (period not over).")
    word_zh, word_en = ("差", "short by") if j.at_least else ("超出", "over by")
    return Reason(f"{zh},{word_zh}{gap}{per}。", f"{en}; {word_en} {gap}.")


def _threshold_finding(family: str, rule: RuleDef, ctx: Context, measured: Decimal, check: Any, period: Period,
                       uses: tuple[ParameterUse, ...], unit: str) -> Finding:
    """A planned check ``(item, categories, required, label_zh, label_en)`` judged on ``measured``."""
    item, _, required, label, label_en = check
    j = Judgement(measured, required)
    outcome = j.outcome(ctx, rule, period)
    return ctx.finding(
        rule, family, outcome, _threshold_reason(label, label_en, j, unit, outcome),
        uses=uses, measured=j.measured, required=j.required, shortfall=j.gap,
        unit=unit, period=period, item=item,
    )


def _years(ctx: Context, rule: RuleDef) -> list[Period]:
    """Each year of the cycle containing as_of, up to and including the current one."""
    cycle = ctx.cycle()
    out = []
    for year in range(cycle.start.year, ctx.as_of.year + 1):
        p = Period(max(cycle.start, dt.date(year, 1, 1)), min(cycle.end, dt.date(year, 12, 31)))
        if p.end >= rule.since and (rule.until is None or p.start < rule.until):
            out.append(p)
    return out


class CategoryMixFamily(RuleFamily):
    """Minimums and maximums per credit category over the cycle (Guangxi G2).

    ``maximum`` (``{category = cap}``) is applied first, record by record in
    date order: what exceeds a cap is not counted (远程≦40). ``minimum`` keys
    are a category or a sum written ``"centralized+remote"``.
    """

    name = "category_mix"
    kinds = {"minimum": "table", "maximum": "table"}
    inputs = ("record: category, end_date", "credits or hours counted by earlier rules")
    subject = SubjectKind.PERSON
    stage = 40
    params = ("minimum", "maximum", "unit")
    choices = {"unit": ("hours", "credits")}
    shared = ("cycle.anchor", "cycle.years")
    description = "Per-category minimums and caps over the training cycle; excess over a cap is not counted."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        if not ctx.rule_applies(rule, ctx.as_of):
            return []
        cycle, uses, unit, caps, floors = self._plan(rule, ctx)
        lines = ctx.lines_in(cycle)
        findings: list[Finding] = []
        for category, cap in caps:
            findings.append(self._cap(rule, ctx, lines, category, cap, unit, cycle, uses))
        for floor in floors:
            measured = measure((ln for ln in lines if ln.category in floor[1]), unit)
            findings.append(_threshold_finding(self.name, rule, ctx, measured, floor, cycle, uses, unit))
        return findings

    def _plan(self, rule: RuleDef, ctx: Context) -> tuple[Period, tuple[ParameterUse, ...], str, list[Any], list[Any]]:
        """The cycle, the values in force, the caps, and the minimums with their labels."""

        def build() -> tuple[Period, tuple[ParameterUse, ...], str, list[Any], list[Any]]:
            cycle = ctx.cycle()
            unit_use = ctx.param(rule, "unit")
            maximum = ctx.param(rule, "maximum")
            minimum = ctx.param(rule, "minimum")
            uses = tuple(sorted([unit_use, maximum, minimum, *ctx.cycle_uses()], key=lambda u: u.name))
            pz, pe = _period_text(cycle)
            floors = [(k, k.split("+"), floor, f"{pz}周期{category_zh(k)}", f"Cycle {pe}, {k}")
                      for k, floor in sorted(minimum.value.items())]
            return cycle, uses, str(unit_use.value), sorted(maximum.value.items()), floors

        return self.planned(rule, ctx, build)

    def _cap(self, rule: RuleDef, ctx: Context, lines: list[Line], category: str, cap: Decimal,
             unit: str, cycle: Period, uses: Sequence[ParameterUse]) -> Finding:
        running = Decimal(0)
        raw = Decimal(0)
        trimmed: list[str] = []
        for ln in lines:
            if ln.category != category:
                continue
            value = (ln.credits or Decimal(0)) if unit == "credits" else ln.credited_hours
            raw += value
            allowed = max(Decimal(0), cap - running)
            if value > allowed:
                if unit == "credits":
                    ln.credits = allowed
                else:
                    ln.credited_hours = allowed
                ln.touch(rule.id)
                trimmed.append(ln.record.record_id)
                value = allowed
            running += value
        pz, pe = _period_text(cycle)
        if trimmed:
            reason = Reason(
                f"{pz}周期{category_zh(category)}共{fmt(raw)}{unit_zh(unit)},最多计{fmt(cap)}{unit_zh(unit)},超出部分不计。",
                f"Cycle {pe}: {fmt(raw)} {unit} of {category}; at most {fmt(cap)} count, the excess does not.",
            )
        else:
            reason = Reason(
                f"{pz}周期{category_zh(category)}{fmt(raw)}{unit_zh(unit)},未超过上限{fmt(cap)}{unit_zh(unit)}。",
                f"Cycle {pe}: {fmt(raw)} {unit} of {category}, within the cap of {fmt(cap)}.",
            )
        return ctx.finding(
            rule, self.name, Outcome.PASS, reason, uses=uses, measured=raw, required=cap,
            shortfall=Decimal(0), unit=unit, period=cycle, item=f"max:{category}", records=tuple(trimmed),
        )


class CycleTotalFamily(RuleFamily):
    """Hours or credits over the five-year cycle containing ``as_of`` (N3/N5, G1, Binyang NN5)."""

    name = "cycle_total"
    kinds = {"minimum": "number"}
    inputs = ("record: end_date, hours", "credits counted by credit_conversion (unit = credits)")
    subject = SubjectKind.PERSON
    stage = 100
    params = ("minimum", "unit")
    choices = {"unit": ("hours", "credits")}
    shared = ("cycle.anchor", "cycle.years")
    description = "Total hours or credits within the training cycle containing as_of."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        cycle = ctx.cycle()
        minimum = ctx.param(rule, "minimum")
        unit = ctx.param(rule, "unit")
        j = Judgement(measure(ctx.lines_in(cycle), str(unit.value)), minimum.value)
        outcome = j.outcome(ctx, rule, cycle)
        pz, pe = _period_text(cycle)
        return [ctx.finding(
            rule, self.name, outcome,
            _threshold_reason(f"{pz}周期累计", f"Cycle {pe} total", j, str(unit.value), outcome),
            uses=[minimum, unit, *ctx.cycle_uses()], measured=j.measured, required=j.required,
            shortfall=j.gap, unit=str(unit.value), period=cycle,
        )]


class AnnualMinimumFamily(RuleFamily):
    """A yearly floor, with optional per-category floors (Guangxi G3: ≥16 credits, 校本 ≥10)."""

    name = "annual_minimum"
    kinds = {"minimum": "number", "category_minimum": "table"}
    inputs = ("record: category, end_date, hours", "credits counted by credit_conversion (unit = credits)")
    subject = SubjectKind.PERSON
    stage = 100
    params = ("minimum", "unit", "category_minimum")
    choices = {"unit": ("hours", "credits")}
    shared = ("cycle.anchor", "cycle.years")
    description = "Each year of the cycle: a minimum total, and minimums per category."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        findings = []
        for year, uses, unit, checks in self._plan(rule, ctx):
            lines = ctx.lines_in(year)
            for check in checks:
                cats = check[1]
                chosen = lines if cats is None else [ln for ln in lines if ln.category in cats]
                measured = measure(chosen, unit)
                findings.append(_threshold_finding(self.name, rule, ctx, measured, check, year, uses, unit))
        return findings

    def _plan(self, rule: RuleDef, ctx: Context) -> list[tuple[Period, tuple[ParameterUse, ...], str, list[Any]]]:
        """Per year: the period, the values in force for it, and each check with its labels."""

        def build() -> list[tuple[Period, tuple[ParameterUse, ...], str, list[Any]]]:
            plan = []
            for year in _years(ctx, rule):
                # A finished year is judged by the values in force for it, so a later
                # change of policy never rewrites an earlier year's verdict.
                on = min(year.end, ctx.as_of)
                minimum = ctx.param(rule, "minimum", on)
                unit_use = ctx.param(rule, "unit", on)
                per_cat = ctx.param(rule, "category_minimum", on)
                uses = tuple(sorted([minimum, unit_use, per_cat, *ctx.cycle_uses()], key=lambda u: u.name))
                checks: list[Any] = [("total", None, minimum.value, f"{year.start.year}年度",
                                      f"Year {year.start.year}")]
                for item, floor in sorted(per_cat.value.items()):
                    checks.append((item, item.split("+"), floor, f"{year.start.year}年度{category_zh(item)}",
                                   f"Year {year.start.year} {item}"))
                plan.append((year, uses, str(unit_use.value), checks))
            return plan

        return self.planned(rule, ctx, build)


class TrainerMinimumFamily(RuleFamily):
    """Full-time trainers study at least N hours a year (Lanzhou L2: 专职培训者每年研修不少于100学时)."""

    name = "trainer_minimum"
    kinds = {"roles": "roles", "minimum": "number", "excluded_categories": "categories"}
    inputs = ("person: role", "record: category, end_date, hours")
    subject = SubjectKind.PERSON
    stage = 100
    params = ("roles", "minimum", "excluded_categories")
    shared = ("cycle.anchor", "cycle.years")
    description = "Trainers' yearly study hours, for the listed roles; delivering training is not study."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        roles = ctx.param(rule, "roles")
        person = ctx.subject
        assert isinstance(person, Person)
        if person.role.value not in roles.value:
            return [ctx.finding(
                rule, self.name, Outcome.NOT_APPLICABLE,
                Reason(f"角色{person.role.value}不适用本规则。", f"Role {person.role.value} is not covered."),
                uses=[roles],
            )]
        findings = []
        for year in _years(ctx, rule):
            on = min(year.end, ctx.as_of)  # a finished year keeps the values in force for it
            minimum = ctx.param(rule, "minimum", on)
            excluded = ctx.param(rule, "excluded_categories", on)
            uses = [roles, minimum, excluded, *ctx.cycle_uses()]
            lines = [ln for ln in ctx.lines_in(year) if ln.category not in excluded.value]
            j = Judgement(measure(lines, "hours"), minimum.value)
            outcome = j.outcome(ctx, rule, year)
            findings.append(ctx.finding(
                rule, self.name, outcome,
                _threshold_reason(f"{year.start.year}年度研修", f"Year {year.start.year} study", j, "hours", outcome),
                uses=uses, measured=j.measured, required=j.required, shortfall=j.gap, unit="hours", period=year,
            ))
        return findings


class NewTeacherFamily(RuleFamily):
    """New teachers train at least N hours during probation (N2: 试用期内…不少于120学时)."""

    name = "new_teacher"
    kinds = {"roles": "roles", "minimum": "number"}
    inputs = ("person: role, probation_start, probation_end", "record: end_date, hours")
    subject = SubjectKind.PERSON
    stage = 100
    params = ("roles", "minimum")
    description = "Hours of training within the probation period, for new teachers."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        roles = ctx.param(rule, "roles")
        minimum = ctx.param(rule, "minimum")
        person = ctx.subject
        assert isinstance(person, Person)
        if person.role.value not in roles.value:
            return [ctx.finding(
                rule, self.name, Outcome.NOT_APPLICABLE,
                Reason(f"角色{person.role.value}不适用本规则。", f"Role {person.role.value} is not covered."),
                uses=[roles],
            )]
        if person.probation_start is None or person.probation_end is None:
            return [ctx.finding(
                rule, self.name, ctx.failed(rule),
                Reason("缺少试用期起止日期,无法判定。",
                       "Cannot be judged: probation_start and probation_end are missing."),
                uses=[roles, minimum],
            )]
        period = Period(person.probation_start, person.probation_end)
        j = Judgement(measure(ctx.lines_in(period), "hours"), minimum.value)
        outcome = j.outcome(ctx, rule, period)
        pz, pe = _period_text(period)
        return [ctx.finding(
            rule, self.name, outcome,
            _threshold_reason(f"试用期{pz}培训", f"Probation {pe} training", j, "hours", outcome),
            uses=[roles, minimum], measured=j.measured, required=j.required, shortfall=j.gap,
            unit="hours", period=period,
        )]

