"""Golden cases: worked examples a region must keep deciding the same way.

A golden file is TOML, one ``[[case]]`` per example, readable by the policy
officer who wrote the example::

    [[case]]
    name = "E01 GX annual pass (Beihai 2019)"
    source = "domain.md §3 E01"                     # optional
    region = "beihai"
    as_of = 2019-12-31
    known_at = 2020-01-01                           # optional: audit replay
    person = { person_id = "T1", role = "teacher" }  # exactly one of person / project / unit
    records = [                                     # person cases only; person_id defaults to the person's
      { record_id = "R1", level = "municipal", category = "centralized",
        start_date = 2019-03-01, end_date = 2019-03-02, hours = 12 },
    ]
    [case.expect]                                   # at least one expectation
    outcome = "pass"
    totals = { credits = "17.5", hours = "52.5", by_category = { centralized = { credits = "4" } } }
    ignored_records = ["R9"]
    lines = { R1 = { category = "centralized", credited_hours = "12", credits = "4" } }
    [[case.expect.findings]]
    rule = "guangxi.annual"
    period_end = 2019-12-31                         # optional: selects the finding for that period
    item = "total"                                  # optional: selects by Finding.item
    outcome = "pass"                                # optional, as are measured, required,
    measured = "17.5"                               # shortfall, unit and records

Numbers are compared as decimals (``Decimal("17.50")`` equals ``"17.5"``);
write them as strings to keep them exact. A finding selector must match
exactly one finding: none, or several, is itself a mismatch that lists what
the rule did produce. :func:`run_case` returns the mismatches; an empty list
means the case passes.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from attrs import frozen

from .canonical import dec
from .convert import (
    structure_person,
    structure_project,
    structure_record,
    structure_unit,
)
from .engine import Engine
from .errors import InputError
from .model import Decision, Finding, Outcome, Subject, TrainingRecord

__all__ = [
    "Expectation",
    "FindingExpectation",
    "GoldenCase",
    "LineExpectation",
    "Mismatch",
    "compare",
    "load_cases",
    "run_case",
    "run_file",
]

_CASE_KEYS = {"name", "source", "region", "as_of", "known_at", "person", "project", "unit", "records", "expect"}
_EXPECT_KEYS = {"outcome", "totals", "ignored_records", "lines", "findings"}
_TOTAL_KEYS = {"credits", "hours", "by_category"}
_AMOUNT_KEYS = {"credits", "hours"}
_LINE_KEYS = {"category", "credited_hours", "credits"}
_FINDING_SELECTORS = {"rule", "period_end", "item"}
_FINDING_CHECKS = {"outcome", "measured", "required", "shortfall", "unit", "records", "absent"}
_SUBJECTS: dict[str, Callable[[Mapping[str, Any]], Subject]] = {
    "person": structure_person,
    "project": structure_project,
    "unit": structure_unit,
}


@frozen
class FindingExpectation:
    """What one finding, picked by rule (and period end, item), must say."""

    rule: str
    period_end: dt.date | None
    item: str | None
    outcome: Outcome | None
    amounts: tuple[tuple[str, Decimal], ...]  # measured / required / shortfall
    unit: str | None
    records: tuple[str, ...] | None
    absent: bool = False  # the rule must produce no such finding (e.g. not in force)

    @property
    def label(self) -> str:
        """``guangxi.annual@2019-12-31[school_based]``: the selector, as mismatches name it."""
        at = f"@{self.period_end.isoformat()}" if self.period_end else ""
        item = f"[{self.item}]" if self.item is not None else ""
        return f"{self.rule}{at}{item}"


@frozen
class LineExpectation:
    """What one record was counted for (its credit line)."""

    record_id: str
    category: str | None
    amounts: tuple[tuple[str, Decimal], ...]  # credited_hours / credits


@frozen
class Expectation:
    """Everything a case asserts about its decision; ``None`` means "not asserted"."""

    outcome: Outcome | None = None
    totals: tuple[tuple[str, Decimal], ...] = ()
    by_category: tuple[tuple[str, str, Decimal], ...] = ()  # (category, credits|hours, value)
    ignored_records: tuple[str, ...] | None = None
    lines: tuple[LineExpectation, ...] = ()
    findings: tuple[FindingExpectation, ...] = ()


@frozen
class GoldenCase:
    """One worked example: a subject, its records, a region and date, and the expected decision."""

    name: str
    region: str
    as_of: dt.date
    subject: Subject
    records: tuple[TrainingRecord, ...]
    expect: Expectation
    origin: str
    source: str | None = None
    known_at: dt.date | None = None


@frozen
class Mismatch:
    """One way a decision differs from its case: ``what`` was expected to be ``expected`` but was ``got``."""

    what: str
    expected: Any
    got: Any

    def __str__(self) -> str:
        return f"{self.what}: expected {show_value(self.expected)}, got {show_value(self.got)}"


# -- loading ----------------------------------------------------------------------


def load_cases(path: Path | str) -> list[GoldenCase]:
    """Read and validate every case of the golden file at ``path``.

    Raises :class:`~creditrules.errors.InputError` naming the file, the case
    and the key of the first problem.
    """
    p = Path(path)
    origin = str(p)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", source=origin) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"not valid TOML: {exc}", source=origin) from None
    unknown = sorted(set(data) - {"case"})
    if unknown:
        raise InputError("unknown key (a golden file holds only [[case]] tables)", source=origin, field=unknown[0])
    raw_cases = data.get("case")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise InputError("no [[case]] tables", source=origin, field="case")
    cases: list[GoldenCase] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_cases):
        case = _Reader(origin, raw, i).case()
        if case.name in seen:
            raise InputError("a case of this name comes earlier in the file", source=origin,
                             record_id=case.name, kind="case", field="name")
        seen.add(case.name)
        cases.append(case)
    return cases


class _Reader:
    """Validates one ``[[case]]`` table; every error names the file, the case and the key."""

    def __init__(self, origin: str, raw: Any, index: int) -> None:
        self.origin = origin
        self.raw = raw
        name = raw.get("name") if isinstance(raw, dict) else None
        self.name = name if isinstance(name, str) and name.strip() else f"#{index + 1}"

    def fail(self, key: str | None, reason: str) -> InputError:
        return InputError(reason, source=self.origin, record_id=self.name, kind="case", field=key)

    def table(
        self, value: Any, key: str, allowed: Collection[str] | None, required: Collection[str] = ()
    ) -> dict[str, Any]:
        """``value`` as a table with only ``allowed`` keys (any keys if ``None``) and every ``required`` one."""
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        for k in sorted(value):
            if allowed is not None and k not in allowed:
                raise self.fail(_dotted(key, k), f"unknown key (known keys: {', '.join(sorted(allowed))})")
        for k in sorted(required):
            if k not in value:
                raise self.fail(_dotted(key, k), "required key is missing")
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be non-empty text")
        return value

    def date(self, value: Any, key: str) -> dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, f"must be a date like 2019-12-31, got {value!r}")

    def number(self, value: Any, key: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(key, f"must be a number (write decimals as strings: \"17.5\"), got {value!r}")
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except InvalidOperation:
            raise self.fail(key, f"must be a number, got {value!r}") from None
        if not number.is_finite():
            raise self.fail(key, f"must be a finite number, got {value!r}")
        return number

    def ids(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, "must be a list of record ids")
        return tuple(self.string(v, f"{key}[{i}]") for i, v in enumerate(value))

    def outcome(self, value: Any, key: str) -> Outcome:
        try:
            return Outcome(value)
        except ValueError:
            choices = ", ".join(o.value for o in Outcome)
            raise self.fail(key, f"must be one of {choices}, got {value!r}") from None

    def case(self) -> GoldenCase:
        t = self.table(self.raw, "", _CASE_KEYS, {"name", "region", "as_of", "expect"})
        name = self.string(t["name"], "name")
        kinds = [k for k in _SUBJECTS if k in t]
        if len(kinds) != 1:
            raise self.fail(None, f"give exactly one of person, project, unit (got {', '.join(kinds) or 'none'})")
        kind = kinds[0]
        subject = self.structure(_SUBJECTS[kind], t[kind], kind)
        records = self.records(t.get("records", []), subject, kind)
        return GoldenCase(
            name=name,
            region=self.string(t["region"], "region"),
            as_of=self.date(t["as_of"], "as_of"),
            subject=subject,
            records=records,
            expect=self.expectation(t["expect"]),
            origin=self.origin,
            source=self.string(t["source"], "source") if "source" in t else None,
            known_at=self.date(t["known_at"], "known_at") if "known_at" in t else None,
        )

    def structure(self, fn: Callable[[Mapping[str, Any]], Any], value: Any, key: str) -> Any:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        try:
            return fn(_iso(value))
        except InputError as exc:
            raise self.fail(_dotted(key, exc.field) if exc.field else key, exc.reason) from None

    def records(self, value: Any, subject: Subject, kind: str) -> tuple[TrainingRecord, ...]:
        if not isinstance(value, list):
            raise self.fail("records", "must be a list of tables")
        if value and kind != "person":
            raise self.fail("records", f"only a person has training records, not a {kind}")
        out = []
        for i, row in enumerate(value):
            key = f"records[{i}]"
            if isinstance(row, dict):
                row = {"person_id": subject.id, **row}
            record: TrainingRecord = self.structure(structure_record, row, key)
            if record.person_id != subject.id:
                raise self.fail(f"{key}.person_id", f"is {record.person_id!r}, but the case's person is {subject.id!r}")
            out.append(record)
        return tuple(out)

    def expectation(self, value: Any) -> Expectation:
        t = self.table(value, "expect", _EXPECT_KEYS)
        if not t:
            raise self.fail("expect", "asserts nothing: give outcome, totals, ignored_records, lines or findings")
        totals: list[tuple[str, Decimal]] = []
        by_category: list[tuple[str, str, Decimal]] = []
        if "totals" in t:
            tt = self.table(t["totals"], "expect.totals", _TOTAL_KEYS)
            totals = [(k, self.number(tt[k], f"expect.totals.{k}")) for k in sorted(_AMOUNT_KEYS & set(tt))]
            cats = self.table(tt.get("by_category", {}), "expect.totals.by_category", None)
            for cat in sorted(cats):
                key = f"expect.totals.by_category.{cat}"
                ct = self.table(cats[cat], key, _AMOUNT_KEYS)
                by_category.extend((cat, k, self.number(ct[k], f"{key}.{k}")) for k in sorted(ct))
        lines = []
        for rid, raw in sorted(self.table(t.get("lines", {}), "expect.lines", None).items()):
            key = f"expect.lines.{rid}"
            lt = self.table(raw, key, _LINE_KEYS)
            lines.append(LineExpectation(
                record_id=rid,
                category=self.string(lt["category"], f"{key}.category") if "category" in lt else None,
                amounts=tuple((k, self.number(lt[k], f"{key}.{k}")) for k in ("credited_hours", "credits") if k in lt),
            ))
        raw_findings = t.get("findings", [])
        if not isinstance(raw_findings, list):
            raise self.fail("expect.findings", "must be a list of tables ([[case.expect.findings]])")
        return Expectation(
            outcome=self.outcome(t["outcome"], "expect.outcome") if "outcome" in t else None,
            totals=tuple(totals),
            by_category=tuple(by_category),
            ignored_records=(
                self.ids(t["ignored_records"], "expect.ignored_records") if "ignored_records" in t else None
            ),
            lines=tuple(lines),
            findings=tuple(self.finding(f, f"expect.findings[{i}]") for i, f in enumerate(raw_findings)),
        )

    def finding(self, value: Any, key: str) -> FindingExpectation:
        t = self.table(value, key, _FINDING_SELECTORS | _FINDING_CHECKS, {"rule"})
        if not _FINDING_CHECKS & set(t):
            raise self.fail(key, f"asserts nothing: give one of {', '.join(sorted(_FINDING_CHECKS))}")
        return FindingExpectation(
            rule=self.string(t["rule"], f"{key}.rule"),
            period_end=self.date(t["period_end"], f"{key}.period_end") if "period_end" in t else None,
            item=self.string(t["item"], f"{key}.item") if "item" in t else None,
            outcome=self.outcome(t["outcome"], f"{key}.outcome") if "outcome" in t else None,
            amounts=tuple(
                (k, self.number(t[k], f"{key}.{k}")) for k in ("measured", "required", "shortfall") if k in t
            ),
            unit=self.string(t["unit"], f"{key}.unit") if "unit" in t else None,
            records=self.ids(t["records"], f"{key}.records") if "records" in t else None,
            absent=self.boolean(t["absent"], f"{key}.absent") if "absent" in t else False,
        )


# -- running ----------------------------------------------------------------------


def run_case(engine: Engine, case: GoldenCase) -> list[Mismatch]:
    """Adjudicate ``case`` with ``engine``; the ways the decision differs from it (empty: it passes)."""
    decision = engine.adjudicate(
        case.subject, case.records, region=case.region, as_of=case.as_of, known_at=case.known_at
    )
    return compare(case.expect, decision)


def run_file(engine: Engine, path: Path | str) -> list[tuple[GoldenCase, list[Mismatch]]]:
    """Run every case of the golden file at ``path``, in file order."""
    return [(case, run_case(engine, case)) for case in load_cases(path)]


def compare(expect: Expectation, decision: Decision) -> list[Mismatch]:
    """The ways ``decision`` differs from ``expect``, in the order the expectation lists them."""
    out: list[Mismatch] = []
    if expect.outcome is not None and decision.outcome is not expect.outcome:
        out.append(Mismatch("outcome", expect.outcome, decision.outcome))
    got_totals = {"credits": decision.totals.credits, "hours": decision.totals.hours}
    for key, value in expect.totals:
        _check_amount(out, f"totals.{key}", value, got_totals[key])
    cats = {c.category.value: c for c in decision.totals.by_category}
    for cat, key, value in expect.by_category:
        ct = cats.get(cat)
        # A category no record counted in totals nothing.
        got = getattr(ct, key) if ct is not None else Decimal(0)
        _check_amount(out, f"totals.by_category.{cat}.{key}", value, got)
    if expect.ignored_records is not None and sorted(expect.ignored_records) != sorted(decision.ignored_records):
        out.append(Mismatch("ignored_records", sorted(expect.ignored_records), sorted(decision.ignored_records)))
    for le in expect.lines:
        matches = [ln for ln in decision.lines if ln.record_id == le.record_id]
        what = f"line {le.record_id}"
        if len(matches) != 1:
            got = "no credit line (ignored or not given)" if not matches else f"{len(matches)} credit lines"
            out.append(Mismatch(what, "one credit line", got))
            continue
        line = matches[0]
        if le.category is not None and line.category.value != le.category:
            out.append(Mismatch(f"{what}.category", le.category, line.category.value))
        for key, value in le.amounts:
            _check_amount(out, f"{what}.{key}", value, getattr(line, key))
    for fe in expect.findings:
        out.extend(_check_finding(fe, decision.findings))
    return out


def _check_finding(fe: FindingExpectation, findings: Sequence[Finding]) -> list[Mismatch]:
    what = f"finding {fe.label}"
    of_rule = [f for f in findings if f.rule == fe.rule]
    chosen = [
        f for f in of_rule
        if (fe.period_end is None or (f.period is not None and f.period.end == fe.period_end))
        and (fe.item is None or f.item == fe.item)
    ]
    if fe.absent:
        if chosen:
            return [Mismatch(what, "no finding", ", ".join(_selector(f) for f in chosen))]
        return []
    if len(chosen) != 1:
        if not of_rule:
            got = f"none: rule {fe.rule} produced no finding"
        elif not chosen:
            got = f"none; {fe.rule} has {', '.join(_selector(f) for f in of_rule)}"
        else:
            got = f"{len(chosen)} findings: {', '.join(_selector(f) for f in chosen)}; select by period_end or item"
        return [Mismatch(what, "exactly one finding", got)]
    f = chosen[0]
    out: list[Mismatch] = []
    if fe.outcome is not None and f.outcome is not fe.outcome:
        out.append(Mismatch(f"{what}.outcome", fe.outcome, f.outcome))
    for key, value in fe.amounts:
        _check_amount(out, f"{what}.{key}", value, getattr(f, key))
    if fe.unit is not None and f.unit != fe.unit:
        out.append(Mismatch(f"{what}.unit", fe.unit, f.unit))
    if fe.records is not None and sorted(set(fe.records)) != sorted(set(f.records)):
        out.append(Mismatch(f"{what}.records", sorted(set(fe.records)), sorted(set(f.records))))
    return out


def _check_amount(out: list[Mismatch], what: str, expected: Decimal, got: Decimal | None) -> None:
    if got is None or expected != got:
        out.append(Mismatch(what, expected, got))


def _selector(f: Finding) -> str:
    at = f"@{f.period.end.isoformat()}" if f.period else ""
    item = f"[{f.item}]" if f.item is not None else ""
    return f"{at}{item}({f.outcome.value})" if at or item else f"one without period or item ({f.outcome.value})"


def show_value(value: Any) -> str:
    """A value as a golden file's reader wrote it: decimals plain, outcomes by name."""
    if value is None:
        return "nothing"
    if isinstance(value, Decimal):
        return dec(value)
    if isinstance(value, Outcome):
        return value.value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    return str(value)


def _dotted(key: str, sub: str) -> str:
    return f"{key}.{sub}" if key else sub


def _iso(value: Any) -> Any:
    """TOML values → what the converter reads from any file: dates as ISO strings."""
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value
