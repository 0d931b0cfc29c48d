"""The audit commands end to end: adjudicate --ledger, replay, a correction, tampering, impact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from creditrules import Engine
from creditrules.cli import main

from .test_audit import CITY_V1, CITY_V2, engine_with

PERSONS = "person_id,role\nT1,teacher\nT2,teacher\nT3,teacher\n"
# 2019 credits: T1 17, T2 19, T3 14 (10 school-based each; 3 h per credit).
RECORDS = (
    "record_id,person_id,level,category,start_date,end_date,hours\n"
    "T1-sb,T1,school,school_based,2019-03-01,2019-06-30,30\n"
    "T1-c,T1,municipal,centralized,2019-07-01,2019-07-05,21\n"
    "T2-sb,T2,school,school_based,2019-03-01,2019-06-30,30\n"
    "T2-c,T2,municipal,centralized,2019-07-01,2019-07-05,27\n"
    "T3-sb,T3,school,school_based,2019-03-01,2019-06-30,30\n"
    "T3-c,T3,municipal,centralized,2019-07-01,2019-07-05,12\n"
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "persons.csv").write_text(PERSONS, encoding="utf-8")
    (tmp_path / "records.csv").write_text(RECORDS, encoding="utf-8")
    return {"persons": str(tmp_path / "persons.csv"), "records": str(tmp_path / "records.csv"),
            "ledger": str(tmp_path / "ledger.sqlite")}


def use_engine(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    monkeypatch.setattr(Engine, "load", classmethod(lambda cls, *a, **k: engine))


def adjudicate(files: dict[str, str]) -> None:
    result = CliRunner().invoke(main, [
        "adjudicate", "--region", "testcity", "--as-of", "2019-12-31", "--persons", files["persons"],
        "--records", files["records"], "--ledger", files["ledger"], "--out", files["ledger"] + ".jsonl",
    ])
    assert result.exit_code == 0, result.output
    assert "3 added" in result.output


def test_the_audit_story(files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Adjudicate into a ledger; publish a dated correction; replay both ways; tamper; verify."""
    runner = CliRunner()
    before, after = engine_with(CITY_V1), engine_with(CITY_V2)  # built before Engine.load is patched
    use_engine(monkeypatch, before)
    adjudicate(files)

    use_engine(monkeypatch, after)  # the plugin now carries a correction
    then = runner.invoke(main, ["replay", files["ledger"]])
    assert then.exit_code == 0, then.output
    assert then.output.count(": identical") == 3

    today = runner.invoke(main, ["replay", files["ledger"], "--with-corrections"])
    assert today.exit_code == 0, today.output
    t1 = today.output.split("person T1")[1].split("person T2")[0]
    assert "guangxi.annual[total]@2019-12-31: outcome pass → fail" in t1
    assert "annual.minimum 16 (since 2016-01-01, testcity) → 18 (since 2019-01-01, testcity)" in t1

    db = sqlite3.connect(files["ledger"])
    db.execute("UPDATE entries SET record = replace(record, '\"27\"', '\"45\"') WHERE seq = 2")
    db.commit()
    db.close()
    broken = runner.invoke(main, ["ledger", "verify", files["ledger"]])
    assert broken.exit_code == 1
    assert "ledger broken at entry 2: the record's text does not match its id" in broken.output


def test_rerunning_a_batch_appends_nothing_twice(files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    use_engine(monkeypatch, engine_with(CITY_V1))
    adjudicate(files)
    result = CliRunner().invoke(main, [
        "adjudicate", "--region", "testcity", "--as-of", "2019-12-31", "--persons", files["persons"],
        "--records", files["records"], "--ledger", files["ledger"], "--out", files["ledger"] + ".jsonl",
    ])
    assert "0 added, 3 already there" in result.output
    verified = CliRunner().invoke(main, ["ledger", "verify", files["ledger"]])
    assert verified.exit_code == 0 and "3 entries" in verified.output


def test_impact_between_two_knowledge_dates(files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    use_engine(monkeypatch, engine_with(CITY_V2))
    result = CliRunner().invoke(main, [
        "impact", "--region", "testcity", "--as-of", "2019-12-31", "--from", "2026-01-01", "--to", "current",
        "--persons", files["persons"], "--records", files["records"],
    ])
    assert result.exit_code == 0, result.output
    assert "person T1" in result.output and "person T2" not in result.output
    assert "guangxi.annual" in result.output
    assert "3 subjects; 1 with a changed finding" in result.output


def test_replay_of_a_missing_id_is_a_clear_error(files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    use_engine(monkeypatch, engine_with(CITY_V1))
    adjudicate(files)
    result = CliRunner().invoke(main, ["replay", files["ledger"], "--id", "ffff"])
    assert result.exit_code == 2
    assert "no entry with id 'ffff'" in result.output
