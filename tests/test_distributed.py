"""The Dask backend: a partitioned population on a LocalCluster decides exactly like the local run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="install the [dask] extra")

from creditrules import Engine  # noqa: E402
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
    assert [text for _, text, _ in remote] == local
    assert all(record is not None and '"schema":"creditrules.decision-record/1"' in record for _, _, record in remote)


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
