"""Large batches: grouped streaming, in-memory grouping, process pools — all the same decisions."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from creditrules import Engine
from creditrules.errors import InputErrors
from creditrules.stream import grouped_people, grouped_rows, in_memory_people, run_batch, sort_records

AS_OF = dt.date(2020, 12, 31)
CATEGORIES = ("centralized", "remote", "school_based")


def write_population(tmp: Path, persons: int, *, shuffle: bool) -> tuple[str, str]:
    rng = random.Random(7)
    people = [f"T{i:04d}" for i in range(persons)]
    rows = []
    for pid in people:
        for k in range(rng.randint(0, 12)):
            start = dt.date(2016 + rng.randint(0, 4), rng.randint(1, 12), rng.randint(1, 20))
            rows.append(f"{pid}-{k},{pid},county,{rng.choice(CATEGORIES)},{start},{start + dt.timedelta(days=2)},"
                        f"{rng.choice((6, 9, 12, 24, 36))}")
    if shuffle:
        rng.shuffle(rows)
    (tmp / "persons.csv").write_text("person_id,role\n" + "".join(f"{p},teacher\n" for p in people))
    (tmp / "records.csv").write_text("record_id,person_id,level,category,start_date,end_date,hours\n"
                                     + "".join(r + "\n" for r in rows))
    return str(tmp / "persons.csv"), str(tmp / "records.csv")


def decide(groups, workers: int = 1) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.decision_json for r in run_batch(groups, region="beihai", as_of=AS_OF, workers=workers,
                                                chunk_size=7)]


@pytest.fixture(scope="module")
def beihai() -> None:
    if "beihai" not in Engine.load().chains:
        pytest.skip("the beihai plugin is not installed")


def test_grouped_streaming_equals_in_memory_grouping(tmp_path: Path, beihai: None) -> None:
    persons, records = write_population(tmp_path, 40, shuffle=False)
    assert decide(grouped_people(persons, records)) == decide(in_memory_people(persons, records))


def test_two_workers_write_the_same_bytes_in_the_same_order(tmp_path: Path, beihai: None) -> None:
    persons, records = write_population(tmp_path, 60, shuffle=True)
    one = decide(in_memory_people(persons, records))
    two = decide(in_memory_people(persons, records), workers=2)
    assert one == two
    assert len(one) == 60


def test_an_unsorted_file_is_refused_at_the_first_row_out_of_order(tmp_path: Path) -> None:
    persons, records = write_population(tmp_path, 30, shuffle=True)
    with pytest.raises(InputErrors) as exc:
        list(grouped_people(persons, records))
    message = str(exc.value)
    assert "records.csv" in message and "is not sorted by person_id" in message


def test_sorting_makes_any_file_streamable(tmp_path: Path, beihai: None) -> None:
    persons, records = write_population(tmp_path, 30, shuffle=True)
    sorted_path = str(tmp_path / "sorted.csv")
    assert sort_records(records, sorted_path) == sum(1 for _ in open(records)) - 1
    assert decide(grouped_people(persons, sorted_path)) == decide(in_memory_people(persons, records))


def test_a_record_without_its_person_is_refused_while_streaming(tmp_path: Path) -> None:
    persons, records = write_population(tmp_path, 5, shuffle=False)
    orphan = Path(records).read_text().splitlines()[-1].split(",")[1]  # the last record's person
    kept = [line for line in Path(persons).read_text().splitlines() if not line.startswith(orphan)]
    Path(persons).write_text("\n".join(kept) + "\n")
    with pytest.raises(InputErrors) as exc:
        list(grouped_people(persons, records))
    assert f"no person {orphan!r}" in str(exc.value)


def _cli(*args: str):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from creditrules.cli import main

    return CliRunner().invoke(main, ["adjudicate", "--region", "beihai", "--as-of", "2020-12-31", *args])


def test_cli_workers_and_grouped_write_the_default_runs_bytes(tmp_path: Path, beihai: None) -> None:
    persons, records = write_population(tmp_path, 40, shuffle=True)
    base = tmp_path / "default.jsonl"
    assert _cli("--persons", persons, "--records", records, "--out", str(base)).exit_code == 0
    pooled = tmp_path / "pooled.jsonl"
    result = _cli("--persons", persons, "--records", records, "--out", str(pooled), "--workers", "2")
    assert result.exit_code == 0, result.output
    assert pooled.read_bytes() == base.read_bytes()
    assert "add --grouped" in result.stderr  # the operator learns why two workers gained little
    sorted_records = str(tmp_path / "sorted.csv")
    sort_records(records, sorted_records)
    streamed = tmp_path / "streamed.jsonl"
    result = _cli("--persons", persons, "--records", sorted_records, "--out", str(streamed), "--grouped")
    assert result.exit_code == 0, result.output
    assert streamed.read_bytes() == base.read_bytes()


def test_cli_grouped_refuses_an_unsorted_file_and_writes_nothing(tmp_path: Path, beihai: None) -> None:
    persons, records = write_population(tmp_path, 30, shuffle=True)
    out = tmp_path / "out.jsonl"
    result = _cli("--persons", persons, "--records", records, "--out", str(out), "--grouped", "--workers", "2")
    assert result.exit_code == 2
    assert "is not sorted by person_id" in result.output and "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob(".out.jsonl.*"))


def test_refusals_cross_process_boundaries_intact() -> None:
    import pickle

    from creditrules.convert import DuplicateError, FileError
    from creditrules.errors import InputError, PluginError, RulesetError

    errors = [
        InputError("hours: must be ≥ 0", source="r.csv", line=4, record_id="R1", field="hours"),
        FileError("file is empty", source="p.csv", kind="person"),
        DuplicateError("duplicate", source="r.csv", line=9, record_id="R1", key=("R1",), first_line=2),
        RulesetError("x.toml", "rules.a", "bad"),
        PluginError("boom"),
    ]
    batch = InputErrors(errors[:3], truncated=True)
    for error in [*errors, batch]:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error) and back.__dict__.keys() == error.__dict__.keys()
    assert [e.message for e in pickle.loads(pickle.dumps(batch)).errors] == [e.message for e in batch.errors]


@pytest.mark.parametrize("workers", [1, 2])
def test_with_workers_the_first_refusal_in_file_order_is_the_one_reported(tmp_path: Path, beihai: None,
                                                                          workers: int) -> None:
    # A bad cell early, and a row out of order near the end: the workers
    # structure rows out of step with the process cutting the files, yet the
    # error reported is the first in the file, and nothing is decided past it.
    persons, records = write_population(tmp_path, 40, shuffle=False)
    lines = Path(records).read_text().splitlines()
    bad = lines[30].split(",")
    bad[6] = "-3"
    lines[30] = ",".join(bad)
    lines[-1], lines[-40] = lines[-40], lines[-1]
    Path(records).write_text("\n".join(lines) + "\n")
    with pytest.raises(InputErrors) as exc:
        decide(grouped_rows(persons, records), workers=workers)
    assert str(exc.value).splitlines()[1] == f"{records}:31 record {bad[0]}: hours: must be ≥ 0, got '-3'"


def test_a_record_id_repeated_with_other_content_within_a_person_is_refused(tmp_path: Path) -> None:
    persons, records = write_population(tmp_path, 5, shuffle=False)
    lines = Path(records).read_text().splitlines()
    twin = lines[2].split(",")
    twin[6] = "99"
    lines.insert(3, ",".join(twin))
    Path(records).write_text("\n".join(lines) + "\n")
    with pytest.raises(InputErrors) as exc:
        list(grouped_people(persons, records))
    assert f"duplicate record_id {twin[0]} (first on line 3) with different content" in str(exc.value)


def test_sorting_in_many_small_runs_writes_the_same_file(tmp_path: Path) -> None:
    persons, records = write_population(tmp_path, 30, shuffle=True)
    one, many = str(tmp_path / "one.csv"), str(tmp_path / "many.csv")
    assert sort_records(records, one) == sort_records(records, many, run_size=7)
    assert Path(one).read_bytes() == Path(many).read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # runs and temporary files are gone


def test_sorting_refuses_bad_rows_and_writes_nothing(tmp_path: Path) -> None:
    persons, records = write_population(tmp_path, 10, shuffle=True)
    lines = Path(records).read_text().splitlines()
    lines[5] = lines[5].replace("county", "planet")
    Path(records).write_text("\n".join(lines) + "\n")
    with pytest.raises(InputErrors) as exc:
        sort_records(records, str(tmp_path / "sorted.csv"), run_size=3)
    assert f"{records}:6 record" in str(exc.value) and "level: must be one of" in str(exc.value)
    assert not (tmp_path / "sorted.csv").exists()


def test_a_gz_output_is_the_same_decisions_compressed_whatever_the_workers(tmp_path: Path, beihai: None) -> None:
    import gzip

    persons, records = write_population(tmp_path, 50, shuffle=False)
    plain = tmp_path / "d.jsonl"
    assert _cli("--persons", persons, "--records", records, "--out", str(plain)).exit_code == 0
    outputs = []
    for workers in ("1", "2"):
        packed = tmp_path / f"d{workers}.jsonl.gz"
        result = _cli("--persons", persons, "--records", records, "--grouped", "--workers", workers,
                      "--out", str(packed))
        assert result.exit_code == 0, result.output
        assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
        outputs.append(packed.read_bytes())
    assert outputs[0] == outputs[1]  # one gzip member per chunk, made the same way by every worker
    assert len(outputs[0]) < plain.stat().st_size / 5

    from click.testing import CliRunner

    from creditrules.cli import main

    person = Path(persons).read_text().splitlines()[7].split(",")[0]
    shown = [CliRunner().invoke(main, ["explain", "--decision", str(path), "--id", person]).output
             for path in (plain, tmp_path / "d2.jsonl.gz")]
    assert shown[0] == shown[1] and f"person {person}" in shown[0]


def test_a_bad_cell_is_reported_before_a_later_row_out_of_order_in_the_same_person(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("person_id,role\nT0,teacher\nT1,teacher\n")
    (tmp_path / "r.csv").write_text("record_id,person_id,level,category,start_date,end_date,hours\n"
                                    "A,T1,county,remote,2019-01-01,2019-01-02,x\n"
                                    "B,T0,county,remote,2019-01-01,2019-01-02,6\n")
    with pytest.raises(InputErrors) as exc:
        list(grouped_people(str(tmp_path / "p.csv"), str(tmp_path / "r.csv")))
    assert str(exc.value).splitlines()[1] == f"{tmp_path / 'r.csv'}:2 record A: hours: must be a number, got 'x'"


def test_a_person_listed_twice_counts_once_and_twice_with_other_content_is_refused(tmp_path: Path) -> None:
    records = tmp_path / "r.csv"
    records.write_text("record_id,person_id,level,category,start_date,end_date,hours\n"
                       "A,T1,county,remote,2019-01-01,2019-01-02,6\n")
    same, other = tmp_path / "same.csv", tmp_path / "other.csv"
    same.write_text("person_id,role\nT0,teacher\nT1,teacher\nT1,teacher\n")
    other.write_text("person_id,role\nT0,teacher\nT1,teacher\nT1,principal\n")
    people = list(grouped_people(str(same), str(records)))
    assert [(p.person_id, [r.record_id for r in rs]) for p, rs in people] == [("T0", []), ("T1", ["A"])]
    with pytest.raises(InputErrors) as exc:
        list(grouped_people(str(other), str(records)))
    assert "duplicate person_id T1 (first on line 3) with different content" in str(exc.value)


def test_a_named_pipe_is_read_once_and_whole(tmp_path: Path) -> None:
    import os
    import threading

    from creditrules.convert import read_persons

    fifo = tmp_path / "persons.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w") as fh:
            fh.write("person_id,role\nT0,teacher\n")

    writer = threading.Thread(target=feed)
    writer.start()
    assert [p.person_id for p in read_persons(str(fifo))] == ["T0"]
    writer.join(5)


def test_an_empty_gz_output_is_still_a_gzip_file(tmp_path: Path, beihai: None) -> None:
    import gzip

    (tmp_path / "p.csv").write_text("person_id,role\n")
    (tmp_path / "r.csv").write_text("record_id,person_id,level,category,start_date,end_date,hours\n")
    out = tmp_path / "d.jsonl.gz"
    result = _cli("--persons", str(tmp_path / "p.csv"), "--records", str(tmp_path / "r.csv"), "--grouped",
                  "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"\x1f\x8b" and gzip.decompress(out.read_bytes()) == b""


def test_refusals_with_workers_never_hang_the_pool(tmp_path: Path, beihai: None) -> None:
    """Refused mid-run, the pool winds down: terminating workers while a chunk was still being
    written to them left ``Pool.terminate`` waiting forever, a few times in forty."""
    import subprocess
    import sys

    persons, records = write_population(tmp_path, 40, shuffle=False)
    lines = Path(records).read_text().splitlines()
    bad = lines[30].split(",")
    bad[6] = "-3"
    lines[30] = ",".join(bad)
    Path(records).write_text("\n".join(lines) + "\n")
    script = f"""
import datetime as dt, faulthandler
faulthandler.dump_traceback_later(60, exit=True)
from creditrules.errors import InputErrors
from creditrules.stream import grouped_rows, run_batch
for _ in range(25):
    try:
        list(run_batch(grouped_rows({persons!r}, {records!r}), region="beihai", as_of=dt.date(2020, 12, 31),
                       workers=2, chunk_size=7))
    except InputErrors:
        pass
    else:
        raise SystemExit("the bad row was not refused")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_worker_that_dies_stops_the_batch_with_a_clear_error(tmp_path: Path, beihai: None) -> None:
    """A worker killed mid-run (out of memory, os._exit in a plugin) is reported, not waited for."""
    import subprocess
    import sys

    persons, records = write_population(tmp_path, 40, shuffle=False)
    script = f"""
import datetime as dt, faulthandler, os
faulthandler.dump_traceback_later(60, exit=True)
from creditrules import Engine
from creditrules.errors import WorkerFailed
from creditrules.stream import grouped_rows, run_batch
adjudicate = Engine.adjudicate
def dies(self, subject, *a, **k):
    if subject.id == "T0020":
        os._exit(3)
    return adjudicate(self, subject, *a, **k)
Engine.adjudicate = dies
try:
    list(run_batch(grouped_rows({persons!r}, {records!r}), region="beihai", as_of=dt.date(2020, 12, 31),
                   workers=2, chunk_size=5))
except WorkerFailed as exc:
    print("refused:", exc)
else:
    raise SystemExit("a dead worker went unnoticed")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "a worker process died" in done.stdout
