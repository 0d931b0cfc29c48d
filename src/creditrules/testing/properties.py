"""The consistency properties: what must hold for every region, whatever its rules say.

Each property is a plain function ``check_<name>(engine, region, as_of,
subject, records)`` that returns ``None`` when the property holds and raises
:class:`AssertionError` with a message naming the region, the date, the input
that broke it, and expected against got. Call one with a crafted example in a
test, or let :func:`run_property` (hypothesis) and :func:`check_region` (all of
them) search for a counter-example. ``docs/explanation/properties.md`` says
what each one guarantees and how to read a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeAlias

import attrs
from attrs import evolve, frozen

from ..canonical import canonical_json, read_decision, to_plain
from ..convert import (
    structure_person,
    structure_project,
    structure_record,
    structure_unit,
    unstructure,
)
from ..engine import Engine
from ..errors import InputError
from ..families.base import RuleFamily
from ..families.person import (
    AnnualMinimumFamily,
    CategoryMixFamily,
    CycleTotalFamily,
    NewTeacherFamily,
    TrainerMinimumFamily,
)
from ..families.records import ROUNDINGS
from ..model import (
    Category,
    Decision,
    Finding,
    Level,
    Outcome,
    Period,
    Person,
    Project,
    Subject,
    SubjectKind,
    TrainingRecord,
    Unit,
)
from . import _introspect as intro
from .strategies import REFUSALS

__all__ = [
    "AT_LEAST_FAMILIES",
    "Check",
    "JUNK_VALUES",
    "Property",
    "check_as_of_stability",
    "check_caps_and_conservation",
    "check_determinism",
    "check_duplicate_idempotence",
    "check_layering",
    "check_monotonicity",
    "check_order_invariance",
    "check_round_trip",
    "check_row_refused",
    "check_row_total",
    "check_totality",
    "property_registry",
]

Check: TypeAlias = Callable[[Engine, str, dt.date, Subject, Sequence[TrainingRecord]], None]

#: Families whose findings measure an amount that must reach a minimum (≥), so more credit never hurts.
AT_LEAST_FAMILIES = (CycleTotalFamily, AnnualMinimumFamily, CategoryMixFamily, TrainerMinimumFamily, NewTeacherFamily)


# -- shared helpers --------------------------------------------------------------------


def _who(region: str, as_of: dt.date, subject: Subject) -> str:
    return f"region {region}, as_of {as_of.isoformat()}, {subject.kind.value} {subject.id}"


def _fail(prop: str, region: str, as_of: dt.date, subject: Subject, detail: str) -> AssertionError:
    return AssertionError(f"[{prop}] {_who(region, as_of, subject)}: {detail}")


def _decide(
    engine: Engine, region: str, as_of: dt.date, subject: Subject, records: Iterable[TrainingRecord] = ()
) -> Decision:
    recs = list(records) if isinstance(subject, Person) else []
    return engine.adjudicate(subject, recs, region=region, as_of=as_of)


def _differences(a: Any, b: Any, path: str = "$", limit: int = 4) -> list[str]:
    """Up to ``limit`` JSON paths where plain values ``a`` and ``b`` differ, with both values."""
    out: list[str] = []

    def walk(x: Any, y: Any, p: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                walk(x.get(k, "<absent>"), y.get(k, "<absent>"), f"{p}.{k}")
        elif isinstance(x, list) and isinstance(y, list):
            for i in range(max(len(x), len(y))):
                walk(x[i] if i < len(x) else "<absent>", y[i] if i < len(y) else "<absent>", f"{p}[{i}]")
        elif x != y:
            out.append(f"{p}: {_short(x)} ≠ {_short(y)}")

    walk(a, b, path)
    return out


def _short(value: Any, width: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= width else text[: width - 1] + "…"


def _plain(decision: Decision) -> dict[str, Any]:
    return json.loads(canonical_json(decision))  # type: ignore[no-any-return]


def _diff_text(a: Decision, b: Decision) -> str:
    return "; ".join(_differences(_plain(a), _plain(b))) or "(byte difference only)"


def _fresh_id(base: str, taken: set[str], *, before: bool = False) -> str:
    candidate = f"0{base}" if before else f"{base}~"
    while candidate in taken:
        candidate = f"0{candidate}" if before else f"{candidate}~"
    taken.add(candidate)
    return candidate


def _spread(items: Sequence[Any], n: int = 3) -> list[Any]:
    """Up to ``n`` items: the first, the last and one from the middle."""
    if len(items) <= n:
        return list(items)
    picks = {0, len(items) - 1, len(items) // 2}
    return [items[i] for i in sorted(picks)][:n]


_twins: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _fresh(family: RuleFamily) -> RuleFamily:
    try:
        return type(family)()
    except TypeError:  # a family that needs constructor arguments: reuse the instance
        return family


def _twin(engine: Engine) -> Engine:
    """A second engine with the same layers: new family instances, empty caches."""
    twin = _twins.get(engine)
    if twin is None:
        providers = {info.id: info.plugin for info in engine.regions(include_base=True)}
        layers = {layer.id: layer for chain in engine.chains.values() for layer in chain.layers}
        docs = [(providers.get(lid, "?"), doc) for lid, doc in sorted(layers.items())]
        families = [(engine.family_owner.get(name, "?"), _fresh(fam)) for name, fam in sorted(engine.families.items())]
        twin = Engine(engine.pm, docs, families, engine.plugins)
        _twins[engine] = twin
    return twin


# -- 1. determinism --------------------------------------------------------------------


def check_determinism(
    engine: Engine, region: str, as_of: dt.date, subject: Subject, records: Sequence[TrainingRecord]
) -> None:
    """The same inputs give byte-identical decision JSON: twice on one engine, and on a fresh engine."""
    first = _decide(engine, region, as_of, subject, records)
    again = _decide(engine, region, as_of, subject, records)
    fresh = _decide(_twin(engine), region, as_of, subject, records)
    text = canonical_json(first)
    for label, other in (("a second run", again), ("a freshly loaded engine", fresh)):
        if canonical_json(other) != text:
            raise _fail("determinism", region, as_of, subject,
                        f"{label} gave different JSON: {_diff_text(first, other)}")


# -- 2. order invariance ---------------------------------------------------------------


def check_order_invariance(
    engine: Engine, region: str, as_of: dt.date, subject: Subject, records: Sequence[TrainingRecord]
) -> None:
    """Reversing, rotating, or shuffling the records changes nothing in the decision JSON."""
    if not isinstance(subject, Person) or len(records) < 2:
        return
    base = _decide(engine, region, as_of, subject, records)
    text = canonical_json(base)
    shuffled = list(records)
    random.Random(len(records)).shuffle(shuffled)
    orders = {
        "reversed": list(reversed(records)),
        "rotated by one": [*records[1:], records[0]],
        "by record id, descending": sorted(records, key=lambda r: r.record_id, reverse=True),
        "shuffled": shuffled,
    }
    for label, order in orders.items():
        other = _decide(engine, region, as_of, subject, order)
        if canonical_json(other) != text:
            ids = ", ".join(r.record_id for r in order)
            raise _fail("order_invariance", region, as_of, subject,
                        f"records {label} ({ids}) changed the decision: {_diff_text(base, other)}")


# -- 3. as-of stability ----------------------------------------------------------------


def check_as_of_stability(
    engine: Engine, region: str, as_of: dt.date, subject: Subject, records: Sequence[TrainingRecord]
) -> None:
    """Adding records that end after ``as_of`` changes nothing but ``ignored_records``.

    Besides the later records given, copies of up to four counted records
    shifted to start the day after ``as_of`` are added.
    """
    if not isinstance(subject, Person):
        return
    kept = [r for r in records if r.end_date <= as_of]
    later = [r for r in records if r.end_date > as_of]
    taken = {r.record_id for r in records}
    day = dt.timedelta(days=1)
    for k, r in enumerate(kept[:4]):
        start = as_of + day * (1 + k)
        later.append(evolve(r, record_id=_fresh_id(f"{r.record_id}-late", taken),
                            start_date=start, end_date=start + (r.end_date - r.start_date)))
    if not later:
        return
    base = _decide(engine, region, as_of, subject, kept)
    mixed = kept + later
    random.Random(len(mixed)).shuffle(mixed)
    full = _decide(engine, region, as_of, subject, mixed)
    expected_ignored = sorted(r.record_id for r in later)
    if list(full.ignored_records) != expected_ignored:
        raise _fail("as_of_stability", region, as_of, subject,
                    f"ignored_records: expected {expected_ignored}, got {list(full.ignored_records)}")
    a, b = _plain(base), _plain(full)
    a["ignored_records"] = b["ignored_records"] = []
    if a != b:
        ids = ", ".join(expected_ignored)
        raise _fail("as_of_stability", region, as_of, subject,
                    f"adding records that end after as_of ({ids}) changed the decision: "
                    + "; ".join(_differences(a, b)))


# -- 4. duplicate idempotence ----------------------------------------------------------


def _totals(decision: Decision) -> dict[str, Any]:
    t = to_plain(decision.totals)
    assert isinstance(t, dict)
    return t


def check_duplicate_idempotence(
    engine: Engine, region: str, as_of: dt.date, subject: Subject, records: Sequence[TrainingRecord]
) -> None:
    """Registering a counted record again (same content, new id) leaves every total unchanged.

    Each of up to three counted records is duplicated once with an id sorting
    after the original and once with one sorting before it.
    """
    if not isinstance(subject, Person):
        return
    kept = [r for r in records if r.end_date <= as_of]
    if not kept:
        return
    base = _decide(engine, region, as_of, subject, records)
    want = _totals(base)
    taken = {r.record_id for r in records}
    for r in _spread(kept):
        for before in (False, True):
            dup = evolve(r, record_id=_fresh_id(r.record_id, taken, before=before))
            got = _totals(_decide(engine, region, as_of, subject, [*records, dup]))
            if got != want:
                raise _fail("duplicate_idempotence", region, as_of, subject,
                            f"registering {r.record_id} twice (copy {dup.record_id}) changed the totals: "
                            + "; ".join(_differences(want, got, "totals")))


# -- 5. monotonicity -------------------------------------------------------------------


def _key(f: Finding) -> tuple[str, Period | None, str | None]:
    return (f.rule, f.period, f.item)


def _free_days(records: Sequence[TrainingRecord], low: dt.date, high: dt.date) -> list[dt.date]:
    """The latest and the earliest day in ``low``..``high`` that no record's dates cover."""
    busy = [(r.start_date, r.end_date) for r in records]

    def free(d: dt.date) -> bool:
        return all(not (s <= d <= e) for s, e in busy)

    days: list[dt.date] = []
    d = high
    while d >= low and not days:
        if free(d):
            days.append(d)
        d -= dt.timedelta(days=1)
    d = low
    while d < (days[0] if days else high) and len(days) < 2:
        if free(d):
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def _monotone_findings(engine: Engine, decision: Decision, *, cycle_only: Period | None) -> dict[Any, Finding]:
    out: dict[Any, Finding] = {}
    for f in decision.findings:
        fam = engine.families.get(f.family)
        if not isinstance(fam, AT_LEAST_FAMILIES) or (f.item or "").startswith("max:"):
            continue
        if cycle_only is not None and f.period != cycle_only:
            continue
        out[_key(f)] = f
    return out


def check_monotonicity(
    engine: Engine, region: str, as_of: dt.date, subject: Subject, records: Sequence[TrainingRecord]
) -> None:
    """Adding a clean record never lowers credit and never turns a passing minimum into a failure.

    The added record is one no record-level rule excludes: its dates overlap no
    other record, it has no topic, subcategory, practice or absence, it is
    passed and unit-organised. It is tried in every category on the latest free
    day up to ``as_of``, and in one category on the earliest free day of the
    cycle. Totals (overall and per category) must not drop; a passing finding of
    a minimum family (cycle_total, annual_minimum, category_mix minimums,
    trainer_minimum, new_teacher) must still pass and measure no less. For a
    category some ``maximum`` caps, only the cycle's findings are compared:
    what exceeds a cycle cap is trimmed from the latest records, so a single
    later year may lose what an earlier year gained.
    """
    if not isinstance(subject, Person):
        return
    chain = engine.chain(region)
    cycle = intro.cycle_of(chain, as_of)
    low = cycle.start if cycle is not None else as_of - dt.timedelta(days=365)
    days = _free_days(records, max(low, intro.EARLIEST), as_of)
    if not days:
        return
    capped = intro.capped_categories(chain)
    base = _decide(engine, region, as_of, subject, records)
    taken = {r.record_id for r in records}
    trials = [(days[0], c) for c in Category]
    if len(days) > 1:
        trials.append((days[1], list(Category)[len(records) % len(Category)]))
    for day, category in trials:
        added = TrainingRecord(
            record_id=_fresh_id("MONO", taken), person_id=subject.person_id, level=Level.MUNICIPAL,
            category=category, start_date=day, end_date=day, hours=Decimal("12.0"),
            passed=True, organised_by_unit=True,
        )
        more = _decide(engine, region, as_of, subject, [*records, added])
        what = f"adding {category.value} record {added.record_id} ({day.isoformat()}, 12 h)"
        _no_drop(region, as_of, subject, what, base, more)
        scope = cycle if category in capped else None
        if category in capped and cycle is None:
            continue
        before = _monotone_findings(engine, base, cycle_only=scope)
        after = _monotone_findings(engine, more, cycle_only=scope)
        for key, f in before.items():
            if f.outcome is not Outcome.PASS:
                continue
            g = after.get(key)
            label = _label(f)
            if g is None:
                raise _fail("monotonicity", region, as_of, subject, f"{what} removed the passing finding {label}")
            if g.outcome is not Outcome.PASS:
                raise _fail("monotonicity", region, as_of, subject,
                            f"{what} turned {label} from pass into {g.outcome.value} "
                            f"(measured {_num(f.measured)} → {_num(g.measured)}, required {_num(g.required)})")
            if f.measured is not None and g.measured is not None and g.measured < f.measured:
                raise _fail("monotonicity", region, as_of, subject,
                            f"{what} lowered {label}.measured from {_num(f.measured)} to {_num(g.measured)}")


def _no_drop(region: str, as_of: dt.date, subject: Subject, what: str, base: Decision, more: Decision) -> None:
    pairs = [("totals.hours", base.totals.hours, more.totals.hours)]
    if base.totals.credits is not None:
        pairs.append(("totals.credits", base.totals.credits, more.totals.credits or Decimal(0)))
    after = {c.category: c for c in more.totals.by_category}
    for c in base.totals.by_category:
        other = after.get(c.category)
        pairs.append((f"totals.by_category.{c.category.value}.hours", c.hours,
                      other.hours if other else Decimal(0)))
        if c.credits is not None:
            pairs.append((f"totals.by_category.{c.category.value}.credits", c.credits,
                          (other.credits if other else None) or Decimal(0)))
    for name, was, now in pairs:
        if now < was:
            raise _fail("monotonicity", region, as_of, subject, f"{what} lowered {name} from {_num(was)} to {_num(now)}")


def _label(f: Finding) -> str:
    at = f"@{f.period.end.isoformat()}" if f.period else ""
    item = f"[{f.item}]" if f.item else ""
    return f"{f.rule}{at}{item}"


def _num(value: Decimal | None) -> str:
    if value is None:
        return "nothing"
    return str(to_plain(value))


# -- 6. caps and conservation ----------------------------------------------------------


def check_caps_and_conservation(
    engine: Engine, region: str, as_of: dt.date, subject: Subject, records: Sequence[TrainingRecord]
) -> None:
    """Credit is neither created nor lost in the arithmetic.

    * per category, the credit lines sum to the category total, and the
      categories sum to the decision's total (hours and credits);
    * every line has ``0 ≤ credited_hours ≤ hours`` and credits ``≥ 0``;
    * for each category a ``maximum`` caps, what the lines of the cycle count
      stays within the cap in force on ``as_of``;
    * where a credit-conversion rule is in force on a record's end date and the
      record is not scored per item, its credits are its credited hours ÷ the
      hours per credit of its category on that date, rounded as the ruleset says
      (below it only where a credit cap trimmed the line).
    """
    if not isinstance(subject, Person):
        return
    decision = _decide(engine, region, as_of, subject, records)
    chain = engine.chain(region)
    prop = "caps_and_conservation"

    def fail(detail: str) -> AssertionError:
        return _fail(prop, region, as_of, subject, detail)

    totals = decision.totals
    cat_hours = sum((c.hours for c in totals.by_category), Decimal(0))
    if cat_hours != totals.hours:
        raise fail(f"categories sum to {_num(cat_hours)} hours, the total says {_num(totals.hours)}")
    if totals.credits is not None:
        cat_credits = sum((c.credits or Decimal(0) for c in totals.by_category), Decimal(0))
        if cat_credits != totals.credits:
            raise fail(f"categories sum to {_num(cat_credits)} credits, the total says {_num(totals.credits)}")
    for c in totals.by_category:
        lines = [ln for ln in decision.lines if ln.category is c.category]
        hours = sum((ln.credited_hours for ln in lines), Decimal(0))
        if hours != c.hours:
            raise fail(f"{c.category.value} lines sum to {_num(hours)} hours, its total says {_num(c.hours)}")
        if c.credits is not None:
            credits = sum((ln.credits or Decimal(0) for ln in lines), Decimal(0))
            if credits != c.credits:
                raise fail(f"{c.category.value} lines sum to {_num(credits)} credits, its total says {_num(c.credits)}")
    by_id = {r.record_id: r for r in records}
    for ln in decision.lines:
        if not Decimal(0) <= ln.credited_hours <= ln.hours:
            raise fail(f"line {ln.record_id}: credited {_num(ln.credited_hours)} h of a {_num(ln.hours)} h record")
        if ln.credits is not None and ln.credits < 0:
            raise fail(f"line {ln.record_id}: negative credits {_num(ln.credits)}")

    # Caps in force on as_of, over the cycle containing it.
    cycle = intro.cycle_of(chain, as_of)
    cap_rules = {a.rule.id for a in chain.rules if "maximum" in getattr(engine.families.get(a.rule.family), "params", ())}
    if cycle is not None:
        for rule, fam in engine.rules(region, as_of):
            if rule.id not in cap_rules:
                continue
            try:
                maximum = chain.param(f"{rule.params}.maximum", as_of).value
                unit = str(chain.param(f"{rule.params}.unit", as_of).value)
            except LookupError:
                continue
            if not isinstance(maximum, dict):
                continue
            for cat, cap in maximum.items():
                lines = [ln for ln in decision.lines if ln.category.value == cat
                         and cycle.start <= by_id[ln.record_id].end_date <= cycle.end]
                counted = sum(((ln.credits or Decimal(0)) if unit == "credits" else ln.credited_hours
                               for ln in lines), Decimal(0))
                if counted > cap:
                    raise fail(f"{rule.id}: {cat} counts {_num(counted)} {unit} in the cycle "
                               f"{cycle.start.isoformat()}–{cycle.end.isoformat()}, above its cap {_num(cap)}")

    # Hours → credits, record by record, by the values in force on its end date.
    for ln in decision.lines:
        record = by_id[ln.record_id]
        rules = intro.conversion_rules(engine, chain, record.end_date)
        if not rules:
            continue
        rule, _ = rules[-1]
        on = record.end_date
        try:
            table = chain.param(f"{rule.params}.hours_per_credit", on).value
            quantum = chain.param(f"{rule.params}.quantum", on).value
            rounding = ROUNDINGS[str(chain.param(f"{rule.params}.rounding", on).value)]
        except LookupError:
            continue
        items = {}
        try:
            items = chain.param(f"{rule.params}.items", on).value
        except LookupError:
            pass
        if ln.credits is None:
            raise fail(f"line {ln.record_id}: no credits, though {rule.id} is in force on {on.isoformat()}")
        if record.subcategory is not None and record.subcategory in items:
            continue
        per = table.get(ln.category.value, table.get("default"))
        expected = Decimal(0) if not per else (ln.credited_hours / per).quantize(quantum, rounding=rounding)
        trimmed = any(r in cap_rules for r in ln.rules)
        if ln.credits > expected or (ln.credits != expected and not trimmed):
            raise fail(
                f"line {ln.record_id} ({ln.category.value}, ends {on.isoformat()}): {_num(ln.credited_hours)} h "
                f"÷ {_num(per)} h per credit (in force on {on.isoformat()}) = {_num(expected)} credits, "
                f"got {_num(ln.credits)}"
            )


# -- 8. round trip ---------------------------------------------------------------------

_STRUCTURE: Mapping[type, Callable[[Mapping[str, Any]], Any]] = {
    Person: structure_person,
    Project: structure_project,
    Unit: structure_unit,
    TrainingRecord: structure_record,
}


def check_round_trip(
    engine: Engine, region: str, as_of: dt.date, subject: Subject, records: Sequence[TrainingRecord]
) -> None:
    """``structure(unstructure(x)) == x`` for the subject and every record; decision JSON re-reads to the same bytes."""
    for obj in (subject, *records):
        row = unstructure(obj)
        try:
            back = _STRUCTURE[type(obj)](row)
        except InputError as exc:
            raise _fail("round_trip", region, as_of, subject,
                        f"{type(obj).__name__} {row!r} was refused when read back: {exc}") from None
        if back != obj:
            diffs = [f"{a.name}: {getattr(obj, a.name)!r} ≠ {getattr(back, a.name)!r}"
                     for a in attrs.fields(type(obj)) if getattr(obj, a.name) != getattr(back, a.name)]
            raise _fail("round_trip", region, as_of, subject,
                        f"{type(obj).__name__} changed on the way through unstructure/structure: {'; '.join(diffs)}")
    text = canonical_json(_decide(engine, region, as_of, subject, records))
    again = canonical_json(read_decision(text))
    if again != text:
        raise _fail("round_trip", region, as_of, subject,
                    "decision JSON read back with read_decision re-serialises differently: "
                    + "; ".join(_differences(json.loads(text), json.loads(again))))


# -- 9. layering -----------------------------------------------------------------------


def check_layering(
    engine: Engine, region: str, as_of: dt.date, subject: Subject, records: Sequence[TrainingRecord]
) -> None:
    """A region inherits its base layers' rules unless it disables them, and shows every override.

    * every rule in force on ``as_of`` in a base layer's own chain is in force in
      the region too, unless a layer of the region disabled it by then;
    * every rule that gives a finding when the subject is judged by a base layer
      gives one when it is judged by the region (disabled rules aside);
    * every parameter value a finding used is the chain's value for that date,
      from a layer of the chain, and names in ``overrides`` the layer before it
      that defines the same parameter (``None`` for the first).
    """
    chain = engine.chain(region)
    prop = "layering"
    active = {a.rule.id: a for a in chain.rules}

    def disabled(rule_id: str) -> bool:
        a = active.get(rule_id)
        return a is not None and a.disabled is not None and a.disabled.since <= as_of

    decision = _decide(engine, region, as_of, subject, records)
    produced = {f.rule for f in decision.findings}
    for layer in chain.layers[:-1]:
        base = engine.chains.get(layer.id)
        if base is None:
            continue
        for rule in base.rules_in_force(as_of):
            a = active.get(rule.id)
            if a is None or a.rule != rule:
                raise _fail(prop, region, as_of, subject, f"rule {rule.id} of layer {layer.id} is missing from the chain")
            if not a.in_force(as_of) and not disabled(rule.id):
                raise _fail(prop, region, as_of, subject,
                            f"rule {rule.id} of layer {layer.id} is in force there but not in {region}, "
                            "and no layer disables it")
        inherited = {f.rule for f in _decide(engine, layer.id, as_of, subject, records).findings}
        missing = sorted(r for r in inherited - produced if not disabled(r))
        if missing:
            raise _fail(prop, region, as_of, subject,
                        f"judged by {layer.id} the rules {', '.join(missing)} give findings; judged by {region} "
                        "they give none, and no layer disables them")
    definers: dict[str, list[str]] = {}
    for layer in chain.layers:
        for name in layer.parameters:
            definers.setdefault(name, []).append(layer.id)
    for f in decision.findings:
        for use in f.parameters:
            layers = definers.get(use.name, [])
            where = f"finding {_label(f)} parameter {use.name}"
            if use.layer not in layers:
                raise _fail(prop, region, as_of, subject,
                            f"{where} says it comes from {use.layer!r}, which does not define it "
                            f"(defined by: {', '.join(layers) or 'no layer of the chain'})")
            i = layers.index(use.layer)
            expected = layers[i - 1] if i else None
            if use.overrides != expected:
                raise _fail(prop, region, as_of, subject,
                            f"{where} from {use.layer}: overrides should name {expected!r}, got {use.overrides!r}")
            try:
                in_chain = chain.param(use.name, use.since)
            except LookupError:
                in_chain = None
            if in_chain != use:
                raise _fail(prop, region, as_of, subject,
                            f"{where}: the finding used {use.value!r} (since {use.since.isoformat()}, {use.layer}), "
                            f"the chain's value then is "
                            f"{in_chain.value if in_chain else None!r} ({in_chain.layer if in_chain else '—'})")


# -- 10. totality ----------------------------------------------------------------------

#: Values the totality property writes into a row's fields, whatever their type.
JUNK_VALUES: tuple[Any, ...] = (
    None, "", " ", "x", -1, 0, 10**400, 1.5, float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity"),
    True, [], {}, [1, 2], {"a": 1}, "2019-02-29", "9" * 400, "１２", "1_0", "\x00", "是", "remote", "REMOTE ",
)


def check_row_refused(row: Mapping[str, Any], what: str = "invalid row") -> None:
    """``convert.structure_record(row)`` must raise :class:`~creditrules.errors.InputError`, nothing else."""
    try:
        record = structure_record(row)
    except InputError:
        return
    except Exception as exc:
        raise AssertionError(
            f"[totality] structure_record raised {type(exc).__name__} instead of InputError for {what}: "
            f"{row!r}: {exc}"
        ) from exc
    raise AssertionError(f"[totality] structure_record accepted a row with {what}: {row!r} → {record!r}")


def check_row_total(row: Mapping[str, Any]) -> None:
    """``convert.structure_record(row)`` returns a record or raises InputError: never another exception."""
    try:
        structure_record(row)
    except InputError:
        return
    except Exception as exc:
        raise AssertionError(
            f"[totality] structure_record raised {type(exc).__name__} instead of InputError for {row!r}: {exc}"
        ) from exc


def check_totality(
    engine: Engine, region: str, as_of: dt.date, subject: Subject, records: Sequence[TrainingRecord]
) -> None:
    """Valid input always yields a Decision (and its JSON) with no ``error`` finding; invalid rows yield InputError.

    The rows are the records' own, each broken in every way of
    :data:`~creditrules.testing.strategies.REFUSALS` (must be refused) and
    with fields replaced by :data:`JUNK_VALUES` (refused or read, never a crash).
    """
    try:
        decision = _decide(engine, region, as_of, subject, records)
        canonical_json(decision)
    except Exception as exc:
        raise _fail("totality", region, as_of, subject,
                    f"valid input raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(decision, Decision):
        raise _fail("totality", region, as_of, subject, f"adjudicate returned {type(decision).__name__}")
    errors = [f for f in decision.findings if f.outcome is Outcome.ERROR]
    if errors:
        raise _fail("totality", region, as_of, subject,
                    "valid input made rule code fail: " + "; ".join(f"{f.rule}: {f.reason.en}" for f in errors))
    rng = random.Random(len(records))
    for record in _spread(records, 2):
        row = unstructure(record)
        for what, mutate in REFUSALS:
            check_row_refused(mutate(dict(row)), what)
        for _ in range(6):
            junk = dict(row)
            for key in rng.sample([*sorted(row), "extra"], 2):
                junk[key] = rng.choice(JUNK_VALUES)
            check_row_total(junk)


# -- registry --------------------------------------------------------------------------


@frozen
class Property:
    """A consistency property: its name, its check, and which subjects it is drawn for."""

    name: str
    check: Check
    kinds: tuple[SubjectKind, ...]

    @property
    def summary(self) -> str:
        return (self.check.__doc__ or "").strip().splitlines()[0]


def _registry() -> dict[str, Property]:
    from .boundaries import check_boundaries

    person = (SubjectKind.PERSON,)
    every = (SubjectKind.PERSON, SubjectKind.PERSON, SubjectKind.PROJECT, SubjectKind.UNIT)
    entries = [
        ("determinism", check_determinism, every),
        ("order_invariance", check_order_invariance, person),
        ("as_of_stability", check_as_of_stability, person),
        ("duplicate_idempotence", check_duplicate_idempotence, person),
        ("monotonicity", check_monotonicity, person),
        ("caps_and_conservation", check_caps_and_conservation, person),
        ("boundaries", check_boundaries, every),
        ("round_trip", check_round_trip, every),
        ("layering", check_layering, every),
        ("totality", check_totality, every),
    ]
    return {name: Property(name, check, kinds) for name, check, kinds in entries}


def property_registry() -> dict[str, Property]:
    """Every property by name, in the order :func:`check_region` runs them."""
    return dict(_registry())
