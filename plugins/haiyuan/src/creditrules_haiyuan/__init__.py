"""Haiyuan (海原县, Ningxia): the ruleset of the county's 2012 国培 report and two county families.

The seed is a report, not a regulation: it describes how the county ran the
2012 国培 and what went wrong. Two of its statements are checkable on
training records and become plugin-defined families:

* ``repeat_selection`` (H6, H8): a teacher selected again for the same kind of
  training after two or more consecutive earlier years of it (重复培训);
* ``sanctions`` (H3, H4): the HR consequences of failing or not completing a
  training, reported as flags (``annual_appraisal_deduction``,
  ``excluded_from_awards_promotion``, ``performance_pay_withheld``).

Neither family changes what a record is credited: they only report. Registered
through the ``creditrules`` entry point in this package's ``pyproject.toml``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from importlib import resources
from typing import Any

from creditrules import (
    Context,
    Finding,
    Line,
    Outcome,
    Period,
    Reason,
    RuleDef,
    RuleFamily,
    RulesetDoc,
    hookimpl,
    load_ruleset,
)
from creditrules.model import ParameterUse, SubjectKind

__all__ = ["FLAGS", "RepeatSelectionFamily", "SanctionsFamily"]

#: Fields a repeated selection may be matched on.
MATCH_FIELDS = ("level", "category", "subcategory", "topic", "mode")
LEVELS = ("national", "provincial", "municipal", "county", "school")

#: The HR consequences the seed names, keyed by the flag creditrules reports.
FLAGS: dict[str, tuple[str, str]] = {
    "annual_appraisal_deduction": ("在学校年度考核中扣除相应的分数", "points deducted in the school's annual appraisal"),
    "excluded_from_awards_promotion": ("年终选先评优或晋级时不予考虑", "not considered for year-end awards or promotion"),
    "performance_pay_withheld": ("不兑现绩效工资", "performance pay withheld"),
}


def _year(y: int) -> Period:
    return Period(dt.date(y, 1, 1), dt.date(y, 12, 31))


def _fmt(value: Decimal) -> str:
    d = value.normalize()
    return str(d.quantize(Decimal(1))) if d == d.to_integral_value() else format(d, "f")


class _Uses:
    def __init__(self) -> None:
        self._seen: dict[tuple[str, dt.date, str], ParameterUse] = {}

    def add(self, *uses: ParameterUse) -> None:
        for u in uses:
            self._seen.setdefault((u.name, u.since, u.layer), u)

    def all(self) -> list[ParameterUse]:
        return [self._seen[k] for k in sorted(self._seen)]


def _field(ln: Line, name: str) -> str | None:
    """A record's value of a match field; ``category`` is the category the record counts in."""
    if name == "category":
        return ln.category.value
    value = getattr(ln.record, name)
    return None if value is None else str(getattr(value, "value", value))


class RepeatSelectionFamily(RuleFamily):
    """重复培训 (H6): a teacher selected again for the same kind of training after
    ``min_consecutive_years`` consecutive earlier years of it warns.

    A record is a *selection* if its level is in ``levels``. The year of a
    selection is its ``start_date`` year (when the teacher was selected). It
    repeats when the immediately preceding years — Y-1, Y-2, … — each hold a
    record that matches it on every ``match_on`` field the new record has a
    value for (a field the new record leaves empty is not compared). Records
    another rule credited nothing still count as having taken part.
    """

    name = "repeat_selection"
    inputs = ("record: level, category, subcategory, topic, start_date",)
    subject = SubjectKind.PERSON
    stage = 100
    params = ("min_consecutive_years", "match_on", "levels")
    description = "A teacher re-selected for the same kind of training after consecutive earlier years warns."

    def check_value(self, rule: RuleDef, name: str, value: Any) -> str | None:
        if name == "min_consecutive_years" and not (
            isinstance(value, Decimal) and value >= 1 and value == value.to_integral_value()
        ):
            return "must be a whole number ≥ 1"
        words = {"match_on": MATCH_FIELDS, "levels": LEVELS}.get(name)
        if words is not None and (not isinstance(value, tuple) or not value or any(v not in words for v in value)):
            return f"must be a non-empty list of {', '.join(words)}"
        return super().check_value(rule, name, value)

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        uses = _Uses()
        findings: list[Finding] = []
        judged = 0
        ordered = sorted(ctx.lines, key=lambda x: (x.record.start_date, x.end, x.record.record_id))
        for cur in ordered:
            if cur.excluded or not ctx.rule_applies(rule, cur.end):
                continue
            levels = ctx.param(rule, "levels", cur.end)
            match_on = ctx.param(rule, "match_on", cur.end)
            need = ctx.param(rule, "min_consecutive_years", cur.end)
            uses.add(levels, match_on, need)
            if cur.record.level.value not in levels.value:
                continue
            judged += 1
            year = cur.record.start_date.year
            fields = [f for f in match_on.value if _field(cur, f) is not None]
            earlier: dict[int, list[Line]] = {}
            for other in ordered:
                oy = other.record.start_date.year
                if other is cur or oy >= year:
                    continue
                if all(_field(other, f) == _field(cur, f) for f in fields):
                    earlier.setdefault(oy, []).append(other)
            run = 0
            while year - 1 - run in earlier:
                run += 1
            if run < int(need.value):
                continue
            years = list(range(year - run, year))
            prior = [ln for y in years for ln in earlier[y]]
            what = "/".join(f"{f}={_field(cur, f)}" for f in fields)
            years_zh = "、".join(f"{y}年" for y in years)
            years_en = ", ".join(str(y) for y in years)
            rid = cur.record.record_id
            findings.append(ctx.finding(
                rule, self.name, ctx.failed(rule),
                Reason(
                    f"{rid}:{year}年再次入选同类培训({what}),此前已连续{run}年({years_zh})参加,属重复培训"
                    f"(此前记录:{'、'.join(ln.record.record_id for ln in prior)})。",
                    f"{rid}: selected again in {year} for the same kind of training ({what}) after {run} consecutive "
                    f"earlier years ({years_en}) of it: repeat training "
                    f"(earlier records: {', '.join(ln.record.record_id for ln in prior)}).",
                ),
                uses=uses.all(), measured=Decimal(run), required=need.value, unit="years",
                period=_year(year), item=rid, records=(rid, *(ln.record.record_id for ln in prior)),
            ))
        if findings:
            return findings
        if not judged:
            return [ctx.finding(rule, self.name, Outcome.NOT_APPLICABLE,
                                Reason("无需判定的遴选记录。", "No selection record to judge."), uses=uses.all())]
        return [ctx.finding(rule, self.name, Outcome.PASS,
                            Reason("无连续多年重复入选同类培训的情况。",
                                   "No re-selection after consecutive years of the same training."),
                            uses=uses.all())]


class SanctionsFamily(RuleFamily):
    """The consequences of failing or not completing a training (H3, H4), as flags.

    Per calendar year (of each record's end date):

    * a record with ``passed = false`` (不合格) flags ``annual_appraisal_deduction``;
    * a record *not completed* (不能完成培训任务) flags ``excluded_from_awards_promotion``
      and ``performance_pay_withheld``. A record is not completed when its hours
      are 0 (registered, never studied) or ``absent_hours / hours`` reaches
      ``incomplete_absent_share``; also when ``passed = false`` if
      ``failed_counts_as_not_completed``, and when ``passed`` is empty if
      ``missing_result_counts_as_not_completed``.

    The flags are cumulative: a record both failed and not completed raises all three.
    One finding per (year, flag), with the flag as ``item``; none changes any credit.
    """

    name = "sanctions"
    inputs = ("record: passed, hours, absent_hours, end_date",)
    subject = SubjectKind.PERSON
    stage = 100
    params = ("failed_counts_as_not_completed", "missing_result_counts_as_not_completed", "incomplete_absent_share")
    description = "Failed or not-completed trainings flag the HR consequences the county attached to them."

    def check_value(self, rule: RuleDef, name: str, value: Any) -> str | None:
        flags = ("failed_counts_as_not_completed", "missing_result_counts_as_not_completed")
        if name in flags and not isinstance(value, bool):
            return "must be true or false"
        if name == "incomplete_absent_share" and not (isinstance(value, Decimal) and 0 < value <= 1):
            return "must be a share in (0, 1], e.g. 1 for 'absent throughout'"
        return super().check_value(rule, name, value)

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        uses = _Uses()
        # (year, flag) -> [(record id, why zh, why en)]
        hits: dict[tuple[int, str], list[tuple[str, str, str]]] = {}
        judged = 0
        for ln in sorted(ctx.lines, key=lambda x: (x.end, x.record.start_date, x.record.record_id)):
            if not ctx.rule_applies(rule, ln.end):
                continue
            failed_nc = ctx.param(rule, "failed_counts_as_not_completed", ln.end)
            missing_nc = ctx.param(rule, "missing_result_counts_as_not_completed", ln.end)
            share = ctx.param(rule, "incomplete_absent_share", ln.end)
            uses.add(failed_nc, missing_nc, share)
            judged += 1
            r = ln.record
            year = ln.end.year
            if r.passed is False:
                hits.setdefault((year, "annual_appraisal_deduction"), []).append(
                    (r.record_id, "考核不合格", "assessment failed"))
            why = self._not_completed(r.hours, r.absent_hours, r.passed, share.value,
                                      bool(failed_nc.value), bool(missing_nc.value))
            if why is not None:
                for flag in ("excluded_from_awards_promotion", "performance_pay_withheld"):
                    hits.setdefault((year, flag), []).append((r.record_id, *why))
        if not judged:
            return [ctx.finding(rule, self.name, Outcome.NOT_APPLICABLE,
                                Reason("无需判定的培训记录。", "No training record to judge."), uses=uses.all())]
        if not hits:
            return [ctx.finding(rule, self.name, Outcome.PASS,
                                Reason("无不合格或未完成的培训。", "No failed or uncompleted training."),
                                uses=uses.all())]
        findings = []
        for (year, flag), items in sorted(hits.items()):
            zh_flag, en_flag = FLAGS[flag]
            detail_zh = "、".join(f"{rid}({why})" for rid, why, _ in items)
            detail_en = ", ".join(f"{rid} ({why})" for rid, _, why in items)
            if flag == "annual_appraisal_deduction":
                zh = f"{year}年度教师培训不合格:{detail_zh};{zh_flag}[{flag}]。"
                en = f"Year {year}, training failed: {detail_en}; {en_flag} [{flag}]."
            else:
                zh = f"{year}年度不参加培训或不能完成培训任务:{detail_zh};{zh_flag}[{flag}]。"
                en = f"Year {year}, training not attended or not completed: {detail_en}; {en_flag} [{flag}]."
            findings.append(ctx.finding(
                rule, self.name, ctx.failed(rule), Reason(zh, en), uses=uses.all(),
                measured=Decimal(len(items)), unit="count", period=_year(year), item=flag,
                records=tuple(rid for rid, _, _ in items),
            ))
        return findings

    @staticmethod
    def _not_completed(
        hours: Decimal,
        absent: Decimal | None,
        passed: bool | None,
        share: Decimal,
        failed_counts: bool,
        missing_counts: bool,
    ) -> tuple[str, str] | None:
        """Why a record counts as not completed, (zh, en), or ``None``."""
        if hours == 0:
            return ("登记学时为0", "0 hours registered")
        if absent is not None and absent / hours >= share:
            return (f"缺课{_fmt(absent)}/{_fmt(hours)}学时", f"absent {_fmt(absent)} of {_fmt(hours)} h")
        if failed_counts and passed is False:
            return ("考核不合格,按未完成论", "failed, counted as not completed")
        if missing_counts and passed is None:
            return ("无考核结果", "no assessment result registered")
        return None


@hookimpl
def creditrules_rulesets() -> Sequence[RulesetDoc]:
    path = resources.files(__name__).joinpath("haiyuan.toml")
    with resources.as_file(path) as p:
        return [load_ruleset(p, origin="creditrules_haiyuan/haiyuan.toml")]


@hookimpl
def creditrules_families() -> Sequence[RuleFamily]:
    return [RepeatSelectionFamily(), SanctionsFamily()]
