"""Impact analysis: a population under two versions of the rules, and who changes.

A *version* is either a knowledge date (the rules as known on that date, by
the parameters' ``recorded`` dates) or a ruleset file that replaces the layer
with the same id in the region's chain (a draft of next year's city rules).
OpenFisca users do this with reforms; here it is one call or one command.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from attrs import frozen

from ..batch import Population
from ..canonical import to_plain
from ..chain import RulesetChain
from ..engine import Engine
from ..errors import CreditrulesError
from ..ruleset import load_ruleset
from .replay import ReplayResult, diff_decisions

__all__ = ["ImpactReport", "RulesVersion", "impact", "rules_version"]


@frozen
class RulesVersion:
    label: str
    chain: RulesetChain
    known_at: dt.date | None


@frozen
class ImpactReport:
    region: str
    as_of: dt.date
    before: str
    after: str
    subjects: int
    changed: tuple[ReplayResult, ...]  # subjects with at least one finding whose outcome changed
    by_rule: tuple[tuple[str, int], ...]  # rule id → subjects whose finding for it changed outcome

    @property
    def changed_outcome(self) -> int:
        return sum(1 for r in self.changed if r.changed_outcome)


def rules_version(engine: Engine, region: str, spec: str) -> RulesVersion:
    """``spec`` is ``current``, a date ``YYYY-MM-DD`` (rules as known then) or a ruleset file."""
    chain = engine.chain(region)
    if spec == "current":
        return RulesVersion(spec, chain, None)
    try:
        return RulesVersion(spec, chain, dt.date.fromisoformat(spec))
    except ValueError:
        pass
    path = Path(spec)
    if not path.exists():
        raise CreditrulesError(f"rules version {spec!r} is neither 'current', a date YYYY-MM-DD nor a ruleset file")
    doc = load_ruleset(path)
    ids = [layer.id for layer in chain.layers]
    if doc.id not in ids:
        raise CreditrulesError(f"{spec}: replaces layer {doc.id!r}, which is not in {region}'s chain ({' → '.join(ids)})")
    layers = [doc if layer.id == doc.id else layer for layer in chain.layers]
    return RulesVersion(spec, engine.chain_from(layers), None)


def impact(
    engine: Engine,
    population: Population,
    *,
    region: str,
    as_of: dt.date,
    before: RulesVersion,
    after: RulesVersion,
) -> ImpactReport:
    """Adjudicate ``population`` under both versions; report every subject whose decision differs."""
    changed: list[ReplayResult] = []
    by_rule: Counter[str] = Counter()
    for subject, records in population.subjects():
        old = to_plain(engine.adjudicate_with(before.chain, subject, records, as_of=as_of, known_at=before.known_at))
        new = to_plain(engine.adjudicate_with(after.chain, subject, records, as_of=as_of, known_at=after.known_at))
        if old == new:
            continue
        diffs = diff_decisions(old, new)
        # A subject "changes" when a judgment changes, not when only a cited value does.
        moved = {d.rule for d in diffs if d.field in ("outcome", "finding")}
        if not moved:
            continue
        for rule in moved - {"(decision)"}:
            by_rule[rule] += 1
        changed.append(ReplayResult(
            record_id="", subject=f"{subject.kind.value} {subject.id}", region=region, identical=False,
            outcome_before=old["outcome"], outcome_after=new["outcome"], diffs=tuple(diffs),
        ))
    return ImpactReport(
        region=region, as_of=as_of, before=before.label, after=after.label, subjects=len(population),
        changed=tuple(changed), by_rule=tuple(sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))),
    )
