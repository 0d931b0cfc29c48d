"""Adjudicating a population: persons with their records, projects, units.

The order of decisions is fixed — persons by id, then projects by id, then
units by (id, year) — so two runs over the same input write the same bytes,
whatever order the rows came in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

from attrs import frozen

from .engine import Engine
from .errors import InputError, InputErrors
from .model import Decision, Person, Project, Subject, TrainingRecord, Unit

__all__ = ["Population", "adjudicate_population", "group_records"]


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
