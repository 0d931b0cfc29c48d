"""The audit commands: ``ledger verify|head``, ``replay``, ``impact`` (``adjudicate --ledger`` writes the ledger).

Kept apart from :mod:`creditrules.cli` so each module does one job; they share
its option types, error handling and console.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence

import click
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from .audit import Ledger, ReplayResult, replay_entry
from .audit.impact import impact as run_impact
from .audit.impact import rules_version
from .cli import DATE, PROGRESS_THRESHOLD, _input_options, load_engine, load_population
from .report import make_console

__all__ = ["impact", "ledger", "replay"]


@click.group()
def ledger() -> None:
    """Inspect an audit ledger."""


@ledger.command()
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--expect-head", help="The head hash published earlier; catches entries cut off at the end.")
def verify(path: str, expect_head: str | None) -> None:
    """Check the hash chain (and HMAC, with CREDITRULES_LEDGER_KEY); name the first broken entry.

    Exit 0 when intact, 1 when broken.
    """
    with Ledger(path) as led:
        report = led.verify(expect_head=expect_head)
    click.echo(str(report))
    if not report.ok:
        raise click.exceptions.Exit(1)


@ledger.command()
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
def head(path: str) -> None:
    """Print the hash of the last entry: publish it to detect later truncation."""
    with Ledger(path) as led:
        click.echo(led.head())


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--id", "ids", multiple=True, help="Replay this record id (a unique prefix is enough); repeatable.")
@click.option("--all", "replay_all", is_flag=True, help="Replay every entry (the default when no --id is given).")
@click.option("--with-corrections", is_flag=True,
              help="Use today's installed rules with every correction, instead of the rules as known then.")
@click.option("--no-progress", is_flag=True, help="Never show a progress bar.")
def replay(path: str, ids: tuple[str, ...], replay_all: bool, with_corrections: bool, no_progress: bool) -> None:
    """Re-run stored decisions: "identical", or what differs per finding and why.

    Exit 0 when every decision reproduced (or, with --with-corrections, when the
    replay ran); 1 when a decision replayed as known then does not reproduce.
    """
    engine = load_engine()
    console = make_console()
    results: list[ReplayResult] = []
    with Ledger(path) as led:
        entries = [led.get(i) for i in ids] if ids and not replay_all else list(led.entries())
        for result in _with_progress(
            (replay_entry(engine, led, e, with_corrections=with_corrections) for e in entries),
            len(entries), "replaying", enabled=not no_progress,
        ):
            results.append(result)
            _print_result(result)
    mode = "with corrections known today" if with_corrections else "as known at decision time"
    console.print(_replay_table(results, mode))
    if not with_corrections and any(not r.identical for r in results):
        raise click.exceptions.Exit(1)


def _print_result(r: ReplayResult) -> None:
    label = f"{r.record_id[:12]} {r.subject} ({r.region})" if r.record_id else f"{r.subject} ({r.region})"
    if r.error:
        click.echo(f"{label}: cannot replay: {r.error}")
    elif r.identical:
        click.echo(f"{label}: identical")
    elif not r.findings_changed:
        click.echo(f"{label}: same findings under the new rules ({r.diffs[0]})")
    else:
        change = f"{r.outcome_before} → {r.outcome_after}" if r.changed_outcome else f"still {r.outcome_after}"
        click.echo(f"{label}: differs ({change})")
        for d in r.diffs:
            click.echo(f"    {d}")


def _replay_table(results: Sequence[ReplayResult], mode: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title=f"replay {mode}")
    for col in ("decisions", "identical", "same findings", "findings differ", "outcome changed", "errors"):
        table.add_column(col, justify="right")
    table.add_row(
        str(len(results)),
        str(sum(r.identical for r in results)),
        str(sum(not r.identical and not r.findings_changed for r in results)),
        str(sum(r.findings_changed and not r.error for r in results)),
        str(sum(r.changed_outcome and not r.error for r in results)),
        str(sum(bool(r.error) for r in results)),
    )
    return table


def _with_progress(items: Iterable[ReplayResult], total: int, label: str, *, enabled: bool) -> Iterable[ReplayResult]:
    console = make_console(stderr=True)
    if not (enabled and total > PROGRESS_THRESHOLD and console.is_terminal):
        yield from items
        return
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        for item in items:
            yield item
            bar.advance(task)


@click.command()
@click.option("--region", required=True, help="Region id.")
@click.option("--as-of", type=DATE, required=True, help="The date to judge on.")
@click.option("--from", "before", required=True, metavar="VERSION",
              help="Rules before: 'current', a date YYYY-MM-DD (as known then) or a ruleset file replacing a layer.")
@click.option("--to", "after", default="current", show_default=True, metavar="VERSION", help="Rules after (same forms).")
@_input_options()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def impact(
    region: str, as_of: dt.date, before: str, after: str, persons: str, records: str,
    projects: str | None, units: str | None, encoding: str | None, as_json: bool,
) -> None:
    """Adjudicate a population under two versions of the rules; who changes outcome, and why."""
    engine = load_engine()
    population = load_population(persons, records, projects, units, encoding=encoding)
    report = run_impact(
        engine, population, region=region, as_of=as_of,
        before=rules_version(engine, region, before), after=rules_version(engine, region, after),
    )
    if as_json:
        click.echo(json.dumps({
            "region": report.region, "as_of": report.as_of.isoformat(), "from": report.before, "to": report.after,
            "subjects": report.subjects, "changed": len(report.changed), "outcome_changed": report.changed_outcome,
            "by_rule": dict(report.by_rule),
            "subjects_changed": [
                {"subject": r.subject, "before": r.outcome_before, "after": r.outcome_after,
                 "diffs": [str(d) for d in r.diffs]} for r in report.changed
            ],
        }, ensure_ascii=False, indent=2, sort_keys=True))
        return
    for r in report.changed:
        _print_result(r)
    console = make_console()
    table = Table(box=box.SIMPLE_HEAD, title=f"impact on {region} as of {as_of.isoformat()}: {before} → {after}")
    table.add_column("rule")
    table.add_column("subjects whose finding changed outcome", justify="right")
    for rule, n in report.by_rule:
        table.add_row(rule, str(n))
    console.print(table)
    moves = Counter((r.outcome_before, r.outcome_after) for r in report.changed if r.changed_outcome)
    summary = ", ".join(f"{a} → {b}: {n}" for (a, b), n in sorted(moves.items())) or "no decision changed outcome"
    click.echo(f"{report.subjects} subjects; {len(report.changed)} with a changed finding; {summary}")
