"""Decision records: a decision with everything needed to reproduce it.

A record holds the inputs as read (subject and every record, including those
after ``as_of``), the region, ``as_of``, ``known_at``, the ruleset chain with
each layer's content hash, the engine and plugin versions, and the decision.
Its canonical JSON is byte-stable; its id is the SHA-256 of those bytes. When
it was recorded is the ledger entry's business, not the record's, so the same
decision made twice has the same id — which is what makes a re-run batch
resume without duplicates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from attrs import frozen

from ..canonical import canonical_json, to_plain
from ..convert import structure_person, structure_project, structure_record, structure_unit, unstructure
from ..engine import Engine
from ..model import Decision, Person, Project, Subject, SubjectKind, TrainingRecord, Unit

__all__ = ["RECORD_SCHEMA", "DecisionRecord", "make_record"]

RECORD_SCHEMA = "creditrules.decision-record/1"


@frozen
class DecisionRecord:
    """One stored decision. ``text`` is its canonical JSON; ``id`` the SHA-256 of ``text``."""

    id: str
    text: str

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.text)  # type: ignore[no-any-return]

    @classmethod
    def from_text(cls, text: str) -> DecisionRecord:
        return cls(id=hashlib.sha256(text.encode()).hexdigest(), text=text)

    # -- what replay needs back ----------------------------------------------------

    def subject(self) -> Subject:
        inputs = self.data["inputs"]
        kind = SubjectKind(inputs["subject"]["kind"])
        raw = inputs["subject"]["data"]
        if kind is SubjectKind.PERSON:
            return structure_person(raw)
        if kind is SubjectKind.PROJECT:
            return structure_project(raw)
        return structure_unit(raw)

    def records(self) -> list[TrainingRecord]:
        return [structure_record(r) for r in self.data["inputs"]["records"]]

    def decision_json(self) -> str:
        """The stored decision's canonical JSON, exactly as it was written."""
        return canonical_json(self.data["decision"])

    @property
    def region(self) -> str:
        return str(self.data["region"])

    @property
    def as_of(self) -> dt.date:
        return dt.date.fromisoformat(self.data["as_of"])

    @property
    def known_at(self) -> dt.date | None:
        raw = self.data["known_at"]
        return dt.date.fromisoformat(raw) if raw else None

    @property
    def chain(self) -> list[tuple[str, str]]:
        return [(layer["id"], layer["hash"]) for layer in self.data["ruleset"]["chain"]]


def make_record(
    engine: Engine,
    decision: Decision,
    subject: Subject,
    records: Iterable[TrainingRecord] = (),
    *,
    known_at: dt.date | None = None,
) -> DecisionRecord:
    """Wrap ``decision`` with its inputs and provenance."""
    ordered = sorted(records, key=lambda r: (r.record_id, canonical_json(unstructure(r))))
    body = {
        "schema": RECORD_SCHEMA,
        "region": decision.region,
        "as_of": decision.as_of.isoformat(),
        "known_at": known_at.isoformat() if known_at else None,
        "inputs": {
            "subject": {"kind": subject.kind.value, "data": _subject_data(subject)},
            "records": [unstructure(r) for r in ordered],
        },
        "ruleset": {
            "chain": [{"id": layer.id, "hash": layer.hash} for layer in decision.ruleset.chain],
            "hash": decision.ruleset.hash,
        },
        "engine": decision.engine,
        "plugins": _plugins(engine),
        "decision": to_plain(decision),
    }
    return DecisionRecord.from_text(canonical_json(body))


def _subject_data(subject: Subject) -> dict[str, Any]:
    assert isinstance(subject, Person | Project | Unit)
    return unstructure(subject)


def _plugins(engine: Engine) -> Sequence[dict[str, str]]:
    return [
        {"name": p.name, "distribution": p.distribution, "version": p.version}
        for p in sorted(engine.plugins, key=lambda p: p.name)
    ]
