"""Unit-level judgments: a school's or county's budget floors and ratios for one year.

``budget_floor`` and ``trainer_ratio`` are the same arithmetic (a field is at
least a share of another), named apart because policy names them apart:
Binyang's training budget ≥ 2 % of payroll, Beihai's school-based budget ≥ 5 %
of public funds; Binyang's trainer team ≥ 1 per 100 teachers, its training
bases ≥ 5 % of schools.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ..model import Finding, Reason, SubjectKind, Unit
from ..ruleset import RuleDef
from .base import Context, Judgement, RuleFamily, fmt
from .project import missing_input

__all__ = ["BudgetFloorFamily", "TrainerRatioFamily"]

NUMERIC_FIELDS = (
    "payroll_total",
    "public_funds",
    "training_budget",
    "school_based_budget",
    "fulltime_teachers",
    "trainer_team_size",
    "schools",
    "training_bases",
)


class _UnitShare(RuleFamily):
    subject = SubjectKind.UNIT
    stage = 100
    params = ("numerator", "denominator", "min_share", "unit")
    choices = {"numerator": NUMERIC_FIELDS, "denominator": NUMERIC_FIELDS}
    kinds = {"min_share": "share", "unit": "word"}

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        u = ctx.subject
        assert isinstance(u, Unit)
        num_use = ctx.param(rule, "numerator")
        den_use = ctx.param(rule, "denominator")
        share = ctx.param(rule, "min_share")
        unit = str(ctx.param(rule, "unit").value)
        uses = [num_use, den_use, share]
        num_field, den_field = str(num_use.value), str(den_use.value)
        num, den = getattr(u, num_field), getattr(u, den_field)
        if num is None or den is None:
            missing = [f for f, v in ((num_field, num), (den_field, den)) if v is None]
            return [missing_input(ctx, rule, self.name, *missing)]
        required = share.value * Decimal(den)
        j = Judgement(Decimal(num), required)
        verdict = ("达标", "met") if j.met else (f"差{fmt(j.gap)}", f"short by {fmt(j.gap)}")
        return [ctx.finding(
            rule, self.name, j.outcome(ctx, rule),
            Reason(
                f"{u.year}年{num_field}={fmt(num)},应不低于{den_field}×{fmt(share.value)}={fmt(required)},{verdict[0]}。",
                f"{u.year}: {num_field} = {fmt(num)}, at least {den_field} × {fmt(share.value)} = {fmt(required)} "
                f"required; {verdict[1]}.",
            ),
            uses=uses, measured=j.measured, required=j.required, shortfall=j.gap, unit=unit,
        )]


class BudgetFloorFamily(_UnitShare):
    """A budget is at least a share of another amount (Binyang NN6, Beihai B2)."""

    name = "budget_floor"
    inputs = ("unit: year and the two fields named by numerator and denominator",)
    description = "A unit's budget field ≥ min_share × another of its fields (CNY)."


class TrainerRatioFamily(_UnitShare):
    """A count is at least a share of another count (Binyang NN8 trainers 1:100, NN9 bases 5 %)."""

    name = "trainer_ratio"
    inputs = ("unit: year and the two counts named by numerator and denominator",)
    description = "A unit's count field ≥ min_share × another count field."



