"""A region's ruleset chain (national → province → city) and the values in force on a date.

A child layer overrides a parent's parameter only when it says so
(``override = true``): from the child's first ``since`` on its values win,
before that the parent's still apply. The layer that supplied a value, and the
layer it overrode, travel with every :class:`~creditrules.model.ParameterUse`,
so the trace shows the override.

Values are bitemporal: ``since`` is when a value takes effect, ``recorded`` when
it became known. ``known_at=None`` means "everything known now"; an auditor
replaying an old decision passes the decision's recording date to see the
rules as they were known then.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from functools import lru_cache

from attrs import frozen

from .errors import RulesetError
from .model import LayerRef, ParameterUse, RulesetRef
from .ruleset import DisableDef, RuleDef, RulesetDoc

__all__ = ["RulesetChain", "build_chains", "MissingParameter", "MAX_CHAIN_DEPTH"]

#: national → province → city → county needs four; a chain deeper than this is a
#: mistake (or an attack on load time), refused with the chain it found.
MAX_CHAIN_DEPTH = 16


class MissingParameter(LookupError):
    """No value of a parameter is in force on the date asked."""


@frozen
class _Timeline:
    sinces: tuple[dt.date, ...]
    uses: tuple[ParameterUse, ...]

    def at(self, on: dt.date) -> ParameterUse | None:
        i = bisect.bisect_right(self.sinces, on)
        return self.uses[i - 1] if i else None


@frozen
class ActiveRule:
    """A rule in the chain, with the layer that disabled it, if any."""

    rule: RuleDef
    disabled: DisableDef | None
    disabled_by: str | None

    def in_force(self, on: dt.date) -> bool:
        if on < self.rule.since or (self.rule.until is not None and on >= self.rule.until):
            return False
        return self.disabled is None or on < self.disabled.since


class RulesetChain:
    """The layers a region's rules come from, root (national) first."""

    def __init__(self, layers: tuple[RulesetDoc, ...]) -> None:
        self.layers = layers
        self.region = layers[-1].id
        self.leaf = layers[-1]
        digest = hashlib.sha256()
        for layer in layers:
            digest.update(f"{layer.id}:{layer.hash}\n".encode())
        self.hash = digest.hexdigest()
        self.ref = RulesetRef(chain=tuple(LayerRef(layer.id, layer.hash) for layer in layers), hash=self.hash)
        self._check_overrides()
        self.rules = self._active_rules()
        self._timelines: dict[dt.date | None, dict[str, _Timeline]] = {}
        self._memo: dict[tuple[str, dt.date, dt.date | None], ParameterUse] = {}
        self._names = frozenset(name for layer in layers for name in layer.parameters)
        self._in_force = lru_cache(maxsize=4096)(self._rules_in_force)
        self._ids_in_force = lru_cache(maxsize=4096)(self._rule_ids_in_force)
        self._changes: dict[tuple[tuple[str, ...], dt.date | None], tuple[dt.date, ...]] = {}
        self._rule_changes = frozenset(
            d for a in self.rules
            for d in (a.rule.since, a.rule.until, a.disabled.since if a.disabled else None) if d is not None
        )

    # -- parameters -----------------------------------------------------------------

    def parameter_names(self) -> frozenset[str]:
        return self._names

    def param(self, name: str, on: dt.date, known_at: dt.date | None = None) -> ParameterUse:
        """The value of ``name`` in force on ``on`` (as known at ``known_at``)."""
        key = (name, on, known_at)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        use = self._lookup(name, on, known_at)
        if len(self._memo) > 200_000:  # many distinct record dates: start afresh
            self._memo.clear()
        self._memo[key] = use
        return use

    def _lookup(self, name: str, on: dt.date, known_at: dt.date | None) -> ParameterUse:
        timelines = self._timelines.get(known_at)
        if timelines is None:
            timelines = self._timelines[known_at] = {}
        tl = timelines.get(name)
        if tl is None:
            tl = timelines[name] = self._timeline(name, known_at)
        use = tl.at(on)
        if use is None:
            raise MissingParameter(f"{self.region}: parameter {name!r} has no value in force on {on.isoformat()}")
        return use

    def change_dates(self, names: tuple[str, ...], known_at: dt.date | None = None) -> tuple[dt.date, ...]:
        """Every date on which one of ``names`` takes a new value, or any rule starts or stops.

        Between two consecutive change dates, every one of ``names`` and the
        set of rules in force stay the same, so a value looked up once serves
        the whole span (see :meth:`Context.params_on`).
        """
        key = (names, known_at)
        hit = self._changes.get(key)
        if hit is None:
            dates = set(self._rule_changes)
            for name in names:
                if name in self._names:
                    dates.update(self._timeline(name, known_at).sinces)
            hit = self._changes[key] = tuple(sorted(dates))
        return hit

    def history(self, name: str, known_at: dt.date | None = None) -> tuple[ParameterUse, ...]:
        """Every value ``name`` has taken in this chain, oldest first."""
        return self._timeline(name, known_at).uses

    def _timeline(self, name: str, known_at: dt.date | None) -> _Timeline:
        merged: list[ParameterUse] = []
        previous_layer: str | None = None
        for layer in self.layers:
            pdef = layer.parameters.get(name)
            if pdef is None:
                continue
            entries = [e for e in pdef.entries if known_at is None or e.recorded <= known_at]
            if not entries:
                continue
            first = entries[0].since
            merged = [u for u in merged if u.since < first]
            merged.extend(
                ParameterUse(
                    name=name,
                    value=e.value,
                    since=e.since,
                    layer=layer.id,
                    citation=e.citation,
                    overrides=previous_layer,
                )
                for e in entries
            )
            previous_layer = layer.id
        merged.sort(key=lambda u: u.since)  # stable: equal sinces keep recorded order
        return _Timeline(sinces=tuple(u.since for u in merged), uses=tuple(merged))

    # -- rules ----------------------------------------------------------------------

    def rules_in_force(self, on: dt.date) -> tuple[RuleDef, ...]:
        """Rules in force on ``on``, sorted by id so install order never matters."""
        return self._in_force(on)

    def _rules_in_force(self, on: dt.date) -> tuple[RuleDef, ...]:
        return tuple(a.rule for a in self.rules if a.in_force(on))

    def rule_ids_in_force(self, on: dt.date) -> frozenset[str]:
        return self._ids_in_force(on)

    def _rule_ids_in_force(self, on: dt.date) -> frozenset[str]:
        return frozenset(r.id for r in self._rules_in_force(on))

    def _active_rules(self) -> tuple[ActiveRule, ...]:
        by_id: dict[str, RuleDef] = {}
        for layer in self.layers:
            for r in layer.rules:
                by_id[r.id] = r
        disabled: dict[str, tuple[DisableDef, str]] = {}
        for i, layer in enumerate(self.layers):
            ancestors = {r.id for lay in self.layers[:i] for r in lay.rules}
            for d in layer.disables:
                if d.rule not in ancestors:
                    raise RulesetError(
                        layer.origin,
                        f'disable."{d.rule}"',
                        f"no rule {d.rule!r} in the layers {layer.id!r} extends "
                        f"({', '.join(sorted(ancestors)) or 'none'})",
                    )
                disabled[d.rule] = (d, layer.id)
        out = []
        for rid in sorted(by_id):
            hit = disabled.get(rid)
            out.append(ActiveRule(
                rule=by_id[rid], disabled=hit[0] if hit else None, disabled_by=hit[1] if hit else None
            ))
        return tuple(out)

    def _check_overrides(self) -> None:
        seen: dict[str, str] = {}
        for layer in self.layers:
            for name, pdef in layer.parameters.items():
                parent = seen.get(name)
                if parent is not None and not pdef.override:
                    raise RulesetError(
                        layer.origin,
                        f'parameters."{name}"',
                        f"already defined by {parent!r}; declare override = true to replace it",
                    )
                if parent is None and pdef.override:
                    raise RulesetError(
                        layer.origin,
                        f'parameters."{name}".override',
                        "overrides nothing: no layer this one extends defines it",
                    )
                seen[name] = layer.id


def build_chains(docs: Iterable[RulesetDoc]) -> Mapping[str, RulesetChain]:
    """Link every document to its ancestors; refuse unknown parents and cycles."""
    by_id: dict[str, RulesetDoc] = {}
    for doc in docs:
        if doc.id in by_id:
            raise RulesetError(doc.origin, "id", f"ruleset {doc.id!r} is also provided by {by_id[doc.id].origin}")
        by_id[doc.id] = doc
    chains: dict[str, RulesetChain] = {}
    for rid in sorted(by_id):
        layers: list[RulesetDoc] = []
        cur: RulesetDoc | None = by_id[rid]
        seen: list[str] = []
        while cur is not None:
            if cur.id in seen:
                cycle = " → ".join([*seen, cur.id])
                raise RulesetError(by_id[rid].origin, "extends", f"cycle in extends: {cycle}")
            seen.append(cur.id)
            layers.append(cur)
            if len(seen) > MAX_CHAIN_DEPTH:
                raise RulesetError(
                    by_id[rid].origin, "extends",
                    f"extends chain deeper than {MAX_CHAIN_DEPTH} layers: {' → '.join(seen[:5])} → …",
                )
            if cur.extends is None:
                cur = None
            elif cur.extends not in by_id:
                raise RulesetError(
                    cur.origin, "extends", f"extends {cur.extends!r}, which no installed ruleset provides"
                )
            else:
                cur = by_id[cur.extends]
        chains[rid] = RulesetChain(tuple(reversed(layers)))
    return chains
