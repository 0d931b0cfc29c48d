"""The Beihai cycle rule written for each peer: OpenFisca, GoRules ZEN, polars, plain Python.

The rule (what ``guangxi.cycle_credits`` decides in the Beihai chain, with the
record stages that feed it), for one person judged on ``as_of`` = 2020-12-31:

1. records ending after ``as_of`` are ignored; only records ending in the
   cycle 2016-01-01..2020-12-31 count;
2. an exact duplicate registration (same dates, category, level, hours,
   project, topic, subcategory) counts once; a centralised record starting
   before an earlier centralised enrolment has ended earns nothing (the
   generator plants overlaps only *inside* their host and starting after it,
   so a running maximum of end dates gives the same answer as creditrules'
   greedy walk over the enrolments still credited);
3. credits per record = hours / 3, rounded half up to 0.01 — except the
   item-scored school-based activities: ``school_activity`` and
   ``group_lesson_prep`` score 0.5 per whole half-day of 4 hours (annual caps
   3 and 4), ``open_lesson`` 1 per record (cap 3), ``mentoring`` 2 per record
   (cap 2), caps per calendar year;
4. remote credits count up to 40 per cycle (category cap);
5. pass when the counted credits reach 120;
6. practice share: practice hours ≥ 10 % of the counted records' hours (false without any)
   (computed by every peer and compared among them; the Beihai chain has no
   person-level practice-share rule, so creditrules has no finding to compare).

All peers work in integer hundredths of a credit, so no float rounding can
move a person across the 120 line. Steps 1, 3, 4, 5, 6 run inside each
engine; step 2 compares rows of one person with each other, which neither an
OpenFisca formula nor a ZEN expression can do naturally, so for those two the
harness computes ``excluded`` flags with polars (and the time is counted).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

AS_OF = dt.date(2020, 12, 31)
CYCLE = (dt.date(2016, 1, 1), dt.date(2020, 12, 31))
AS_OF_INT = 20201231
CYCLE_INT = (20160101, 20201231)
YEARS = tuple(range(2016, 2021))
HOURS_PER_CREDIT = 3
CYCLE_MINIMUM_C = 120_00
REMOTE_CAP_C = 40_00
PRACTICE_MIN_SHARE = (1, 10)  # 10 % of counted hours
# subcategory → (code, per, rate in hundredths, half-day hours, annual cap in hundredths)
ITEMS: dict[str, tuple[int, str, int, int, int]] = {
    "school_activity": (1, "half_day", 50, 4, 300),
    "group_lesson_prep": (2, "half_day", 50, 4, 400),
    "open_lesson": (3, "occurrence", 100, 0, 300),
    "mentoring": (4, "occurrence", 200, 0, 200),
}
CATEGORY_CODES = {"centralized": 0, "remote": 1, "school_based": 2}  # anything else: 3
DUP_KEY = ("start_date", "end_date", "category", "level", "hours", "project_id", "topic", "subcategory")


def hours_credits_c(hours: int) -> int:
    """hours / 3 in hundredths, rounded half up (hours are whole numbers here)."""
    return (hours * 200 + 3) // 6


# -- plain Python (the per-decision floor) -----------------------------------------


def python_rule(rows: list[dict[str, Any]]) -> tuple[int, bool, bool]:
    """The whole rule over one person's row dicts; (credits_c, cycle_pass, practice_pass)."""
    rows = sorted((r for r in rows if r["end"] <= AS_OF_INT),
                  key=lambda r: (r["start"], r["end"], r["record_id"]))
    seen = set()
    last_end = 0
    other = remote = practice = hours = 0
    items: dict[tuple[int, int], int] = defaultdict(int)
    for r in rows:
        key = r["key"]
        if key in seen:
            continue
        seen.add(key)
        if r["cat"] == 0:
            if r["start"] <= last_end:
                continue
            last_end = max(last_end, r["end"])
        if not CYCLE_INT[0] <= r["end"] <= CYCLE_INT[1]:
            continue
        h = r["hours"]
        hours += h
        practice += r["practice"]
        item = ITEMS.get(r["sub"])
        if item is not None:
            code, per, rate, half, _cap = item
            items[(code, r["end"] // 10000)] += (h // half) * rate if per == "half_day" else rate
        elif r["cat"] == 1:
            remote += hours_credits_c(h)
        else:
            other += hours_credits_c(h)
    caps = {v[0]: v[4] for v in ITEMS.values()}
    credits = other + min(remote, REMOTE_CAP_C) + sum(min(v, caps[c]) for (c, _y), v in items.items())
    practice_ok = hours > 0 and practice * PRACTICE_MIN_SHARE[1] >= hours * PRACTICE_MIN_SHARE[0]
    return credits, credits >= CYCLE_MINIMUM_C, practice_ok


def python_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Generator row dicts → the compact rows :func:`python_rule` reads."""
    out = []
    for r in records:
        out.append({
            "record_id": r["record_id"],
            "start": _int_date(r["start_date"]), "end": _int_date(r["end_date"]),
            "cat": CATEGORY_CODES.get(r["category"], 3), "category": r["category"], "sub": r["subcategory"] or "",
            "hours": int(r["hours"]), "practice": int(r["practice_hours"] or 0),
            "key": tuple(str(r[k]) for k in DUP_KEY),
        })
    return out


def python_excluded(rows: list[dict[str, Any]]) -> list[bool]:
    """Step 2 for one person (duplicates, overlaps), as the harness feeds OpenFisca and ZEN per decision."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["start"], rows[i]["end"], rows[i]["record_id"]))
    seen = set()
    last_end = 0
    out = [False] * len(rows)
    for i in order:
        r = rows[i]
        if r["end"] > AS_OF_INT:
            continue
        if r["key"] in seen:
            out[i] = True
            continue
        seen.add(r["key"])
        if r["cat"] == 0:
            if r["start"] <= last_end:
                out[i] = True
                continue
            last_end = max(last_end, r["end"])
    return out


def openfisca_columns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One person's compact rows → the OpenFisca input columns."""
    import numpy as np

    return {
        "end": np.array([r["end"] for r in rows], dtype=np.int64),
        "hours": np.array([r["hours"] for r in rows], dtype=np.int64),
        "practice": np.array([r["practice"] for r in rows], dtype=np.int64),
        "cat": np.array([r["cat"] for r in rows], dtype=np.int64),
        "item": np.array([ITEMS[r["sub"]][0] if r["sub"] in ITEMS else 0 for r in rows], dtype=np.int64),
        "excluded": np.array(python_excluded(rows), dtype=bool),
    }


def zen_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One person's compact rows → ZEN input rows (dates as yyyymmdd ints)."""
    return [
        {"e": r["end"], "c": r["category"], "i": r["sub"] if r["sub"] in ITEMS else "", "h": r["hours"],
         "p": r["practice"], "y": r["end"] // 10000, "x": x}
        for r, x in zip(rows, python_excluded(rows), strict=True)
    ]


def _int_date(d: Any) -> int:
    if isinstance(d, dt.date):
        return d.year * 10000 + d.month * 100 + d.day
    return int(str(d).replace("-", ""))


# -- polars: the raw limit, and the flags for the other peers --------------------------


def polars_read(records_csv: str) -> Any:
    import polars as pl

    return pl.read_csv(
        records_csv,
        columns=["record_id", "person_id", "level", "category", "subcategory", "start_date", "end_date",
                 "hours", "practice_hours", "topic", "project_id"],
        schema_overrides={"hours": pl.Int64, "practice_hours": pl.Int64},
    )


def polars_prepare(df: Any) -> Any:
    """Int dates, codes and the ``excluded`` flag (duplicate or overlapping), records after as_of dropped."""
    import polars as pl

    start = pl.col("start_date").str.replace_all("-", "").cast(pl.Int32)
    end = pl.col("end_date").str.replace_all("-", "").cast(pl.Int32)
    cat = (pl.col("category").replace_strict(CATEGORY_CODES, default=3, return_dtype=pl.Int8))
    item = pl.col("subcategory").replace_strict({k: v[0] for k, v in ITEMS.items()}, default=0,
                                                 return_dtype=pl.Int8)
    df = (
        df.with_columns(start=start, end=end, cat=cat, item=item,
                        practice=pl.col("practice_hours").fill_null(0))
        .filter(pl.col("end") <= AS_OF_INT)
        .sort(["person_id", "start", "end", "record_id"])
    )
    dup = ~pl.struct(["person_id", *DUP_KEY]).is_first_distinct()
    df = df.with_columns(dup=dup)
    central_end = pl.when((pl.col("cat") == 0) & ~pl.col("dup")).then(pl.col("end")).otherwise(0)
    prev_end = central_end.cum_max().shift(1).fill_null(0).over("person_id")
    ovl = (pl.col("cat") == 0) & ~pl.col("dup") & (pl.col("start") <= prev_end)
    return df.with_columns(excluded=pl.col("dup") | ovl)


def polars_rule(df: Any, person_ids: Any) -> Any:
    """The rule over a prepared frame; one row per person (persons without records included)."""
    import polars as pl

    counted = df.filter(~pl.col("excluded") & pl.col("end").is_between(*CYCLE_INT))
    hour_c = (pl.col("hours") * 200 + 3) // 6
    item_c = pl.lit(0, dtype=pl.Int64)
    cap = pl.lit(0, dtype=pl.Int64)
    for code, per, rate, half, annual_cap in ITEMS.values():
        value = (pl.col("hours") // half) * rate if per == "half_day" else pl.lit(rate, dtype=pl.Int64)
        item_c = pl.when(pl.col("item") == code).then(value).otherwise(item_c)
        cap = pl.when(pl.col("item") == code).then(annual_cap).otherwise(cap)
    counted = counted.with_columns(hour_c=hour_c, item_c=item_c, cap=cap, year=pl.col("end") // 10000)
    items = (
        counted.filter(pl.col("item") > 0)
        .group_by(["person_id", "item", "year"])
        .agg(pl.col("item_c").sum(), pl.col("cap").first())
        .group_by("person_id")
        .agg(items=pl.min_horizontal("item_c", "cap").sum())
    )
    plain = (
        counted.group_by("person_id")
        .agg(
            other=pl.col("hour_c").filter((pl.col("item") == 0) & (pl.col("cat") != 1)).sum(),
            remote=pl.col("hour_c").filter((pl.col("item") == 0) & (pl.col("cat") == 1)).sum(),
            practice=pl.col("practice").sum(),
            hours=pl.col("hours").sum(),
        )
    )
    out = (
        pl.DataFrame({"person_id": person_ids})
        .join(plain, on="person_id", how="left")
        .join(items, on="person_id", how="left")
        .fill_null(0)
        .with_columns(credits=pl.col("other") + pl.min_horizontal("remote", pl.lit(REMOTE_CAP_C)) + pl.col("items"))
        .with_columns(
            cycle_pass=pl.col("credits") >= CYCLE_MINIMUM_C,
            practice_pass=(pl.col("hours") > 0)
            & (pl.col("practice") * PRACTICE_MIN_SHARE[1] >= pl.col("hours") * PRACTICE_MIN_SHARE[0]),
        )
    )
    return out.select("person_id", "credits", "cycle_pass", "practice_pass")


# -- OpenFisca ---------------------------------------------------------------------------


def openfisca_system() -> Any:
    """A tiny TaxBenefitSystem: ``record`` (the individual entity) grouped into ``teacher``."""
    import numpy as np
    from openfisca_core.entities import build_entity
    from openfisca_core.parameters import ParameterNode
    from openfisca_core.periods import YEAR
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem
    from openfisca_core.variables import Variable

    Record = build_entity(key="record", plural="records", label="A training record", is_person=True)
    Teacher = build_entity(key="teacher", plural="teachers", label="A teacher and her records",
                           roles=[{"key": "member", "plural": "members", "label": "Record"}])

    def _input(name: str, value_type: type, entity: Any = Record, default: Any = 0) -> type:
        return type(name, (Variable,), {"value_type": value_type, "entity": entity, "definition_period": YEAR,
                                        "label": name, "default_value": default})

    inputs = [_input("end", int), _input("hours", int), _input("practice", int), _input("cat", int),
              _input("item", int), _input("excluded", bool, default=False)]

    class counted(Variable):
        value_type = bool
        entity = Record
        definition_period = YEAR
        label = "Counted in the cycle containing as_of"

        def formula(records, period, parameters):
            p = parameters(period).credits
            end = records("end", period)
            return (end >= p.cycle_start) * (end <= p.cycle_end) * (end <= p.as_of) * np.logical_not(
                records("excluded", period))

    class hour_credits(Variable):
        value_type = int
        entity = Record
        definition_period = YEAR
        label = "Credits by hours, in hundredths (half up)"

        def formula(records, period, parameters):
            hpc = parameters(period).credits.hours_per_credit
            return (records("hours", period) * 200 + hpc) // (2 * hpc)

    class item_credits(Variable):
        value_type = int
        entity = Record
        definition_period = YEAR
        label = "Item-scored credits, in hundredths, before annual caps"

        def formula(records, period, parameters):
            item = records("item", period)
            hours = records("hours", period)
            out = np.zeros_like(hours)
            for code, per, rate, half, _cap in ITEMS.values():
                value = (hours // half) * rate if per == "half_day" else rate
                out = np.where(item == code, value, out)
            return out

    class cycle_credits(Variable):
        value_type = int
        entity = Teacher
        definition_period = YEAR
        label = "Counted credits over the cycle, in hundredths"

        def formula(teachers, period, parameters):
            p = parameters(period).credits
            records = teachers.members
            counted = records("counted", period)
            cat = records("cat", period)
            item = records("item", period)
            plain = records("hour_credits", period) * counted * (item == 0)
            other = teachers.sum(plain * (cat != 1))
            remote = np.minimum(teachers.sum(plain * (cat == 1)), p.remote_cap * 100)
            item_c = records("item_credits", period) * counted
            year = records("end", period) // 10000
            items = 0
            for code, _per, _rate, _half, cap in ITEMS.values():
                in_item = item_c * (item == code)
                for y in YEARS:
                    items = items + np.minimum(teachers.sum(in_item * (year == y)), cap)
            return other + remote + items

    class cycle_pass(Variable):
        value_type = bool
        entity = Teacher
        definition_period = YEAR
        label = "Cycle credits reach the minimum"

        def formula(teachers, period, parameters):
            return teachers("cycle_credits", period) >= parameters(period).credits.cycle_minimum * 100

    class practice_pass(Variable):
        value_type = bool
        entity = Teacher
        definition_period = YEAR
        label = "Practice hours reach the minimum share of counted hours"

        def formula(teachers, period, parameters):
            records = teachers.members
            counted = records("counted", period)
            practice = teachers.sum(records("practice", period) * counted)
            hours = teachers.sum(records("hours", period) * counted)
            share = parameters(period).credits.practice_min_share_pct
            return (hours > 0) * (practice * 100 >= hours * share)

    tbs = TaxBenefitSystem([Record, Teacher])
    tbs.add_variables(*inputs, counted, hour_credits, item_credits, cycle_credits, cycle_pass, practice_pass)

    def value(v: Any) -> dict[str, Any]:
        return {"values": {"2016-01-01": {"value": v}}}

    tbs.parameters = ParameterNode("", data={"credits": {
        "cycle_start": value(CYCLE_INT[0]), "cycle_end": value(CYCLE_INT[1]), "as_of": value(AS_OF_INT),
        "hours_per_credit": value(HOURS_PER_CREDIT), "remote_cap": value(REMOTE_CAP_C // 100),
        "cycle_minimum": value(CYCLE_MINIMUM_C // 100),
        "practice_min_share_pct": value(100 * PRACTICE_MIN_SHARE[0] // PRACTICE_MIN_SHARE[1]),
    }})
    return tbs


def openfisca_simulation(tbs: Any, cols: dict[str, Any], teacher_ids: Any, record_teacher: Any,
                         *, trace: bool = False) -> Any:
    """A simulation from column arrays: ``record_teacher[i]`` is the teacher index of record i."""
    import numpy as np
    from openfisca_core.simulations import SimulationBuilder

    sb = SimulationBuilder()
    sb.create_entities(tbs)
    n = len(record_teacher)
    sb.declare_person_entity("record", np.arange(n))
    teachers = sb.declare_entity("teacher", teacher_ids)
    sb.join_with_persons(teachers, record_teacher, np.zeros(n, dtype=np.int16))
    sim = sb.build(tbs)
    sim.trace = trace
    for name in ("end", "hours", "practice", "cat", "item", "excluded"):
        sim.set_input(name, "2020", cols[name])
    return sim


def openfisca_run(sim: Any) -> tuple[Any, Any, Any]:
    credits = sim.calculate("cycle_credits", "2020")
    return credits, sim.calculate("cycle_pass", "2020"), sim.calculate("practice_pass", "2020")


# -- GoRules ZEN ----------------------------------------------------------------------------


def zen_graph() -> str:
    """The rule as a JDM graph: input → per-record expressions → totals → decision table → output."""

    def node(i: str, name: str, typ: str, content: Any = None) -> dict[str, Any]:
        n: dict[str, Any] = {"id": i, "name": name, "type": typ, "position": {"x": 0, "y": 0}}
        if content is not None:
            n["content"] = content
        return n

    def expressions(pairs: list[tuple[str, str]]) -> dict[str, Any]:
        return {"expressions": [{"id": f"{k}", "key": k, "value": v} for k, v in pairs]}

    hour_c = "floor((#.h * 200 + 3) / 6)"
    item_terms = []
    for sub, (_code, per, rate, half, cap) in ITEMS.items():
        value = f"floor(#.h / {half}) * {rate}" if per == "half_day" else f"{rate}"
        for y in YEARS:
            item_terms.append(
                f"min([{cap}, sum(map(filter($.lines, #.i == '{sub}' and #.y == {y}), {value}))])")
    totals = [
        ("lines", f"filter(records, #.e >= {CYCLE_INT[0]} and #.e <= {CYCLE_INT[1]} and #.e <= asOf and not #.x)"),
        ("other", f"sum(map(filter($.lines, #.i == '' and #.c != 'remote'), {hour_c}))"),
        ("remote", f"min([{REMOTE_CAP_C}, sum(map(filter($.lines, #.i == '' and #.c == 'remote'), {hour_c}))])"),
        ("items", " + ".join(item_terms)),
        ("credits", "$.other + $.remote + $.items"),
        ("practiceShare", "sum(map($.lines, #.p)) * 100 / max([1, sum(map($.lines, #.h))])"),
    ]
    table = {
        "hitPolicy": "first",
        "inputs": [{"id": "credits", "name": "Credits", "type": "expression", "field": "credits"}],
        "outputs": [
            {"id": "cycle", "name": "Cycle", "type": "expression", "field": "cycle"},
            {"id": "reason", "name": "Reason", "type": "expression", "field": "reason"},
        ],
        "rules": [
            {"_id": "met", "credits": f">= {CYCLE_MINIMUM_C}", "cycle": "'pass'",
             "reason": "'cycle credits reach 120'"},
            {"_id": "short", "credits": "", "cycle": "'fail'", "reason": "'cycle credits below 120'"},
        ],
    }
    share_pct = 100 * PRACTICE_MIN_SHARE[0] // PRACTICE_MIN_SHARE[1]
    final = [("credits", "credits"), ("cycle", "cycle"), ("reason", "reason"),
             ("practicePass", f"practiceShare >= {share_pct}")]
    graph = {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            node("in", "Request", "inputNode"),
            node("tot", "Totals", "expressionNode", expressions(totals)),
            node("tbl", "Cycle", "decisionTableNode", table),
            node("fin", "Result", "expressionNode", expressions(final)),
            node("out", "Response", "outputNode"),
        ],
        "edges": [
            {"id": "e1", "sourceId": "in", "targetId": "tot", "type": "edge"},
            {"id": "e2", "sourceId": "tot", "targetId": "tbl", "type": "edge"},
            {"id": "e3", "sourceId": "tot", "targetId": "fin", "type": "edge"},
            {"id": "e4", "sourceId": "tbl", "targetId": "fin", "type": "edge"},
            {"id": "e5", "sourceId": "fin", "targetId": "out", "type": "edge"},
        ],
    }
    return json.dumps(graph)


def zen_engine() -> Any:
    import zen

    content = zen.ZenDecisionContent(zen_graph())
    return zen.ZenEngine({"loader": lambda key: content})


def zen_context(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One person's ZEN input from compact rows (see :func:`zen_rows_from_frame`)."""
    return {"asOf": AS_OF_INT, "records": rows}


def zen_groups(df: Any) -> dict[str, list[dict[str, Any]]]:
    """A prepared polars frame → per-person lists of compact ZEN rows (dates as yyyymmdd ints)."""
    import polars as pl

    sub = df.select(
        pl.col("person_id"), e=pl.col("end"), c=pl.col("category"),
        i=pl.when(pl.col("item") > 0).then(pl.col("subcategory")).otherwise(pl.lit("")),
        h=pl.col("hours"), p=pl.col("practice"), y=pl.col("end") // 10000, x=pl.col("excluded"),
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in sub.iter_rows(named=True):
        groups.setdefault(row.pop("person_id"), []).append(row)
    return groups
