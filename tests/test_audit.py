"""Audit: decision records, the hash-chained ledger, replay and impact."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from creditrules import Engine, Person, TrainingRecord, decision_json, hookimpl, parse_ruleset
from creditrules.audit import Ledger, make_record, replay
from creditrules.audit.impact import impact, rules_version
from creditrules.batch import Population

AS_OF = dt.date(2019, 12, 31)
CLOCK = "2026-11-29T00:00:00+00:00"

CITY_V1 = """
schema = "creditrules.ruleset/1"
id = "testcity"
extends = "guangxi"
name = { zh = "测试市", en = "Test city" }

[sources.test]
title = "a test source"

[parameters."annual.minimum"]
description = "Credits required each year"
override = true
values = [
  { since = 2016-01-01, value = 16, source = "test", clause = "每年不少于16分" },
]
"""

# The same layer after a correction: the 2019 value was really 18, learnt on 2026-11-01.
CITY_V2 = CITY_V1.replace(
    '  { since = 2016-01-01, value = 16, source = "test", clause = "每年不少于16分" },\n',
    '  { since = 2016-01-01, value = 16, source = "test", clause = "每年不少于16分" },\n'
    '  { since = 2019-01-01, value = 18, recorded = 2026-11-01, source = "test", clause = "更正:每年不少于18分" },\n',
)


class _City:
    def __init__(self, text: str) -> None:
        self.text = text

    @hookimpl
    def creditrules_rulesets(self):  # type: ignore[no-untyped-def]
        return [parse_ruleset(self.text, "testcity.toml")]


def engine_with(text: str) -> Engine:
    return Engine.load(plugins=[_City(text)], entry_points=False)


def teacher(pid: str, credits_2019: int) -> tuple[Person, list[TrainingRecord]]:
    """A teacher whose 2019 holds `credits_2019` credits, 10 of them school-based."""
    return Person(pid), [
        TrainingRecord(f"{pid}-sb", pid, "school", "school_based", "2019-03-01", "2019-06-30", 30),
        TrainingRecord(f"{pid}-c", pid, "municipal", "centralized", "2019-07-01", "2019-07-05", 3 * (credits_2019 - 10)),
    ]


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    with Ledger(tmp_path / "ledger.sqlite", clock=lambda: CLOCK) as led:
        yield led


def fill(engine: Engine, led: Ledger, people: list[tuple[Person, list[TrainingRecord]]]) -> None:
    led.archive(engine.chain("testcity"))
    led.append(make_record(engine, engine.adjudicate(p, r, region="testcity", as_of=AS_OF), p, r) for p, r in people)


class TestRecords:
    def test_record_id_is_stable_and_ignores_record_order(self) -> None:
        engine = engine_with(CITY_V1)
        p, recs = teacher("T1", 17)
        a = make_record(engine, engine.adjudicate(p, recs, region="testcity", as_of=AS_OF), p, recs)
        b = make_record(engine, engine.adjudicate(p, recs[::-1], region="testcity", as_of=AS_OF), p, recs[::-1])
        assert a.id == b.id and a.text == b.text

    def test_record_holds_what_replay_needs(self) -> None:
        engine = engine_with(CITY_V1)
        p, recs = teacher("T1", 17)
        d = engine.adjudicate(p, recs, region="testcity", as_of=AS_OF)
        rec = make_record(engine, d, p, recs)
        assert rec.subject() == p
        assert sorted(rec.records(), key=lambda r: r.record_id) == sorted(recs, key=lambda r: r.record_id)
        assert rec.decision_json() == decision_json(d)
        assert [lid for lid, _ in rec.chain] == ["national", "guangxi", "testcity"]
        assert {"engine", "plugins", "ruleset", "known_at"} <= rec.data.keys()


class TestLedger:
    def test_append_is_idempotent(self, ledger: Ledger) -> None:
        engine = engine_with(CITY_V1)
        people = [teacher(f"T{i}", 15 + i) for i in range(4)]
        fill(engine, ledger, people)
        fill(engine, ledger, people)
        assert len(ledger) == 4
        assert ledger.verify().ok

    @pytest.mark.parametrize(
        ("tamper", "seq", "words"),
        [
            ("UPDATE entries SET record = replace(record, '\"hours\":\"30\"', '\"hours\":\"31\"') WHERE seq = 2",
             2, "record was edited"),
            ("UPDATE entries SET recorded_at = '2020-01-01T00:00:00+00:00' WHERE seq = 3", 3, "entry was edited"),
            ("DELETE FROM entries WHERE seq = 2", 3, "deleted"),
            ("UPDATE entries SET seq = 99 WHERE seq = 1", 2, "sequence jumps"),
        ],
        ids=["edited record", "edited timestamp", "deleted entry", "moved entry"],
    )
    def test_verify_names_the_first_broken_entry(self, tmp_path: Path, tamper: str, seq: int, words: str) -> None:
        path = tmp_path / "ledger.sqlite"
        engine = engine_with(CITY_V1)
        with Ledger(path, clock=lambda: CLOCK) as led:
            fill(engine, led, [teacher(f"T{i}", 15 + i) for i in range(4)])
        db = sqlite3.connect(path)
        db.execute(tamper)
        db.commit()
        db.close()
        report = Ledger(path).verify()
        assert not report.ok
        assert report.first_bad_seq == seq
        assert words in str(report.problem)

    def test_inserted_forgery_is_caught_by_the_hmac(self, tmp_path: Path) -> None:
        path = tmp_path / "ledger.sqlite"
        engine = engine_with(CITY_V1)
        with Ledger(path, key=b"secret", clock=lambda: CLOCK) as led:
            fill(engine, led, [teacher("T1", 17)])
        # A forger without the key appends an entry with a correct hash chain.
        with Ledger(path, key=b"guess", clock=lambda: CLOCK) as forger:
            fill(engine, forger, [teacher("T2", 12)])
        report = Ledger(path, key=b"secret").verify()
        assert not report.ok and report.first_bad_seq == 2 and "HMAC" in str(report.problem)

    def test_truncation_is_caught_against_a_known_head(self, ledger: Ledger) -> None:
        engine = engine_with(CITY_V1)
        fill(engine, ledger, [teacher(f"T{i}", 15 + i) for i in range(3)])
        head = ledger.head()
        ledger.db.execute("DELETE FROM entries WHERE seq = 3")
        assert ledger.verify().ok  # a clean cut at the end keeps the chain valid…
        assert not ledger.verify(expect_head=head).ok  # …but not the head published earlier


class TestReplay:
    def test_replay_reproduces_bytes_after_the_plugin_changed(self, ledger: Ledger) -> None:
        fill(engine_with(CITY_V1), ledger, [teacher("T1", 17), teacher("T2", 16)])
        upgraded = engine_with(CITY_V2)
        results = list(replay(upgraded, ledger))
        assert [r.identical for r in results] == [True, True]

    def test_with_corrections_reports_changed_decisions_and_the_parameter(self, ledger: Ledger) -> None:
        fill(engine_with(CITY_V1), ledger, [teacher("T1", 17), teacher("T2", 19)])
        results = {r.subject: r for r in replay(engine_with(CITY_V2), ledger, with_corrections=True)}
        t1, t2 = results["person T1"], results["person T2"]
        assert t2.identical is False and t2.outcome_before == t2.outcome_after  # 19 ≥ 18 still passes
        assert (t1.outcome_before, t1.outcome_after) == ("fail", "fail")  # earlier years fail anyway
        change = next(d for d in t1.diffs if d.key == "guangxi.annual[total]@2019-12-31" and d.field == "outcome")
        assert (change.before, change.after) == ("pass", "fail")
        assert any("annual.minimum 16 (since 2016-01-01, testcity) → 18 (since 2019-01-01, testcity)" in b
                   for b in change.because)

    def test_replay_works_after_the_plugin_is_uninstalled(self, ledger: Ledger) -> None:
        fill(engine_with(CITY_V1), ledger, [teacher("T1", 17)])
        bare = Engine.load(entry_points=False)  # no testcity plugin at all
        assert [r.identical for r in replay(bare, ledger)] == [True]


def test_impact_counts_who_changes_and_by_which_rule(tmp_path: Path) -> None:
    engine = engine_with(CITY_V2)
    people = [teacher(f"T{i}", c) for i, c in enumerate([15, 16, 17, 18, 19])]
    population = Population.build([p for p, _ in people], [r for _, rs in people for r in rs])
    report = impact(
        engine, population, region="testcity", as_of=AS_OF,
        before=rules_version(engine, "testcity", "2026-01-01"), after=rules_version(engine, "testcity", "current"),
    )
    assert report.subjects == 5
    assert sorted(r.subject for r in report.changed) == ["person T1", "person T2"]
    assert report.by_rule == (("guangxi.annual", 2),)


CRASH_SCRIPT = textwrap.dedent(
    """
    import datetime as dt, sys
    from creditrules import Engine, Person, TrainingRecord
    from creditrules.audit import Ledger, make_record
    engine = Engine.load(entry_points=False)
    def records():
        for i in range(int(sys.argv[2])):
            p = Person(f"T{i:05d}")
            rs = [TrainingRecord(f"R{i}-{k}", p.person_id, "school", "school_based",
                                 dt.date(2019, 1 + k, 1), dt.date(2019, 1 + k, 2), 3 + k) for k in range(6)]
            d = engine.adjudicate(p, rs, region="guangxi", as_of=dt.date(2019, 12, 31))
            print(i, flush=True)
            yield make_record(engine, d, p, rs)
    with Ledger(sys.argv[1]) as led:
        led.archive(engine.chain("guangxi"))
        led.append(records(), batch_size=7)
    """
)


def test_sigkill_mid_batch_loses_no_committed_entry_and_resume_does_not_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    script = tmp_path / "batch.py"
    script.write_text(CRASH_SCRIPT)
    n = 400
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(n)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:  # kill once it is well into the batch, mid-transaction
        if int(line) >= 60:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Ledger(path) as led:
        survived = len(led)
        assert led.verify().ok
    assert 0 < survived < n
    subprocess.run([sys.executable, str(script), str(path), str(n)], check=True, capture_output=True)
    with Ledger(path) as led:
        assert len(led) == n
        assert led.verify().ok
        ids = [e.record.id for e in led.entries()]
    assert len(set(ids)) == n
