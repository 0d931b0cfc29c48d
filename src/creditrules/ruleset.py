"""Reading one ruleset file: dated, cited parameters and the rules that use them.

A ruleset is data (TOML, read with the standard library): nothing in it is
evaluated or imported. The format is documented in ``docs/reference/ruleset-format.md``;
in short::

    schema = "creditrules.ruleset/1"
    id = "guangxi"
    extends = "national"
    kind = "base"                       # or "region"
    name = { zh = "广西壮族自治区", en = "Guangxi" }

    [sources.gx2016]
    title = "桂教师范〔2016〕18号《…学分认定登记管理办法(试行)》"

    [parameters."cycle_credits.minimum"]
    description = "Credits required per five-year cycle"
    unit = "credits"
    values = [
      { since = 2016-01-01, value = 120, source = "gx2016", clause = "每个周期必须修满120学分(360学时)" },
    ]

    [rules.cycle_credits]
    family = "cycle_total"
    severity = "fail"
    since = 2016-01-01
    source = "gx2016"
    clause = "五年一个培训周期。每个周期必须修满120学分(360学时)"
    title = { zh = "周期学分", en = "Cycle credits" }

Every problem is reported as a :class:`~creditrules.errors.RulesetError`
naming the file and the key path (``parameters."cycle.years".values[1].since``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from attrs import field, frozen

from .errors import RulesetError
from .model import Citation, Reason

__all__ = [
    "DisableDef",
    "ParamEntry",
    "ParamDef",
    "RuleDef",
    "RulesetDoc",
    "load_ruleset",
    "parse_ruleset",
]

SCHEMA = "creditrules.ruleset/1"
#: Bounds that keep a hostile file from exhausting memory: ruleset files are
#: small, hand-written documents.
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 8
#: Bounds checked on the text before the TOML parser sees it: tomllib recurses
#: once per nested ``[`` / ``{`` (deep nesting exhausts the stack) and keeps
#: every prefix of a dotted key (a 30 000-part key ``a.a.a…`` takes gigabytes).
MAX_NESTING = 32
MAX_KEY_PARTS = 32

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PARAM = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_SEVERITIES = ("fail", "warn")


@frozen
class ParamEntry:
    """One dated value of a parameter: in force from ``since``, known from ``recorded``."""

    since: dt.date
    value: Any
    citation: Citation
    recorded: dt.date


@frozen
class ParamDef:
    name: str
    description: str
    unit: str | None
    override: bool
    entries: tuple[ParamEntry, ...]


@frozen
class RuleDef:
    """A rule instance: a family implementation bound to this ruleset's parameters."""

    id: str  # namespaced: "<ruleset id>.<name>"
    name: str
    family: str
    params: str  # parameter prefix
    severity: str
    since: dt.date
    until: dt.date | None
    title: Reason
    citation: Citation


@frozen
class DisableDef:
    """A parent's rule switched off by a child layer from ``since`` on, with its reason."""

    rule: str
    since: dt.date
    reason: str
    citation: Citation


@frozen
class RulesetDoc:
    id: str
    extends: str | None
    kind: str
    name: Reason
    notes: str
    parameters: Mapping[str, ParamDef]
    rules: tuple[RuleDef, ...]
    disables: tuple[DisableDef, ...]
    hash: str
    origin: str  # where it was read from (file path or plugin), for error messages
    text: str = field(eq=False, repr=False)  # the file as read, for the audit archive


def load_ruleset(path: Path | str, origin: str | None = None) -> RulesetDoc:
    """Read and validate the ruleset file at ``path``."""
    p = Path(path)
    label = origin or str(p)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RulesetError(label, "", f"file is {size} bytes; a ruleset may be at most {MAX_FILE_BYTES}")
        raw = p.read_bytes()
    except OSError as exc:
        raise RulesetError(label, "", f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RulesetError(label, "", f"not UTF-8 text (byte {exc.start})") from None
    return parse_ruleset(text, label)


def parse_ruleset(text: str, origin: str) -> RulesetDoc:
    """Validate ruleset ``text``; ``origin`` names it in errors."""
    if len(text) > MAX_FILE_BYTES:
        raise RulesetError(origin, "", f"text is longer than {MAX_FILE_BYTES} characters")
    problem = _shape_problem(text)
    if problem:
        raise RulesetError(origin, "", problem)
    try:
        # parse_float=Decimal: a TOML number like 0.3 is read as written, never as a float.
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise RulesetError(origin, "", f"not valid TOML: {exc}") from None
    except ValueError:  # Python refuses to read an integer of more than 4300 digits
        raise RulesetError(origin, "", "not valid TOML: an integer has too many digits") from None
    except ArithmeticError:  # Decimal refuses an exponent like 1e99999999999999999999
        raise RulesetError(origin, "", "not valid TOML: a number is too large or too small") from None
    except RecursionError:  # the shape check should have caught it; never a crash
        raise RulesetError(origin, "", "not valid TOML: nested too deeply") from None
    return _Reader(origin).document(data, text)


# Strings and comments, blanked before the shape check so a clause quoting
# "第1.2.3条" or a URL is not mistaken for structure. Unterminated strings are
# left for tomllib to refuse.
_STRINGS = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*',
    re.DOTALL,
)
# Possessive, and anchored at a word's start: linear even on a 1 MB run of letters.
_DOTTED = re.compile(r'(?<![A-Za-z0-9_"-])(?:[A-Za-z0-9_-]++|"")(?:[ \t]*+\.[ \t]*+(?:[A-Za-z0-9_-]++|""))++')
_BRACKETS = re.compile(r"[][{}]")


def _shape_problem(text: str) -> str | None:
    """Why ``text`` is too deep for the TOML parser to read safely, or None."""
    bare = _STRINGS.sub('""', text)
    parts = max((m.group().count(".") + 1 for m in _DOTTED.finditer(bare)), default=0)
    if parts > MAX_KEY_PARTS:
        return f"a dotted key has {parts} parts; a ruleset needs at most {MAX_KEY_PARTS}"
    depth = deepest = 0
    for m in _BRACKETS.finditer(bare):
        depth += 1 if m.group() in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            return f"nested deeper than {MAX_NESTING} levels of [ ] and {{ }}"
    return None


class _Reader:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, path: str, reason: str) -> RulesetError:
        return RulesetError(self.origin, path, reason)

    # -- primitive checks -------------------------------------------------------

    def table(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a table, got {_kind(value)}")
        return value

    def keys(self, table: dict[str, Any], path: str, required: set[str], optional: set[str]) -> None:
        unknown = sorted(set(table) - required - optional)
        if unknown:
            known = ", ".join(sorted(required | optional))
            raise self.fail(_join(path, unknown[0]), f"unknown key (known keys: {known})")
        missing = sorted(required - set(table))
        if missing:
            raise self.fail(_join(path, missing[0]), "required key is missing")

    def string(self, value: Any, path: str, *, allow_empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"must be a string, got {_kind(value)}")
        if not allow_empty and not value.strip():
            raise self.fail(path, "must not be empty")
        return value

    def date(self, value: Any, path: str) -> dt.date:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise self.fail(path, f"must be a date like 2016-01-01 (unquoted), got {_kind(value)}")
        return value

    def bilingual(self, value: Any, path: str) -> Reason:
        t = self.table(value, path)
        self.keys(t, path, {"zh", "en"}, set())
        return Reason(self.string(t["zh"], f"{path}.zh"), self.string(t["en"], f"{path}.en"))

    def value(self, value: Any, path: str, depth: int = 0) -> Any:
        """Normalise a parameter value: numbers become exact Decimals."""
        if depth > MAX_DEPTH:
            raise self.fail(path, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise self.fail(path, "must be a finite number")
            return value
        if isinstance(value, str | dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, list):
            return tuple(self.value(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
        if isinstance(value, dict):
            return {k: self.value(v, _join(path, k), depth + 1) for k, v in sorted(value.items())}
        raise self.fail(path, f"unsupported value of type {_kind(value)}")

    # -- sections -----------------------------------------------------------------

    def document(self, data: dict[str, Any], text: str) -> RulesetDoc:
        self.keys(
            data,
            "",
            {"schema", "id", "name"},
            {"extends", "kind", "notes", "sources", "parameters", "rules", "disable"},
        )
        if data["schema"] != SCHEMA:
            raise self.fail("schema", f"must be {SCHEMA!r}, got {data['schema']!r}")
        rid = self.string(data["id"], "id")
        if not _ID.match(rid):
            raise self.fail("id", f"must be lower-case letters, digits and _ (got {rid!r})")
        extends = data.get("extends")
        if extends is not None:
            extends = self.string(extends, "extends")
            if extends == rid:
                raise self.fail("extends", f"a ruleset cannot extend itself ({rid!r})")
        kind = data.get("kind", "region")
        if kind not in ("base", "region"):
            raise self.fail("kind", f"must be 'base' or 'region', got {kind!r}")
        name = self.bilingual(data["name"], "name")
        notes = self.string(data.get("notes", ""), "notes", allow_empty=True)

        sources = self.sources(data.get("sources", {}))
        parameters = self.parameters(data.get("parameters", {}), sources)
        rules = self.rules(rid, data.get("rules", {}), sources)
        disables = self.disables(data.get("disable", {}), sources)
        digest = hashlib.sha256(
            json.dumps(_plain(data), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        ).hexdigest()
        return RulesetDoc(
            id=rid,
            extends=extends,
            kind=kind,
            name=name,
            notes=notes,
            parameters=parameters,
            rules=rules,
            disables=disables,
            hash=digest,
            origin=self.origin,
            text=text,
        )

    def sources(self, raw: Any) -> dict[str, str]:
        table = self.table(raw, "sources")
        out: dict[str, str] = {}
        for key, entry in table.items():
            path = _join("sources", key)
            t = self.table(entry, path)
            self.keys(t, path, {"title"}, {"url", "note", "status"})
            out[key] = self.string(t["title"], f"{path}.title")
        return out

    def citation(self, t: dict[str, Any], path: str, sources: dict[str, str]) -> Citation:
        src = self.string(t["source"], f"{path}.source")
        clause = self.string(t["clause"], f"{path}.clause")
        # A source is a key of [sources] or, for a one-off citation, the title itself;
        # a key-like word that is not a key is a typo, not a title.
        if src not in sources and _ID.match(src):
            known = ", ".join(sorted(sources)) or "none"
            raise self.fail(f"{path}.source", f"unknown source {src!r} (keys of [sources]: {known})")
        return Citation(source=sources.get(src, src), text=clause)

    def parameters(self, raw: Any, sources: dict[str, str]) -> dict[str, ParamDef]:
        table = self.table(raw, "parameters")
        out: dict[str, ParamDef] = {}
        for name in sorted(table):
            path = _join("parameters", name)
            if not _PARAM.match(name):
                raise self.fail(path, "a parameter name is dotted lower-case words, like 'cycle.years'")
            t = self.table(table[name], path)
            self.keys(t, path, {"description", "values"}, {"unit", "override", "notes"})
            override = t.get("override", False)
            if not isinstance(override, bool):
                raise self.fail(f"{path}.override", f"must be true or false, got {_kind(override)}")
            values = t["values"]
            if not isinstance(values, list) or not values:
                raise self.fail(f"{path}.values", "must be a non-empty list of {since, value, source, clause}")
            entries = []
            for i, v in enumerate(values):
                vpath = f"{path}.values[{i}]"
                e = self.table(v, vpath)
                self.keys(e, vpath, {"since", "value", "source", "clause"}, {"recorded", "note"})
                since = self.date(e["since"], f"{vpath}.since")
                recorded = self.date(e["recorded"], f"{vpath}.recorded") if "recorded" in e else since
                entries.append(
                    ParamEntry(
                        since=since,
                        value=self.value(e["value"], f"{vpath}.value"),
                        citation=self.citation(e, vpath, sources),
                        recorded=recorded,
                    )
                )
            for i in range(1, len(entries)):
                prev, cur = entries[i - 1], entries[i]
                if (cur.since, cur.recorded) <= (prev.since, prev.recorded):
                    raise self.fail(
                        f"{path}.values[{i}].since",
                        f"dates overlap or are out of order: {cur.since.isoformat()} does not come after "
                        f"{prev.since.isoformat()} (a correction of a past value needs a later 'recorded' date)",
                    )
            unit = t.get("unit")
            out[name] = ParamDef(
                name=name,
                description=self.string(t["description"], f"{path}.description"),
                unit=self.string(unit, f"{path}.unit") if unit is not None else None,
                override=override,
                entries=tuple(entries),
            )
        return out

    def rules(self, rid: str, raw: Any, sources: dict[str, str]) -> tuple[RuleDef, ...]:
        table = self.table(raw, "rules")
        out = []
        for name in sorted(table):
            path = _join("rules", name)
            if not _ID.match(name):
                raise self.fail(path, "a rule name is lower-case letters, digits and _")
            t = self.table(table[name], path)
            self.keys(
                t,
                path,
                {"family", "severity", "since", "source", "clause", "title"},
                {"params", "until", "notes"},
            )
            severity = t["severity"]
            if severity not in _SEVERITIES:
                raise self.fail(f"{path}.severity", f"must be 'fail' or 'warn', got {severity!r}")
            since = self.date(t["since"], f"{path}.since")
            until = self.date(t["until"], f"{path}.until") if "until" in t else None
            if until is not None and until <= since:
                raise self.fail(f"{path}.until", f"must be after since {since.isoformat()}")
            out.append(
                RuleDef(
                    id=f"{rid}.{name}",
                    name=name,
                    family=self.string(t["family"], f"{path}.family"),
                    params=self.string(t.get("params", name), f"{path}.params"),
                    severity=severity,
                    since=since,
                    until=until,
                    title=self.bilingual(t["title"], f"{path}.title"),
                    citation=self.citation(t, path, sources),
                )
            )
        return tuple(out)

    def disables(self, raw: Any, sources: dict[str, str]) -> tuple[DisableDef, ...]:
        table = self.table(raw, "disable")
        out = []
        for rule in sorted(table):
            path = _join("disable", rule)
            t = self.table(table[rule], path)
            self.keys(t, path, {"since", "reason", "source", "clause"}, set())
            out.append(
                DisableDef(
                    rule=rule,
                    since=self.date(t["since"], f"{path}.since"),
                    reason=self.string(t["reason"], f"{path}.reason"),
                    citation=self.citation(t, path, sources),
                )
            )
        return tuple(out)


def _join(path: str, key: str) -> str:
    part = key if _ID.match(key) else json.dumps(key, ensure_ascii=False)
    return f"{path}.{part}" if path else part


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _plain(value: Any) -> Any:
    """TOML data → JSON-able, for the content hash (dates as ISO strings, floats exact)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
