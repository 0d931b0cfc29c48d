"""Beihai (北海市, Guangxi): the ruleset and the centralised sub-type audit.

Registered through the ``creditrules`` entry point in this package's
``pyproject.toml``; the engine finds it once the package is installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources

from creditrules import Context, Finding, Outcome, Reason, RuleDef, RuleFamily, RulesetDoc, hookimpl, load_ruleset
from creditrules.model import Category, SubjectKind

__all__ = ["CentralSubtypesFamily"]


class CentralSubtypesFamily(RuleFamily):
    """集中培训 is audited under six sub-types (B3); a record registered as centralised with
    another sub-type earns no centralised credit. Records without a sub-type are not audited."""

    name = "central_subtypes"
    inputs = ("record: category = centralized, subcategory, end_date",)
    subject = SubjectKind.PERSON
    stage = 15
    params = ("allowed",)
    description = "A centralised record's subcategory must be one of the audited sub-types."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        refused = []
        uses = {}
        for ln in ctx.lines:
            r = ln.record
            if r.category is not Category.CENTRALIZED or r.subcategory is None or ln.excluded:
                continue
            if not ctx.rule_applies(rule, ln.end):
                continue
            allowed = ctx.param(rule, "allowed", ln.end)
            uses[(allowed.since, allowed.layer)] = allowed
            if r.subcategory not in allowed.value:
                ln.exclude(rule.id)
                refused.append(r.record_id)
        used = [uses[k] for k in sorted(uses)]
        if not refused:
            return [ctx.finding(rule, self.name, Outcome.PASS,
                                Reason("集中培训子类均在审核范围内。", "Every centralised record has an audited sub-type."),
                                uses=used)]
        ids = ", ".join(refused)
        return [ctx.finding(
            rule, self.name, ctx.failed(rule),
            Reason(f"集中培训子类不在六类审核范围内,不计集中学分:{ids}。",
                   f"Centralised records outside the six audited sub-types earn no centralised credit: {ids}."),
            uses=used, records=tuple(refused),
        )]


@hookimpl
def creditrules_rulesets() -> Sequence[RulesetDoc]:
    path = resources.files(__name__).joinpath("beihai.toml")
    with resources.as_file(path) as p:
        return [load_ruleset(p, origin="creditrules_beihai/beihai.toml")]


@hookimpl
def creditrules_families() -> Sequence[RuleFamily]:
    return [CentralSubtypesFamily()]
