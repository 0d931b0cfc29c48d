"""Deterministic generator of a realistic teacher population for benchmarks.

    python benchmarks/generate.py --records 1000000 --out benchmarks/data/1m
    python benchmarks/generate.py --records 10000000 --format jsonl --out /tmp/pop10m

Writes ``persons.csv`` and ``records.csv`` (or ``.jsonl``) with the data-contract
columns of :class:`creditrules.model.Person` and
:class:`creditrules.model.TrainingRecord` only. The same arguments always give
the same bytes: one seeded :class:`random.Random`, no wall clock, and rows are
streamed to disk person by person, so 10M records need a few MB of memory.

What a population looks like (one five-year cycle, 2016-01-01..2020-12-31,
judged on 2020-12-31):

* 20–40 records per person (fewer for the last person, so ``--records`` is exact);
* about 25 % centralised trainings (集中培训; 6–90 hours, in person, one to two
  weeks, half of them with one of Beihai's six audited sub-types), never two at
  once except where an overlap is planted;
* about 20 % remote courses (远程培训; 10–50 hours over one to four months);
* about 55 % school-based study (校本研修), of which about a third are
  item-scored activities: ``school_activity`` and ``group_lesson_prep`` (per
  half-day), ``open_lesson`` and ``mentoring`` (per occurrence) — so annual item
  caps bite for some teachers;
* practice hours on about 40 % of centralised and 30 % of school-based records;
* about 1.5 % exact duplicate registrations (same content, another record_id);
* about 1 % of centralised trainings get a short overlapping centralised
  workshop inside their dates, starting after them (the later enrolment
  earns no credit);
* about 3 % of persons have one or two records ending in 2021, after as_of;
* a few new teachers with a probation period.

Rows are grouped by person (an export by teacher). ``--order interleaved``
shuffles records within blocks of ``--block`` persons instead, to measure what
an ungrouped input costs a reader.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "AS_OF",
    "CYCLE_END",
    "CYCLE_START",
    "PERSON_COLUMNS",
    "RECORD_COLUMNS",
    "generate",
    "person_records",
]

CYCLE_START = dt.date(2016, 1, 1)
CYCLE_END = dt.date(2020, 12, 31)
AS_OF = CYCLE_END
YEARS = tuple(range(CYCLE_START.year, CYCLE_END.year + 1))

PERSON_COLUMNS = ("person_id", "role", "school_id", "probation_start", "probation_end")
RECORD_COLUMNS = (
    "record_id", "person_id", "level", "category", "subcategory", "start_date", "end_date",
    "hours", "mode", "practice_hours", "topic", "project_id", "passed",
)

# Region id → id prefix. Any other region gets its first three letters.
PREFIXES = {"beihai": "BH", "nanning": "NN", "huangshi": "HS", "lanzhou": "LZ", "haiyuan": "HY"}

CENTRAL_SUBTYPES = ("thematic_training", "thematic_lecturing", "degree_upgrade", "skills",
                    "appointment", "enterprise_practice")
CENTRAL_HOURS = (6, 6, 12, 12, 18, 24, 24, 30, 36, 48, 60)
CENTRAL_LEVELS = ("national", "provincial", "provincial", "municipal", "municipal", "county", "county")
REMOTE_HOURS = (10, 15, 20, 20, 30, 30, 40, 50)
REMOTE_LEVELS = ("national", "provincial", "provincial", "municipal")
SCHOOL_TOPICS = ("教研活动", "课例研究", "读书分享", "信息技术应用", "班主任工作", "心理健康教育", "作业设计")
CENTRAL_TOPICS = ("学科教学能力提升", "课堂教学改革", "师德师风", "信息化教学", "新课程标准解读",
                  "班级管理", "教育科研方法", "职业教育实训")
# (subcategory, hours choices): item-scored school-based activities.
ITEMS = (
    ("school_activity", (4, 4, 8)),
    ("group_lesson_prep", (4, 4, 8)),
    ("open_lesson", (1, 2)),
    ("mentoring", (20, 30)),
)
ITEM_WEIGHTS = (45, 30, 20, 5)
ROLES = (("teacher", 86), ("backbone", 8), ("principal", 2), ("new_teacher", 4))


def _prefix(region: str) -> str:
    return PREFIXES.get(region, region[:3].upper())


def _day(rng: random.Random, year: int) -> dt.date:
    return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))


def person_records(
    rng: random.Random, person_id: str, n: int, *, record_prefix: str
) -> Iterator[dict[str, Any]]:
    """``n`` records of one person (duplicates and overlaps included), in date order.

    Each record is a dict of :data:`RECORD_COLUMNS` (``None`` for a blank cell).
    """
    # How many of each kind; duplicates, overlaps and late records are extra
    # rows drawn from the same budget, so the person has exactly n rows.
    n_late = 1 + (rng.random() < 0.3) if rng.random() < 0.03 else 0
    n_late = min(n_late, n - 1)
    body = n - n_late
    n_dup = min(sum(rng.random() < 0.015 for _ in range(body)), body - 1)
    base = body - n_dup
    kinds = []
    for _ in range(base):
        u = rng.random()
        kinds.append("central" if u < 0.25 else "remote" if u < 0.45 else "item" if u < 0.63 else "school")
    n_central = kinds.count("central")
    n_overlap = min(sum(rng.random() < 0.01 for _ in range(n_central)), n_central // 2) if n_central else 0
    # Planted overlaps replace other rows so the count stays exact.
    for _ in range(n_overlap):
        for i in range(len(kinds) - 1, -1, -1):
            if kinds[i] not in ("central", "overlap"):
                kinds[i] = "overlap"
                break
        else:
            n_overlap -= 1
    n_central = kinds.count("central")

    rows: list[dict[str, Any]] = []
    school_days: set[tuple[str, dt.date]] = set()

    def row(**kw: Any) -> dict[str, Any]:
        base_row = dict.fromkeys(RECORD_COLUMNS)
        base_row.update(kw)
        base_row["person_id"] = person_id
        return base_row

    # Centralised trainings: distinct months, start in the first ten days,
    # at most fifteen days long, so two never overlap unless planted.
    months = rng.sample(range(len(YEARS) * 12), k=min(n_central, len(YEARS) * 12))
    central_rows = []
    for m in months:
        year, month = YEARS[m // 12], m % 12 + 1
        start = dt.date(year, month, 1 + rng.randrange(10))
        hours = rng.choice(CENTRAL_HOURS)
        days = min(15, max(1, -(-hours // 6)))
        end = start + dt.timedelta(days=days - 1)
        practice = rng.randrange(1, hours // 2 + 1) if rng.random() < 0.4 and hours >= 6 else None
        project = f"{_prefix_of(person_id)}P{year}{rng.randrange(400):03d}"
        r = row(level=rng.choice(CENTRAL_LEVELS), category="centralized",
                subcategory=rng.choice(CENTRAL_SUBTYPES) if rng.random() < 0.5 else None,
                start_date=start, end_date=end, hours=hours, mode="in_person", practice_hours=practice,
                topic=rng.choice(CENTRAL_TOPICS) + f"({project})", project_id=project, passed=True)
        central_rows.append(r)
        rows.append(r)
    for k in kinds:
        if k == "remote":
            year = rng.choice(YEARS)
            start = _day(rng, year)
            end = min(start + dt.timedelta(days=rng.randrange(30, 121)), dt.date(year, 12, 31))
            rows.append(row(level=rng.choice(REMOTE_LEVELS), category="remote", start_date=start, end_date=end,
                            hours=rng.choice(REMOTE_HOURS), mode="online_async", passed=True))
        elif k == "item":
            sub, hour_choices = rng.choices(ITEMS, weights=ITEM_WEIGHTS)[0]
            year = rng.choice(YEARS)
            start = _day(rng, year)
            end = start if sub != "mentoring" else min(start + dt.timedelta(days=180), dt.date(year, 12, 31))
            rows.append(row(level="school", category="school_based", subcategory=sub, start_date=start,
                            end_date=end, hours=rng.choice(hour_choices), mode="in_person", passed=True))
        elif k == "school":
            year = rng.choice(YEARS)
            start = _day(rng, year)
            hours = rng.randrange(4, 25)
            practice = rng.randrange(1, hours + 1) if rng.random() < 0.3 else None
            topic = rng.choice(SCHOOL_TOPICS)
            while (topic, start) in school_days:  # the same topic twice a day would be a repeat
                start += dt.timedelta(days=1)
            school_days.add((topic, start))
            rows.append(row(level="school", category="school_based", start_date=start, end_date=start,
                            hours=hours, mode="in_person", practice_hours=practice, topic=topic, passed=True))
    for _ in range(n_overlap):
        host = rng.choice(central_rows)
        # Inside the host and (when the host lasts more than a day) starting after
        # it, so the host is the earlier enrolment and the workshop the refused one.
        span = (host["end_date"] - host["start_date"]).days
        start = host["start_date"] + dt.timedelta(days=1 + rng.randrange(span) if span else 0)
        end = min(start + dt.timedelta(days=rng.randrange(2)), host["end_date"])
        project = f"{_prefix_of(person_id)}W{start.year}{rng.randrange(400):03d}"
        rows.append(row(level=rng.choice(CENTRAL_LEVELS), category="centralized", start_date=start, end_date=end,
                        hours=6 * ((end - start).days + 1), mode="in_person", topic=f"专题工作坊({project})",
                        project_id=project, passed=True))
    for _ in range(n_dup):
        rows.append(dict(rng.choice(rows)))
    for _ in range(n_late):
        start = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randrange(150))
        rows.append(row(level="county", category="centralized", start_date=start,
                        end_date=start + dt.timedelta(days=rng.randrange(5)), hours=rng.choice((12, 24)),
                        mode="in_person", topic="2021年新周期培训", passed=True))
    rows.sort(key=lambda r: (r["end_date"], r["start_date"]))
    for j, r in enumerate(rows, 1):
        r["record_id"] = f"{record_prefix}-{j:02d}"
        yield r


def _prefix_of(person_id: str) -> str:
    return person_id.split("-", 1)[0]


def _person(rng: random.Random, person_id: str, school: int, prefix: str) -> dict[str, Any]:
    role = rng.choices([r for r, _ in ROLES], weights=[w for _, w in ROLES])[0]
    p: dict[str, Any] = dict.fromkeys(PERSON_COLUMNS)
    p.update(person_id=person_id, role=role, school_id=f"{prefix}-S{school:05d}")
    if role == "new_teacher":
        start = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(180))
        p.update(probation_start=start, probation_end=start + dt.timedelta(days=364))
    return p


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if v is True:
        return "true"
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _json_value(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date) else v


class _Writer:
    def __init__(self, stream: TextIO, columns: tuple[str, ...], fmt: str) -> None:
        self.stream = stream
        self.columns = columns
        self.fmt = fmt
        if fmt == "csv":
            self.csv = csv.writer(stream, lineterminator="\n")
            self.csv.writerow(columns)

    def write(self, row: dict[str, Any]) -> None:
        if self.fmt == "csv":
            self.csv.writerow([_cell(row[c]) for c in self.columns])
        else:
            obj = {c: _json_value(row[c]) for c in self.columns if row[c] is not None}
            self.stream.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def generate(
    out_dir: str | Path,
    *,
    records: int,
    region: str = "beihai",
    seed: int = 20201231,
    fmt: str = "csv",
    order: str = "person",
    block: int = 1000,
    min_per_person: int = 20,
    max_per_person: int = 40,
) -> dict[str, Any]:
    """Write ``persons.<fmt>`` and ``records.<fmt>`` into ``out_dir``; return a summary.

    Deterministic: the same arguments give the same files, byte for byte.
    """
    if records < 1:
        raise ValueError("records must be ≥ 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{region}:{seed}")
    prefix = _prefix(region)
    ext = "csv" if fmt == "csv" else "jsonl"
    counts = {"persons": 0, "records": 0, "duplicates": 0, "late": 0}
    with open(out / f"persons.{ext}", "w", encoding="utf-8", newline="", buffering=1 << 20) as pf, \
         open(out / f"records.{ext}", "w", encoding="utf-8", newline="", buffering=1 << 20) as rf:
        pw, rw = _Writer(pf, PERSON_COLUMNS, fmt), _Writer(rf, RECORD_COLUMNS, fmt)
        pending: list[dict[str, Any]] = []
        remaining = records
        i = 0
        while remaining > 0:
            i += 1
            pid = f"{prefix}-T{i:08d}"
            n = min(remaining, rng.randint(min_per_person, max_per_person))
            remaining -= n
            pw.write(_person(rng, pid, 1 + (i - 1) // 60, prefix))
            counts["persons"] += 1
            for r in person_records(rng, pid, n, record_prefix=f"{prefix}-R{i:08d}"):
                counts["records"] += 1
                counts["late"] += r["end_date"] > AS_OF
                if order == "person":
                    rw.write(r)
                else:
                    pending.append(r)
            if order != "person" and (i % block == 0 or remaining <= 0):
                rng.shuffle(pending)
                for r in pending:
                    rw.write(r)
                pending.clear()
    return {
        "dir": str(out), "format": fmt, "region": region, "seed": seed, "order": order,
        "persons": counts["persons"], "records": counts["records"], "records_after_as_of": counts["late"],
        "as_of": AS_OF.isoformat(), "cycle": [CYCLE_START.isoformat(), CYCLE_END.isoformat()],
    }


def twenty_record_people(
    count: int, *, region: str = "beihai", seed: int = 7
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """``count`` persons with exactly 20 records each, as row dicts (for per-decision timing)."""
    rng = random.Random(f"{region}:20:{seed}")
    prefix = _prefix(region)
    out = []
    for i in range(1, count + 1):
        pid = f"{prefix}-D{i:06d}"
        person = _person(rng, pid, 1, prefix)
        person["role"] = "teacher"
        person["probation_start"] = person["probation_end"] = None
        out.append((person, list(person_records(rng, pid, 20, record_prefix=f"{prefix}-DR{i:06d}"))))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000, help="total records to write (1k … 10M; default 100k)")
    ap.add_argument("--region", default="beihai", help="region the ids are made for (default beihai)")
    ap.add_argument("--seed", type=int, default=20201231)
    ap.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    ap.add_argument("--order", choices=("person", "interleaved"), default="person",
                    help="rows grouped by person (default) or shuffled within blocks of --block persons")
    ap.add_argument("--block", type=int, default=1000)
    ap.add_argument("--out", default="benchmarks/data/pop", help="output directory (default benchmarks/data/pop)")
    args = ap.parse_args(argv)
    summary = generate(args.out, records=args.records, region=args.region, seed=args.seed, fmt=args.format,
                       order=args.order, block=args.block)
    json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
