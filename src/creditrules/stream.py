"""Large batches: people streamed from files, decided in a pool of processes, written in order.

Two ways to bring each person's records together:

* **in memory** (default): every record is read and grouped by ``person_id``.
  Memory grows with the population (about 1 KB per record); simplest, and
  right up to a few million records.
* **pre-grouped** (``grouped=True``): both files are sorted by ``person_id``
  (records of one person consecutive). Persons and records are merged as they
  stream, so memory is bounded by the largest person, not the population. A
  file that is not sorted is refused at the first row out of order, naming it.
  ``sort_records`` writes such a file from any input.

Decisions come out in input order (persons by id) whatever the number of
workers: the pool hands back chunks in the order they were sent. Each worker
process builds its engine once; decisions are serialised in the workers, so
the parent only writes lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections import deque
from itertools import islice
from pathlib import Path
from typing import Any

from attrs import frozen

from .canonical import canonical_json
from .convert import iter_structured, unstructure
from .engine import Engine
from .errors import InputError, InputErrors
from .model import Outcome, Person, Subject, TrainingRecord

__all__ = ["BatchResult", "grouped_people", "in_memory_people", "run_batch", "sort_records"]

Group = tuple[Subject, Sequence[TrainingRecord]]


@frozen
class BatchResult:
    """One decided subject, as the writer needs it."""

    subject_id: str
    kind: str
    outcome: Outcome
    decision_json: str
    record_text: str | None = None  # the audit record, when a ledger is written
    errors: tuple[str, ...] = ()  # the reasons of its ``error`` findings, for the operator


# -- bringing each person's records together ------------------------------------------


def in_memory_people(persons: str, records: str, *, encoding: str | None = None) -> Iterator[Group]:
    """Every person with their records, grouped in memory; persons by id."""
    from .batch import Population
    from .convert import read_persons, read_records

    population = Population.build(read_persons(persons, encoding=encoding), read_records(records, encoding=encoding))
    for person in population.persons:
        yield person, population.records.get(person.person_id, ())


def grouped_people(persons: str, records: str, *, encoding: str | None = None) -> Iterator[Group]:
    """Merge two files sorted by ``person_id``; memory bounded by the largest person.

    :raises InputErrors: at the first bad row, a row out of order, or a record
        whose person is not in ``persons`` (nothing is skipped silently).
    """
    people = _sorted_stream(iter_structured(persons, "person", encoding=encoding), persons, "person_id")
    recs = _sorted_stream(iter_structured(records, "record", encoding=encoding), records, "person_id")
    pending = next(recs, None)
    for person in people:
        assert isinstance(person, Person)
        if pending is not None and pending.person_id < person.person_id:
            raise InputErrors([InputError(f"no person {pending.person_id!r} in {persons}", source=records,
                                          record_id=pending.record_id, field="person_id")])
        mine: list[TrainingRecord] = []
        while pending is not None and pending.person_id == person.person_id:
            mine.append(pending)
            pending = next(recs, None)
        yield person, mine
    if pending is not None:
        raise InputErrors([InputError(f"no person {pending.person_id!r} in {persons}", source=records,
                                      record_id=pending.record_id, field="person_id")])


def _sorted_stream(items: Iterable[Any], source: str, key: str) -> Iterator[Any]:
    last = None
    for item in items:
        if isinstance(item, InputError):
            raise InputErrors([item])
        value = getattr(item, key)
        if last is not None and value < last:
            raise InputErrors([InputError(
                f"{key} {value!r} comes after {last!r}: the file is not sorted by {key} "
                "(use in-memory grouping, or `creditrules sort-records` first)",
                source=source, record_id=getattr(item, "record_id", None) or value, field=key,
            )])
        last = value
        yield item


def sort_records(records: str, out: str, *, encoding: str | None = None) -> int:
    """Write ``records`` sorted by (person_id, end_date, record_id) as UTF-8 CSV; returns the row count.

    Holds the records in memory once; run it where memory allows, then stream
    the sorted file with ``grouped=True`` as often as needed.
    """
    from .convert import read_records

    rows = sorted(read_records(records, encoding=encoding), key=lambda r: (r.person_id, r.end_date, r.record_id))
    tmp = Path(out).with_name(f".{Path(out).name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fields = [f for f in unstructure(rows[0])] if rows else ["record_id"]
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in unstructure(r).items()})
    os.replace(tmp, out)
    return len(rows)


# -- deciding, in one process or many --------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(engine: Engine | None, region: str, as_of: dt.date, known_at: dt.date | None, audit: bool) -> None:
    _WORKER.update(engine=engine or Engine.load(), region=region, as_of=as_of, known_at=known_at, audit=audit)


def _decide_chunk(chunk: list[Group]) -> list[BatchResult]:
    engine: Engine = _WORKER["engine"]
    out = []
    for subject, records in chunk:
        decision = engine.adjudicate(subject, records, region=_WORKER["region"], as_of=_WORKER["as_of"],
                                     known_at=_WORKER["known_at"])
        record_text = None
        if _WORKER["audit"]:
            from .audit import make_record

            record_text = make_record(engine, decision, subject, records, known_at=_WORKER["known_at"]).text
        errors = tuple(f.reason.en for f in decision.findings if f.outcome is Outcome.ERROR)
        out.append(BatchResult(subject.id, subject.kind.value, decision.outcome, canonical_json(decision),
                               record_text, errors))
    return out


def run_batch(
    groups: Iterable[Group],
    *,
    region: str,
    as_of: dt.date,
    known_at: dt.date | None = None,
    workers: int = 1,
    engine: Engine | None = None,
    audit: bool = False,
    chunk_size: int = 256,
    on_done: Callable[[int], None] | None = None,
) -> Iterator[BatchResult]:
    """Decide every group, in order, with ``workers`` processes (1: in this process).

    With ``engine`` given and the ``fork`` start method available, workers
    inherit it (plugins registered directly included); otherwise each worker
    loads the installed plugins itself.
    """
    chunks = _chunks(groups, chunk_size)
    if workers <= 1:
        _init_worker(engine or Engine.load(), region, as_of, known_at, audit)
        for chunk in chunks:
            results = _decide_chunk(chunk)
            if on_done:
                on_done(len(results))
            yield from results
        return
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    inherited = engine if ctx.get_start_method() == "fork" else None
    with ctx.Pool(workers, initializer=_init_worker, initargs=(inherited, region, as_of, known_at, audit)) as pool:
        # A bounded window of chunks in flight, collected in submission order:
        # order is kept and memory stays flat (Pool.imap would read all input ahead).
        window: deque[Any] = deque()
        for chunk in chunks:
            window.append(pool.apply_async(_decide_chunk, (chunk,)))
            if len(window) >= 4 * workers:
                yield from _collect(window.popleft(), on_done)
        while window:
            yield from _collect(window.popleft(), on_done)


def _collect(pending: Any, on_done: Callable[[int], None] | None) -> list[BatchResult]:
    results: list[BatchResult] = pending.get()
    if on_done:
        on_done(len(results))
    return results


def _chunks(groups: Iterable[Group], size: int) -> Iterator[list[Group]]:
    it = iter(groups)
    while chunk := list(islice(it, size)):
        yield chunk
