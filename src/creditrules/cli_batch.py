"""Batch commands for large populations: ``sort-records``, ``partition``, ``cluster-adjudicate``.

``adjudicate --workers N --grouped`` covers one machine; these prepare input
for streaming and run partitions on a ``dask.distributed`` cluster (the
``[dask]`` extra).
"""

from __future__ import annotations

import datetime as dt
import glob
import gzip
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO, cast
from contextlib import contextmanager
from pathlib import Path

import click

from .cli import DATE, CliError
from .engine import Engine
from .model import Outcome
from .stream import BatchResult, Group

__all__ = ["cluster_adjudicate", "partition", "sort_records_cmd", "stream_decisions", "write_decisions"]


@click.command("sort-records")
@click.argument("records", type=click.Path(dir_okay=False, exists=True))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Sorted CSV to write.")
@click.option("--encoding", help="Encoding of the input file (default: UTF-8, else GB18030).")
def sort_records_cmd(records: str, out: str, encoding: str | None) -> None:
    """Sort a records file by person, so `adjudicate --grouped` can stream it in bounded memory."""
    from .stream import sort_records

    n = sort_records(records, out, encoding=encoding)
    click.echo(f"{out}: {n} records sorted by person_id", err=True)


@click.command()
@click.option("--persons", required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--records", required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--parts", required=True, type=click.IntRange(1, 10_000), help="How many partitions (ranges of person_id).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Directory to write.")
@click.option("--ids-within-partitions", is_flag=True,
              help="Check record ids within each partition (its worker reads it whole), not across the file: "
                   "memory then holds the person ids only, not ~300 bytes per record.")
@click.option("--encoding", help="Encoding of the input files (default: UTF-8, else GB18030).")
def partition(persons: str, records: str, parts: int, out_dir: str, ids_within_partitions: bool,
              encoding: str | None) -> None:
    """Split a population into partitions holding whole persons: ranges of person_id, in order.

    The files stream through; every row is checked as `adjudicate` checks it, and
    any refusal leaves the directory as it was.
    """
    from .distributed import partition_population

    written = partition_population(persons, records, out_dir, parts, check_ids=not ids_within_partitions,
                                   encoding=encoding)
    click.echo(f"{out_dir}: {len(written)} partitions (persons-NNNN.csv, records-NNNN.csv)", err=True)


@click.command("cluster-adjudicate")
@click.option("--partitions", "part_dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="Directory written by `creditrules partition` (or persons-*/records-* CSV or Parquet pairs).")
@click.option("--region", required=True)
@click.option("--as-of", type=DATE, required=True)
@click.option("--known-at", type=DATE)
@click.option("--scheduler", help="Address of a running dask scheduler (tcp://host:8786).")
@click.option("--local-workers", type=click.IntRange(1, 512), default=2, show_default=True,
              help="Without --scheduler: start a LocalCluster with this many worker processes.")
@click.option("--out", help="Decisions as JSON Lines (.gz: gzipped), merged by the client; '-' or none for stdout.")
@click.option("--out-dir", type=click.Path(file_okay=False),
              help="Instead of --out: each worker writes its partition's decisions here (a directory every worker "
                   "can write), as decisions-NNNN.jsonl with a manifest.json; the parts in order are --out's bytes.")
@click.option("--gzip", "gzip_parts", is_flag=True, help="With --out-dir: write decisions-NNNN.jsonl.gz.")
@click.option("--ledger", type=click.Path(dir_okay=False), help="Also append every decision record here.")
@click.option("--fail-on-fail", is_flag=True, help="Exit 1 if any decision's outcome is fail.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on a terminal.")
def cluster_adjudicate(
    part_dir: str, region: str, as_of: dt.date, known_at: dt.date | None, scheduler: str | None,
    local_workers: int, out: str | None, out_dir: str | None, gzip_parts: bool, ledger: str | None,
    fail_on_fail: bool, progress: bool,
) -> None:
    """Adjudicate partitions on a dask.distributed cluster: the output, summary and exit code of `adjudicate`."""
    if out_dir and out:
        raise click.UsageError("--out and --out-dir: choose one")
    if gzip_parts and not out_dir:
        raise click.UsageError("--gzip goes with --out-dir (with --out, name the file .gz)")
    try:
        import distributed
    except ImportError:
        raise CliError('the Dask backend needs the [dask] extra: pip install -e ".[dask]"') from None
    from .distributed import Partition, adjudicate_partitions, adjudicate_partitions_to

    parts = _partitions(part_dir)
    engine = Engine.load()
    engine.chain(region)
    if scheduler:
        client = distributed.Client(scheduler)
        cluster = None
    else:
        # A trial cluster on this machine: reachable from here only, on free ports.
        cluster = distributed.LocalCluster(n_workers=local_workers, threads_per_worker=1, host="127.0.0.1",
                                           dashboard_address="127.0.0.1:0")
        client = distributed.Client(cluster)
    spool = str(Path(out).parent) if out not in (None, "-") else None

    def produce(sink: BinaryIO, compress: bool, advance: Callable[[int], None]) -> Iterator[BatchResult]:
        # Decisions are written as they are merged, never all held: a province's are tens of gigabytes.
        # filename="": else the temporary file's name (with our pid) would go into the header.
        writer: BinaryIO = (cast(BinaryIO, gzip.GzipFile(filename="", fileobj=sink, mode="wb", compresslevel=1,
                                                         mtime=0)) if compress else sink)
        try:
            for result in adjudicate_partitions(
                client, [Partition(*p) for p in parts], region=region, as_of=as_of, known_at=known_at,
                audit=ledger is not None, spool_dir=spool,
            ):
                writer.write(result.line)
                advance(1)
                yield result
        finally:
            if compress:
                writer.close()  # the gzip trailer; the file itself stays open

    try:
        if out_dir:
            with _progress(progress) as advance:
                manifest = adjudicate_partitions_to(client, [Partition(*p) for p in parts], out_dir, region=region,
                                                    as_of=as_of, known_at=known_at, audit=ledger is not None,
                                                    compress=gzip_parts, on_done=advance)
        else:
            counts = write_decisions(engine, produce, region=region, out=out, ledger=ledger, progress=progress)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if out_dir:
        counts = Counter()
        for part in manifest["parts"]:
            for key, n in part["outcomes"].items():
                kind, outcome = key.split(":")
                counts[kind, outcome] += n
        if ledger is not None:
            _append_parts(engine, region, ledger, out_dir, manifest)
        _report_errors(counts, (e for part in manifest["parts"] for e in part["errors"]))
        where = f"{out_dir}/manifest.json"
    else:
        where = out or "stdout"
    click.echo(f"{where}: {sum(counts.values())} decisions from {len(parts)} partitions", err=True)
    summarise(counts, region=region, as_of=as_of, fail_on_fail=fail_on_fail)


def _append_parts(engine: Engine, region: str, ledger: str, out_dir: str, manifest: dict[str, Any]) -> None:
    """Append the parts' decision records to the ledger, in the parts' order (that of a local run)."""
    from .audit import DecisionRecord, Ledger

    def records() -> Iterator[DecisionRecord]:
        for part in manifest["parts"]:
            with open(os.path.join(out_dir, part["audit"]), encoding="utf-8") as fh:
                for line in fh:
                    yield DecisionRecord.from_text(line.rstrip("\n"))

    with Ledger(ledger) as led:
        led.archive(engine.chain(region))
        added = led.append(records())
    click.echo(f"ledger {ledger}: {added.added} added, {added.skipped} already there", err=True)


def _partitions(part_dir: str) -> list[tuple[str, str]]:
    pairs = []
    # By number, not by text: persons-10000 comes after persons-9999.
    for persons in sorted(glob.glob(os.path.join(part_dir, "persons-*")), key=_numbered):
        records = persons.replace(os.sep + "persons-", os.sep + "records-")
        if not os.path.exists(records):
            raise CliError(f"{persons} has no matching {records}")
        pairs.append((persons, records))
    if not pairs:
        raise CliError(f"{part_dir}: no persons-*.csv / records-*.csv partitions (see `creditrules partition`)")
    return pairs


def _numbered(path: str) -> tuple[int, str]:
    digits = "".join(ch for ch in Path(path).name.split(".")[0] if ch.isdigit())
    return (int(digits) if digits else -1, path)


def stream_decisions(
    engine: Engine,
    groups: Iterable[Group],
    *,
    region: str,
    as_of: dt.date,
    known_at: dt.date | None,
    workers: int,
    out: str | None,
    ledger: str | None,
    progress: bool,
) -> Counter[tuple[str, str]]:
    """Decide ``groups`` with ``workers`` processes, writing each line as it comes (see :func:`write_decisions`)."""
    from .stream import run_batch

    def produce(sink: BinaryIO, compress: bool, advance: Callable[[int], None]) -> Iterable[BatchResult]:
        return run_batch(groups, region=region, as_of=as_of, known_at=known_at, workers=workers, engine=engine,
                         audit=ledger is not None, on_done=advance, sink=sink, compress=compress)

    return write_decisions(engine, produce, region=region, out=out, ledger=ledger, progress=progress)


#: Makes the results and writes their lines to ``sink`` (gzipped if asked), calling ``advance`` as it goes.
Producer = Callable[[BinaryIO, bool, Callable[[int], None]], Iterable[BatchResult]]


def write_decisions(
    engine: Engine, produce: Producer, *, region: str, out: str | None, ledger: str | None, progress: bool
) -> Counter[tuple[str, str]]:
    """Write the decisions ``produce`` makes to ``out`` (or stdout), and their records to ``ledger``.

    Output is atomic: lines go to a temporary file renamed at the end (stdout is
    written as it goes), and ledger records are staged in a temporary file and
    appended only once every decision was made — so refused input mid-stream
    leaves nothing behind. Returns counts by (kind, outcome); the reasons of
    ``error`` findings are printed.
    """
    counts: Counter[tuple[str, str]] = Counter()
    errors: list[str] = []
    target = Path(out) if out not in (None, "-") else None
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp") if target else None
    staged = (tempfile.NamedTemporaryFile("w+", encoding="utf-8", delete=False, suffix=".records",
                                          dir=target.parent if target else None) if ledger else None)
    if tmp is None:
        sys.stdout.flush()
    # Bytes, always: the canonical UTF-8, whatever the terminal's locale.
    sink = tmp.open("wb") if tmp else sys.stdout.buffer
    compress = target is not None and target.suffix == ".gz"
    try:
        with _progress(progress) as advance:
            for result in produce(sink, compress, advance):
                counts[result.kind, result.outcome.value] += 1
                errors.extend(f"{result.kind} {result.subject_id}: {why}" for why in result.errors)
                if staged is not None and result.record_text is not None:
                    staged.write(result.record_text + "\n")
        if compress and sink.tell() == 0:
            sink.write(gzip.compress(b"", mtime=0))  # no decisions: still a gzip file, for zcat
        if tmp:
            sink.close()
            os.replace(tmp, target)  # type: ignore[arg-type]
        else:
            sink.flush()
        if staged is not None and ledger is not None:
            staged.seek(0)
            from .audit import DecisionRecord, Ledger

            with Ledger(ledger) as led:
                led.archive(engine.chain(region))
                added = led.append(DecisionRecord.from_text(line.rstrip("\n")) for line in staged)
            click.echo(f"ledger {ledger}: {added.added} added, {added.skipped} already there", err=True)
    except BaseException:
        if tmp:
            sink.close()
            tmp.unlink(missing_ok=True)
        raise
    finally:
        if staged is not None:
            staged.close()
            os.unlink(staged.name)
    _report_errors(counts, errors)
    return counts


def summarise(counts: Counter[tuple[str, str]], *, region: str, as_of: dt.date, fail_on_fail: bool) -> None:
    """The counts table on stderr, then the exit code: 3 if a decision's outcome is error, 1 on fail if asked."""
    from .report import make_console, summary_table

    counted = [{"subject": {"kind": k}, "outcome": o} for (k, o), n in sorted(counts.items()) for _ in range(n)]
    make_console(stderr=True).print(summary_table(counted, title=f"{region} as of {as_of.isoformat()}"))
    if counts_of(counts, Outcome.ERROR):
        raise click.exceptions.Exit(3)
    if fail_on_fail and counts_of(counts, Outcome.FAIL):
        raise click.exceptions.Exit(1)


def _report_errors(counts: Counter[tuple[str, str]], errors: Iterable[str]) -> None:
    for problem in errors:
        click.echo(f"error: {problem}", err=True)
    failed = counts_of(counts, Outcome.ERROR)
    if failed:
        noun = "decision has" if failed == 1 else "decisions have"
        click.echo(f"{failed} {noun} outcome error: a plugin's rule failed, so they cannot be trusted "
                   "(written, exit 3).", err=True)


def counts_of(counts: Counter[tuple[str, str]], outcome: Outcome) -> int:
    return sum(n for (_, o), n in counts.items() if o == outcome.value)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int], None]]:
    from rich.progress import BarColumn, Progress, TextColumn

    from .report import make_console

    console = make_console(stderr=True)
    if not (enabled and console.is_terminal):
        yield lambda n: None
        return
    with Progress(TextColumn("adjudicating"), BarColumn(), TextColumn("{task.completed} subjects"),
                  console=console, transient=True) as bar:
        task = bar.add_task("adjudicating", total=None)
        yield lambda n: bar.advance(task, n)
