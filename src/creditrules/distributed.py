"""Beyond one machine: a partitioned population on a ``dask.distributed`` cluster.

Install with ``pip install -e ".[dask]"``. The population is first split into
partitions that each hold *whole persons* (``partition_population`` cuts
ranges of ``person_id``), as CSV or Parquet pairs. Every partition is
adjudicated on a worker, which loads its engine once. Then either the client
merges the results by person id into one output (:func:`adjudicate_partitions`),
or each worker writes its own part of the output to a shared directory
(:func:`adjudicate_partitions_to`), whose parts, one after the other, are that
same output. Either way the decisions and ledger entries are byte-identical to
the local run's, whatever the number of workers or partitions.

The rules reach the workers as installed plugins: install the same packages on
every worker (the decision records pin the ruleset hashes, and a mismatch is
refused rather than silently mixed).
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import gzip
import hashlib
import heapq
import json
import os
import pickle
import secrets
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
from attrs import frozen

from .convert import (
    MAX_ERRORS,
    FileError,
    iter_results,
    read_persons,
    read_records,
    structure_person,
    structure_record,
    unstructure,
)
from .errors import CreditrulesError, InputError, InputErrors
from .model import Person, TrainingRecord
from .stream import BatchResult

__all__ = ["Partition", "adjudicate_partitions", "adjudicate_partitions_to", "partition_population"]


#: Partitions are numbered with four digits (persons-0000.csv … persons-9999.csv).
MAX_PARTS = 10_000


@frozen
class Partition:
    """One slice of the population: persons and the records of exactly those persons."""

    persons: str
    records: str


def partition_population(
    persons: str, records: str, out_dir: str, parts: int, *, check_ids: bool = True, encoding: str | None = None
) -> list[Partition]:
    """Split a population into ``parts`` CSV pairs holding ranges of ``person_id``, in order.

    Partition ``i`` holds the persons whose ids sort after those of partition
    ``i - 1``, about as many in each, with all their records. So the decisions of
    the partitions, written one after the other, are the local run's bytes
    (see :func:`adjudicate_partitions_to`).

    The files stream through: memory holds the person ids (to cut the ranges and
    to refuse a record whose person is missing) and, with ``check_ids``, about
    300 bytes per record id (to refuse an id reused with other content, as the
    local run does), never the rows. Every row is checked as the readers check
    it; any refusal (up to ``MAX_ERRORS``, with the input's own file and line)
    raises :class:`InputErrors` and leaves nothing in ``out_dir``.
    """
    if not 1 <= parts <= MAX_PARTS:
        raise CreditrulesError(f"parts must be between 1 and {MAX_PARTS}, got {parts}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stale = sorted(out.glob("persons-*")) + sorted(out.glob("records-*"))
    if stale:
        # Old partitions beside new ones would be read as part of the population.
        raise CreditrulesError(f"{out_dir} already holds partitions ({stale[0].name} …); choose an empty directory")
    staging = Path(tempfile.mkdtemp(prefix=".partitioning-", dir=out))
    try:
        errors: list[InputError] = []
        known: set[str] = set()
        refused: set[str] = set()  # persons whose row was refused: their records are not orphans
        for row in iter_results(persons, "person", encoding=encoding):
            if row.model is None:
                _refuse(errors, row.error)
                refused.add(str(row.cells.get("person_id") or "").strip())
                continue
            assert isinstance(row.model, Person)
            known.add(row.model.person_id)
        ordered = sorted(known)
        # The first id of each partition but the first: equal numbers of persons in each.
        bounds = [ordered[k * len(ordered) // parts] for k in range(1, parts)] if ordered else []
        del ordered

        def slot(person_id: str) -> int:
            return bisect.bisect_right(bounds, person_id)

        if any(isinstance(e, FileError) for e in errors):
            raise InputErrors(errors)  # no persons to check the records against
        with _PartWriters(staging / "records", parts, TrainingRecord) as recs:
            for row in iter_results(records, "record", encoding=encoding, duplicates_across_file=check_ids):
                if row.model is None:
                    _refuse(errors, row.error)
                    continue
                record = row.model
                assert isinstance(record, TrainingRecord)
                if record.person_id in refused:
                    continue  # its person's row is refused already; the records are read when it is fixed
                if record.person_id not in known:
                    _refuse(errors, InputError(f"no person {record.person_id!r} in {persons}", source=records,
                                               line=row.line, record_id=record.record_id, field="person_id"))
                    continue
                recs.write(slot(record.person_id), record)
        if errors:
            raise InputErrors(errors)
        with _PartWriters(staging / "persons", parts, Person) as people:
            for row in iter_results(persons, "person", encoding=encoding):  # read again: the ranges are known now
                if row.model is not None:
                    assert isinstance(row.model, Person)
                    people.write(slot(row.model.person_id), row.model)
        result = []
        for i in range(parts):
            part = Partition(str(out / f"persons-{i:04d}.csv"), str(out / f"records-{i:04d}.csv"))
            os.replace(staging / "persons" / f"{i:04d}.csv", part.persons)
            os.replace(staging / "records" / f"{i:04d}.csv", part.records)
            result.append(part)
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _refuse(errors: list[InputError], error: InputError | None) -> None:
    assert error is not None
    if len(errors) == MAX_ERRORS:  # a 101st: say there are more, as the readers do
        raise InputErrors(errors, truncated=True)
    errors.append(error)


class _PartWriters:
    """CSV files, one per partition, written from buffers: a few open at a time, whatever ``parts`` is."""

    def __init__(self, directory: Path, parts: int, cls: type[Any]) -> None:
        directory.mkdir()
        self.paths = [directory / f"{i:04d}.csv" for i in range(parts)]
        self.fields = [f.name for f in attrs.fields(cls)]
        self.buffers: list[list[list[str]]] = [[] for _ in range(parts)]
        self.buffered = 0
        for path in self.paths:
            with path.open("w", encoding="utf-8", newline="") as fh:
                csv.writer(fh).writerow(self.fields)

    def write(self, part: int, model: Any) -> None:
        row = unstructure(model)
        self.buffers[part].append(["" if row[name] is None else str(row[name]) for name in self.fields])
        self.buffered += 1
        if self.buffered >= 50_000:
            self.flush()

    def flush(self) -> None:
        for path, rows in zip(self.paths, self.buffers):
            if rows:
                with path.open("a", encoding="utf-8", newline="") as fh:
                    csv.writer(fh).writerows(rows)
                rows.clear()
        self.buffered = 0

    def __enter__(self) -> _PartWriters:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()


# -- on the workers ----------------------------------------------------------------------

_ENGINES: dict[str, Any] = {}


def _parquet_rows(path: str) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq  # optional: only for Parquet partitions

    table = pq.read_table(path)
    return [{k: ("" if v is None else str(v)) for k, v in row.items()} for row in table.to_pylist()]


def _load(path: str, kind: str) -> list[Any]:
    if not path.endswith(".parquet"):
        return read_persons(path) if kind == "person" else read_records(path)
    structure = structure_person if kind == "person" else structure_record
    out, errors = [], []
    for line, row in enumerate(_parquet_rows(path), start=1):
        try:
            out.append(structure({k: v for k, v in row.items() if v != ""}))
        except InputError as exc:
            errors.append(InputError(exc.reason, source=path, line=line, record_id=exc.record_id, field=exc.field))
    if errors:
        raise InputErrors(errors)
    return out


def _adjudicate_partition(
    part: Partition, region: str, as_of: dt.date, known_at: dt.date | None, audit: bool
) -> list[BatchResult]:
    """Every person of ``part`` decided, by person id, as the local batch decides them."""
    from .batch import Population
    from .engine import Engine
    from .stream import decide

    engine = _ENGINES.get("engine")
    if engine is None:
        engine = _ENGINES["engine"] = Engine.load()
    population = Population.build(_load(part.persons, "person"), _load(part.records, "record"))
    return [decide(engine, person, population.records.get(person.person_id, ()), region=region, as_of=as_of,
                   known_at=known_at, audit=audit)
            for person in population.persons]


def adjudicate_partitions(
    client: Any,
    partitions: Sequence[Partition],
    *,
    region: str,
    as_of: dt.date,
    known_at: dt.date | None = None,
    audit: bool = False,
    spool_dir: str | None = None,
) -> Iterator[BatchResult]:
    """Adjudicate every partition on the cluster behind ``client``; yield results by person id.

    Each result is a :class:`~creditrules.stream.BatchResult`, as the local
    batch gives: ``line`` (the decision's canonical JSON and a newline),
    ``outcome``, ``errors`` and, with ``audit``, ``record_text``. The order equals
    the local run's (persons by id), so writing the lines gives the same bytes.

    A partition's results are spooled to a temporary file (in ``spool_dir``, or
    the system's temporary directory) as soon as its task ends, and released
    on the cluster; the files are then merged by person id as they are read.
    So the client holds one partition's results at a time, not the
    population's decisions (43 KB each), and needs no file system shared with
    the workers. The spool is removed when the iteration ends, however it ends.

    :raises CreditrulesError: a person found in two partitions.
    :raises InputErrors: a partition's rows were refused (first in partition order).
    """
    from distributed import as_completed

    futures = [
        client.submit(_adjudicate_partition, _absolute(part), region, as_of, known_at, audit, pure=False)
        for part in partitions
    ]
    position = {future.key: i for i, future in enumerate(futures)}
    try:
        with tempfile.TemporaryDirectory(prefix="creditrules-spool-", dir=spool_dir) as tmp:
            spools = [os.path.join(tmp, f"{i:06d}.pickle") for i in range(len(futures))]
            done: set[int] = set()
            for future in as_completed(futures):  # type: ignore[no-untyped-call]  # dask is untyped
                index = position[future.key]
                if future.status != "finished":
                    _raise_first_failure(futures, index, done)
                results = future.result()
                with open(spools[index], "wb") as fh:
                    for item in results:
                        pickle.dump(item, fh, protocol=pickle.HIGHEST_PROTOCOL)
                future.release()  # its status becomes "cancelled": ``done`` remembers it succeeded
                done.add(index)
                del results
            spools = _fewer(spools, tmp)
            previous = None
            for item in heapq.merge(*(_spooled(path) for path in spools), key=_person_id):
                if item.subject_id == previous:
                    raise CreditrulesError(f"person {item.subject_id!r} appears in more than one partition; "
                                           "partition by person_id")
                previous = item.subject_id
                yield item
    finally:
        client.cancel(futures)


def _raise_first_failure(futures: list[Any], failed: int, done: set[int]) -> None:
    """Raise the failure of the first partition that failed, in partition order, not in order of time.

    Partitions before ``failed`` that are not ``done`` (finished and already
    taken, their futures released) are waited for: one of them may fail too,
    and its refusal is the one a run from the start would meet first.
    """
    from distributed import wait

    pending = [f for i, f in enumerate(futures[:failed]) if i not in done]
    wait(pending)  # type: ignore[no-untyped-call]  # dask is untyped
    first = next(f for f in [*pending, futures[failed]] if f.status != "finished")
    first.result()  # raises the task's own exception, pickled back with its attributes
    raise CreditrulesError(f"partition task ended as {first.status}")  # cancelled: not expected


#: Spool files merged at once: each is an open file while the merge runs.
_MERGE_WIDTH = 256


def _fewer(spools: list[str], tmp: str) -> list[str]:
    """Spools merged by person id, ``_MERGE_WIDTH`` at a time, until one merge can read them all."""
    level = 0
    while len(spools) > _MERGE_WIDTH:
        level += 1
        merged = []
        for start in range(0, len(spools), _MERGE_WIDTH):
            path = os.path.join(tmp, f"merge-{level}-{start:06d}.pickle")
            group = spools[start:start + _MERGE_WIDTH]
            with open(path, "wb") as fh:
                for item in heapq.merge(*(_spooled(p) for p in group), key=_person_id):
                    pickle.dump(item, fh, protocol=pickle.HIGHEST_PROTOCOL)
            for done in group:
                os.unlink(done)
            merged.append(path)
        spools = merged
    return spools


def _person_id(item: BatchResult) -> str:
    return item.subject_id


def _spooled(path: str) -> Iterator[BatchResult]:
    with open(path, "rb") as fh:
        while True:
            try:
                yield pickle.load(fh)
            except EOFError:
                return


def _absolute(part: Partition) -> Partition:
    """``part`` with absolute paths: a worker's working directory need not be the client's."""
    return Partition(os.path.abspath(part.persons), os.path.abspath(part.records))


# -- each worker writes its part ---------------------------------------------------------

MANIFEST_SCHEMA = "creditrules.decisions-manifest/1"


def _adjudicate_partition_to(
    part: Partition, index: int, staging: str, region: str, as_of: dt.date, known_at: dt.date | None,
    audit: bool, compress: bool,
) -> dict[str, Any]:
    """Decide ``part`` and write its decisions (and audit records) into ``staging``; say what was written."""
    results = _adjudicate_partition(part, region, as_of, known_at, audit)
    data = b"".join(r.line for r in results)
    if compress:
        data = gzip.compress(data, compresslevel=1, mtime=0)
    name = f"decisions-{index:04d}.jsonl" + (".gz" if compress else "")
    with open(os.path.join(staging, name), "wb") as fh:
        fh.write(data)
    entry: dict[str, Any] = {
        "file": name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "decisions": len(results),
        "first": results[0].subject_id if results else None,
        "last": results[-1].subject_id if results else None,
        "outcomes": dict(sorted(Counter(f"{r.kind}:{r.outcome.value}" for r in results).items())),
        "errors": [f"{r.kind} {r.subject_id}: {why}" for r in results for why in r.errors],
    }
    if audit:
        entry["audit"] = f"audit-{index:04d}.jsonl"
        with open(os.path.join(staging, entry["audit"]), "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(f"{r.record_text}\n" for r in results)
    return entry


def adjudicate_partitions_to(
    client: Any,
    partitions: Sequence[Partition],
    out_dir: str,
    *,
    region: str,
    as_of: dt.date,
    known_at: dt.date | None = None,
    audit: bool = False,
    compress: bool = False,
    on_done: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Adjudicate every partition, each worker writing its own part into ``out_dir``; return the manifest.

    Partition ``i`` becomes ``decisions-NNNN.jsonl`` (``.jsonl.gz`` with
    ``compress``, one gzip member each) and, with ``audit``, ``audit-NNNN.jsonl``
    (its decision records, one per line). The parts, one after the other, are
    the local run's output, so the partitions must hold ascending ranges of
    ``person_id``, as :func:`partition_population` makes them; overlapping
    partitions are refused (use :func:`adjudicate_partitions`, which merges).
    The decisions never pass through the client, so ``out_dir`` must be a
    directory every worker can write (a shared file system).

    ``manifest.json`` lists each part with its count, SHA-256, first and last
    person and outcomes; it holds no time, so the same run gives the same file.
    Parts are written under a staging directory and moved in place only when
    every partition succeeded: a refusal leaves ``out_dir`` as it was.
    ``on_done(n)`` is called as each partition ends, with its number of decisions.
    """
    from distributed import as_completed

    if len(partitions) > MAX_PARTS:
        raise CreditrulesError(f"at most {MAX_PARTS} partitions, got {len(partitions)}")
    out = Path(out_dir).resolve()  # the workers' working directory is not ours
    out.mkdir(parents=True, exist_ok=True)
    if any(out.glob("decisions-*")) or (out / "manifest.json").exists():
        raise CreditrulesError(f"{out_dir} already holds decisions; choose an empty directory")
    # Not mkdtemp: its 0700 would shut out workers running as another user on a shared file system.
    staging = out / f".adjudicating-{secrets.token_hex(8)}"
    staging.mkdir()
    futures = [
        client.submit(_adjudicate_partition_to, _absolute(part), i, str(staging), region, as_of, known_at, audit,
                      compress, pure=False)
        for i, part in enumerate(partitions)
    ]
    position = {future.key: i for i, future in enumerate(futures)}
    try:
        for future in as_completed(futures):  # type: ignore[no-untyped-call]  # dask is untyped
            if future.status != "finished":
                _raise_first_failure(futures, position[future.key], set())
            if on_done is not None:
                on_done(future.result()["decisions"])
        entries = [future.result() for future in futures]
        ranges = [(e["first"], e["last"]) for e in entries if e["decisions"]]
        for (_, last), (first, _) in zip(ranges, ranges[1:]):
            if first <= last:
                raise CreditrulesError(
                    f"partitions overlap (person {first!r} after {last!r}): their parts would not be in person "
                    "order; cut ranges with `creditrules partition`, or write one merged output with --out")
        manifest = {
            "schema": MANIFEST_SCHEMA, "region": region, "as_of": as_of.isoformat(),
            "known_at": known_at.isoformat() if known_at else None,
            "decisions": sum(e["decisions"] for e in entries), "parts": entries,
        }
        for e in entries:
            for name in (e["file"], e.get("audit")):
                if name:
                    os.replace(staging / name, out / name)
        text = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
        (staging / "manifest.json").write_text(text, encoding="utf-8")
        os.replace(staging / "manifest.json", out / "manifest.json")  # last: its presence says the parts are whole
        return manifest
    finally:
        # Tasks already running cannot be stopped; their writes fail once staging is gone. On NFS a
        # file still open may keep the directory: it is named .adjudicating-*, and safe to delete.
        client.cancel(futures)
        shutil.rmtree(staging, ignore_errors=True)
