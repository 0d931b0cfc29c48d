"""Beyond one machine: a partitioned population on a ``dask.distributed`` cluster.

Install with ``pip install -e ".[dask]"``. The population is first split into
partitions that each hold *whole persons* (``partition_population`` hashes
``person_id``), as CSV or Parquet pairs. Every partition is adjudicated on a
worker, which loads its engine once; the results are merged back by person id,
so the output — decisions and ledger entries alike — is byte-identical to the
local run, whatever the number of workers or partitions.

The rules reach the workers as installed plugins: install the same packages on
every worker (the decision records pin the ruleset hashes, and a mismatch is
refused rather than silently mixed).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import heapq
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from .convert import read_persons, read_records, structure_person, structure_record, unstructure
from .errors import CreditrulesError, InputError, InputErrors

__all__ = ["Partition", "adjudicate_partitions", "partition_population"]


@frozen
class Partition:
    """One slice of the population: persons and the records of exactly those persons."""

    persons: str
    records: str


def partition_population(persons: str, records: str, out_dir: str, parts: int) -> list[Partition]:
    """Split a population into ``parts`` CSV pairs by a stable hash of ``person_id``."""
    if parts < 1:
        raise CreditrulesError("parts must be at least 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    people = read_persons(persons)
    recs = read_records(records)
    known = {p.person_id for p in people}
    orphans = [r for r in recs if r.person_id not in known]
    if orphans:
        raise InputErrors([InputError(f"no person {r.person_id!r} in {persons}", source=records,
                                      record_id=r.record_id, field="person_id") for r in orphans[:100]])
    result = []
    for i in range(parts):
        pp = [p for p in people if _slot(p.person_id, parts) == i]
        rr = [r for r in recs if _slot(r.person_id, parts) == i]
        part = Partition(str(out / f"persons-{i:04d}.csv"), str(out / f"records-{i:04d}.csv"))
        _write_csv(part.persons, [unstructure(p) for p in pp], ["person_id", "role"])
        _write_csv(part.records, [unstructure(r) for r in rr], ["record_id", "person_id"])
        result.append(part)
    return result


def _slot(person_id: str, parts: int) -> int:
    # A cryptographic hash, not hash(): stable across processes and machines.
    return int.from_bytes(hashlib.sha256(person_id.encode()).digest()[:8], "big") % parts


def _write_csv(path: str, rows: list[dict[str, Any]], minimum: list[str]) -> None:
    fields = list(rows[0]) if rows else minimum
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


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
) -> list[tuple[str, str, str | None]]:
    """(person id, decision JSON, audit record text) for every person of ``part``, by person id."""
    from .batch import Population
    from .canonical import canonical_json
    from .engine import Engine

    engine = _ENGINES.get("engine")
    if engine is None:
        engine = _ENGINES["engine"] = Engine.load()
    population = Population.build(_load(part.persons, "person"), _load(part.records, "record"))
    out = []
    for person in population.persons:
        records = population.records.get(person.person_id, ())
        decision = engine.adjudicate(person, records, region=region, as_of=as_of, known_at=known_at)
        text = None
        if audit:
            from .audit import make_record

            text = make_record(engine, decision, person, records, known_at=known_at).text
        out.append((person.person_id, canonical_json(decision), text))
    return out


def adjudicate_partitions(
    client: Any,
    partitions: Sequence[Partition],
    *,
    region: str,
    as_of: dt.date,
    known_at: dt.date | None = None,
    audit: bool = False,
) -> Iterator[tuple[str, str, str | None]]:
    """Adjudicate every partition on the cluster behind ``client``; yield results by person id.

    Each yielded item is ``(person_id, decision_json, record_text)``; the order
    equals the local run's (persons by id), so writing them gives the same bytes.
    """
    futures = [
        client.submit(_adjudicate_partition, part, region, as_of, known_at, audit, pure=False)
        for part in partitions
    ]
    results = client.gather(futures)
    ids = [pid for part in results for pid, _, _ in part]
    if len(ids) != len(set(ids)):
        raise CreditrulesError("a person appears in more than one partition; partition by person_id")
    yield from heapq.merge(*results, key=lambda item: item[0])

