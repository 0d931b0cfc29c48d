"""Blocks of whole persons cut from the records file: the same decisions and refusals as reading row by row."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditrules import Engine
from creditrules.errors import InputErrors
from creditrules.split import Block, blocks
from creditrules.stream import grouped_rows, run_batch

from .test_stream import AS_OF, write_population


@pytest.fixture(scope="module")
def engine() -> Engine:
    engine = Engine.load()
    if "beihai" not in engine.chains:
        pytest.skip("the beihai plugin is not installed")
    return engine


def outcome(groups, engine: Engine, workers: int = 1) -> list[str] | str:  # type: ignore[no-untyped-def]
    """The decisions' lines, or the refusal's message: what a user of ``--out`` sees.

    Not the decisions streamed before a refusal: in a damaged file a block may finish a person
    that reading row by row would not have reached yet (documented in ``run_batch``).
    """
    try:
        return [r.decision_json for r in run_batch(groups, region="beihai", as_of=AS_OF, engine=engine,
                                                   workers=workers, chunk_size=5)]
    except InputErrors as exc:
        return str(exc)


DAMAGE = ["none", "bad_cell", "unsorted", "unsorted_next", "blank_person_id", "no_person", "bad_person",
          "blank_lines", "crlf", "quoted", "extra_person", "person_twice", "person_twice_changed"]


def damage(persons: str, records: str, how: str, where: int) -> None:
    rec = Path(records).read_text().splitlines()
    per = Path(persons).read_text().splitlines()
    at = 1 + where % (len(rec) - 1)
    if how == "bad_cell":
        cells = rec[at].split(",")
        cells[6] = "x"
        rec[at] = ",".join(cells)
    elif how == "unsorted" and at + 1 < len(rec):
        rec[at], rec[-1] = rec[-1], rec[at]
    elif how == "unsorted_next" and at + 1 < len(rec):
        rec[at], rec[at + 1] = rec[at + 1], rec[at]  # at a person boundary, exactly where a block may end
    elif how == "blank_person_id":
        cells = rec[at].split(",")
        cells[1] = " "
        rec[at] = ",".join(cells)
    elif how in ("person_twice", "person_twice_changed"):
        i = 1 + where % (len(per) - 1)
        twin = per[i] if how == "person_twice" else per[i].replace("teacher", "principal")
        per.insert(i + 1, twin)
    elif how == "no_person":
        gone = rec[at].split(",")[1]
        per = [p for p in per if not p.startswith(gone + ",")]
    elif how == "bad_person":
        per[1 + where % (len(per) - 1)] += ",surplus"
    elif how == "blank_lines":
        rec[at:at] = ["", ",,,"]
    elif how == "quoted":
        cells = rec[at].split(",")
        cells[2] = f'"{cells[2]}"'
        rec[at] = ",".join(cells)
    elif how == "extra_person":
        per.insert(1 + where % (len(per) - 1), per[1 + where % (len(per) - 1)].replace(",", "0,", 1))
    end = "\r\n" if how == "crlf" else "\n"
    Path(records).write_text(end.join(rec) + end, newline="")
    Path(persons).write_text("\n".join(per) + "\n")


@settings(max_examples=40, deadline=None)
@given(how=st.sampled_from(DAMAGE), where=st.integers(0, 10_000), size=st.sampled_from([40, 300, 2_000, 1 << 18]))
def test_blocks_give_what_the_row_path_gives(tmp_path_factory: pytest.TempPathFactory, engine: Engine,
                                             how: str, where: int, size: int) -> None:
    tmp = tmp_path_factory.mktemp("split")
    persons, records = write_population(tmp, 25, shuffle=False)
    damage(persons, records, how, where)
    expected = outcome(grouped_rows(persons, records), engine)
    items = list(blocks(persons, records, size=size))
    if how != "quoted":
        assert all(isinstance(item, Block) for item in items)  # the file was cut, not read row by row
    assert outcome(iter(items), engine) == expected
    if how == "none":
        assert isinstance(expected, list) and len(expected) == 25


def test_two_workers_on_blocks_write_the_same_bytes(tmp_path: Path, engine: Engine) -> None:
    persons, records = write_population(tmp_path, 60, shuffle=False)
    one = outcome(grouped_rows(persons, records), engine)
    assert outcome(blocks(persons, records, size=500), engine, workers=2) == one


def test_a_person_larger_than_a_block_is_kept_whole(tmp_path: Path, engine: Engine) -> None:
    persons, records = write_population(tmp_path, 4, shuffle=False)
    items = list(blocks(persons, records, size=16))
    assert all(isinstance(item, Block) for item in items)
    people = [p for item in items for p in item.unread()]  # type: ignore[union-attr]
    assert len(people) == 4
    assert outcome(iter(items), engine) == outcome(grouped_rows(persons, records), engine)


JSON_DAMAGE = ["none", "bad_value", "unsorted_next", "blank_person_id", "not_json", "blank_lines", "number_id"]


def to_jsonl(persons: str, records: str, how: str, where: int) -> tuple[str, str]:
    """The population as JSON Lines, damaged one way."""
    import csv
    import json

    def rows(path: str) -> list[dict[str, str]]:
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))

    rec = [json.dumps(r, ensure_ascii=False) for r in rows(records)]
    at = where % len(rec)
    if how == "bad_value":
        row = json.loads(rec[at])
        row["hours"] = "x"
        rec[at] = json.dumps(row)
    elif how == "unsorted_next" and at + 1 < len(rec):
        rec[at], rec[at + 1] = rec[at + 1], rec[at]
    elif how == "blank_person_id":
        row = json.loads(rec[at])
        row["person_id"] = " "
        rec[at] = json.dumps(row)
    elif how == "not_json":
        rec[at] = rec[at][:-1]
    elif how == "blank_lines":
        rec[at:at] = ["", "   "]
    elif how == "number_id":
        rec.insert(0, json.dumps({**json.loads(rec[0]), "record_id": "N1", "person_id": 1}))
    base = Path(records).parent
    (base / "persons.jsonl").write_text("".join(json.dumps(p) + "\n" for p in rows(persons)))
    (base / "records.jsonl").write_text("\ufeff" + "".join(r + "\n" for r in rec))
    return str(base / "persons.jsonl"), str(base / "records.jsonl")


@settings(max_examples=40, deadline=None)
@given(how=st.sampled_from(JSON_DAMAGE), where=st.integers(0, 10_000), size=st.sampled_from([40, 300, 2_000, 1 << 18]))
def test_json_lines_blocks_give_what_the_row_path_gives(tmp_path_factory: pytest.TempPathFactory, engine: Engine,
                                                        how: str, where: int, size: int) -> None:
    tmp = tmp_path_factory.mktemp("splitj")
    persons, records = to_jsonl(*write_population(tmp, 20, shuffle=False), how, where)
    expected = outcome(grouped_rows(persons, records), engine)
    items = list(blocks(persons, records, size=size))
    assert all(isinstance(item, Block) for item in items)
    assert outcome(iter(items), engine) == expected
    if how == "none":
        assert isinstance(expected, list) and len(expected) == 20


HEADER = "record_id,person_id,level,category,start_date,end_date,hours\n"


def record_line(rid: str, pid: str, hours: str = "6") -> str:
    return f"{rid},{pid},county,remote,2019-01-01,2019-01-02,{hours}\n"


@pytest.mark.parametrize(("persons", "records", "first"), [
    # a bad cell, then a row out of order inside the same block
    ("P1,P2,P3,P4,P5,P6", [("a", "P1"), ("b", "P4", "x"), ("c", "P3"), ("d", "P5"), ("e", "P6")],
     "records.csv:3 record b: hours: must be a number, got 'x'"),
    # a record without its person, then a person row the reader refuses
    ("P1,P2,P4:boss,P5", [("a", "P1"), ("b", "P2"), ("c", "P3"), ("d", "P4"), ("e", "P5")],
     "persons.csv:4 person P4: role: must be one of"),
    # a row with a cell too many, right where a block could end
    ("P1,P2,P3", [("a", "P1"), ("b", "P2", "6,extra"), ("c", "P3")],
     "records.csv:3 record b: row has 8 cells but the header has 7 columns"),
])
def test_two_problems_in_one_block_give_the_row_paths_first(tmp_path: Path, engine: Engine, persons: str,
                                                            records: list[tuple[str, ...]], first: str) -> None:
    people = "".join(f"{p.split(':')[0]},{p.split(':')[1] if ':' in p else 'teacher'}\n" for p in persons.split(","))
    (tmp_path / "persons.csv").write_text("person_id,role\n" + people)
    (tmp_path / "records.csv").write_text(HEADER + "".join(record_line(*r) for r in records))
    paths = str(tmp_path / "persons.csv"), str(tmp_path / "records.csv")
    expected = outcome(grouped_rows(*paths), engine)
    assert isinstance(expected, str) and first in expected
    for size in (1, 2, 40, 1 << 17):
        assert outcome(blocks(*paths, size=size), engine) == expected
