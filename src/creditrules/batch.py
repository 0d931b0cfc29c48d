"""Adjudicating a population: persons with their records, projects, units.

The order of decisions is fixed — persons by id, then projects by id, then
units by (id, year) — so two runs over the same input write the same bytes,
whatever order the rows came in.

:func:`read_valid` is partial acceptance (``adjudicate --skip-invalid``): it
keeps every subject whose input is entirely valid and accounts for every other
row as :class:`Rejected`, with its reason; per file, rows read = accepted + refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from attrs import frozen

from .convert import DuplicateError, FileError, Kind, RowResult, iter_results
from .engine import Engine
from .errors import InputError, InputErrors
from .model import Decision, Person, Project, Subject, TrainingRecord, Unit

__all__ = [
    "FileCount",
    "Population",
    "Rejected",
    "ValidInput",
    "adjudicate_population",
    "group_records",
    "read_valid",
]


@frozen
class Population:
    """Everything one batch adjudicates, already checked for consistency."""

    persons: tuple[Person, ...]
    records: dict[str, tuple[TrainingRecord, ...]]
    projects: tuple[Project, ...] = ()
    units: tuple[Unit, ...] = ()

    @classmethod
    def build(
        cls,
        persons: Iterable[Person] = (),
        records: Iterable[TrainingRecord] = (),
        projects: Iterable[Project] = (),
        units: Iterable[Unit] = (),
    ) -> Population:
        """Check ids and group records by person; refuse orphans and duplicate subjects.

        :raises InputErrors: naming every record whose person is missing and
            every subject id given twice.
        """
        errors: list[InputError] = []
        by_id: dict[str, Person] = {}
        for p in persons:
            if p.person_id in by_id and by_id[p.person_id] != p:
                errors.append(InputError("listed twice with different content", record_id=p.person_id,
                                         field="person_id", kind="person"))
            by_id[p.person_id] = p
        grouped = group_records(records)
        for pid, recs in sorted(grouped.items()):
            if pid not in by_id:
                for r in recs:
                    errors.append(InputError(f"no person {pid!r} in the persons input", record_id=r.record_id,
                                             field="person_id"))
        if errors:
            raise InputErrors(errors)
        return cls(
            persons=tuple(by_id[k] for k in sorted(by_id)),
            records={k: tuple(v) for k, v in grouped.items()},
            projects=tuple(sorted(set(projects), key=lambda p: p.project_id)),
            units=tuple(sorted(set(units), key=lambda u: (u.unit_id, u.year))),
        )

    def subjects(self) -> Iterator[tuple[Subject, Sequence[TrainingRecord]]]:
        for p in self.persons:
            yield p, self.records.get(p.person_id, ())
        for proj in self.projects:
            yield proj, ()
        for u in self.units:
            yield u, ()

    def __len__(self) -> int:
        return len(self.persons) + len(self.projects) + len(self.units)


def group_records(records: Iterable[TrainingRecord]) -> dict[str, list[TrainingRecord]]:
    """Records by ``person_id``, in arrival order (the engine sorts them itself)."""
    out: dict[str, list[TrainingRecord]] = {}
    for r in records:
        out.setdefault(r.person_id, []).append(r)
    return out


def adjudicate_population(
    engine: Engine,
    population: Population,
    *,
    region: str,
    as_of: dt.date,
    known_at: dt.date | None = None,
) -> Iterator[Decision]:
    """One decision per subject, in the population's fixed order."""
    engine.chain(region)  # fail fast on an unknown region, before any work
    for subject, records in population.subjects():
        yield engine.adjudicate(subject, records, region=region, as_of=as_of, known_at=known_at)


# -- partial acceptance --------------------------------------------------------------


@frozen
class Rejected:
    """One refused input row: where it is, whose it is, and why (a line of the rejects file)."""

    source: str
    line: int | None
    kind: str
    id: str | None
    field: str | None
    reason: str

    FIELDS = ("file", "line", "kind", "id", "field", "reason")

    def row(self) -> dict[str, str]:
        return {"file": self.source, "line": "" if self.line is None else str(self.line), "kind": self.kind,
                "id": self.id or "", "field": self.field or "", "reason": self.reason}


@frozen
class FileCount:
    """What became of one input file's rows: ``read == accepted + refused``."""

    source: str
    kind: str
    read: int
    accepted: int
    refused: int


@frozen
class ValidInput:
    """The valid part of an input, what was refused, and the counts per file."""

    population: Population
    rejected: tuple[Rejected, ...]
    files: tuple[FileCount, ...]


class _File:
    """One file's rows with a verdict each: ``None`` accepted, else the reason it was refused."""

    def __init__(self, source: str, kind: Kind, rows: list[RowResult]) -> None:
        self.source, self.kind, self.rows = source, kind, rows
        self.verdicts: list[tuple[str | None, str] | None] = [
            None if r.error is None else (r.error.field, r.error.reason) for r in rows
        ]

    def refuse(self, i: int, reason: str, field: str | None = None) -> None:
        if self.verdicts[i] is None:
            self.verdicts[i] = (field, reason)

    def where(self, i: int) -> str:
        line = self.rows[i].line
        return self.source if line is None else f"{self.source}:{line}"

    def refuse_conflicting_duplicates(self) -> None:
        """Refuse the first row of an id repeated with different content too: which is right is unknown."""
        firsts = {r.error.first_line: r for r in self.rows if isinstance(r.error, DuplicateError)}
        for i, r in enumerate(self.rows):
            if r.line in firsts and self.verdicts[i] is None:
                again = firsts[r.line]
                self.refuse(i, f"listed again on line {again.line} with different content; fix one of the two rows")

    def accepted(self) -> list[Any]:
        return [r.model for r, v in zip(self.rows, self.verdicts) if v is None]

    def count(self) -> FileCount:
        refused = sum(v is not None for v in self.verdicts)
        return FileCount(self.source, self.kind, len(self.rows), len(self.rows) - refused, refused)

    def rejected(self) -> list[Rejected]:
        out = []
        for r, v in zip(self.rows, self.verdicts):
            if v is not None:
                field, reason = v
                out.append(Rejected(self.source, r.line, self.kind, _row_id(self.kind, r), field, reason))
        return out


_ID_COLUMN = {"person": "person_id", "record": "record_id", "project": "project_id", "unit": "unit_id"}


def _cell(cells: Mapping[str, Any], column: str) -> str | None:
    value = cells.get(column)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() or None if isinstance(value, str) else None


def _row_id(kind: str, r: RowResult) -> str | None:
    if r.model is not None:
        return r.model.id if not isinstance(r.model, TrainingRecord) else r.model.record_id
    # The raw cell first: a refusal's id is clipped for reading when very long.
    return _cell(r.cells, _ID_COLUMN[kind]) or (r.error.record_id if r.error is not None else None)


def _owner(r: RowResult) -> str | None:
    """The person a record row belongs to, read or refused."""
    if isinstance(r.model, TrainingRecord):
        return r.model.person_id
    return _cell(r.cells, "person_id")


def read_valid(
    persons: str,
    records: str,
    projects: str | None = None,
    units: str | None = None,
    *,
    encoding: str | None = None,
) -> ValidInput:
    """Read the input files, keeping every subject whose rows are all valid.

    A person is refused when their own row is refused or when any of their
    records is (a decision without that record could be wrong); a refused
    person's records are refused with them ("person T1 was refused"), and so
    is a record whose person is not in ``persons``. A row repeating an id with
    different content is refused together with the row it repeats.

    :raises InputErrors: when a file cannot be read past some point (unreadable,
        undecodable, a bad header, broken JSON): its good rows are unknown, so
        the input is refused whole.
    """
    kinds: list[tuple[str | None, Kind]] = [(persons, "person"), (records, "record"), (projects, "project"),
                                            (units, "unit")]
    files = {kind: _File(path, kind, list(iter_results(path, kind, encoding=encoding)))
             for path, kind in kinds if path is not None}
    fatal = [r.error for f in files.values() for r in f.rows if isinstance(r.error, FileError)]
    if fatal:
        raise InputErrors(fatal)
    for f in files.values():
        f.refuse_conflicting_duplicates()

    people, recs = files["person"], files["record"]
    # Why each refused person was refused, as a record's reason will quote it.
    refused: dict[str, str] = {}
    for i, r in enumerate(people.rows):
        pid = _row_id("person", r)
        if people.verdicts[i] is not None and pid is not None:
            refused.setdefault(pid, f"person {pid} was refused ({people.where(i)})")
    known = {p.person_id for p in people.accepted()} | set(refused)
    for i, r in enumerate(recs.rows):
        owner = _owner(r)
        if recs.verdicts[i] is not None and owner is not None and owner in known and owner not in refused:
            refused[owner] = f"person {owner} was refused: their record {_row_id('record', r) or '?'} " \
                             f"({recs.where(i)}) was refused, and a decision without it could be wrong"
    for i, r in enumerate(people.rows):
        pid = _row_id("person", r)
        if pid in refused and people.verdicts[i] is None:
            people.refuse(i, refused[pid].removeprefix(f"person {pid} was refused: "))
    for i, r in enumerate(recs.rows):
        if r.model is None:
            continue
        owner = _owner(r)
        if owner is None:
            continue  # a read record always has its person_id
        if owner in refused:
            recs.refuse(i, refused[owner])  # the row itself is fine: no field to fix
        elif owner not in known:
            recs.refuse(i, f"no person {owner!r} in {persons}", "person_id")

    population = Population.build(
        people.accepted(), recs.accepted(),
        files["project"].accepted() if "project" in files else (),
        files["unit"].accepted() if "unit" in files else (),
    )
    ordered = list(files.values())
    return ValidInput(
        population=population,
        rejected=tuple(x for f in ordered for x in f.rejected()),
        files=tuple(f.count() for f in ordered),
    )
