"""The ledger: an append-only SQLite file of decision records, chained by hash.

Each entry stores ``entry_hash = SHA-256(seq, prev_hash, record_id, recorded_at)``
where ``record_id`` is itself the SHA-256 of the record's text; so editing,
deleting, inserting or reordering any entry breaks the chain at that entry,
and :meth:`Ledger.verify` names the first one that breaks. With a key (from
``CREDITRULES_LEDGER_KEY``) each entry also carries an HMAC of its hash, so a
forger who rewrites the whole chain is caught too. What this does and does not
prove is in ``docs/explanation/ledger-threat-model.md``.

Appends are transactions of ``batch_size`` entries: a process killed at any
moment leaves every committed entry intact and no partial entry (SQLite's
journal rolls the open transaction back). A record already in the ledger is
skipped, so re-running a killed batch resumes without duplicates.

The ruleset layers every stored decision used are archived in the same file,
keyed by content hash, so replay works after a plugin is upgraded or removed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from attrs import frozen

from ..chain import RulesetChain
from ..errors import CreditrulesError
from ..ruleset import RulesetDoc, parse_ruleset
from .record import DecisionRecord

__all__ = ["AppendResult", "Entry", "Ledger", "LedgerError", "VerifyReport", "KEY_ENV"]

KEY_ENV = "CREDITRULES_LEDGER_KEY"
LEDGER_SCHEMA = "creditrules.ledger/1"
GENESIS = "0" * 64

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL,
    mac TEXT
);
CREATE TABLE IF NOT EXISTS rulesets (
    hash TEXT PRIMARY KEY,
    layer_id TEXT NOT NULL,
    text TEXT NOT NULL
);
"""


class LedgerError(CreditrulesError):
    """The ledger file cannot be used (not a ledger, wrong schema, missing archive)."""


@frozen
class Entry:
    seq: int
    record: DecisionRecord
    recorded_at: str
    prev_hash: str
    entry_hash: str
    mac: str | None


@frozen
class AppendResult:
    added: int
    skipped: int


@frozen
class VerifyReport:
    ok: bool
    checked: int
    head: str
    first_bad_seq: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"ledger intact: {self.checked} entries, head {self.head[:16]}"
        return f"ledger broken at entry {self.first_bad_seq}: {self.problem} ({self.checked} entries checked)"


def entry_hash(seq: int, prev_hash: str, record_id: str, recorded_at: str) -> str:
    text = f"{seq}\n{prev_hash}\n{record_id}\n{recorded_at}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class Ledger:
    """An append-only, hash-chained store of decision records.

    :param path: the SQLite file (created if missing).
    :param key: HMAC key; by default read from ``CREDITRULES_LEDGER_KEY``.
    :param clock: when entries are recorded; injectable so tests are exact.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        key: bytes | None = None,
        clock: Callable[[], str] = _utc_now,
    ) -> None:
        self.path = Path(path)
        if key is None and os.environ.get(KEY_ENV):
            key = os.environ[KEY_ENV].encode()
        self.key = key
        self.clock = clock
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None)
            # Undecodable bytes (a damaged or hand-edited file) must reach verify(),
            # where the hash check names the entry, not crash the read.
            self.db.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_DDL)
            self._check_schema()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path}: not a creditrules ledger ({exc})") from None

    def _check_schema(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (LEDGER_SCHEMA,))
        elif row[0] != LEDGER_SCHEMA:
            raise LedgerError(f"{self.path}: ledger schema {row[0]!r}, this version reads {LEDGER_SCHEMA!r}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------

    def archive(self, chain: RulesetChain) -> None:
        """Store every layer of ``chain`` by content hash (no-op for layers already stored)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for layer in chain.layers:
                self.db.execute(
                    "INSERT OR IGNORE INTO rulesets VALUES (?, ?, ?)", (layer.hash, layer.id, layer.text)
                )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def append(self, records: Iterable[DecisionRecord], *, batch_size: int = 500) -> AppendResult:
        """Append records in transactions of ``batch_size``; records already present are skipped."""
        try:
            return self._append(records, batch_size)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path}: cannot append, the database file is damaged ({exc})") from None

    def _append(self, records: Iterable[DecisionRecord], batch_size: int) -> AppendResult:
        added = skipped = 0
        batch: list[DecisionRecord] = []
        for rec in records:
            batch.append(rec)
            if len(batch) >= batch_size:
                a, s = self._append_batch(batch)
                added, skipped, batch = added + a, skipped + s, []
        if batch:
            a, s = self._append_batch(batch)
            added, skipped = added + a, skipped + s
        return AppendResult(added, skipped)

    def _append_batch(self, batch: list[DecisionRecord]) -> tuple[int, int]:
        added = skipped = 0
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0], row[1]) if row else (0, GENESIS)
            for rec in batch:
                if self.db.execute("SELECT 1 FROM entries WHERE record_id = ?", (rec.id,)).fetchone():
                    skipped += 1
                    continue
                seq += 1
                at = self.clock()
                h = entry_hash(seq, prev, rec.id, at)
                mac = hmac.new(self.key, h.encode(), hashlib.sha256).hexdigest() if self.key else None
                self.db.execute(
                    "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", (seq, rec.id, rec.text, at, prev, h, mac)
                )
                prev = h
                added += 1
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return added, skipped

    # -- reading ------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read; a damaged file is a LedgerError naming it, never a raw sqlite3 error."""
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path}: the database file is damaged ({exc})") from None

    def __len__(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM entries")[0][0])

    def entries(self) -> Iterator[Entry]:
        try:
            cur = self.db.execute(
                "SELECT seq, record_id, record, recorded_at, prev_hash, entry_hash, mac FROM entries ORDER BY seq"
            )
            for seq, rid, text, at, prev, h, mac in cur:
                yield Entry(seq, DecisionRecord(rid, text), at, prev, h, mac)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path}: the database file is damaged ({exc})") from None

    def get(self, record_id: str) -> Entry:
        """The entry whose record id is ``record_id`` (a unique prefix is enough)."""
        rows = self._query(
            "SELECT seq, record_id, record, recorded_at, prev_hash, entry_hash, mac FROM entries "
            "WHERE record_id LIKE ? ORDER BY seq LIMIT 2",
            (record_id.replace("%", "").replace("_", "") + "%",),
        )
        if not rows:
            raise LedgerError(f"{self.path}: no entry with id {record_id!r}")
        if len(rows) > 1:
            raise LedgerError(f"{self.path}: id prefix {record_id!r} is ambiguous")
        seq, rid, text, at, prev, h, mac = rows[0]
        return Entry(seq, DecisionRecord(rid, text), at, prev, h, mac)

    def head(self) -> str:
        rows = self._query("SELECT entry_hash FROM entries ORDER BY seq DESC LIMIT 1")
        return str(rows[0][0]) if rows else GENESIS

    def archived_layers(self, refs: Iterable[tuple[str, str]]) -> list[RulesetDoc]:
        """The archived layer documents for ``(id, hash)`` pairs, root first."""
        docs = []
        for layer_id, digest in refs:
            rows = self._query("SELECT text FROM rulesets WHERE hash = ?", (digest,))
            row = rows[0] if rows else None
            if row is None:
                raise LedgerError(f"{self.path}: ruleset layer {layer_id} {digest[:12]} is not archived")
            doc = parse_ruleset(row[0], f"{self.path}#rulesets/{layer_id}@{digest[:12]}")
            if doc.hash != digest:
                raise LedgerError(f"{self.path}: archived layer {layer_id} {digest[:12]} does not match its hash")
            docs.append(doc)
        return docs

    # -- verification -------------------------------------------------------------

    def verify(self, *, expect_head: str | None = None) -> VerifyReport:
        """Walk the chain; name the first entry that was edited, deleted, inserted or moved."""
        prev = GENESIS
        checked = 0
        expected_seq = 1
        try:
            for e in self.entries():
                problem = self._entry_problem(e, prev, expected_seq)
                if problem:
                    return VerifyReport(False, checked, prev, e.seq, problem)
                prev = e.entry_hash
                expected_seq += 1
                checked += 1
        except LedgerError as exc:
            return VerifyReport(False, checked, prev, expected_seq, str(exc))
        if expect_head is not None and prev != expect_head:
            return VerifyReport(
                False, checked, prev, checked, f"head is {prev[:16]}, expected {expect_head[:16]} (entries removed at the end?)"
            )
        return VerifyReport(True, checked, prev)

    def _entry_problem(self, e: Entry, prev: str, expected_seq: int) -> str | None:
        if e.seq != expected_seq:
            return f"sequence jumps from {expected_seq - 1} to {e.seq} (an entry was deleted)"
        if hashlib.sha256(e.record.text.encode("utf-8", "surrogateescape")).hexdigest() != e.record.id:
            return "the record's text does not match its id (the record was edited)"
        if e.prev_hash != prev:
            return "it does not follow the previous entry (an entry was deleted, inserted or moved)"
        if entry_hash(e.seq, e.prev_hash, e.record.id, e.recorded_at) != e.entry_hash:
            return "its hash does not match its content (the entry was edited)"
        if self.key is not None:
            good = hmac.new(self.key, e.entry_hash.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()
            if e.mac is None or not hmac.compare_digest(good, e.mac):
                return "its HMAC signature is missing or wrong (forged, or signed with another key)"
        return None
