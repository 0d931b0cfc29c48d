"""The ``creditrules`` command: regions, rules, adjudicate, explain, demo.

Exit codes:

* 0 — every decision was produced (a ``fail`` outcome is data, not an error);
* 1 — ``--fail-on-fail`` and some decision's outcome is ``fail``;
* 2 — refused input, an unknown region, a bad option or any other creditrules
  error, printed as one clear message and never a traceback; nothing is written
  (``adjudicate --skip-invalid`` instead writes the valid subjects and lists
  every refused row in a rejects file, and exits 0);
* 3 — ``adjudicate`` wrote its decisions but some have outcome ``error``: a
  plugin's rule code failed (raised, returned the wrong type, ran past the
  time limit). Each is named on stderr with its plugin and rule; those
  decisions cannot be trusted. Takes precedence over 1.

Decisions go to stdout (or ``--out``); tables, progress and messages go to
stderr, so ``creditrules adjudicate … > d.jsonl`` leaves a clean file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click
from rich import box
from rich.table import Table
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from . import __version__, decision_json
from .batch import Population, Rejected, ValidInput, adjudicate_population, read_valid
from .canonical import read_decision, to_plain
from .convert import iter_rows, read_persons, read_projects, read_records, read_units
from .engine import DECISION_SCHEMA, Engine
from .errors import CreditrulesError, InputError, InputErrors, UnknownRegion
from .model import Decision, Project, Subject, Unit
from .report import (
    make_console,
    regions_table,
    regions_view,
    render_demo,
    render_explanation,
    render_rules,
    rules_view,
)
from .samples import KINDS, SampleSet, installed_samples, sample_as_of

__all__ = ["main"]

#: Above this many subjects, an interactive run shows a progress bar.
PROGRESS_THRESHOLD = 200

F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    """A refusal of the command line itself (bad combination, unwritable file): exit 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class _Main(click.Group):
    """Turns every :class:`CreditrulesError` into a message and exit code 2."""

    # The commands defined in sibling modules (which import this one for its shared
    # helpers) are added on the first lookup, not at import: importing one of those
    # modules first must not find this one half-made.
    def list_commands(self, ctx: click.Context) -> list[str]:
        _add_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        _add_commands()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputErrors as exc:
            for error in exc.errors:
                click.echo(error.message, err=True)
            if exc.truncated:
                click.echo("… more errors not shown", err=True)
            noun = "error" if len(exc.errors) == 1 else "errors"
            more = " (and more)" if exc.truncated else ""
            click.echo(f"{len(exc.errors)} input {noun}{more}: nothing was adjudicated or written.", err=True)
            ctx.exit(2)
        except UnknownRegion as exc:
            click.echo(f"error: {exc}", err=True)
            click.echo("`creditrules regions` lists the installed regions.", err=True)
            ctx.exit(2)
        except CreditrulesError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


class _Date(click.ParamType):  # type: ignore[type-arg]
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date YYYY-MM-DD", param, ctx)


DATE = _Date()


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="creditrules")
def main() -> None:
    """Adjudicate teachers' continuing-education credits (教师继续教育学分认定) with dated, cited rules."""


# -- shared options and helpers -----------------------------------------------------


def _region_options(required: bool = True) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        f = click.option("--known-at", type=DATE, help="Use only rule values recorded by this date (audit replay).")(f)
        f = click.option("--as-of", type=DATE, required=required, help="The date to judge on.")(f)
        f = click.option("--region", required=required, help="Region id, e.g. beihai (see `creditrules regions`).")(f)
        return f

    return decorate


def _input_options(required: bool = True) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        path = click.Path(dir_okay=False)
        f = click.option("--encoding", help="Encoding of the input files (default: UTF-8, else GB18030).")(f)
        f = click.option("--units", type=path, help="Units (schools, counties) per year: CSV, JSONL or JSON.")(f)
        f = click.option("--projects", type=path, help="Training projects: CSV, JSONL or JSON.")(f)
        f = click.option("--records", type=path, required=required, help="Training records: CSV, JSONL or JSON.")(f)
        f = click.option("--persons", type=path, required=required, help="Persons: CSV, JSONL or JSON.")(f)
        return f

    return decorate


def load_population(
    persons: str,
    records: str,
    projects: str | None = None,
    units: str | None = None,
    *,
    encoding: str | None = None,
) -> Population:
    """Read every input file, then check them against each other.

    :raises InputErrors: every refused row of every file, then every record
        whose person is not in ``persons`` — nothing is dropped silently.
    """
    errors: list[InputError] = []
    truncated = False

    def read(reader: Callable[..., list[Any]], path: str | None) -> list[Any]:
        nonlocal truncated
        if path is None:
            return []
        try:
            return reader(path, encoding=encoding)
        except InputErrors as exc:
            errors.extend(exc.errors)
            truncated = truncated or exc.truncated
            return []

    loaded = [read(read_persons, persons), read(read_records, records),
              read(read_projects, projects), read(read_units, units)]
    if errors:
        raise InputErrors(errors, truncated=truncated)
    try:
        return Population.build(*loaded)
    except InputErrors as exc:
        raise InputErrors(_locate(exc.errors, persons, records, encoding)) from None


def _locate(errors: Sequence[InputError], persons: str, records: str, encoding: str | None) -> list[InputError]:
    """Add file and line to the cross-file errors of :meth:`Population.build`."""
    lines: dict[str, int] = {}
    try:
        for line, row in iter_rows(records, "record", encoding=encoding):
            lines.setdefault(str(row.get("record_id", "")).strip(), line)
    except InputError:
        pass
    out = []
    for e in errors:
        if e.source is not None:
            out.append(e)
        elif e.kind == "record":
            reason = e.reason.replace("the persons input", persons)
            out.append(InputError(reason, source=records, line=lines.get(e.record_id or ""),
                                  record_id=e.record_id, field=e.field, kind=e.kind))
        else:
            out.append(InputError(e.reason, source=persons, record_id=e.record_id, field=e.field, kind=e.kind))
    return out


def _adjudicate(
    engine: Engine,
    population: Population,
    *,
    region: str,
    as_of: dt.date,
    known_at: dt.date | None,
    progress: bool = False,
) -> list[Decision]:
    decisions = adjudicate_population(engine, population, region=region, as_of=as_of, known_at=known_at)
    console = make_console(stderr=True)
    if not (progress and len(population) > PROGRESS_THRESHOLD and console.is_terminal):
        return list(decisions)
    columns = (TextColumn("adjudicating"), BarColumn(), MofNCompleteColumn())
    out = []
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("adjudicating", total=len(population))
        for decision in decisions:
            out.append(decision)
            bar.advance(task)
    return out


def _write_jsonl(decisions: Sequence[Decision], out: str | None) -> None:
    """One canonical decision per line, to ``out`` (replaced whole, never half-written) or stdout."""
    data = "".join(decision_json(d) + "\n" for d in decisions).encode("utf-8")
    if out is None or out == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)  # bytes: the canonical UTF-8, whatever the locale
        sys.stdout.buffer.flush()
        return
    path = Path(out)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None


def load_engine() -> Engine:
    """The engine with every installed plugin; a broken plugin is reported on stderr, not fatal."""
    engine = Engine.load()
    for problem in engine.load_errors:
        click.echo(f"warning: {problem}", err=True)
    return engine


def _titles(engine: Engine, region: str) -> dict[str, dict[str, str]]:
    return {a.rule.id: {"zh": a.rule.title.zh, "en": a.rule.title.en} for a in engine.chain(region).rules}


def _region_name(engine: Engine, region: str) -> str:
    leaf = engine.chain(region).leaf
    return f"{leaf.name.zh} {leaf.name.en}"


# -- regions --------------------------------------------------------------------------


@main.command()
@click.option("--all", "include_base", is_flag=True, help="Also list the base layers (national, provinces).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def regions(include_base: bool, as_json: bool) -> None:
    """List the installed regions and their ruleset chains."""
    infos = load_engine().regions(include_base=include_base)
    if as_json:
        click.echo(json.dumps(regions_view(infos), ensure_ascii=False, indent=2))
        return
    if not infos:
        click.echo("No region is installed. Install a region plugin, e.g. `pip install creditrules-beihai`.")
        return
    make_console().print(regions_table(infos))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List the loaded plugins: distribution, version, the rulesets they provide and their content hashes.

    Plugins that failed to load are listed with the reason. CREDITRULES_LOAD_PLUGINS
    (comma-separated entry-point names) restricts which installed plugins load.
    """
    engine = load_engine()
    rows: list[dict[str, Any]] = []
    for info in sorted(engine.plugins, key=lambda p: p.name):
        layers = sorted(
            (rid, chain.leaf.hash) for rid, chain in engine.chains.items() if engine.provider(rid) == info.name
        )
        families = sorted(name for name, owner in engine.family_owner.items() if owner == info.name)
        rows.append({"plugin": info.name, "distribution": info.distribution, "version": info.version,
                     "rulesets": dict(layers), "families": families})
    if as_json:
        click.echo(json.dumps({"plugins": rows, "errors": list(engine.load_errors)}, ensure_ascii=False, indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD)
    for col in ("plugin", "distribution", "version", "rulesets @ content hash"):
        table.add_column(col, overflow="fold")
    table.add_column("families", justify="right")
    for row in rows:
        rulesets = " ".join(f"{rid}@{digest[:8]}" for rid, digest in row["rulesets"].items()) or "—"
        table.add_row(row["plugin"], row["distribution"], row["version"] or "—", rulesets, str(len(row["families"])))
    console = make_console()
    console.print(table)
    for problem in engine.load_errors:
        console.print(f"not loaded: {problem}", markup=False)


# -- rules ----------------------------------------------------------------------------


@main.command()
@_region_options()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def rules(region: str, as_of: dt.date, known_at: dt.date | None, as_json: bool) -> None:
    """Show the rules and parameter values in force for a region on a date, with their citations."""
    view = rules_view(load_engine(), region, as_of, known_at)
    if as_json:
        click.echo(json.dumps(view, ensure_ascii=False, indent=2))
    else:
        render_rules(make_console(), view)


# -- adjudicate -----------------------------------------------------------------------


@main.command()
@_region_options()
@_input_options()
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write decisions here (default: stdout). A name ending in .gz is written gzipped "
                   "(about 9× smaller; `explain --decision` and zcat read it).")
@click.option("--no-progress", is_flag=True, help="Never show a progress bar.")
@click.option("--fail-on-fail", is_flag=True, help="Exit 1 if any decision's outcome is fail.")
@click.option("--ledger", type=click.Path(dir_okay=False),
              help="Also append every decision record to this audit ledger (SQLite; created if missing).")
@click.option("--skip-invalid", is_flag=True,
              help="Adjudicate every subject whose rows are valid and list each refused row in a rejects "
                   "file, instead of refusing the whole input.")
@click.option("--rejects", type=click.Path(dir_okay=False),
              help="With --skip-invalid: write the refused rows here as CSV (default: next to --out, "
                   "<name>.rejects.csv; required when decisions go to stdout).")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Decide in this many processes; the output is the same bytes, in the same order. "
                   "Scales with --grouped, where each worker reads its own part of the records file; "
                   "without it, every file is read and checked in one process first.")
@click.option("--grouped", is_flag=True,
              help="Persons and records are sorted by person_id (see `creditrules sort-records`): stream them "
                   "with memory bounded by the largest person instead of the population.")
def adjudicate(
    region: str,
    as_of: dt.date,
    known_at: dt.date | None,
    persons: str,
    records: str,
    projects: str | None,
    units: str | None,
    encoding: str | None,
    out: str | None,
    no_progress: bool,
    fail_on_fail: bool,
    ledger: str | None,
    skip_invalid: bool,
    rejects: str | None,
    workers: int,
    grouped: bool,
) -> None:
    """Adjudicate every person, project and unit; write one JSON decision per line.

    Decisions come persons by id, then projects, then units, whatever the
    order of the input rows, so two runs over the same input give the same bytes.

    By default one bad row refuses the whole input and nothing is written. With
    --skip-invalid the valid subjects are adjudicated and every refused row is
    listed (file, line, kind, id, field, reason) in the rejects file; a person
    is refused with their records when their own row or any of their records is.
    """
    rejects_path = _rejects_path(out, rejects, skip_invalid)
    engine = load_engine()
    engine.chain(region)
    _adjudicate_streaming(engine, region, as_of, known_at, persons, records, projects, units, encoding, out,
                          ledger, skip_invalid, rejects_path, workers, grouped, not no_progress, fail_on_fail)


def _adjudicate_streaming(
    engine: Engine, region: str, as_of: dt.date, known_at: dt.date | None, persons: str, records: str, projects: str | None,
    units: str | None, encoding: str | None, out: str | None, ledger: str | None, skip_invalid: bool,
    rejects_path: str | None, workers: int, grouped: bool, progress: bool, fail_on_fail: bool,
) -> None:
    """Decisions streamed (from a pool with ``--workers``), written as they come, in input order."""
    from .cli_batch import stream_decisions, summarise
    from .convert import read_projects, read_units
    from .split import blocks

    if grouped and skip_invalid:
        raise click.UsageError("--skip-invalid reads the whole input first; it cannot be combined with --grouped")
    if workers > 1 and not grouped:
        click.echo("note: without --grouped every file is read and checked in this process first, so more "
                   "workers gain little; sort the records (creditrules sort-records) and add --grouped.", err=True)
    if grouped:
        others: list[Any] = [*(read_projects(projects, encoding=encoding) if projects else []),
                             *(read_units(units, encoding=encoding) if units else [])]
        # Rows go to the workers unread: each structures its own people, so the
        # process cutting the files stays light and two workers run near 2×.
        groups: Any = itertools.chain(blocks(persons, records, encoding=encoding),
                                      ((subject, ()) for subject in _ordered(others)))
    elif skip_invalid:
        valid = read_valid(persons, records, projects, units, encoding=encoding)
        groups = valid.population.subjects()
    else:
        groups = load_population(persons, records, projects, units, encoding=encoding).subjects()
    counts = stream_decisions(engine, groups, region=region, as_of=as_of, known_at=known_at, workers=workers, out=out,
                              ledger=ledger, progress=progress)
    if skip_invalid and rejects_path is not None:
        _write_rejects(valid.rejected, rejects_path)
        _report_counts(valid, rejects_path)
    summarise(counts, region=region, as_of=as_of, fail_on_fail=fail_on_fail)


def _ordered(subjects: list[Any]) -> list[Any]:
    """Projects by id, then units by (id, year): the order of the in-memory path."""
    projects = sorted((s for s in subjects if isinstance(s, Project)), key=lambda p: p.project_id)
    units = sorted((s for s in subjects if isinstance(s, Unit)), key=lambda u: (u.unit_id, u.year))
    return [*projects, *units]


def _rejects_path(out: str | None, rejects: str | None, skip_invalid: bool) -> str | None:
    """Where --skip-invalid writes refused rows; refuses a combination that would lose them."""
    if not skip_invalid:
        if rejects is not None:
            raise click.UsageError("--rejects needs --skip-invalid")
        return None
    if rejects is None:
        if out is None or out == "-":
            raise click.UsageError("--skip-invalid with decisions on stdout needs --rejects FILE.csv")
        path = Path(out)
        rejects = str(path.with_name(f"{path.stem}.rejects.csv"))
    if out is not None and os.path.abspath(rejects) == os.path.abspath(out):
        raise click.UsageError("--rejects and --out must be different files")
    return rejects


def _write_rejects(rejected: Sequence[Rejected], path: str) -> None:
    """The refused rows as CSV (UTF-8 with BOM, so Excel shows the Chinese), replaced whole."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(Rejected.FIELDS)
    for r in rejected:
        row = r.row()
        writer.writerow([row[name] for name in Rejected.FIELDS])
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(buffer.getvalue().encode("utf-8-sig"))
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def _report_counts(valid: ValidInput, rejects: str) -> None:
    """Per file: rows read = accepted + refused; then where the refused rows are listed."""
    for f in valid.files:
        click.echo(f"{f.source}: {f.read} rows read = {f.accepted} accepted + {f.refused} refused", err=True)
    refused = len(valid.rejected)
    noun = "row" if refused == 1 else "rows"
    click.echo(f"{refused} refused {noun} listed in {rejects}", err=True)


# -- explain --------------------------------------------------------------------------


@main.command()
@_region_options(required=False)
@_input_options(required=False)
@click.option("--decision", "decision_file", type=click.Path(exists=True),
              help="Explain a stored decision from this JSONL file (or .gz, or a cluster-adjudicate --out-dir "
                   "directory) instead of adjudicating.")
@click.option("--id", "subject_id", required=True, help="The person, project or unit id to explain.")
@click.option("--kind", type=click.Choice(["person", "project", "unit"]), help="Only subjects of this kind.")
def explain(
    region: str | None,
    as_of: dt.date | None,
    known_at: dt.date | None,
    persons: str | None,
    records: str | None,
    projects: str | None,
    units: str | None,
    encoding: str | None,
    decision_file: str | None,
    subject_id: str,
    kind: str | None,
) -> None:
    """Explain one subject's decision: totals, what each record counted for, and every finding with its citation.

    Either adjudicate afresh from input files (--region, --as-of, --persons,
    --records …) or read a stored line of a decisions file (--decision FILE;
    --region and --as-of then only narrow which lines match).
    """
    console = make_console()
    if decision_file is not None:
        if any(x is not None for x in (persons, records, projects, units)):
            raise click.UsageError("give either --decision or input files (--persons, --records …), not both")
        _explain_stored(console, decision_file, subject_id, kind, region, as_of)
        return
    missing = [name for name, value in (("--region", region), ("--as-of", as_of), ("--persons", persons),
                                        ("--records", records)) if value is None]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or give --decision FILE.jsonl)")
    assert region is not None and as_of is not None and persons is not None and records is not None
    engine = load_engine()
    engine.chain(region)
    population = load_population(persons, records, projects, units, encoding=encoding)
    found = [(s, recs) for s, recs in population.subjects() if s.id == subject_id and kind in (None, s.kind.value)]
    if not found:
        raise CliError(f"no {kind or 'person, project or unit'} with id {subject_id!r} in the input")
    _explain_subjects(console, engine, found, region=region, as_of=as_of, known_at=known_at)


def _explain_subjects(
    console: Any,
    engine: Engine,
    found: Sequence[tuple[Subject, Sequence[Any]]],
    *,
    region: str,
    as_of: dt.date,
    known_at: dt.date | None,
) -> None:
    titles, name = _titles(engine, region), _region_name(engine, region)
    for i, (subject, recs) in enumerate(found):
        if i:
            console.rule()
        decision = engine.adjudicate(subject, recs, region=region, as_of=as_of, known_at=known_at)
        render_explanation(console, to_plain(decision), records={r.record_id: r for r in recs},
                           titles=titles, region_name=name)


def _explain_stored(
    console: Any, path: str, subject_id: str, kind: str | None, region: str | None, as_of: dt.date | None
) -> None:
    sources = _parts_holding(path, subject_id) if os.path.isdir(path) else [path]
    matches = [
        d for source in sources for d in _read_decisions(source, subject_id)
        if d["subject"]["id"] == subject_id
        and kind in (None, d["subject"]["kind"])
        and region in (None, d["region"])
        and (as_of is None or d["as_of"] == as_of.isoformat())
    ]
    if not matches:
        raise CliError(f"no decision for {subject_id!r} in {path}")
    try:
        engine: Engine | None = load_engine()
    except CreditrulesError:
        engine = None
    for i, d in enumerate(matches):
        if i:
            console.rule()
        titles: dict[str, dict[str, str]] = {}
        name = None
        if engine is not None and d["region"] in engine.chains:
            titles, name = _titles(engine, d["region"]), _region_name(engine, d["region"])
        render_explanation(console, d, titles=titles, region_name=name)


def _parts_holding(directory: str, subject_id: str) -> list[str]:
    """The part files of a ``cluster-adjudicate --out-dir`` directory whose range holds ``subject_id``.

    The manifest gives each part's first and last person, so one part is read, not the country.
    """
    from .distributed import MANIFEST_SCHEMA

    manifest_path = os.path.join(directory, "manifest.json")
    try:
        with open(manifest_path, encoding="utf-8") as fh:
            manifest = json.load(fh)
        parts = manifest["parts"] if manifest.get("schema") == MANIFEST_SCHEMA else None
    except FileNotFoundError:
        raise CliError(f"{directory}: not a directory of decisions (no manifest.json, see "
                       "cluster-adjudicate --out-dir)") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CliError(f"{manifest_path}: not a decisions manifest ({exc})") from None
    if not isinstance(parts, list):
        raise CliError(f"{manifest_path}: not a {MANIFEST_SCHEMA} manifest")
    return [os.path.join(directory, str(part["file"])) for part in parts
            if isinstance(part, dict) and part.get("decisions") and part.get("first") is not None
            and str(part["first"]) <= subject_id <= str(part["last"])]


def _read_decisions(path: str, subject_id: str | None = None) -> list[dict[str, Any]]:
    """The decisions of a JSONL file (gzipped too), checked and in plain form; refuses the file
    naming each bad line.

    Read line by line, so a province's file is never held whole. With
    ``subject_id``, a canonical line about someone else is passed over unparsed:
    explaining one teacher does not parse 600,000 decisions.
    """
    import gzip
    import zlib

    errors = []
    decisions = []
    marker = f'"schema":{json.dumps(DECISION_SCHEMA)}'
    needle = json.dumps(subject_id, ensure_ascii=False) if subject_id is not None else None
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as fh:
            for line, data in enumerate(fh, 1):
                try:
                    chunk = data.decode("utf-8-sig" if line == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    errors.append(InputError(f"not UTF-8: {exc.reason}", source=path, line=line))
                    continue
                # A canonical line about someone else is passed over; a line with \u escapes may
                # spell the id another way, so it is read.
                if not chunk.strip() or (needle is not None and marker in chunk and needle not in chunk
                                         and "\\u" not in chunk):
                    continue
                try:
                    decisions.append(to_plain(read_decision(chunk)))
                except json.JSONDecodeError as exc:
                    errors.append(InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", source=path,
                                             line=line))
                except Exception:  # noqa: BLE001 - cattrs reports shape errors as many exception types
                    errors.append(InputError(f"not a {DECISION_SCHEMA} decision", source=path, line=line))
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"cannot read decisions: {exc}", source=path, kind="decision") from None
    if errors:
        raise InputErrors(errors)
    return decisions


# -- demo -----------------------------------------------------------------------------


@main.command()
@click.option("--as-of", type=DATE, help="Judge every sample on this date (default: the date each sample set names).")
@click.option("--region", "only", multiple=True, help="Only this region (repeatable).")
@click.option("--out", type=click.Path(dir_okay=False), help="Also write every decision here as JSON Lines.")
@click.option("--explain", "explain_id", metavar="ID", help="Explain this sample subject in full instead.")
def demo(as_of: dt.date | None, only: tuple[str, ...], out: str | None, explain_id: str | None) -> None:
    """Adjudicate the bundled sample populations — no files needed.

    Runs every installed region that ships sample data: Beihai (12 invented
    teachers over the 2016–2020 cycle and two schools, judged on 2020-12-31)
    and any plugin's own samples.
    """
    engine = load_engine()
    console = make_console()
    runs = []
    for info, files in installed_samples(engine, only):
        population, on = _load_samples(files), as_of or sample_as_of(files)
        runs.append((info, on, population, _adjudicate(engine, population, region=info.id, as_of=on, known_at=None)))
    if explain_id is not None:
        found = [(info, on, [(s, r) for s, r in pop.subjects() if s.id == explain_id]) for info, on, pop, _ in runs]
        if not any(subjects for _, _, subjects in found):
            raise CliError(f"no sample subject {explain_id!r}")
        for info, on, subjects in found:
            if subjects:
                _explain_subjects(console, engine, subjects, region=info.id, as_of=on, known_at=None)
        return
    render_demo(console, [(info, on, [to_plain(d) for d in decisions]) for info, on, _, decisions in runs])
    if out is not None:
        _write_jsonl([d for *_, decisions in runs for d in decisions], out)
        console.print(f"Wrote {sum(len(ds) for *_, ds in runs)} decisions to {out}", soft_wrap=True)
    else:
        console.print("Every decision as JSON Lines:   creditrules demo --out decisions.jsonl", soft_wrap=True)


def _load_samples(files: SampleSet) -> Population:
    with ExitStack() as stack:
        paths = {kind: str(stack.enter_context(resources.as_file(files[kind]))) for kind in KINDS if kind in files}
        return load_population(paths["persons"], paths["records"], paths.get("projects"), paths.get("units"))


def _add_commands() -> None:
    """Add the commands defined in their own modules (once; see :class:`_Main`)."""
    if "ledger" in main.commands:
        return
    from .authoring import commands as authoring
    from .cli_audit import impact, ledger, replay
    from .cli_batch import cluster_adjudicate, partition, sort_records_cmd
    from .cli_docs import docs

    for command in (ledger, replay, impact, sort_records_cmd, partition, cluster_adjudicate, docs, *authoring):
        main.add_command(command)
