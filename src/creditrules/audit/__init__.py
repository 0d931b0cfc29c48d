"""Audit: decision records, the tamper-evident ledger, replay and impact analysis.

* :mod:`.record` — a :class:`DecisionRecord` holds everything replay needs;
  its id is the hash of its canonical JSON.
* :mod:`.ledger` — an append-only SQLite ledger, each entry chained to the
  previous one by hash (optionally HMAC-signed), with the ruleset chains the
  decisions used archived beside it, content-addressed.
* :mod:`.replay` — re-run stored decisions as the rules were known then (must
  reproduce the bytes) or with today's corrections (a per-finding diff).
* :mod:`.impact` — adjudicate a population under two ruleset versions and
  report who changes outcome and why.
"""

from __future__ import annotations

from .impact import ImpactReport, impact
from .ledger import AppendResult, Entry, Ledger, VerifyReport
from .record import RECORD_SCHEMA, DecisionRecord, make_record
from .replay import FindingDiff, ReplayResult, replay, replay_entry

__all__ = [
    "RECORD_SCHEMA",
    "AppendResult",
    "DecisionRecord",
    "Entry",
    "FindingDiff",
    "ImpactReport",
    "Ledger",
    "ReplayResult",
    "VerifyReport",
    "impact",
    "make_record",
    "replay",
    "replay_entry",
]
