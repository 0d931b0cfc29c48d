"""Large batches: people streamed from files, decided in a pool of processes, written in order.

Two ways to bring each person's records together:

* **in memory** (:func:`in_memory_people`): every record is read and grouped
  by ``person_id``. Memory grows with the population (about 1 KB per record);
  simplest, and right up to a few million records.
* **pre-grouped** (:func:`grouped_people`, :func:`grouped_rows`, and
  :func:`creditrules.split.blocks`): both files are sorted by ``person_id``.
  Persons and records are merged as they stream, so memory is bounded by the
  largest person, not the population. A file that is not sorted is refused at
  the first row out of order, naming it. :func:`sort_records` writes such a
  file from any input, in bounded memory.

:func:`run_batch` decides them in input order (persons by id) whatever the
number of workers: the pool hands back chunks in the order they were sent.
Each worker builds its engine once, reads and structures the rows it is given
(:class:`Unread` persons, or blocks of them), and serialises its decisions;
with a ``sink``, it also writes them to a spool file that the parent appends
to the output, so decisions never cross a pipe.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import datetime as dt
import heapq
import io
import itertools
import multiprocessing as mp
import os
import pickle
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent import futures
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from collections import deque
from pathlib import Path
from typing import Any, BinaryIO, cast

from attrs import evolve, frozen
from attrs import fields as attrs_fields

from .canonical import canonical_json
from .convert import Kind, Model, _Duplicates, _located, _raw_rows, _row_id, _structure, unstructure
from .engine import Engine
from .errors import InputError, InputErrors, WorkerFailed
from .model import Outcome, Person, Subject, TrainingRecord

__all__ = ["BatchResult", "Unread", "grouped_people", "grouped_rows", "in_memory_people", "run_batch", "sort_records"]

Group = tuple[Subject, Sequence[TrainingRecord]]


@frozen
class BatchResult:
    """One decided subject, as the writer needs it."""

    subject_id: str
    kind: str
    outcome: Outcome
    line: bytes  # the decision's canonical JSON and a newline, UTF-8: what the writer writes
    record_text: str | None = None  # the audit record, when a ledger is written
    errors: tuple[str, ...] = ()  # the reasons of its ``error`` findings, for the operator
    refusal: InputErrors | None = None  # the input was refused here: no decision, and none after it

    @property
    def decision_json(self) -> str:
        """The decision's canonical JSON ("" once ``run_batch`` has written it to a sink)."""
        return self.line[:-1].decode("utf-8")


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
    for unread in grouped_rows(persons, records, encoding=encoding):
        yield unread.read()


@frozen
class Unread:
    """One person's rows as read from two files sorted by ``person_id``, not yet structured.

    Structuring is most of the cost of reading, so a pool of workers is sent
    these and each worker structures its own (``read``); the process that
    splits the files only cuts them into rows. ``refusal`` is a problem found
    while cutting (a CSV syntax error, a row out of order): it is raised by
    ``read``, so it surfaces in input order, after every person before it.
    """

    person: tuple[int, dict[str, Any]] | None
    records: tuple[tuple[int, dict[str, Any]], ...]
    sources: tuple[str, str]
    refusal: InputError | None = None

    def read(self) -> Group:
        """The person and their records, structured and checked exactly as the readers do.

        :raises InputErrors: the first refused row, in file order.
        """
        if self.person is None:
            assert self.refusal is not None
            raise InputErrors([self.refusal])
        persons, records = self.sources
        # The rows before the refusal come first in the file, so their own
        # problems are the ones to report.
        person = _structured("person", self.person, persons)
        assert isinstance(person, Person)
        duplicates = _Duplicates("record", records)  # ids are checked within a person (see run-a-province)
        mine: list[TrainingRecord] = []
        for line, row in self.records:
            record = _structured("record", (line, row), records)
            assert isinstance(record, TrainingRecord)
            duplicate = duplicates.check(record, line)
            if duplicate is not None:
                raise InputErrors([duplicate])
            mine.append(record)
        if self.refusal is not None:
            raise InputErrors([self.refusal])
        return person, mine


def _structured(kind: Kind, raw: tuple[int, dict[str, Any]], source: str) -> Model:
    line, row = raw
    try:
        return _structure(kind, row)
    except InputError as exc:
        raise InputErrors([_located(exc, source, line)]) from None


def grouped_rows(persons: str, records: str, *, encoding: str | None = None) -> Iterator[Unread]:
    """Each person's raw rows from two files sorted by ``person_id``, merged as they stream.

    Only the ids are read here; the last item carries the first problem met
    (a syntax error, a row out of order, a record whose person is missing),
    and nothing is read past it.
    """
    people = _ordered(_raw_rows(persons, "person", encoding), persons, "person")
    recs = _ordered(_raw_rows(records, "record", encoding), records, "record")
    return _merge(people, recs, (persons, records))


OrderedRow = tuple[str | None, tuple[int, dict[str, Any]]]


def _merge(people: Iterator[OrderedRow | InputError], recs: Iterator[OrderedRow | InputError],
           sources: tuple[str, str]) -> Iterator[Unread]:
    """Persons with their records, and the first problem met in place."""
    pending = next(recs, None)
    previous: OrderedRow | None = None
    for item in people:
        if isinstance(item, InputError):
            yield Unread(None, (), sources, item)
            return
        pid, person_row = item
        if previous is not None and pid == previous[0]:
            # A sorted file keeps a repeated person next to the first: the same
            # row again counts once, as the in-memory path has it; other content is refused.
            twin = _twin(previous[1], person_row, sources[0])
            if twin is None:
                continue
            yield Unread(None, (), sources, twin)
            return
        previous = item
        mine: list[tuple[int, dict[str, Any]]] = []
        while pending is not None:
            if isinstance(pending, InputError):
                yield Unread(person_row, tuple(mine), sources, pending)
                return
            if pending[0] == pid:
                mine.append(pending[1])
                pending = next(recs, None)
            elif pid is not None and pending[0] is not None and pending[0] < pid:
                yield Unread(person_row, tuple(mine), sources, _no_person(pending, sources))
                return
            else:
                break
        yield Unread(person_row, tuple(mine), sources)
    if isinstance(pending, InputError):
        yield Unread(None, (), sources, pending)
    elif pending is not None:
        yield Unread(None, (), sources, _no_person(pending, sources))


def _twin(first: tuple[int, dict[str, Any]], again: tuple[int, dict[str, Any]], source: str) -> InputError | None:
    """None when a repeated person row is the first one again; else why it is refused."""
    try:
        original = _structure("person", first[1])
    except InputError:
        return None  # the first row's own refusal comes first
    try:
        repeat = _structure("person", again[1])
    except InputError as exc:
        return _located(exc, source, again[0])
    check = _Duplicates("person", source)
    check.check(original, first[0])
    return check.check(repeat, again[0])


def _no_person(pending: OrderedRow, sources: tuple[str, str]) -> InputError:
    pid, (line, row) = pending
    return InputError(f"no person {pid!r} in {sources[0]}", source=sources[1], line=line,
                      record_id=_row_id("record", row), field="person_id")


def _ordered(
    rows: Iterable[Any], path: str, kind: Kind, after: str | None = None
) -> Iterator[OrderedRow | InputError]:
    """(person_id, raw row) of rows that must be sorted by person_id; the first problem ends them.

    ``after`` is the last person_id before these rows (when they continue a file).
    """
    last = after
    for item in rows:
        if isinstance(item, InputError):
            yield item
            return
        line, row = item
        value = row.get("person_id")
        pid = value.strip() or None if isinstance(value, str) else (
            str(value) if isinstance(value, int) and not isinstance(value, bool) else None)
        if pid is None:
            # No id to sort or group by: the row's own refusal says what is wrong with it.
            try:
                _structure(kind, row)
            except InputError as exc:
                yield _located(exc, path, line)
                return
        elif last is not None and pid < last:
            yield InputError(
                f"person_id {pid!r} comes after {last!r}: the file is not sorted by person_id "
                "(use in-memory grouping, or `creditrules sort-records` first)",
                source=path, line=line, record_id=_row_id(kind, row) or pid, field="person_id",
            )
            return
        else:
            last = pid
        yield pid, item


def sort_records(records: str, out: str, *, encoding: str | None = None, run_size: int = 100_000) -> int:
    """Write ``records`` sorted by (person_id, end_date, record_id) as UTF-8 CSV; returns the row count.

    An external merge sort: runs of ``run_size`` records are sorted in memory
    and spilled to temporary files beside ``out``, then merged, so memory is
    bounded by ``run_size`` whatever the file's size (under 150 MB at the
    default); every run file is open during the merge, so with the default
    ``run_size`` and a limit of 1,024 open files it sorts up to about 100 M
    records (raise ``run_size`` beyond that). Every row is checked as the
    readers check it; a refused row stops the sort, and nothing is written.
    Record ids are checked per person when the sorted file is streamed, not
    across the file.

    :raises InputErrors: listing every refused row (up to ``MAX_ERRORS``).
    """
    from .convert import MAX_ERRORS, iter_results

    target = Path(out)
    fields = [f.name for f in attrs_fields(TrainingRecord)]
    errors: list[InputError] = []
    count = 0
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.runs-") as spill:
        runs: list[str] = []
        # Each row is held as its CSV line (one string, not twenty), so a run
        # takes well under a kilobyte a row.
        batch: list[tuple[tuple[str, str, str], str]] = []
        line = io.StringIO()
        as_csv = csv.writer(line)

        def spill_batch() -> None:
            batch.sort(key=lambda item: item[0])
            path = os.path.join(spill, f"run-{len(runs)}.pickle")
            with open(path, "wb") as fh:
                pickler = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
                for item in batch:
                    pickler.dump(item)
            runs.append(path)
            batch.clear()

        for result in iter_results(records, "record", encoding=encoding, duplicates_across_file=False):
            if result.error is not None:
                errors.append(result.error)
                if len(errors) > MAX_ERRORS:
                    raise InputErrors(errors[:MAX_ERRORS], truncated=True)
                continue
            if errors:
                continue  # keep reading only to list every refusal
            r = cast(TrainingRecord, result.model)
            plain = unstructure(r)
            line.seek(0)
            line.truncate()
            as_csv.writerow(["" if plain[f] is None else str(plain[f]) for f in fields])
            batch.append(((r.person_id, r.end_date.isoformat(), r.record_id), line.getvalue()))
            count += 1
            if len(batch) >= run_size:
                spill_batch()
        if errors:
            raise InputErrors(errors)
        if batch:
            spill_batch()
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                csv.writer(fh).writerow(fields)
                # heapq.merge is stable across runs in run order, and each run was
                # sorted stably: rows with equal keys keep their input order.
                for _, text in heapq.merge(*(_spilled(path) for path in runs), key=lambda item: item[0]):
                    fh.write(text)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    return count


def _spilled(path: str) -> Iterator[tuple[tuple[str, str, str], str]]:
    with open(path, "rb") as fh:
        unpickler = pickle.Unpickler(fh)
        while True:
            try:
                yield unpickler.load()
            except EOFError:
                return


# -- deciding, in one process or many --------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(engine: Engine | None, region: str, as_of: dt.date, known_at: dt.date | None, audit: bool,
                 spool: str | None = None, compress: bool = False) -> None:
    _WORKER.update(engine=engine or Engine.load(), region=region, as_of=as_of, known_at=known_at, audit=audit,
                   spool=spool, compress=compress)


def _init_pool_worker(*args: Any) -> None:
    # Ctrl-C is the parent's to handle: it lets the chunks in flight finish
    # (see _wind_down), which a worker killed by the interrupt never would.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(*args)


def _decide_spooled(chunk: list[Any]) -> tuple[str, list[BatchResult]]:
    """Decide a chunk in a worker and leave its lines in a spool file, not in the pipe.

    Decisions are tens of kilobytes each; sent back through the pool they are
    copied four times, and the parent's share of that work is what keeps two
    workers from running at twice the speed of one. The parent appends the
    file to the output with ``copy_file_range``, in the kernel.
    """
    results = _decide_chunk(chunk)
    path = os.path.join(_WORKER["spool"], f"{os.getpid()}-{next(_SPOOLED)}.jsonl")
    data, results = _chunk_bytes(results, _WORKER["compress"])
    with open(path, "wb") as fh:
        fh.write(data)
    return path, results


def _chunk_bytes(results: list[BatchResult], compress: bool) -> tuple[bytes, list[BatchResult]]:
    """The lines of a chunk's decisions up to any refusal, as written (one gzip member when
    compressing), and the results with their lines taken out."""
    done = list(itertools.takewhile(lambda r: r.refusal is None, results))
    data = b"".join(r.line for r in done)
    if data and compress:
        # mtime=0: the same decisions give the same bytes, whenever they are written.
        data = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    return data, [evolve(r, line=b"") for r in done] + results[len(done):]


#: gzip level 1: decisions shrink about 9× at about 375 MB/s a core (level 6: 12×, 150 MB/s).
GZIP_LEVEL = 1


_SPOOLED = itertools.count()


def _decide_chunk(chunk: list[Any]) -> list[BatchResult]:
    engine: Engine = _WORKER["engine"]
    out = []
    for block, item in _expanded(chunk):
        if isinstance(item, Unread):
            try:
                subject, records = item.read()
            except InputErrors as exc:
                # A block sees only its own rows and persons, so in a damaged file it
                # may meet a different problem first than a reading from the start
                # would; the refusal must be the same whatever the path, so it is
                # found again that way (the input is refused: time no longer counts).
                refusal = (block.first_refusal() or exc) if block is not None else exc
                # Handed back in place: the parent raises it once every decision before it is written.
                out.append(BatchResult("", "", Outcome.ERROR, b"", refusal=refusal))
                return out
        else:
            subject, records = item
        out.append(decide(engine, subject, records, region=_WORKER["region"], as_of=_WORKER["as_of"],
                          known_at=_WORKER["known_at"], audit=_WORKER["audit"]))
    return out


def decide(engine: Engine, subject: Subject, records: Sequence[TrainingRecord], *, region: str, as_of: dt.date,
           known_at: dt.date | None, audit: bool) -> BatchResult:
    """One subject decided as a batch decides it: the line to write, the outcome, the audit record."""
    decision = engine.adjudicate(subject, records, region=region, as_of=as_of, known_at=known_at)
    record_text = None
    if audit:
        from .audit import make_record

        record_text = make_record(engine, decision, subject, records, known_at=known_at).text
    errors = tuple(f.reason.en for f in decision.findings if f.outcome is Outcome.ERROR)
    # Encoded here, in the worker: bytes cross the pipe as they are, where a
    # str would be encoded to pickle it and decoded again on the other side.
    line = (canonical_json(decision) + "\n").encode("utf-8")
    return BatchResult(subject.id, subject.kind.value, decision.outcome, line, record_text, errors)


def run_batch(
    groups: Iterable[Any],
    *,
    region: str,
    as_of: dt.date,
    known_at: dt.date | None = None,
    workers: int = 1,
    engine: Engine | None = None,
    audit: bool = False,
    chunk_size: int = 256,
    on_done: Callable[[int], None] | None = None,
    sink: BinaryIO | None = None,
    compress: bool = False,
) -> Iterator[BatchResult]:
    """Decide every group, in order, with ``workers`` processes (1: in this process).

    ``groups`` holds (subject, records) pairs, :class:`Unread` persons, or
    :class:`~creditrules.split.Block` s of them; the last two are read (and
    refused, if they must be) by the process that decides them.

    With ``sink``, each decision's line is written there, in order, before its
    result is yielded (and the result's ``line`` is empty): with workers, the
    lines then go from the workers to the sink through spool files, never
    through this process. When the input is refused, the refusal raised is the
    same whatever the groups and the workers; the decisions yielded before it
    may differ (a block may finish a person that reading row by row would not
    yet have reached), which is why the CLI writes a file only once the last
    decision is made. With ``compress`` too, each chunk's lines are one gzip
    member (made by the worker that decided them); members concatenated are one
    gzip file, which ``gzip`` and ``zcat`` read whole.

    With ``engine`` given and the ``fork`` start method available, workers
    inherit it (plugins registered directly included); otherwise each worker
    loads the installed plugins itself.
    """
    chunks = _chunks(groups, chunk_size)
    if workers <= 1:
        _init_worker(engine or Engine.load(), region, as_of, known_at, audit)
        for chunk in chunks:
            yield from _collected(_decide_chunk(chunk), on_done, sink, compress)
        return
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    inherited = engine if ctx.get_start_method() == "fork" else None
    with contextlib.ExitStack() as stack:
        spool = stack.enter_context(tempfile.TemporaryDirectory(prefix="creditrules-spool-")) if sink else None
        # An executor, not multiprocessing.Pool: a worker that dies (killed, out of
        # memory, a plugin calling os._exit) or fails to start breaks the executor,
        # and the waiting parent gets BrokenProcessPool instead of waiting forever.
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_pool_worker,
                                   initargs=(inherited, region, as_of, known_at, audit, spool, compress))
        # On a refusal (or any way out) the chunks in flight finish before the
        # pool shuts down, so no worker is killed while its chunk is being sent.
        window: deque[Future[Any]] = deque()
        stack.callback(_wind_down, pool, window)
        decide = _decide_spooled if spool else _decide_chunk
        # A bounded window of chunks in flight, collected in submission order:
        # order is kept and memory stays flat (Executor.map would read all input ahead).
        for chunk in chunks:
            try:
                window.append(pool.submit(decide, chunk))
            except BrokenProcessPool as exc:
                raise _worker_died(exc) from None
            if len(window) >= 4 * workers:
                yield from _collect(window.popleft(), on_done, sink, compress)
        while window:
            yield from _collect(window.popleft(), on_done, sink, compress)


def _worker_died(exc: BrokenProcessPool) -> WorkerFailed:
    return WorkerFailed(f"a worker process died or could not start ({exc}); the batch stopped there, "
                        "and nothing after it was decided")


def _wind_down(pool: ProcessPoolExecutor, window: deque[Future[Any]]) -> None:
    futures.wait(window)
    pool.shutdown(wait=True, cancel_futures=True)


def _collect(pending: Future[Any], on_done: Callable[[int], None] | None, sink: BinaryIO | None,
             compress: bool) -> Iterator[BatchResult]:
    try:
        got = pending.result()
    except BrokenProcessPool as exc:
        raise _worker_died(exc) from None
    if isinstance(got, tuple):
        path, results = got
        assert sink is not None
        _append(sink, path)
        os.unlink(path)
        return _collected(results, on_done, None, False)
    return _collected(got, on_done, sink, compress)


def _append(sink: BinaryIO, path: str) -> None:
    sink.flush()
    with open(path, "rb") as src:
        try:
            left = os.fstat(src.fileno()).st_size
            while left > 0:
                copied = os.copy_file_range(src.fileno(), sink.fileno(), left)
                if copied == 0:
                    raise OSError("copy_file_range copied nothing")
                left -= copied
        except (OSError, AttributeError, ValueError):  # a pipe, an in-memory sink, an old kernel
            shutil.copyfileobj(src, sink)


def _collected(results: list[BatchResult], on_done: Callable[[int], None] | None,
               sink: BinaryIO | None, compress: bool) -> Iterator[BatchResult]:
    if sink is not None:
        data, results = _chunk_bytes(results, compress)
        sink.write(data)
    for result in results:
        if result.refusal is not None:
            raise result.refusal
        yield result
    if on_done:
        on_done(len(results))


def _expanded(chunk: list[Any]) -> Iterator[tuple[Any, Group | Unread]]:
    """Each group of the chunk, with the block it came from (None if none)."""
    from .split import Block

    for item in chunk:
        if isinstance(item, Block):
            for unread in item.unread():
                yield item, unread
        else:
            yield None, item


def _chunks(groups: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Chunks of ``size`` groups; a block of whole persons is a chunk by itself."""
    from .split import Block

    chunk: list[Any] = []
    for item in groups:
        if isinstance(item, Block):
            if chunk:
                yield chunk
                chunk = []
            yield [item]
            continue
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
