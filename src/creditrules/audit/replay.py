"""Replay: re-run stored decisions and say whether they reproduce, and if not, why.

Two modes:

* **as known then** (default): the rules are rebuilt from the ledger's
  archive — the exact layers, by content hash — and ``known_at`` is the one
  the decision used. The decision must reproduce byte for byte; if it does
  not, the engine's code changed, and the diff says where.
* **with corrections**: the rules are today's installed chain for the region,
  every correction included. The diff names, per finding, what changed and
  which parameter value (or code version) made it change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from attrs import frozen

from ..canonical import canonical_json
from ..engine import Engine
from .ledger import Entry, Ledger

__all__ = ["FindingDiff", "ReplayResult", "diff_decisions", "replay", "replay_entry"]


@frozen
class FindingDiff:
    """One difference between the stored and the replayed decision."""

    rule: str
    key: str  # rule id with its item and period, e.g. guangxi.annual[school_based]@2019-12-31
    field: str
    before: Any
    after: Any
    because: tuple[str, ...] = ()  # parameter or engine changes that explain it

    def __str__(self) -> str:
        why = f" — because {'; '.join(self.because)}" if self.because else ""
        return f"{self.key}: {self.field} {_show(self.before)} → {_show(self.after)}{why}"


@frozen
class ReplayResult:
    record_id: str
    subject: str
    region: str
    identical: bool
    outcome_before: str
    outcome_after: str
    diffs: tuple[FindingDiff, ...] = ()
    error: str | None = None

    @property
    def changed_outcome(self) -> bool:
        return self.outcome_before != self.outcome_after

    @property
    def findings_changed(self) -> bool:
        """Some judgment differs — not merely the ruleset hash the same findings cite."""
        return any(d.rule != "(ruleset)" for d in self.diffs) or bool(self.error)


def replay_entry(engine: Engine, ledger: Ledger, entry: Entry, *, with_corrections: bool = False) -> ReplayResult:
    """Re-run one ledger entry."""
    rec = entry.record
    data = rec.data
    subject = f"{data['inputs']['subject']['kind']} {data['decision']['subject']['id']}"
    before = rec.decision_json()
    try:
        if with_corrections:
            chain = engine.chain(rec.region)
            known_at = None
        else:
            chain = engine.chain_from(ledger.archived_layers(rec.chain))
            known_at = rec.known_at
        decision = engine.adjudicate_with(chain, rec.subject(), rec.records(), as_of=rec.as_of, known_at=known_at)
    except Exception as exc:  # replay must report, not crash, on one bad entry
        return ReplayResult(rec.id, subject, rec.region, False, data["decision"]["outcome"], "error",
                            error=f"{type(exc).__name__}: {exc}")
    after = canonical_json(decision)
    if after == before:
        return ReplayResult(rec.id, subject, rec.region, True, decision.outcome.value, decision.outcome.value)
    old, new = json.loads(before), json.loads(after)
    return ReplayResult(
        rec.id, subject, rec.region, False, old["outcome"], new["outcome"], tuple(diff_decisions(old, new))
    )


def replay(
    engine: Engine,
    ledger: Ledger,
    *,
    ids: Iterable[str] | None = None,
    with_corrections: bool = False,
) -> Iterator[ReplayResult]:
    """Replay the entries named by ``ids`` (prefixes allowed), or every entry."""
    entries: Iterable[Entry] = ledger.entries() if ids is None else (ledger.get(i) for i in ids)
    for entry in entries:
        yield replay_entry(engine, ledger, entry, with_corrections=with_corrections)


def diff_decisions(old: dict[str, Any], new: dict[str, Any]) -> list[FindingDiff]:
    """Per-finding differences between two plain decisions, each with its explanation."""
    diffs: list[FindingDiff] = []
    engine_note = () if old["engine"] == new["engine"] else (f"engine {old['engine']} → {new['engine']}",)
    if old["outcome"] != new["outcome"]:
        diffs.append(FindingDiff("(decision)", "decision", "outcome", old["outcome"], new["outcome"], engine_note))
    before = {_key(f): f for f in old["findings"]}
    after = {_key(f): f for f in new["findings"]}
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        rule = (a or b or {}).get("rule", key)
        if a is None or b is None:
            diffs.append(FindingDiff(rule, key, "finding", "absent" if a is None else a["outcome"],
                                     "absent" if b is None else b["outcome"], engine_note))
            continue
        because = _parameter_changes(a, b) + engine_note
        for field in ("outcome", "measured", "required", "shortfall"):
            if a.get(field) != b.get(field):
                diffs.append(FindingDiff(rule, key, field, a.get(field), b.get(field), because))
        if a.get("reason") != b.get("reason") and not any(d.key == key for d in diffs):
            diffs.append(FindingDiff(rule, key, "reason", a["reason"]["en"], b["reason"]["en"], because))
    if old["totals"] != new["totals"]:
        diffs.append(FindingDiff("(totals)", "totals", "credits", old["totals"].get("credits"),
                                 new["totals"].get("credits"), engine_note))
    if old["ruleset"]["hash"] != new["ruleset"]["hash"] and not diffs:
        diffs.append(FindingDiff("(ruleset)", "ruleset", "hash", old["ruleset"]["hash"][:12],
                                 new["ruleset"]["hash"][:12]))
    return diffs


def _key(f: dict[str, Any]) -> str:
    key = str(f["rule"])
    if f.get("item"):
        key += f"[{f['item']}]"
    if f.get("period"):
        key += f"@{f['period']['end']}"
    return key


def _parameter_changes(a: dict[str, Any], b: dict[str, Any]) -> tuple[str, ...]:
    old = {p["name"]: p for p in a.get("parameters", [])}
    new = {p["name"]: p for p in b.get("parameters", [])}
    out = []
    for name in sorted(old.keys() | new.keys()):
        p, q = old.get(name), new.get(name)
        if p == q:
            continue
        if p is None or q is None:
            out.append(f"{name} {'added' if p is None else 'removed'}")
            continue
        if (p["value"], p["since"], p["layer"]) != (q["value"], q["since"], q["layer"]):
            out.append(
                f"{name} {_show(p['value'])} (since {p['since']}, {p['layer']}) → "
                f"{_show(q['value'])} (since {q['since']}, {q['layer']})"
            )
        else:
            out.append(f"{name} citation changed")
    return tuple(out)


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        return str(canonical_json(value))
    return str(value)
