"""What the command line shows: tables and bilingual reports, rendered with rich.

Everything here renders *plain* decisions (the dicts of
:func:`creditrules.canonical.to_plain`, or a line read back from a decisions
file), so a stored decision explains exactly like a fresh one. Data text
(reasons, clauses, topics) is never parsed as rich markup, and colour is
rich's business: none when the output is not a terminal.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .canonical import dec, to_plain
from .chain import MissingParameter
from .engine import Engine, RegionInfo
from .model import Outcome, TrainingRecord

__all__ = [
    "CATEGORY_ZH",
    "SYMBOL",
    "demo_table",
    "make_console",
    "pick_examples",
    "regions_table",
    "regions_view",
    "render_demo",
    "render_explanation",
    "render_rules",
    "rules_view",
    "show_value",
    "summary_table",
]

SYMBOL = {"pass": "✓", "fail": "✗", "warn": "!", "pending": "…", "not_applicable": "–"}
STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "pending": "cyan", "not_applicable": "dim"}
OUTCOMES = [o.value for o in Outcome]

CATEGORY_ZH = {
    "centralized": "集中培训",
    "remote": "远程培训",
    "school_based": "校本研修",
    "degree": "学历提升",
    "research": "课题研究",
    "trainer_duty": "培训者工作",
    "public_subject": "公需科目",
    "secondary_training": "二级培训",
}


def make_console(*, stderr: bool = False) -> Console:
    """A console that never guesses highlights in data (numbers, ids) and follows the stream it writes to."""
    return Console(stderr=stderr, highlight=False)


def say(console: Console, text: Text | str, indent: int = 0, style: str = "", hang: int = 0) -> None:
    """Print ``text`` wrapped to the console width, indented, continuation lines ``hang`` further in."""
    body = Text(text, style=style) if isinstance(text, str) else text
    first = True
    for part in body.split("\n"):
        width = max(20, console.width - indent - hang)
        for line in part.wrap(console, width, overflow="fold"):
            line.rstrip()
            console.print(Text(" " * (indent if first else indent + hang)) + line, soft_wrap=True)
            first = False


def outcome_text(outcome: str, *, upper: bool = False) -> Text:
    word = outcome.upper() if upper else outcome
    return Text(f"{SYMBOL.get(outcome, '?')} {word}", style=STYLE.get(outcome, ""))


def show_value(value: Any, unit: str | None = None) -> str:
    """A parameter or measured value as people read it: ``30``, ``a, b``, ``remote 40``."""
    plain = to_plain(value)
    if isinstance(plain, list):
        text = ", ".join(show_value(v) for v in plain)
    elif isinstance(plain, dict):
        text = ", ".join(f"{k} ({show_value(v)})" if isinstance(v, dict) else f"{k} {show_value(v)}"
                         for k, v in plain.items())
    elif plain is None:
        text = "—"
    elif isinstance(plain, bool):
        text = "true" if plain else "false"
    else:
        text = str(plain)
    return f"{text} {unit}" if unit and plain is not None else text


def value_lines(value: Any, unit: str | None = None) -> list[str]:
    """Like :func:`show_value`, but a table of tables (per-item scoring) one entry a line."""
    plain = to_plain(value)
    if isinstance(plain, dict) and any(isinstance(v, dict) for v in plain.values()):
        return [f"{k}: {show_value(v)}" for k, v in plain.items()]
    return [show_value(plain, unit)]


def _period(p: Mapping[str, str] | None) -> str:
    return f"{p['start']}–{p['end']}" if p else ""


def _short(h: str) -> str:
    return h[:10]


# -- regions ------------------------------------------------------------------------


def regions_view(regions: Sequence[RegionInfo]) -> list[dict[str, Any]]:
    return [
        {"id": r.id, "name": {"zh": r.name_zh, "en": r.name_en}, "chain": list(r.chain),
         "plugin": r.plugin, "hash": r.hash}
        for r in regions
    ]


def regions_table(regions: Sequence[RegionInfo]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    for header in ("id", "中文名", "English name", "chain", "plugin", "hash"):
        table.add_column(header, no_wrap=header in ("id", "中文名", "hash"))
    for r in regions:
        table.add_row(r.id, r.name_zh, r.name_en, " → ".join(r.chain), r.plugin, _short(r.hash))
    return table


# -- rules and parameters in force --------------------------------------------------


def rules_view(engine: Engine, region: str, as_of: dt.date, known_at: dt.date | None = None) -> dict[str, Any]:
    """The rules and parameter values in force for ``region`` on ``as_of``, as plain data."""
    chain = engine.chain(region)
    rules = [
        {
            "id": rule.id,
            "family": fam.name,
            "subject": fam.subject.value,
            "severity": rule.severity,
            "since": rule.since,
            "until": rule.until,
            "title": rule.title,
            "citation": rule.citation,
        }
        for rule, fam in engine.rules(region, as_of)
    ]
    disabled = [
        {"rule": a.rule.id, "by": a.disabled_by, "since": a.disabled.since, "reason": a.disabled.reason,
         "citation": a.disabled.citation}
        for a in chain.rules
        if a.disabled is not None and a.disabled.since <= as_of
    ]
    parameters = []
    for name in sorted(chain.parameter_names()):
        try:
            use = chain.param(name, as_of, known_at)
        except MissingParameter:
            continue
        pdef = next(layer.parameters[name] for layer in reversed(chain.layers) if name in layer.parameters)
        parameters.append({
            "name": name,
            "value": use.value,
            "unit": pdef.unit,
            "description": pdef.description,
            "since": use.since,
            "layer": use.layer,
            "overrides": use.overrides,
            "citation": use.citation,
        })
    view: dict[str, Any] = to_plain({
        "region": region,
        "as_of": as_of,
        "known_at": known_at,
        "chain": [layer.id for layer in chain.layers],
        "hash": chain.hash,
        "rules": rules,
        "disabled": disabled,
        "parameters": parameters,
    })
    return view


def _citation(console: Console, citation: Mapping[str, str], indent: int) -> None:
    say(console, citation["source"], indent, style="dim")
    say(console, f"“{citation['text']}”", indent)


def _value(console: Console, name: str, lines: Sequence[str], indent: int) -> None:
    if len(lines) == 1:
        say(console, Text.assemble((name, "bold"), f" = {lines[0]}"), indent, hang=4)
        return
    say(console, Text.assemble((name, "bold"), " ="), indent)
    for line in lines:
        say(console, line, indent + 4, hang=4)


def render_rules(console: Console, view: Mapping[str, Any]) -> None:
    known = f" (values recorded by {view['known_at']})" if view.get("known_at") else ""
    say(console, Text.assemble(
        (view["region"], "bold"), f" · rules in force on {view['as_of']}{known}",
        f" · {' → '.join(view['chain'])} · {_short(view['hash'])}",
    ))
    console.print()
    say(console, "Rules", style="bold underline")
    for r in view["rules"]:
        until = f" until {r['until']}" if r["until"] else ""
        console.print()
        say(console, Text.assemble(
            (r["id"], "bold"), f"  {r['family']} · {r['subject']} · {r['severity']} · since {r['since']}{until}",
        ))
        say(console, f"{r['title']['zh']} / {r['title']['en']}", 4)
        _citation(console, r["citation"], 4)
    if view["disabled"]:
        console.print()
        say(console, "Switched off by a lower layer", style="bold underline")
        for d in view["disabled"]:
            console.print()
            say(console, Text.assemble((d["rule"], "bold"), f"  by {d['by']} since {d['since']}"))
            say(console, d["reason"], 4)
            _citation(console, d["citation"], 4)
    console.print()
    say(console, "Parameters", style="bold underline")
    for p in view["parameters"]:
        console.print()
        _value(console, p["name"], value_lines(p["value"], p["unit"]), 0)
        where = Text(f"since {p['since']} · {p['layer']}")
        if p["overrides"]:
            where.append(f" · overrides {p['overrides']}", style="yellow")
        say(console, where, 4, hang=2)
        _citation(console, p["citation"], 4)


# -- summaries ----------------------------------------------------------------------


def summary_table(decisions: Iterable[Mapping[str, Any]], title: str | None = None) -> Table:
    """Subjects by kind × outcome."""
    counts: Counter[tuple[str, str]] = Counter()
    kinds: list[str] = []
    for d in decisions:
        kind = d["subject"]["kind"]
        if kind not in kinds:
            kinds.append(kind)
        counts[kind, d["outcome"]] += 1
    present = [o for o in OUTCOMES if any(counts[k, o] for k in kinds)]
    table = Table(box=box.SIMPLE_HEAD, title=title)
    table.add_column("subjects")
    for o in present:
        table.add_column(outcome_text(o), justify="right")
    table.add_column("total", justify="right")
    for kind in kinds:
        table.add_row(kind, *(str(counts[kind, o]) for o in present), str(sum(counts[kind, o] for o in OUTCOMES)))
    if len(kinds) > 1:
        table.add_row(
            Text("all", style="bold"),
            *(str(sum(counts[k, o] for k in kinds)) for o in present),
            str(sum(counts.values())),
        )
    return table


def mean_total(decisions: Iterable[Mapping[str, Any]]) -> str:
    """Mean total of the persons among ``decisions``: credits where the region counts credits, else hours."""
    persons = [d["totals"] for d in decisions if d["subject"]["kind"] == "person"]
    if not persons:
        return "—"
    unit = "credits" if all(t["credits"] is not None for t in persons) else "hours"
    values = [Decimal(t[unit]) for t in persons]
    return f"{dec((sum(values, Decimal(0)) / len(values)).quantize(Decimal('0.01')))} {unit}"


def demo_table(rows: Sequence[tuple[RegionInfo, dt.date, Sequence[Mapping[str, Any]]]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, title="Sample populations")
    table.add_column("region", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("as of", no_wrap=True)
    for header in ("subjects", "pass", "fail", "mean per person"):
        table.add_column(header, justify="right", no_wrap=True)
    for info, as_of, decisions in rows:
        outcomes = Counter(d["outcome"] for d in decisions)
        table.add_row(
            info.id, info.name_zh, as_of.isoformat(), str(len(decisions)),
            str(outcomes["pass"]), str(outcomes["fail"]), mean_total(decisions),
        )
    return table


def pick_examples(decisions: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A few telling decisions: a clean pass, failures for two different reasons, a failing unit or project."""
    def failed_rules(d: Mapping[str, Any]) -> frozenset[str]:
        return frozenset(f["rule"] for f in d["findings"] if f["outcome"] == "fail")

    persons = [d for d in decisions if d["subject"]["kind"] == "person"]
    chosen = [d for d in persons if d["outcome"] == "pass"
              and all(f["outcome"] in ("pass", "not_applicable") for f in d["findings"])][:1]
    seen: set[frozenset[str]] = set()
    for d in persons:
        if d["outcome"] == "fail" and failed_rules(d) not in seen and len(seen) < 2:
            seen.add(failed_rules(d))
            chosen.append(d)
    chosen += [d for d in decisions if d["subject"]["kind"] != "person" and d["outcome"] == "fail"][:1]
    return chosen


def render_demo(console: Console, runs: Sequence[tuple[RegionInfo, dt.date, Sequence[Mapping[str, Any]]]]) -> None:
    """The demo's page: a summary row per region, a few decisions explained briefly, where to go next."""
    console.print("creditrules demo: invented teachers and schools, judged by the installed rules.")
    console.print(demo_table(runs))
    console.print()
    for info, _, decisions in runs:
        console.rule(f"Examples: {info.id} {info.name_zh} {info.name_en}")
        for i, d in enumerate(pick_examples(decisions)):
            if i:
                console.print()
            render_explanation(console, d, region_name=f"{info.name_zh} {info.name_en}", brief=True)
    console.rule()
    failed = next((d["subject"]["id"] for _, _, ds in runs for d in ds if d["outcome"] == "fail"), None)
    if failed:
        console.print(f"Explain one subject in full:    creditrules demo --explain {failed}", soft_wrap=True)
    info, as_of, _ = runs[0]
    console.print(f"Rules and parameters in force:  creditrules rules --region {info.id} "
                  f"--as-of {as_of.isoformat()}", soft_wrap=True)


# -- explaining one decision --------------------------------------------------------


def render_explanation(
    console: Console,
    d: Mapping[str, Any],
    *,
    records: Mapping[str, TrainingRecord] | None = None,
    titles: Mapping[str, Mapping[str, str]] | None = None,
    region_name: str | None = None,
    brief: bool = False,
) -> None:
    """A bilingual report of one plain decision: header, totals, records, then findings by rule.

    ``records`` (the input rows, by id) adds dates and topics to the record
    lines; ``titles`` (rule id → {zh, en}) names each rule. ``brief`` shows
    only the header, totals and what was not passed.
    """
    _header(console, d, region_name)
    if not brief:
        console.print()
        _not_met(console, d)
    _totals(console, d, brief)
    if brief:
        _brief_findings(console, d)
        return
    _record_lines(console, d, records or {})
    _findings(console, d, titles or {})


def _header(console: Console, d: Mapping[str, Any], region_name: str | None) -> None:
    subject = d["subject"]
    region = f"{region_name} ({d['region']})" if region_name else d["region"]
    say(console, Text.assemble(
        (f"{subject['kind']} {subject['id']}", "bold"), f" · {region} · as of {d['as_of']} · ",
        outcome_text(d["outcome"], upper=True),
    ))
    chain = " → ".join(layer["id"] for layer in d["ruleset"]["chain"])
    say(console, f"ruleset {chain} {_short(d['ruleset']['hash'])} · engine {d['engine']}", style="dim")


def _not_met(console: Console, d: Mapping[str, Any]) -> None:
    failed = [f for f in d["findings"] if f["outcome"] == "fail"]
    if not failed:
        return
    say(console, "Not met (未达标):", style="bold")
    for f in failed:
        where = " · ".join(x for x in (f["item"], _period(f["period"])) if x)
        short = f" · short by {_amount(f['shortfall'], f['unit'])}" if f["shortfall"] not in (None, "0") else ""
        say(console, Text.assemble(outcome_text("fail"), f"  {f['rule']}", f" · {where}" if where else "", short),
            2, hang=4)
    console.print()


def _totals(console: Console, d: Mapping[str, Any], brief: bool) -> None:
    totals = d["totals"]
    cats = totals["by_category"]
    if not cats and not d["lines"]:
        return
    if brief:
        parts = ", ".join(
            f"{c['category']} {c['credits'] if c['credits'] is not None else c['hours'] + ' h'}" for c in cats
        )
        total = f"{totals['credits']} credits" if totals["credits"] is not None else f"{totals['hours']} hours"
        say(console, f"{total} ({parts})", 2)
        return
    table = Table(box=box.SIMPLE_HEAD, title="Totals by category", title_justify="left")
    table.add_column("category")
    table.add_column("hours", justify="right")
    table.add_column("credits", justify="right")
    for c in cats:
        table.add_row(f"{c['category']} {CATEGORY_ZH.get(c['category'], '')}", c["hours"], c["credits"] or "—")
    table.add_row(Text("total", style="bold"), totals["hours"], totals["credits"] or "—")
    console.print(table)


def _record_lines(console: Console, d: Mapping[str, Any], records: Mapping[str, TrainingRecord]) -> None:
    """One entry a record: what it counted for, then (if the input rows are known) its topic, then the rules."""
    if not d["lines"] and not d["ignored_records"]:
        return
    say(console, "Records", style="bold underline")
    year = None
    for ln in d["lines"]:
        rec = records.get(ln["record_id"])
        if rec is not None and rec.end_date.year != year:
            year = rec.end_date.year
            say(console, str(year), 1, style="bold")
        say(console, _record_head(ln, rec), 2, hang=4)
        if rec is not None and rec.topic:
            say(console, f"{rec.topic} · {rec.level.value}", 6, style="dim")
        say(console, f"rules: {', '.join(ln['rules']) or '—'}", 6, style="dim")
    if d["ignored_records"]:
        say(console, f"Not counted, they end after {d['as_of']} (结束日期晚于判定日,不计入): "
                     f"{', '.join(d['ignored_records'])}", 2)
    console.print()


def _record_head(ln: Mapping[str, Any], rec: TrainingRecord | None) -> Text:
    head = Text(ln["record_id"], style="bold")
    category = ln["category"]
    if rec is not None:
        head.append(f"  {rec.end_date.isoformat()}")
        if rec.category.value != category:
            category = f"{rec.category.value} → {category}"
        if rec.subcategory:
            category += f" ({rec.subcategory})"
    head.append(f"  {category}  {ln['hours']} h")
    lost_hours = ln["credited_hours"] != ln["hours"]
    if lost_hours:
        head.append(f", credited {ln['credited_hours']} h", style="yellow")
    if ln["credits"] is not None:
        no_credit = Decimal(ln["credits"]) == 0 and Decimal(ln["hours"]) != 0
        noun = "credit" if Decimal(ln["credits"]) == 1 else "credits"
        head.append(f" → {ln['credits']} {noun}", style="yellow" if no_credit else "")
    return head


def _groups(findings: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Consecutive findings of one rule, in the decision's (evaluation) order."""
    groups: list[list[Mapping[str, Any]]] = []
    for f in findings:
        if groups and groups[-1][0]["rule"] == f["rule"]:
            groups[-1].append(f)
        else:
            groups.append([f])
    return groups


def _findings(console: Console, d: Mapping[str, Any], titles: Mapping[str, Mapping[str, str]]) -> None:
    say(console, "Findings", style="bold underline")
    for group in _groups(d["findings"]):
        first = group[0]
        console.print()
        say(console, Text.assemble((first["rule"], "bold"), (f"  {first['family']}", "dim")))
        title = titles.get(first["rule"])
        if title:
            say(console, f"{title['zh']} / {title['en']}", 2)
        _citation(console, first["citation"], 2)
        _parameters(console, group, first["citation"])
        for f in group:
            _finding(console, f)


def _parameters(console: Console, group: Sequence[Mapping[str, Any]], rule_citation: Mapping[str, str]) -> None:
    seen: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for f in group:
        for p in f["parameters"]:
            seen.setdefault((p["name"], p["since"], p["layer"]), p)
    if not seen:
        return
    say(console, "parameters:", 2, style="dim")
    for key in sorted(seen):
        p = seen[key]
        _value(console, p["name"], value_lines(p["value"]), 4)
        where = Text(f"since {p['since']} · {p['layer']}", style="dim")
        if p["overrides"]:
            where.append(f" · overrides {p['overrides']}", style="yellow")
        if p["citation"] != rule_citation:
            source = "" if p["citation"]["source"] == rule_citation["source"] else f"{p['citation']['source']}: "
            where.append(f" · {source}“{p['citation']['text']}”", style="dim")
        say(console, where, 8, hang=2)


def _finding(console: Console, f: Mapping[str, Any], rule: bool = False) -> None:
    where = " · ".join(x for x in ((f["rule"] if rule else None), f["item"], _period(f["period"])) if x)
    say(console, Text.assemble(outcome_text(f["outcome"]), f"  {where}" if where else ""), 2, hang=4)
    say(console, f["reason"]["zh"], 6)
    say(console, f["reason"]["en"], 6)
    numbers = "" if rule else _numbers(f)
    if numbers:
        say(console, numbers, 6, style="dim")
    if f["records"] and not rule:
        say(console, f"records: {', '.join(f['records'])}", 6, style="dim")


def _numbers(f: Mapping[str, Any]) -> str:
    unit = f["unit"]
    limit = (f["item"] or "").startswith("max:")
    parts = []
    for label, key in (("measured", "measured"), ("limit" if limit else "required", "required"),
                       ("shortfall", "shortfall")):
        if f[key] is None or (key == "shortfall" and (limit or Decimal(f[key]) == 0)):
            continue
        parts.append(f"{label} {_amount(f[key], unit)}")
    return " · ".join(parts)


def _amount(value: str, unit: str | None) -> str:
    """A measured or required amount with its unit; a share as a percentage."""
    if unit == "share":
        return f"{dec(Decimal(value) * 100)}%"
    return show_value(value, unit)


def _brief_findings(console: Console, d: Mapping[str, Any]) -> None:
    shown = [f for f in d["findings"] if f["outcome"] not in ("pass", "not_applicable")]
    if not shown:
        say(console, "every rule passed (所有规则均通过)", 2, style="dim")
    for group in _groups(shown):
        for f in group:
            _finding(console, f, rule=True)
        citation = group[0]["citation"]
        say(console, f"{citation['source']}: “{citation['text']}”", 6, style="dim")
