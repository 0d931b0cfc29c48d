"""The Dask backend: a partitioned population on a LocalCluster decides exactly like the local run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="install the [dask] extra")

from creditrules import Engine  # noqa: E402
from creditrules.errors import InputErrors  # noqa: E402
from creditrules.distributed import Partition, adjudicate_partitions, partition_population  # noqa: E402
from creditrules.stream import in_memory_people, run_batch  # noqa: E402

from .test_stream import write_population  # noqa: E402

AS_OF = dt.date(2020, 12, 31)


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    if "beihai" not in Engine.load().chains:
        pytest.skip("the beihai plugin is not installed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def test_partitions_on_a_cluster_equal_the_local_run_byte_for_byte(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    persons, records = write_population(tmp_path, 50, shuffle=True)
    local = [r.decision_json for r in run_batch(in_memory_people(persons, records), region="beihai", as_of=AS_OF)]
    parts = partition_population(persons, records, str(tmp_path / "parts"), 5)
    assert len(parts) == 5 and all(Path(p.records).exists() for p in parts)
    remote = list(adjudicate_partitions(client, parts, region="beihai", as_of=AS_OF, audit=True))
    assert [r.decision_json for r in remote] == local
    assert [r.subject_id for r in remote] == sorted(r.subject_id for r in remote)
    assert all(r.record_text is not None and '"schema":"creditrules.decision-record/1"' in r.record_text
               for r in remote)


def test_parquet_partitions_read_like_csv(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    pa = pytest.importorskip("pyarrow")
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    persons, records = write_population(tmp_path, 20, shuffle=False)
    converted = []
    for src in (persons, records):
        table = pacsv.read_csv(src, convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in Path(src).read_text().splitlines()[0].split(",")}))
        dest = src.replace(".csv", ".parquet")
        pq.write_table(table, dest)
        converted.append(dest)
    csv_run = list(adjudicate_partitions(client, [Partition(persons, records)], region="beihai", as_of=AS_OF))
    parquet_run = list(adjudicate_partitions(client, [Partition(*converted)], region="beihai", as_of=AS_OF))
    assert parquet_run == csv_run


def test_a_person_split_across_partitions_is_refused(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    persons, records = write_population(tmp_path, 10, shuffle=False)
    with pytest.raises(Exception, match="more than one partition"):
        list(adjudicate_partitions(client, [Partition(persons, records)] * 2, region="beihai", as_of=AS_OF))


def test_partitioning_streams_and_refuses_bad_rows_with_their_own_file_and_line(tmp_path: Path) -> None:
    persons, records = write_population(tmp_path, 12, shuffle=True)
    lines = Path(records).read_text().splitlines(keepends=True)
    lines[5] = lines[5].replace(",county,", ",galaxy,")
    lines.append("X-1,T9999,county,remote,2019-01-01,2019-01-02,6\n")  # a record of nobody
    Path(records).write_text("".join(lines))
    out = tmp_path / "parts"
    with pytest.raises(InputErrors) as exc:
        partition_population(persons, records, str(out), 4)
    text = str(exc.value)
    assert f"{records}:6" in text and "level" in text
    assert f"{records}:{len(lines)}" in text and "no person 'T9999'" in text
    assert list(out.iterdir()) == []  # nothing half-written


def test_many_partitions_merge_in_rounds_to_the_same_bytes(tmp_path: Path, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from creditrules import distributed as backend

    monkeypatch.setattr(backend, "_MERGE_WIDTH", 2)  # 7 spools: merged 2 at a time, in three rounds
    persons, records = write_population(tmp_path, 30, shuffle=True)
    local = [r.decision_json for r in run_batch(in_memory_people(persons, records), region="beihai", as_of=AS_OF)]
    parts = partition_population(persons, records, str(tmp_path / "parts"), 7)
    spool = tmp_path / "spool"
    spool.mkdir()
    remote = [r.decision_json for r in adjudicate_partitions(client, parts, region="beihai", as_of=AS_OF,
                                                             spool_dir=str(spool))]
    assert remote == local
    assert list(spool.iterdir()) == []  # the spool is gone once the merge is read


def test_a_refused_partition_stops_the_run_and_leaves_no_spool(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    persons, records = write_population(tmp_path, 10, shuffle=False)
    bad = tmp_path / "bad-records.csv"
    bad.write_text(Path(records).read_text().replace(",county,", ",galaxy,", 1))
    spool = tmp_path / "spool"
    spool.mkdir()
    with pytest.raises(InputErrors, match="level"):
        list(adjudicate_partitions(client, [Partition(persons, str(bad))], region="beihai", as_of=AS_OF,
                                   spool_dir=str(spool)))
    assert list(spool.iterdir()) == []


def test_the_cluster_command_writes_what_adjudicate_writes(tmp_path: Path, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import gzip

    from click.testing import CliRunner

    from creditrules import cli
    from creditrules.audit import Ledger

    monkeypatch.chdir(tmp_path)
    persons, records = write_population(tmp_path, 25, shuffle=True)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli.main, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    local = run("adjudicate", "--region", "beihai", "--as-of", "2020-12-31", "--persons", persons,
                "--records", records, "--out", "local.jsonl", "--ledger", "local.sqlite", "--fail-on-fail")
    assert run("partition", "--persons", persons, "--records", records, "--parts", "3", "--out", "parts")[0] == 0
    cluster = run("cluster-adjudicate", "--partitions", "parts", "--region", "beihai", "--as-of", "2020-12-31",
                  "--local-workers", "1", "--out", "cluster.jsonl", "--ledger", "cluster.sqlite", "--fail-on-fail")
    assert (tmp_path / "cluster.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert cluster[0] == local[0] == 1  # some people fail: --fail-on-fail exits 1 on both paths
    summary = [line for line in local[1].splitlines() if "person" in line and "│" not in line][-1]
    assert summary in cluster[1]  # the same counts table
    with Ledger("local.sqlite") as a, Ledger("cluster.sqlite") as b:
        assert [e.record.text for e in a.entries()] == [e.record.text for e in b.entries()]
    gz = run("cluster-adjudicate", "--partitions", "parts", "--region", "beihai", "--as-of", "2020-12-31",
             "--local-workers", "1", "--out", "cluster.jsonl.gz")
    assert gz[0] == 0
    packed = (tmp_path / "cluster.jsonl.gz").read_bytes()
    assert gzip.decompress(packed) == (tmp_path / "local.jsonl").read_bytes()
    assert packed[3] & 0x08 == 0  # no file name in the header: the temporary one would change every run
    split = run("cluster-adjudicate", "--partitions", "parts", "--region", "beihai", "--as-of", "2020-12-31",
                "--local-workers", "1", "--out-dir", "split", "--ledger", "split.sqlite", "--fail-on-fail")
    assert split[0] == 1 and summary in split[1]
    manifest = __import__("json").loads((tmp_path / "split" / "manifest.json").read_text())
    assert b"".join((tmp_path / "split" / p["file"]).read_bytes() for p in manifest["parts"]) == \
        (tmp_path / "local.jsonl").read_bytes()
    with Ledger("local.sqlite") as a, Ledger("split.sqlite") as b:
        assert [e.record.text for e in a.entries()] == [e.record.text for e in b.entries()]
    someone = manifest["parts"][-1]["last"]
    explained = run("explain", "--decision", "split", "--id", someone)
    assert explained[0] == 0 and someone in explained[1]
    assert explained[1] == run("explain", "--decision", "local.jsonl", "--id", someone)[1]
    assert "no decision for 'T9999'" in run("explain", "--decision", "split", "--id", "T9999")[1]
    assert "no manifest.json" in run("explain", "--decision", "parts", "--id", someone)[1]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary files left


def _two_partitions(tmp_path: Path, first: list[str], second: list[str]) -> list[Partition]:
    """Two partitions of these persons rows (``id,role``), without records."""
    for i, rows in enumerate((first, second)):
        (tmp_path / f"p{i}.csv").write_text("person_id,role\n" + "".join(row + "\n" for row in rows))
        (tmp_path / f"r{i}.csv").write_text("record_id,person_id,level,category,start_date,end_date,hours\n")
    return [Partition(str(tmp_path / f"p{i}.csv"), str(tmp_path / f"r{i}.csv")) for i in (0, 1)]


def test_the_refusal_raised_is_the_first_partitions_whatever_finishes_first(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    # Partition 0 is slow to fail (its bad row is last); partition 1 fails at once.
    parts = _two_partitions(tmp_path, [f"A{i},teacher" for i in range(20_000)] + ["A-bad,galaxy"], ["B1,galaxy"])
    with pytest.raises(InputErrors, match="p0.csv:20002 person A-bad"):
        list(adjudicate_partitions(client, parts, region="beihai", as_of=AS_OF))


def test_a_refused_person_row_does_not_turn_its_records_into_orphans(tmp_path: Path) -> None:
    persons, records = write_population(tmp_path, 8, shuffle=False)
    Path(persons).write_text(Path(persons).read_text().replace("T0003,teacher", "T0003,galaxy"))
    with open(records, "a") as fh:
        fh.write("Z-1,T0001,county,remote,2019-01-01,2019-01-02,-6\n")
    with pytest.raises(InputErrors) as exc:
        partition_population(persons, records, str(tmp_path / "parts"), 2)
    assert [(e.record_id, e.field) for e in exc.value.errors] == [("T0003", "role"), ("Z-1", "hours")]
    assert not exc.value.truncated


def test_partitioning_into_a_directory_holding_partitions_is_refused(tmp_path: Path) -> None:
    from creditrules.errors import CreditrulesError

    persons, records = write_population(tmp_path, 8, shuffle=False)
    partition_population(persons, records, str(tmp_path / "parts"), 4)
    with pytest.raises(CreditrulesError, match="already holds partitions"):
        partition_population(persons, records, str(tmp_path / "parts"), 2)  # 2 and 3 would linger


def test_a_record_id_reused_by_another_person_is_refused_unless_checked_per_partition(tmp_path: Path) -> None:
    persons, records = write_population(tmp_path, 6, shuffle=False)
    with open(records, "a") as fh:
        first_id = Path(records).read_text().splitlines()[1].split(",")[0]
        fh.write(f"{first_id},T0005,county,remote,2019-01-01,2019-01-02,6\n")
    with pytest.raises(InputErrors, match="duplicate record_id"):
        partition_population(persons, records, str(tmp_path / "a"), 3)
    assert len(partition_population(persons, records, str(tmp_path / "b"), 3, check_ids=False)) == 3


def test_partitions_hold_ascending_ranges_of_about_as_many_persons(tmp_path: Path) -> None:
    import csv

    persons, records = write_population(tmp_path, 50, shuffle=True)
    parts = partition_population(persons, records, str(tmp_path / "parts"), 4)
    ids = [[row["person_id"] for row in csv.DictReader(open(p.persons, encoding="utf-8"))] for p in parts]
    assert [len(x) for x in ids] == [12, 13, 12, 13]
    flat = [pid for part in ids for pid in sorted(part)]
    assert flat == sorted(flat)  # each range after the one before
    for part, mine in zip(parts, ids, strict=True):
        assert {row["person_id"] for row in csv.DictReader(open(part.records, encoding="utf-8"))} <= set(mine)


def test_each_worker_writes_its_part_and_the_parts_in_order_are_the_local_output(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    import gzip

    from creditrules.distributed import adjudicate_partitions_to

    persons, records = write_population(tmp_path, 30, shuffle=True)
    local = "".join(r.decision_json + "\n" for r in run_batch(in_memory_people(persons, records), region="beihai",
                                                              as_of=AS_OF, audit=True)).encode()
    parts = partition_population(persons, records, str(tmp_path / "parts"), 3)
    manifest = adjudicate_partitions_to(client, parts, str(tmp_path / "out"), region="beihai", as_of=AS_OF,
                                        audit=True)
    written = b"".join((tmp_path / "out" / p["file"]).read_bytes() for p in manifest["parts"])
    assert written == local and manifest["decisions"] == local.count(b"\n")
    first = (tmp_path / "out" / "manifest.json").read_bytes()
    again = adjudicate_partitions_to(client, parts, str(tmp_path / "again"), region="beihai", as_of=AS_OF,
                                     audit=True)
    assert (tmp_path / "again" / "manifest.json").read_bytes() == first and again == manifest
    gz = adjudicate_partitions_to(client, parts, str(tmp_path / "gz"), region="beihai", as_of=AS_OF, compress=True)
    assert gzip.decompress(b"".join((tmp_path / "gz" / p["file"]).read_bytes() for p in gz["parts"])) == local
    assert sorted(x.name for x in (tmp_path / "out").iterdir()) == [
        "audit-0000.jsonl", "audit-0001.jsonl", "audit-0002.jsonl", "decisions-0000.jsonl",
        "decisions-0001.jsonl", "decisions-0002.jsonl", "manifest.json"]


def test_overlapping_partitions_cannot_be_written_as_parts(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    from creditrules.distributed import adjudicate_partitions_to
    from creditrules.errors import CreditrulesError

    persons, records = write_population(tmp_path, 20, shuffle=False)
    parts = partition_population(persons, records, str(tmp_path / "parts"), 2)
    with pytest.raises(CreditrulesError, match="partitions overlap"):
        adjudicate_partitions_to(client, parts[::-1], str(tmp_path / "out"), region="beihai", as_of=AS_OF)
    assert list((tmp_path / "out").iterdir()) == []  # nothing half-written
    adjudicate_partitions_to(client, parts, str(tmp_path / "out"), region="beihai", as_of=AS_OF)
    with pytest.raises(CreditrulesError, match="already holds decisions"):
        adjudicate_partitions_to(client, parts, str(tmp_path / "out"), region="beihai", as_of=AS_OF)


def test_a_refusal_after_an_earlier_partition_was_taken_is_still_the_refusal(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    """Partition 0 finishes and is taken (its future released) before partition 1 is refused."""
    parts = _two_partitions(tmp_path, ["A1,teacher"], [f"B{i},teacher" for i in range(20_000)] + ["B-bad,galaxy"])
    with pytest.raises(InputErrors, match="p1.csv:20002 person B-bad"):
        list(adjudicate_partitions(client, parts, region="beihai", as_of=AS_OF))


def test_partitions_of_ones_own_are_taken_in_number_order(tmp_path: Path) -> None:
    from creditrules.cli_batch import _partitions

    for n in (10, 2, 1):
        (tmp_path / f"persons-{n}.csv").write_text("")
        (tmp_path / f"records-{n}.csv").write_text("")
    assert [Path(p).name for p, _ in _partitions(str(tmp_path))] == ["persons-1.csv", "persons-2.csv",
                                                                     "persons-10.csv"]


def test_partitioning_reads_a_gb18030_export_and_writes_utf8(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_bytes("person_id,role\nT1,teacher\n".encode("gb18030"))
    (tmp_path / "r.csv").write_bytes("record_id,person_id,level,category,start_date,end_date,hours,topic\n"
                                     "R1,T1,school,remote,2019-01-01,2019-01-02,6,课例研究\n".encode("gb18030"))
    for encoding in (None, "gb18030"):
        out = tmp_path / f"parts-{encoding}"
        parts = partition_population(str(tmp_path / "p.csv"), str(tmp_path / "r.csv"), str(out), 1, encoding=encoding)
        assert "课例研究" in Path(parts[0].records).read_text(encoding="utf-8")


def test_writing_parts_reports_each_partition_as_it_ends(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    from creditrules.distributed import adjudicate_partitions_to

    persons, records = write_population(tmp_path, 9, shuffle=False)
    parts = partition_population(persons, records, str(tmp_path / "parts"), 3)
    done: list[int] = []
    manifest = adjudicate_partitions_to(client, parts, str(tmp_path / "out"), region="beihai", as_of=AS_OF,
                                        on_done=done.append)
    assert sorted(done) == sorted(p["decisions"] for p in manifest["parts"]) and sum(done) == 9


@pytest.mark.parametrize(("bad", "truncated"), [(100, False), (101, True)])
def test_a_hundred_refusals_are_all_listed_and_more_are_said_to_be_more(tmp_path: Path, bad: int,
                                                                         truncated: bool) -> None:
    persons, records = write_population(tmp_path, 3, shuffle=False)
    with open(records, "a") as fh:
        fh.writelines(f"Z-{i},T0000,county,remote,2019-01-01,2019-01-02,-6\n" for i in range(bad))
    with pytest.raises(InputErrors) as exc:
        partition_population(persons, records, str(tmp_path / "parts"), 2)
    assert len(exc.value.errors) == 100 and exc.value.truncated is truncated
