"""Partial acceptance: ``adjudicate --skip-invalid`` keeps every valid subject and accounts for every refused row."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from creditrules import cli
from creditrules.batch import read_valid

AS_OF = ["--region", "beihai", "--as-of", "2020-12-31"]

PERSONS = """\
person_id,role,school_id
T1,teacher,S-1
T2,headmaster,S-1
T3,backbone,S-1
T4,teacher,S-2
"""

RECORDS_HEADER = "record_id,person_id,level,category,subcategory,start_date,end_date,hours,topic"
RECORDS = [
    "R-0001,T1,municipal,centralized,thematic_training,2020-07-06,2020-07-09,24,北海市市培—班主任工作能力提升",
    "R-0002,T1,school,school_based,,2020-03-01,2020-06-20,12,校本研修:课堂观察与评课",
    "R-0003,T2,national,remote,,2020-10-01,2020-11-25,30,国培计划—网络研修与校本实践",
    "R-0004,T3,school,school_based,open_lesson,2020-11-08,2020-11-08,-2,公开课:校级教学开放周",
    "R-0005,T3,provincial,centralized,,2020-01-05,2020-01-08,24,广西区培—新课程标准解读",
    "R-0006,T9,provincial,centralized,,2020-01-05,2020-01-08,24,广西区培",
    "R-0007,T4,county,centralized,,2020-04-01,2020-04-03,18,县培",
]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def write(name: str, text: str) -> str:
    Path(name).write_text(text, encoding="utf-8")
    return name


def records_csv(rows: list[str] = RECORDS, name: str = "records.csv") -> str:
    return write(name, "\n".join([RECORDS_HEADER, *rows]) + "\n")


def inputs(persons: str = PERSONS, rows: list[str] = RECORDS) -> list[str]:
    return ["--persons", write("persons.csv", persons), "--records", records_csv(rows)]


def rejects(path: str = "decisions.rejects.csv") -> list[dict[str, str]]:
    text = Path(path).read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def decided(path: str = "decisions.jsonl") -> list[str]:
    return [json.loads(line)["subject"]["id"] for line in Path(path).read_text(encoding="utf-8").splitlines()]


def counts(stderr: str) -> dict[str, tuple[int, int, int]]:
    found = re.findall(r"^(\S+): (\d+) rows read = (\d+) accepted \+ (\d+) refused$", stderr, re.MULTILINE)
    return {name: (int(r), int(a), int(x)) for name, r, a, x in found}


def test_by_default_one_bad_row_refuses_everything_and_writes_nothing() -> None:
    result = run("adjudicate", *AS_OF, *inputs(), "--out", "decisions.jsonl")
    assert result.exit_code == 2
    assert "persons.csv:3 person T2: role: must be one of" in result.stderr
    assert "nothing was adjudicated or written" in result.stderr
    assert not Path("decisions.jsonl").exists()
    assert not Path("decisions.rejects.csv").exists()


def test_skip_invalid_writes_the_valid_subjects_and_every_refused_row() -> None:
    result = run("adjudicate", *AS_OF, *inputs(), "--out", "decisions.jsonl", "--skip-invalid")
    assert result.exit_code == 0, result.output
    # T1 and T4 are entirely valid; T2's own row is bad; T3 has a bad record.
    assert decided() == ["T1", "T4"]
    rows = rejects()
    assert list(rows[0]) == ["file", "line", "kind", "id", "field", "reason"]
    by_id = {(r["kind"], r["id"]): r for r in rows}
    assert by_id["person", "T2"] == {
        "file": "persons.csv", "line": "3", "kind": "person", "id": "T2", "field": "role",
        "reason": by_id["person", "T2"]["reason"],
    }
    assert by_id["person", "T2"]["reason"].startswith("must be one of teacher")
    assert by_id["record", "R-0003"]["reason"] == "person T2 was refused (persons.csv:3)"
    assert by_id["record", "R-0003"]["field"] == ""
    assert by_id["record", "R-0004"]["field"] == "hours"
    assert by_id["record", "R-0004"]["reason"] == "must be ≥ 0, got '-2'"
    assert by_id["person", "T3"]["reason"] == (
        "their record R-0004 (records.csv:5) was refused, and a decision without it could be wrong"
    )
    assert by_id["record", "R-0005"]["reason"].startswith("person T3 was refused: their record R-0004")
    assert by_id["record", "R-0006"] == {
        "file": "records.csv", "line": "7", "kind": "record", "id": "R-0006", "field": "person_id",
        "reason": "no person 'T9' in persons.csv",
    }
    assert len(rows) == 6
    # The counts on stderr add up, per file and overall.
    assert counts(result.stderr) == {"persons.csv": (4, 2, 2), "records.csv": (7, 3, 4)}
    assert "6 refused rows listed in decisions.rejects.csv" in result.stderr


def test_the_valid_subjects_get_exactly_the_decisions_of_a_clean_run() -> None:
    """Skipping never changes a kept subject's decision: same bytes as running on the valid rows alone."""
    run("adjudicate", *AS_OF, *inputs(), "--out", "decisions.jsonl", "--skip-invalid")
    clean_persons = "\n".join(line for line in PERSONS.splitlines() if line[:2] not in ("T2", "T3")) + "\n"
    clean_records = [r for r in RECORDS if r.split(",")[1] in ("T1", "T4")]
    Path("clean").mkdir()
    clean = run("adjudicate", *AS_OF, "--persons", write("clean/persons.csv", clean_persons),
                "--records", records_csv(clean_records, "clean/records.csv"), "--out", "clean/decisions.jsonl")
    assert clean.exit_code == 0, clean.output
    assert Path("decisions.jsonl").read_bytes() == Path("clean/decisions.jsonl").read_bytes()


def test_rejects_go_where_asked_and_decisions_to_stdout() -> None:
    result = run("adjudicate", *AS_OF, *inputs(), "--skip-invalid", "--rejects", "bad.csv")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["subject"]["id"] for line in result.stdout.splitlines()] == ["T1", "T4"]
    assert len(rejects("bad.csv")) == 6


def test_skip_invalid_to_stdout_needs_a_rejects_file() -> None:
    result = run("adjudicate", *AS_OF, *inputs(), "--skip-invalid")
    assert result.exit_code == 2
    assert "--skip-invalid with decisions on stdout needs --rejects FILE.csv" in result.output
    assert result.stdout == ""


def test_rejects_without_skip_invalid_is_refused() -> None:
    result = run("adjudicate", *AS_OF, *inputs(), "--rejects", "bad.csv")
    assert result.exit_code == 2
    assert "--rejects needs --skip-invalid" in result.output


def test_rejects_and_out_must_differ() -> None:
    result = run("adjudicate", *AS_OF, *inputs(), "--skip-invalid", "--out", "d.csv", "--rejects", "./d.csv")
    assert result.exit_code == 2
    assert "must be different files" in result.output


def test_an_unreadable_file_is_refused_whole_even_when_skipping() -> None:
    """A bad header means no row can be read: skipping rows cannot help, so nothing is written."""
    broken = PERSONS.replace("person_id,role", "person,role")
    result = run("adjudicate", *AS_OF, *inputs(persons=broken), "--out", "decisions.jsonl", "--skip-invalid")
    assert result.exit_code == 2
    assert "persons.csv:1: unknown column 'person'" in result.stderr
    assert not Path("decisions.jsonl").exists() and not Path("decisions.rejects.csv").exists()


def test_a_duplicate_id_with_different_content_refuses_both_rows_and_the_person() -> None:
    rows = [*RECORDS[:2], "R-0001,T1,municipal,centralized,thematic_training,2020-07-06,2020-07-09,30,改了学时"]
    result = run("adjudicate", *AS_OF, *inputs(persons="person_id\nT1\nT5\n", rows=rows), "--out", "decisions.jsonl",
                 "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert decided() == ["T5"]
    reasons = {(r["line"], r["id"]): r["reason"] for r in rejects()}
    assert reasons["2", "R-0001"] == "listed again on line 4 with different content; fix one of the two rows"
    assert reasons["4", "R-0001"] == "duplicate record_id R-0001 (first on line 2) with different content"
    assert reasons["3", "R-0002"].startswith("person T1 was refused")
    assert counts(result.stderr) == {"persons.csv": (2, 1, 1), "records.csv": (3, 0, 3)}


def test_an_exact_repeat_is_kept_and_counted_once_by_the_engine() -> None:
    rows = [RECORDS[0], RECORDS[0]]
    result = run("adjudicate", *AS_OF, *inputs(persons="person_id\nT1\n", rows=rows), "--out", "decisions.jsonl",
                 "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert decided() == ["T1"] and rejects() == []
    assert counts(result.stderr) == {"persons.csv": (1, 1, 0), "records.csv": (2, 2, 0)}


def test_units_and_projects_are_refused_row_by_row() -> None:
    units = write("units.csv", "unit_id,year,public_funds,school_based_budget\nS-1,2020,1000000,40000\n"
                               "S-2,2020,-5,40000\n")
    result = run("adjudicate", *AS_OF, *inputs(persons="person_id\nT1\n", rows=RECORDS[:2]), "--units", units,
                 "--out", "decisions.jsonl", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert decided() == ["T1", "S-1"]
    (row,) = rejects()
    assert (row["file"], row["line"], row["kind"], row["id"], row["field"]) == ("units.csv", "3", "unit", "S-2",
                                                                                "public_funds")
    assert counts(result.stderr)["units.csv"] == (2, 1, 1)


def test_nothing_valid_still_writes_both_files() -> None:
    result = run("adjudicate", *AS_OF, *inputs(persons="person_id,role\nT1,nobody\n", rows=RECORDS[:1]),
                 "--out", "decisions.jsonl", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert Path("decisions.jsonl").read_text(encoding="utf-8") == ""
    assert [r["id"] for r in rejects()] == ["T1", "R-0001"]


def test_read_valid_accounts_for_every_row() -> None:
    """The library call behind the flag: per file, rows read = accepted + refused; refused rows are all listed."""
    inputs()
    valid = read_valid("persons.csv", "records.csv")
    assert sum(f.refused for f in valid.files) == len(valid.rejected)
    for f in valid.files:
        assert f.read == f.accepted + f.refused
    assert [p.person_id for p in valid.population.persons] == ["T1", "T4"]
    assert sorted(r.record_id for rs in valid.population.records.values() for r in rs) == ["R-0001", "R-0002",
                                                                                            "R-0007"]


def test_skip_invalid_with_a_ledger_records_only_the_decisions_made() -> None:
    result = run("adjudicate", *AS_OF, *inputs(), "--out", "decisions.jsonl", "--skip-invalid",
                 "--ledger", "audit.db")
    assert result.exit_code == 0, result.output
    assert "ledger audit.db: 2 added" in result.stderr
