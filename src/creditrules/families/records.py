"""Record-level families: what each training record counts for.

They run before any judgment and change the working :class:`~.base.Line` of
each record — its category, its credited hours, its credits — always reading
the rule and parameters in force on the record's *end date*. Each returns one
finding that lists the records it touched, so a teacher can see why a record
earned less than its hours.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable
from typing import Any
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import attrs

from ..model import Category, Finding, Outcome, ParameterUse, Reason, SubjectKind, TrainingRecord
from ..ruleset import RuleDef
from .base import Context, Line, RuleFamily, category_zh, fmt, sorted_with_ties

__all__ = [
    "AbsenceFamily",
    "CreditConversionFamily",
    "PracticeGateFamily",
    "RepeatTrainingFamily",
    "SecondaryTrainingFamily",
]

ROUNDINGS = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN}


class _Uses:
    """Distinct parameter values used across records of different dates."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, dt.date, str], ParameterUse] = {}

    def add(self, *uses: ParameterUse | None) -> None:
        for u in uses:
            if u is not None:
                self._seen.setdefault((u.name, u.since, u.layer), u)

    def all(self) -> list[ParameterUse]:
        return [self._seen[k] for k in sorted(self._seen)]


_CONTENT_FIELDS = operator.attrgetter(*(f.name for f in attrs.fields(TrainingRecord) if f.name != "record_id"))


def _content(ln: Line) -> tuple[tuple[int, str], ...]:
    """Every field of the line's record but its id, comparable (``None`` sorts first).

    A tie-break no new id can move; computed once per line, since sorts ask often.
    """
    if ln.content is None:
        ln.content = tuple((0, "") if v is None else (1, str(v)) for v in _CONTENT_FIELDS(ln.record))
    return ln.content


def _sorted_lines(lines: Iterable[Line], primary: Callable[[Line], tuple[Any, ...]]) -> list[Line]:
    """``lines`` sorted by ``primary``, ties broken on content (see _content), then id."""
    return sorted_with_ties(lines, primary, lambda ln: (_content(ln), ln.record.record_id))


_CONVERSION = ("hours_per_credit", "quantum", "rounding", "items")


def _ids(lines: Iterable[Line]) -> tuple[str, ...]:
    return tuple(ln.record.record_id for ln in lines)


def _not_applicable(ctx: Context, rule: RuleDef, family: str, zh: str, en: str) -> Finding:
    return ctx.finding(rule, family, Outcome.NOT_APPLICABLE, Reason(zh, en))


class SecondaryTrainingFamily(RuleFamily):
    """二级培训: a returning trainee's report, lecture or demo lesson, organised by a unit,
    counts as centralised credit (Beihai B9); informal sharing does not."""

    name = "secondary_training"
    kinds = {"counts_as": "category", "requires_unit_organisation": "bool", "hours_share": "share"}
    inputs = ("record: category = secondary_training, organised_by_unit, hours, end_date",)
    subject = SubjectKind.PERSON
    stage = 10
    params = ("counts_as", "requires_unit_organisation", "hours_share")
    description = "Reclassifies unit-organised secondary training (二级培训) into a credit category."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        uses = _Uses()
        credited: list[Line] = []
        refused: list[Line] = []
        for ln in ctx.lines:
            if ln.category is not Category.SECONDARY_TRAINING or ln.excluded or not ctx.rule_applies(rule, ln.end):
                continue
            counts_as = ctx.param(rule, "counts_as", ln.end)
            needs_unit = ctx.param(rule, "requires_unit_organisation", ln.end)
            share = ctx.param(rule, "hours_share", ln.end)
            uses.add(counts_as, needs_unit, share)
            if needs_unit.value and not ln.record.organised_by_unit:
                ln.exclude(rule.id)
                refused.append(ln)
                continue
            ln.category = Category(counts_as.value)
            ln.credited_hours = ln.credited_hours * share.value
            ln.touch(rule.id)
            credited.append(ln)
        if not credited and not refused:
            return [_not_applicable(ctx, rule, self.name, "无二级培训记录。", "No secondary-training records.")]
        if refused:
            zh = f"{len(refused)}条二级培训未由单位组织,不计学分:{'、'.join(_ids(refused))}。"
            en = f"{len(refused)} secondary-training record(s) not organised by a unit earn no credit: {', '.join(_ids(refused))}."
            if credited:
                zh += f" {len(credited)}条按集中培训计入。"
                en += f" {len(credited)} counted as centralised training."
            return [
                ctx.finding(rule, self.name, ctx.failed(rule), Reason(zh, en), uses=uses.all(),
                            records=_ids(refused + credited))
            ]
        category = credited[0].category.value
        return [
            ctx.finding(
                rule, self.name, Outcome.PASS,
                Reason(
                    f"{len(credited)}条单位组织的二级培训计入{category_zh(category)}学分:{'、'.join(_ids(credited))}。",
                    f"{len(credited)} unit-organised secondary-training record(s) counted as {category}: "
                    f"{', '.join(_ids(credited))}.",
                ),
                uses=uses.all(), records=_ids(credited),
            )
        ]


class RepeatTrainingFamily(RuleFamily):
    """No double credit: exact duplicates, overlapping attendance, the same topic again.

    * an exact duplicate (same dates, category, level, hours, project, topic)
      is credited once, whatever its record id;
    * two records of ``overlap_categories`` whose dates overlap cannot both be
      attended: the rule's severity, and with ``overlap_action = "exclude_later"``
      the later enrolment earns nothing;
    * the same ``topic`` again within ``topic_window_days`` of the earlier one's
      end is not credited twice (a warning, 重复多头培训).
    """

    name = "repeat_training"
    kinds = {"overlap_categories": "categories", "topic_window_days": "number"}
    inputs = ("record: start_date, end_date, category, level, hours, project_id, topic, subcategory",)
    subject = SubjectKind.PERSON
    stage = 20
    params = ("overlap_categories", "overlap_action", "topic_window_days")
    choices = {"overlap_action": ("exclude_later", "flag")}
    description = "Duplicate records, overlapping attendance and repeated topics earn credit once."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        # Ties on dates break on content before the id: a re-registration of a
        # record (same content, new id) then sorts next to it and takes its
        # place, so it cannot change which of two same-day enrolments counts.
        candidates = _sorted_lines(
            (ln for ln in ctx.lines if not ln.excluded and ctx.rule_applies(rule, ln.end)),
            lambda ln: (ln.record.start_date, ln.end),
        )
        uses = _Uses()
        findings: list[Finding] = []

        seen: dict[tuple[object, ...], Line] = {}
        dups: list[tuple[Line, Line]] = []
        for ln in candidates:
            r = ln.record
            key = (r.start_date, r.end_date, r.category, r.level, r.hours, r.project_id, r.topic, r.subcategory)
            if key in seen:
                ln.exclude(rule.id)
                dups.append((ln, seen[key]))
            else:
                seen[key] = ln
        if dups:
            pairs_zh = "、".join(f"{a.record.record_id}(同{b.record.record_id})" for a, b in dups)
            pairs_en = ", ".join(f"{a.record.record_id} (same as {b.record.record_id})" for a, b in dups)
            findings.append(ctx.finding(
                rule, self.name, Outcome.WARN,
                Reason(f"重复登记的记录不重复计学分:{pairs_zh}。",
                       f"Duplicate registrations earn credit once: {pairs_en}."),
                item="duplicate",
                records=tuple(x.record.record_id for pair in dups for x in pair),
            ))

        # Walk in start order against the enrolments still credited: a record
        # already excluded for overlapping cannot push a third one out.
        overlaps: list[tuple[Line, Line]] = []
        attended: list[Line] = []
        for ln in candidates:
            if ln.excluded:
                continue
            _, (cats,), first = ctx.params_on(rule, ("overlap_categories",), ln.end)
            assert cats is not None
            if first:
                uses.add(cats)
            if ln.category not in cats.value:
                continue
            start = ln.record.start_date
            # Lines come in start order, so an enrolment that ended before this one
            # starts can clash with no later one either: drop it, keep the rest in order.
            if attended and attended[0].end < start:
                attended = [a for a in attended if a.end >= start]
            if not attended:
                attended.append(ln)
                continue
            clash = attended[0]
            overlaps.append((clash, ln))
            action = ctx.param(rule, "overlap_action", ln.end)
            uses.add(action)
            if action.value == "exclude_later":
                ln.exclude(rule.id)
            else:
                ln.touch(rule.id)
                attended.append(ln)
        if overlaps:
            zh = "、".join(f"{b.record.record_id}与{a.record.record_id}" for a, b in overlaps)
            en = ", ".join(f"{b.record.record_id} overlaps {a.record.record_id}" for a, b in overlaps)
            findings.append(ctx.finding(
                rule, self.name, ctx.failed(rule),
                Reason(f"培训时间冲突(同一时间不能参加两项集中培训):{zh}。",
                       f"Conflicting trainings (dates overlap): {en}."),
                item="overlap",
                uses=uses.all(),
                records=tuple(x.record.record_id for pair in overlaps for x in pair),
            ))

        repeats: list[tuple[Line, Line]] = []
        last_by_topic: dict[str, Line] = {}
        for ln in candidates:
            if ln.excluded or not ln.record.topic:
                continue
            prev = last_by_topic.get(ln.record.topic)
            _, (window,), first = ctx.params_on(rule, ("topic_window_days",), ln.end)
            assert window is not None
            if first:
                uses.add(window)
            if prev is not None and (ln.record.start_date - prev.end).days <= int(window.value):
                ln.exclude(rule.id)
                repeats.append((ln, prev))
                continue
            last_by_topic[ln.record.topic] = ln
        if repeats:
            zh = "、".join(f"{a.record.record_id}(主题{a.record.topic}已于{b.record.record_id}培训)" for a, b in repeats)
            en = ", ".join(f"{a.record.record_id} (topic {a.record.topic} already in {b.record.record_id})"
                           for a, b in repeats)
            findings.append(ctx.finding(
                rule, self.name, Outcome.WARN,
                Reason(f"重复培训同一主题不重复计学分:{zh}。", f"Repeated topic earns credit once: {en}."),
                item="repeated_topic",
                uses=uses.all(),
                records=tuple(x.record.record_id for pair in repeats for x in pair),
            ))
        if not candidates:
            return [_not_applicable(ctx, rule, self.name, "本规则生效期内无培训记录。",
                                    "No records while this rule is in force.")]
        if not findings:
            findings.append(ctx.finding(
                rule, self.name, Outcome.PASS,
                Reason("无重复、冲突或重复主题的培训。", "No duplicate, overlapping or repeated-topic training."),
                uses=uses.all(),
            ))
        return findings


class AbsenceFamily(RuleFamily):
    """Absence at or above a share of a course's hours earns no credit (e.g. Wuhan 缺课≥1/5)."""

    name = "absence"
    kinds = {"zero_at_share": "share"}
    inputs = ("record: absent_hours, hours, end_date",)
    subject = SubjectKind.PERSON
    stage = 20
    params = ("zero_at_share",)
    description = "A record whose absent hours reach the share earns no credit."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        uses = _Uses()
        zeroed: list[Line] = []
        for ln in ctx.lines:
            r = ln.record
            if ln.excluded or not r.absent_hours or not r.hours or not ctx.rule_applies(rule, ln.end):
                continue
            share = ctx.param(rule, "zero_at_share", ln.end)
            uses.add(share)
            if r.absent_hours / r.hours >= share.value:
                ln.exclude(rule.id)
                zeroed.append(ln)
        if not zeroed:
            return [ctx.finding(rule, self.name, Outcome.PASS,
                                Reason("无因缺课不计学分的记录。", "No record lost credit for absence."),
                                uses=uses.all())]
        detail = ", ".join(f"{ln.record.record_id} ({fmt(ln.record.absent_hours)}/{fmt(ln.record.hours)} h)"
                           for ln in zeroed)
        return [ctx.finding(
            rule, self.name, ctx.failed(rule),
            Reason(f"缺课达到规定比例,不计学分:{detail}。",
                   f"Absence reached the threshold; no credit: {detail}."),
            uses=uses.all(), records=_ids(zeroed),
        )]


class PracticeGateFamily(RuleFamily):
    """Credit for a course with practice hours only after its practice assessment is passed (Lanzhou L4)."""

    name = "practice_gate"
    kinds = {"unknown_means_passed": "bool"}
    inputs = ("record: practice_hours, practice_passed, end_date",)
    subject = SubjectKind.PERSON
    stage = 20
    params = ("unknown_means_passed",)
    description = "Records with practice hours earn credit only once the practice assessment is passed."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        uses = _Uses()
        gated: list[Line] = []
        for ln in ctx.lines:
            r = ln.record
            if ln.excluded or not r.practice_hours or not ctx.rule_applies(rule, ln.end):
                continue
            unknown = ctx.param(rule, "unknown_means_passed", ln.end)
            uses.add(unknown)
            passed = r.practice_passed if r.practice_passed is not None else bool(unknown.value)
            if not passed:
                ln.exclude(rule.id)
                gated.append(ln)
        if not gated:
            return [ctx.finding(rule, self.name, Outcome.PASS,
                                Reason("实践考核均已通过或不涉及。", "Practice assessments passed or not required."),
                                uses=uses.all())]
        ids = ", ".join(_ids(gated))
        return [ctx.finding(
            rule, self.name, ctx.failed(rule),
            Reason(f"实践考核未通过(或未考核),不发合格证、不认定学分:{ids}。",
                   f"Practice assessment not passed (or not taken): no certificate, no credit: {ids}."),
            uses=uses.all(), records=_ids(gated),
        )]


class CreditConversionFamily(RuleFamily):
    """Hours → credits, per category; item-scored activities (校本 items) by their own rates and annual caps.

    ``hours_per_credit`` is a table ``{category = hours}`` (``default`` for the
    rest). ``items`` maps a ``subcategory`` to how it is scored instead of by
    hours: ``per = "half_day"`` (``rate`` per half-day of ``half_day_hours``),
    ``"occurrence"`` (``rate`` per record) or ``"level"`` (``rates`` by the
    record's level), each with an optional ``annual_cap``. Credits are rounded
    to ``quantum`` with ``rounding`` (``half_up`` or ``down``) per record.
    """

    name = "credit_conversion"
    inputs = ("record: category, subcategory, level, hours, end_date",)
    subject = SubjectKind.PERSON
    stage = 30
    params = ("hours_per_credit", "quantum", "rounding")
    optional = ("items",)
    choices = {"rounding": tuple(ROUNDINGS)}
    description = "Converts credited hours into credits by category; scores listed activities per item."

    def check_value(self, rule: RuleDef, name: str, value: Any) -> str | None:
        if name == "hours_per_credit":
            if not isinstance(value, dict) or not all(isinstance(v, Decimal) and v > 0 for v in value.values()):
                return "must be a table of category = hours per credit (> 0), e.g. { default = 3 }"
        if name == "quantum" and not (isinstance(value, Decimal) and value > 0):
            return "must be a positive number such as 0.01"
        if name == "items":
            if not isinstance(value, dict):
                return "must be a table of subcategory = { per = ..., ... }"
            for sub, spec in value.items():
                problem = _item_problem(spec)
                if problem:
                    return f"item {sub!r}: {problem}"
        return super().check_value(rule, name, value)

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        uses = _Uses()
        converted = 0
        capped: list[Line] = []
        item_totals: dict[tuple[str, int], Decimal] = {}
        # Annual item caps go to records in date order; same-day ties break on content before the id
        # (see _content), so a re-registered record cannot take another record's share of a cap.
        for ln in _sorted_lines(ctx.lines, lambda x: (x.end, x.record.start_date)):
            applies, (hpc, quantum, rounding, items), first = ctx.params_on(rule, _CONVERSION, ln.end, ("items",))
            if not applies:
                continue
            if first:
                uses.add(hpc, quantum, rounding, items)
            assert hpc is not None and quantum is not None and rounding is not None
            spec = (items.value if items else {}).get(ln.record.subcategory or "")
            if spec is not None:
                credits = self._item_credits(ln, spec)
                cap = spec.get("annual_cap")
                if cap is not None:
                    key = (ln.record.subcategory or "", ln.end.year)
                    before = item_totals.get(key, Decimal(0))
                    allowed = max(Decimal(0), cap - before)
                    if credits > allowed:
                        credits = allowed
                        capped.append(ln)
                    item_totals[key] = before + credits
            else:
                table = hpc.value
                per = table.get(ln.category, table.get("default"))
                if per is None or per == 0:
                    ln.credits = Decimal(0)
                    ln.touch(rule.id)
                    continue
                credits = ln.credited_hours / per
            ln.credits = Decimal(0) if ln.excluded else credits.quantize(
                quantum.value, rounding=ROUNDINGS[str(rounding.value)]
            )
            ln.touch(rule.id)
            converted += 1
        if not converted:
            return [_not_applicable(ctx, rule, self.name, "无可折算学分的记录。", "No records to convert.")]
        zh = f"{converted}条记录按类别折算学分。"
        en = f"{converted} record(s) converted to credits by category."
        if capped:
            zh += f" 超过年度上限的校本项目不计:{'、'.join(_ids(capped))}。"
            en += f" Item credits above the annual cap not counted: {', '.join(_ids(capped))}."
        return [ctx.finding(rule, self.name, Outcome.PASS, Reason(zh, en), uses=uses.all(), records=_ids(capped))]

    @staticmethod
    def _item_credits(ln: Line, spec: dict[str, Any]) -> Decimal:
        # The spec was checked at load (_item_problem), so its shape is known here.
        if ln.excluded:
            return Decimal(0)
        per = spec["per"]
        if per == "half_day":
            half_day: Decimal = spec["half_day_hours"]
            rate: Decimal = spec["rate"]
            return (ln.credited_hours / half_day).to_integral_value(rounding=ROUND_DOWN) * rate
        if per == "occurrence":
            return Decimal(spec["rate"])
        return Decimal(spec["rates"].get(ln.record.level, 0))


def _item_problem(spec: Any) -> str | None:
    """Why an item-scoring spec is unusable, or None."""
    if not isinstance(spec, dict):
        return "must be a table"
    per = spec.get("per")
    required = {"half_day": {"rate", "half_day_hours"}, "occurrence": {"rate"}, "level": {"rates"}}
    allowed = {
        "half_day": {"per", "rate", "half_day_hours", "annual_cap"},
        "occurrence": {"per", "rate", "annual_cap"},
        "level": {"per", "rates", "annual_cap"},
    }
    if per not in allowed:
        return f"per must be one of {', '.join(allowed)}, got {per!r}"
    unknown = sorted(set(spec) - allowed[per])
    if unknown:
        return f"unknown key {unknown[0]!r} for per = {per!r}"
    missing = sorted(required[per] - set(spec))
    if missing:
        return f"{missing[0]} is required for per = {per!r}"
    if per == "level":
        rates = spec.get("rates")
        if not isinstance(rates, dict) or not all(isinstance(v, Decimal) for v in rates.values()):
            return "rates must be a table of level = credits"
    elif not isinstance(spec.get("rate"), Decimal):
        return "rate must be a number"
    if "half_day_hours" in spec and not (isinstance(spec["half_day_hours"], Decimal) and spec["half_day_hours"] > 0):
        return "half_day_hours must be a number > 0"
    if "annual_cap" in spec and not (isinstance(spec["annual_cap"], Decimal) and spec["annual_cap"] >= 0):
        return "annual_cap must be a number ≥ 0"
    return None
