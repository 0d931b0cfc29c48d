"""Project-level judgments: a training programme's expense, practice share, deadline, provider, survey.

A missing input a rule needs is never read as a pass: the finding takes the
rule's severity and says which field is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ..model import Finding, Mode, Outcome, ParameterUse, Project, Reason, SubjectKind
from ..ruleset import RuleDef
from .base import Context, Judgement, RuleFamily, fmt

__all__ = [
    "DeadlineFamily",
    "ExpenseStandardFamily",
    "PracticeShareFamily",
    "ProviderLicenceFamily",
    "SurveySampleFamily",
    "missing_input",
]


def _project(ctx: Context) -> Project:
    assert isinstance(ctx.subject, Project)
    return ctx.subject


def missing_input(ctx: Context, rule: RuleDef, family: str, *fields: str) -> Finding:
    names = ", ".join(fields)
    return ctx.finding(
        rule, family, ctx.failed(rule),
        Reason(f"缺少{names},无法判定。", f"Cannot be judged: {names} missing."),
    )


def _share_reason(label_zh: str, label_en: str, j: Judgement, num: str, den: str) -> Reason:
    pct = fmt((j.measured * 100).quantize(Decimal("0.01")))
    req = fmt(j.required * 100)
    verdict_zh = "达标" if j.met else "未达到"
    verdict_en = "met" if j.met else "not met"
    return Reason(
        f"{label_zh}{num}/{den} = {pct}%,要求不低于{req}%,{verdict_zh}。",
        f"{label_en}: {num}/{den} = {pct}%, at least {req}% required; {verdict_en}.",
    )


class PracticeShareFamily(RuleFamily):
    """Practice courses make up at least a share of a programme (Lanzhou L3: 一般不低于总课程的30%)."""

    name = "practice_share"
    kinds = {"min_share": "share"}
    inputs = ("project: practice_hours, total_course_hours (else hours), end_date",)
    subject = SubjectKind.PROJECT
    stage = 100
    params = ("min_share",)
    description = "practice_hours / total_course_hours (or hours) ≥ min_share."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        p = _project(ctx)
        share = ctx.param(rule, "min_share")
        total = p.total_course_hours if p.total_course_hours is not None else p.hours
        if p.practice_hours is None or not total:
            return [missing_input(ctx, rule, self.name, "practice_hours" if p.practice_hours is None else "hours")]
        j = Judgement(p.practice_hours / total, share.value)
        return [ctx.finding(
            rule, self.name, j.outcome(ctx, rule),
            _share_reason("实践课程占比", "Practice share", j, fmt(p.practice_hours), fmt(total)),
            uses=[share], measured=j.measured, required=j.required, shortfall=j.gap, unit="share",
        )]


class SurveySampleFamily(RuleFamily):
    """A needs survey samples at least a share of the target trainees (Lanzhou L1)."""

    name = "survey_sample"
    kinds = {"min_share": "share"}
    inputs = ("project: survey_sample_size, target_size, end_date",)
    subject = SubjectKind.PROJECT
    stage = 100
    params = ("min_share",)
    description = "survey_sample_size / target_size ≥ min_share."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        p = _project(ctx)
        share = ctx.param(rule, "min_share")
        if p.survey_sample_size is None or not p.target_size:
            return [missing_input(ctx, rule, self.name, "survey_sample_size, target_size")]
        j = Judgement(Decimal(p.survey_sample_size) / Decimal(p.target_size), share.value)
        return [ctx.finding(
            rule, self.name, j.outcome(ctx, rule),
            _share_reason("调研样本占比", "Survey sample", j, str(p.survey_sample_size), str(p.target_size)),
            uses=[share], measured=j.measured, required=j.required, shortfall=j.gap, unit="share",
        )]


class ExpenseStandardFamily(RuleFamily):
    """A programme's budget stays within the expense standard (Huangshi HS4–HS8).

    In person: ``per_person_day[location_scope]`` × headcount × days. Online
    self-paced: ``online_async_per_person_hour`` × headcount × hours. Live
    online: up to ``sync_small_max`` people, ``online_sync_per_person_hour`` ×
    headcount × hours; from ``sync_large_min`` people, ``online_sync_per_hour``
    × hours. Where both bands cover a headcount (exactly 100 in Huangshi),
    ``sync_tie`` picks ``"stricter"`` (the lower ceiling), ``"small"`` or ``"large"``.
    ``headcount_basis`` is ``"actual_if_known"`` (HS11 settles on actual
    headcount) or ``"planned"``.
    """

    name = "expense_standard"
    kinds = {"per_person_day": "table", "online_async_per_person_hour": "number", "online_sync_per_person_hour": "number", "online_sync_per_hour": "number", "sync_small_max": "number", "sync_large_min": "number"}
    inputs = ("project: mode, budget_cny, headcount_planned, headcount_actual, location_scope, days, hours, end_date",)
    subject = SubjectKind.PROJECT
    stage = 100
    params = (
        "per_person_day",
        "online_async_per_person_hour",
        "online_sync_per_person_hour",
        "online_sync_per_hour",
        "sync_small_max",
        "sync_large_min",
        "sync_tie",
        "headcount_basis",
    )
    choices = {"sync_tie": ("stricter", "small", "large"), "headcount_basis": ("actual_if_known", "planned")}
    description = "Budget ≤ the ceiling computed from the expense standard for the project's mode."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        p = _project(ctx)
        basis = ctx.param(rule, "headcount_basis")
        headcount = p.headcount_planned
        if basis.value == "actual_if_known" and p.headcount_actual is not None:
            headcount = p.headcount_actual
        if p.budget_cny is None or headcount is None:
            return [missing_input(ctx, rule, self.name, "budget_cny" if p.budget_cny is None else "headcount_planned")]
        n = Decimal(headcount)
        uses = [basis]
        if p.mode is Mode.IN_PERSON:
            rates = ctx.param(rule, "per_person_day")
            uses.append(rates)
            scope = p.location_scope.value if p.location_scope else None
            if scope not in rates.value:
                return [missing_input(ctx, rule, self.name, "location_scope")]
            if p.days is None:
                return [missing_input(ctx, rule, self.name, "days")]
            ceiling = rates.value[scope] * n * p.days
            how = (f"{fmt(rates.value[scope])}元/人天×{headcount}人×{fmt(p.days)}天",
                   f"{fmt(rates.value[scope])} CNY/person-day × {headcount} × {fmt(p.days)} days")
        elif p.mode is Mode.ONLINE_ASYNC:
            rate = ctx.param(rule, "online_async_per_person_hour")
            uses.append(rate)
            ceiling = rate.value * n * p.hours
            how = (f"{fmt(rate.value)}元/(人·学时)×{headcount}人×{fmt(p.hours)}学时",
                   f"{fmt(rate.value)} CNY/person-hour × {headcount} × {fmt(p.hours)} h")
        elif p.mode is Mode.ONLINE_SYNC:
            ceiling, how, more = self._sync(rule, ctx, n, p.hours)
            uses.extend(more)
        else:
            return [ctx.finding(
                rule, self.name, Outcome.NOT_APPLICABLE,
                Reason(f"经费标准未规定{p.mode.value}方式。", f"The standard sets no rate for mode {p.mode.value}."),
                uses=uses,
            )]
        j = Judgement(p.budget_cny, ceiling, at_least=False)
        verdict = ("未超标准", "within the standard") if j.met else (f"超出{fmt(j.gap)}元", f"over by {fmt(j.gap)} CNY")
        return [ctx.finding(
            rule, self.name, j.outcome(ctx, rule),
            Reason(f"预算{fmt(p.budget_cny)}元,上限{how[0]}={fmt(ceiling)}元,{verdict[0]}。",
                   f"Budget {fmt(p.budget_cny)} CNY, ceiling {how[1]} = {fmt(ceiling)} CNY; {verdict[1]}."),
            uses=uses, measured=j.measured, required=j.required, shortfall=j.gap, unit="cny",
        )]

    def _sync(
        self, rule: RuleDef, ctx: Context, n: Decimal, hours: Decimal
    ) -> tuple[Decimal, tuple[str, str], list[ParameterUse]]:
        small_max = ctx.param(rule, "sync_small_max")
        large_min = ctx.param(rule, "sync_large_min")
        per_person = ctx.param(rule, "online_sync_per_person_hour")
        per_hour = ctx.param(rule, "online_sync_per_hour")
        tie = ctx.param(rule, "sync_tie")
        uses = [small_max, large_min, per_person, per_hour]
        small = per_person.value * n * hours
        large = per_hour.value * hours
        in_small = n <= small_max.value
        in_large = n >= large_min.value
        small_how = (f"{fmt(per_person.value)}元/(人·学时)×{fmt(n)}人×{fmt(hours)}学时",
                     f"{fmt(per_person.value)} CNY/person-hour × {fmt(n)} × {fmt(hours)} h")
        large_how = (f"{fmt(per_hour.value)}元/学时×{fmt(hours)}学时",
                     f"{fmt(per_hour.value)} CNY/hour × {fmt(hours)} h")
        if in_small and in_large:
            uses.append(tie)
            if tie.value == "small" or (tie.value == "stricter" and small <= large):
                return small, small_how, uses
            return large, large_how, uses
        if in_small:
            return small, small_how, uses
        return large, large_how, uses


class DeadlineFamily(RuleFamily):
    """Projects finish by a date unless they span years (Huangshi HS9: 原则上…2023年11月前实施完成)."""

    name = "deadline"
    kinds = {"end_by": "date", "cross_year_exempt": "bool"}
    inputs = ("project: end_date, cross_year",)
    subject = SubjectKind.PROJECT
    stage = 100
    params = ("end_by", "cross_year_exempt")
    description = "end_date ≤ end_by, unless the project is cross-year and exempt."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        p = _project(ctx)
        end_by = ctx.param(rule, "end_by")
        exempt = ctx.param(rule, "cross_year_exempt")
        uses = [end_by, exempt]
        if p.cross_year and exempt.value:
            return [ctx.finding(rule, self.name, Outcome.NOT_APPLICABLE,
                                Reason("跨年度项目,不受完成期限限制。", "Cross-year project: the deadline does not apply."),
                                uses=uses)]
        ok = p.end_date <= end_by.value
        days_late = Decimal(max(0, (p.end_date - end_by.value).days))
        return [ctx.finding(
            rule, self.name, Outcome.PASS if ok else ctx.failed(rule),
            Reason(
                f"项目结束于{p.end_date.isoformat()},应于{end_by.value.isoformat()}前完成" + ("。" if ok else f",逾期{days_late}天。"),
                f"Project ends {p.end_date.isoformat()}, due by {end_by.value.isoformat()}"
                + ("." if ok else f"; {days_late} days late."),
            ),
            uses=uses, measured=days_late, required=Decimal(0), shortfall=days_late, unit="days",
        )]


class ProviderLicenceFamily(RuleFamily):
    """Online projects need a provider with a remote-training licence (Huangshi HS10: 须具备教师远程培训资质)."""

    name = "provider_licence"
    kinds = {"modes": "modes"}
    inputs = ("project: mode, provider_remote_licence, end_date",)
    subject = SubjectKind.PROJECT
    stage = 100
    params = ("modes",)
    description = "Projects in the listed modes need provider_remote_licence = true."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        p = _project(ctx)
        modes = ctx.param(rule, "modes")
        if p.mode.value not in modes.value:
            return [ctx.finding(rule, self.name, Outcome.NOT_APPLICABLE,
                                Reason(f"{p.mode.value}项目无需远程培训资质。",
                                       f"A {p.mode.value} project needs no remote-training licence."),
                                uses=[modes])]
        if p.provider_remote_licence is None:
            return [missing_input(ctx, rule, self.name, "provider_remote_licence")]
        ok = p.provider_remote_licence
        return [ctx.finding(
            rule, self.name, Outcome.PASS if ok else ctx.failed(rule),
            Reason("承训机构具备远程培训资质。" if ok else "承训机构不具备教师远程培训资质。",
                   "The provider holds a remote-training licence." if ok
                   else "The provider holds no remote-training licence."),
            uses=[modes],
        )]
