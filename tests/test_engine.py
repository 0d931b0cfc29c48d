"""Engine behaviour an integrator relies on: determinism, dates, plugin conflicts, the decision's shape,
and project- and unit-level judgments (domain.md §3 E06, E12, E13, E14)."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from creditrules import (
    Context,
    Engine,
    Finding,
    Outcome,
    Person,
    PluginError,
    Project,
    Reason,
    RuleDef,
    RuleFamily,
    RulesetDoc,
    SubjectKind,
    TrainingRecord,
    Unit,
    UnknownRegion,
    decision_json,
    parse_ruleset,
)
from creditrules.testing import InlinePlugin

D = dt.date


def ruleset(rid: str, body: str = "", *, extends: str | None = None, kind: str = "region") -> RulesetDoc:
    ext = f'extends = "{extends}"\n' if extends else ""
    text = (
        f'schema = "creditrules.ruleset/1"\nid = "{rid}"\n{ext}kind = "{kind}"\n'
        f'name = {{ zh = "测试", en = "Test {rid}" }}\n[sources.s]\ntitle = "Test source"\n{body}'
    )
    return parse_ruleset(text, f"test/{rid}.toml")


def engine_with(*docs: RulesetDoc, families: Sequence[RuleFamily] = ()) -> Engine:
    return Engine.load(plugins=[InlinePlugin(docs, families)], entry_points=False)


def rec(rid: str, start: str, end: str, hours: Any, category: str = "centralized", **kw: Any) -> TrainingRecord:
    return TrainingRecord(
        record_id=rid, person_id=kw.pop("person_id", "T1"), level=kw.pop("level", "municipal"),
        category=category, start_date=start, end_date=end, hours=hours, **kw,
    )


#: A region that is Guangxi unchanged (the built-in layers carry every person-level rule).
GX = ruleset("gx_test", extends="guangxi")

#: Guangxi with two dated overrides: 4 h per credit from 2019, 20 credits a year from 2019-07-01.
DATED = ruleset("dated", """
[parameters."credit_conversion.hours_per_credit"]
description = "d"
override = true
values = [ { since = 2019-01-01, value = { default = 4 }, source = "s", clause = "4学时折1学分" } ]

[parameters."annual.minimum"]
description = "d"
override = true
values = [ { since = 2019-07-01, value = 20, source = "s", clause = "每年不少于20学分" } ]
""", extends="guangxi")


def mixed_records() -> list[TrainingRecord]:
    """Records that exercise every order-sensitive rule: duplicates, overlaps, caps, late records."""
    return [
        rec("C1", "2019-03-01", "2019-03-05", 30),
        rec("C2", "2019-03-04", "2019-03-08", 24, level="county"),  # overlaps C1
        rec("C3", "2019-03-01", "2019-03-05", 30),  # duplicate of C1
        rec("D1", "2017-03-01", "2017-06-30", 66, "remote", level="provincial"),
        rec("D2", "2018-03-01", "2018-06-30", 66, "remote", level="provincial"),  # remote over the cap
        rec("S1", "2019-04-01", "2019-04-26", 32, "school_based", level="school", subcategory="school_activity"),
        *(rec(f"O{i}", f"2019-0{i}-10", f"2019-0{i}-10", 1, "school_based", level="school",
              subcategory="open_lesson") for i in range(5, 10)),
        rec("R1", "2019-11-29", "2019-11-29", 8, "school_based", subcategory="research_project"),
        rec("LATE", "2019-12-30", "2020-01-03", 24),
        rec("T1", "2018-05-01", "2018-05-03", "17.5", topic="MATH-1"),
        rec("T2", "2018-05-03", "2018-05-04", 6, "remote", topic="MATH-1"),
    ]


# -- determinism ------------------------------------------------------------------


class TestDeterminism:
    def test_same_inputs_same_bytes(self) -> None:
        """Two engines, same inputs: byte-identical canonical JSON."""
        person, records = Person("T1"), mixed_records()
        a = decision_json(engine_with(GX).adjudicate(person, records, region="gx_test", as_of=D(2019, 12, 31)))
        b = decision_json(engine_with(GX).adjudicate(person, records, region="gx_test", as_of=D(2019, 12, 31)))
        assert a.encode() == b.encode()

    def test_record_order_does_not_matter(self) -> None:
        """Shuffling the records (duplicates, overlaps, capped items among them) never changes a byte."""
        engine, person, records = engine_with(GX), Person("T1"), mixed_records()
        expected = decision_json(engine.adjudicate(person, records, region="gx_test", as_of=D(2019, 12, 31)))
        rng = random.Random(20240611)
        for _ in range(25):
            shuffled = records[:]
            rng.shuffle(shuffled)
            got = decision_json(engine.adjudicate(person, shuffled, region="gx_test", as_of=D(2019, 12, 31)))
            assert got == expected

    def test_order_sensitive_rules_pick_by_content(self) -> None:
        """Which duplicate, which overlapping course and which capped item lose credit is fixed by dates and ids."""
        d = engine_with(GX).adjudicate(Person("T1"), reversed(mixed_records()), region="gx_test", as_of=D(2019, 12, 31))
        credits = {ln.record_id: ln.credits for ln in d.lines}
        assert credits["C1"] == 10 and credits["C3"] == 0  # the duplicate with the later id
        assert credits["C2"] == 0  # the later of two overlapping courses
        assert [credits[f"O{i}"] for i in range(5, 10)] == [1, 1, 1, 0, 0]  # open lessons: annual cap 3


# -- dates ------------------------------------------------------------------------


class TestDates:
    def test_records_after_as_of_are_ignored_and_listed(self) -> None:
        """A record ending after as_of counts nowhere and is listed, sorted, in ignored_records."""
        records = [
            rec("B", "2019-12-31", "2020-01-02", 12),
            rec("A", "2019-03-01", "2019-03-02", 12),
            rec("Z", "2019-12-31", "2019-12-31", 3, "remote"),
            rec("C", "2020-02-01", "2020-02-02", 12),
        ]
        d = engine_with(GX).adjudicate(Person("T1"), records, region="gx_test", as_of=D(2019, 12, 31))
        assert d.ignored_records == ("B", "C")
        assert sorted(ln.record_id for ln in d.lines) == ["A", "Z"]
        assert (d.totals.hours, d.totals.credits) == (Decimal(15), Decimal(5))

    def test_a_decision_does_not_change_when_later_records_arrive(self) -> None:
        """Apart from ignored_records, adding records dated after as_of changes nothing."""
        engine, base = engine_with(GX), mixed_records()
        later = [rec("X1", "2020-03-01", "2020-03-05", 30), rec("X2", "2021-01-01", "2021-01-01", 3, "remote")]
        a = engine.adjudicate(Person("T1"), base, region="gx_test", as_of=D(2019, 12, 31))
        b = engine.adjudicate(Person("T1"), base + later, region="gx_test", as_of=D(2019, 12, 31))
        assert (a.findings, a.lines, a.totals) == (b.findings, b.lines, b.totals)
        assert set(b.ignored_records) - set(a.ignored_records) == {"X1", "X2"}

    def test_record_rules_use_the_record_date_and_judgments_use_as_of(self) -> None:
        """Credits convert at the rate in force on each record's end date; the annual minimum is the one on as_of."""
        engine = engine_with(DATED)
        records = [
            rec("OLD", "2018-12-28", "2018-12-31", 12, "remote"),  # 3 h per credit → 4
            rec("NEW", "2018-12-29", "2019-01-01", 12, "remote"),  # 4 h per credit → 3
        ]
        d = engine.adjudicate(Person("T1"), records, region="dated", as_of=D(2019, 12, 31))
        assert {ln.record_id: ln.credits for ln in d.lines} == {"OLD": 4, "NEW": 3}
        conversion = d.finding("guangxi.credit_conversion")
        hpc = [(u.layer, u.since) for u in conversion.parameters if u.name == "credit_conversion.hours_per_credit"]
        assert hpc == [("guangxi", D(2016, 1, 1)), ("dated", D(2019, 1, 1))]

        annual = next(f for f in d.findings if f.rule == "guangxi.annual" and f.item == "total"
                      and f.period and f.period.end == D(2019, 12, 31))
        assert annual.required == 20
        (use,) = [u for u in annual.parameters if u.name == "annual.minimum"]
        assert (use.layer, use.overrides, use.since) == ("dated", "guangxi", D(2019, 7, 1))

        early = engine.adjudicate(Person("T1"), records, region="dated", as_of=D(2019, 6, 30))
        pending = next(f for f in early.findings if f.rule == "guangxi.annual" and f.item == "total"
                       and f.period and f.period.end == D(2019, 12, 31))
        assert (pending.required, pending.outcome) == (16, Outcome.PENDING)

    def test_a_disabled_rule_stops_on_its_date(self) -> None:
        """Guangxi disables national.cycle_hours from 2016: judged on 2015-12-31, absent on 2016-01-01."""
        engine = engine_with(GX)
        before = engine.adjudicate(Person("T1"), [], region="gx_test", as_of=D(2015, 12, 31))
        after = engine.adjudicate(Person("T1"), [], region="gx_test", as_of=D(2016, 1, 1))
        assert "national.cycle_hours" in {f.rule for f in before.findings}
        assert "national.cycle_hours" not in {f.rule for f in after.findings}
        assert "guangxi.cycle_credits" in {f.rule for f in after.findings}


# -- plugins ----------------------------------------------------------------------


class _Probe(RuleFamily):
    """A family that logs the rules it runs, in order."""

    subject = SubjectKind.PERSON
    log: ClassVar[list[str]] = []

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        self.log.append(rule.id)
        return [ctx.finding(rule, self.name, Outcome.PASS, Reason("运行", "ran"))]


class EarlyProbe(_Probe):
    name = "probe_early"
    stage = 10


class LateProbe(_Probe):
    name = "probe_late"
    stage = 50


def _probe_rule(name: str, family: str) -> str:
    return (f'\n[rules.{name}]\nfamily = "{family}"\nseverity = "fail"\nsince = 2000-01-01\nsource = "s"\n'
            f'clause = "c"\ntitle = {{ zh = "探针", en = "Probe" }}\n')


class TestPlugins:
    def test_rules_run_in_stage_then_id_order_whatever_the_registration_order(self) -> None:
        """Evaluation order is (stage, rule id), never plugin or file order."""
        parent = ruleset("p", _probe_rule("aa", "probe_late") + _probe_rule("zz", "probe_early"), kind="base")
        child = ruleset("q", _probe_rule("mm", "probe_early"), extends="p")
        orders = [
            [InlinePlugin([child]), InlinePlugin(families=[LateProbe()]), InlinePlugin([parent], [EarlyProbe()])],
            [InlinePlugin([parent], [EarlyProbe()]), InlinePlugin(families=[LateProbe()]), InlinePlugin([child])],
        ]
        for plugins in orders:
            _Probe.log.clear()
            engine = Engine.load(plugins=plugins, entry_points=False)
            d = engine.adjudicate(Person("T1"), [], region="q", as_of=D(2020, 1, 1))
            assert _Probe.log == ["p.zz", "q.mm", "p.aa"]
            assert [f.rule for f in d.findings] == ["p.zz", "q.mm", "p.aa"]
            assert [r.id for r, _ in engine.rules("q", D(2020, 1, 1))] == ["p.zz", "q.mm", "p.aa"]

    def test_two_plugins_providing_one_region_are_refused_naming_both(self) -> None:
        """A region id is unique across plugins; the error names both providers."""
        with pytest.raises(PluginError) as exc:
            Engine.load(plugins=[InlinePlugin([GX]), InlinePlugin([ruleset("gx_test", extends="guangxi")])],
                        entry_points=False)
        assert "'gx_test'" in str(exc.value)
        assert "InlinePlugin-0" in str(exc.value) and "InlinePlugin-1" in str(exc.value)

    def test_a_plugin_registered_twice_is_refused_naming_both(self) -> None:
        """The same plugin object under two names is a PluginError naming both registrations."""
        plugin = InlinePlugin([GX])
        with pytest.raises(PluginError) as exc:
            Engine.load(plugins=[plugin, plugin], entry_points=False)
        assert "InlinePlugin-0" in str(exc.value) and "InlinePlugin-1" in str(exc.value)

    def test_a_duplicate_family_name_is_refused_naming_both(self) -> None:
        """A plugin cannot shadow a built-in family."""

        class Impostor(_Probe):
            name = "cycle_total"
            stage = 100

        with pytest.raises(PluginError) as exc:
            engine_with(families=[Impostor()])
        assert "'cycle_total'" in str(exc.value)
        assert "'creditrules'" in str(exc.value) and "'InlinePlugin-0'" in str(exc.value)


# -- refusals ---------------------------------------------------------------------


class TestRefusals:
    def test_a_record_of_another_person_raises(self) -> None:
        """Records are checked against the person: a mix-up never silently counts."""
        with pytest.raises(ValueError, match=r"record R2: person_id 'T9' does not belong to person 'T1'"):
            engine_with(GX).adjudicate(
                Person("T1"),
                [rec("R1", "2019-03-01", "2019-03-02", 12), rec("R2", "2019-03-04", "2019-03-05", 12, person_id="T9")],
                region="gx_test", as_of=D(2019, 12, 31),
            )

    def test_an_unknown_region_lists_the_known_ones(self) -> None:
        """A misspelt region says which regions exist."""
        with pytest.raises(UnknownRegion) as exc:
            engine_with(GX).adjudicate(Person("T1"), [], region="gx_tset", as_of=D(2019, 12, 31))
        assert exc.value.region == "gx_tset"
        assert "gx_test" in exc.value.known
        assert str(exc.value).startswith("unknown region 'gx_tset' (known: ")
        assert "gx_test" in str(exc.value)

    def test_regions_lists_regions_not_base_layers(self) -> None:
        """regions() offers what one adjudicates against; base layers only on request."""
        engine = engine_with(GX)
        assert [r.id for r in engine.regions()] == ["gx_test"]
        assert engine.regions()[0].chain == ("national", "guangxi", "gx_test")
        assert {"national", "guangxi", "gx_test"} <= {r.id for r in engine.regions(include_base=True)}


# -- the decision document ------------------------------------------------------------


def _floats(value: Any) -> list[Any]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


class TestDecisionJson:
    @pytest.fixture
    def doc(self) -> dict[str, Any]:
        d = engine_with(GX).adjudicate(Person("T1"), mixed_records(), region="gx_test", as_of=D(2019, 12, 31))
        return json.loads(decision_json(d))

    def test_top_level_keys(self, doc: dict[str, Any]) -> None:
        """The documented top-level keys, and values an integrator can read without the library."""
        assert set(doc) == {
            "schema", "subject", "region", "as_of", "outcome", "totals", "findings", "lines",
            "ignored_records", "ruleset", "engine",
        }
        assert doc["schema"] == "creditrules.decision/1"
        assert doc["subject"] == {"kind": "person", "id": "T1"}
        assert (doc["region"], doc["as_of"], doc["outcome"]) == ("gx_test", "2019-12-31", "fail")
        assert doc["ignored_records"] == ["LATE"]
        assert [layer["id"] for layer in doc["ruleset"]["chain"]] == ["national", "guangxi", "gx_test"]
        assert all(len(layer["hash"]) == 64 for layer in doc["ruleset"]["chain"])
        assert len(doc["ruleset"]["hash"]) == 64
        assert isinstance(doc["engine"], str) and doc["engine"]

    def test_findings_carry_reason_citation_and_parameters(self, doc: dict[str, Any]) -> None:
        """Every finding says what it measured, against what, why (zh and en), on which clause and values."""
        for f in doc["findings"]:
            assert {"rule", "family", "outcome", "measured", "required", "shortfall", "unit", "reason",
                    "citation", "parameters"} <= set(f)
            assert set(f["reason"]) == {"zh", "en"} and f["reason"]["zh"] and f["reason"]["en"]
            assert set(f["citation"]) == {"source", "text"} and f["citation"]["text"]
            for p in f["parameters"]:
                assert {"name", "value", "since", "layer", "citation", "overrides"} <= set(p)
        annual = next(f for f in doc["findings"] if f["rule"] == "guangxi.annual"
                      and f["period"]["end"] == "2019-12-31" and f["item"] == "total")
        assert (annual["family"], annual["unit"], annual["required"]) == ("annual_minimum", "credits", "16")
        assert annual["citation"]["text"].startswith("每年所修学分最低不得少于16分")
        assert {p["name"] for p in annual["parameters"]} >= {"annual.minimum", "cycle.anchor", "cycle.years"}

    def test_decimals_are_strings(self, doc: dict[str, Any]) -> None:
        """No number travels as a float: totals, figures and parameter values are decimal strings."""
        assert _floats(doc) == []
        assert isinstance(doc["totals"]["hours"], str) and isinstance(doc["totals"]["credits"], str)
        measured = [f["measured"] for f in doc["findings"] if f["measured"] is not None]
        assert measured and all(isinstance(m, str) for m in measured)
        s1 = next(ln for ln in doc["lines"] if ln["record_id"] == "S1")
        assert (s1["hours"], s1["credits"]) == ("32", "3")  # no exponent, no trailing zeros
        t1 = next(ln for ln in doc["lines"] if ln["record_id"] == "T1")
        assert (t1["hours"], t1["credits"]) == ("17.5", "5.83")


# -- projects and units ----------------------------------------------------------------

HUANGSHI = ruleset("hs_test", """
[sources.hs2023]
title = "黄石市2023年“国培计划”“省培计划”实施方案 (seed 004)"
[sources.lz2019]
title = "兰教师〔2019〕213号 (seed 002)"
[sources.by2022]
title = "宾阳县教师培训工作材料 (seed 003)"

[parameters."expense.per_person_day"]
description = "Centralised training, CNY per person-day, by location"
unit = "cny"
values = [ { since = 2023-06-20, value = { in_province = 400, out_of_province = 500 }, source = "hs2023", clause = "省外500元/人天; 省内400元/人天" } ]
[parameters."expense.online_async_per_person_hour"]
description = "d"
values = [ { since = 2023-06-20, value = 5, source = "hs2023", clause = "网络研修项目经费标准为5元/(人·学时)" } ]
[parameters."expense.online_sync_per_person_hour"]
description = "d"
values = [ { since = 2023-06-20, value = 40, source = "hs2023", clause = "不超过100人的同步在线培训…不高于40元/(人·学时)" } ]
[parameters."expense.online_sync_per_hour"]
description = "d"
values = [ { since = 2023-06-20, value = 3000, source = "hs2023", clause = "100人及以上…不高于3000元/学时" } ]
[parameters."expense.sync_small_max"]
description = "d"
values = [ { since = 2023-06-20, value = 100, source = "hs2023", clause = "不超过100人" } ]
[parameters."expense.sync_large_min"]
description = "d"
values = [ { since = 2023-06-20, value = 100, source = "hs2023", clause = "100人及以上" } ]
[parameters."expense.sync_tie"]
description = "d"
values = [ { since = 2023-06-20, value = "stricter", source = "hs2023", clause = "exactly 100 is in both bands: the lower ceiling" } ]
[parameters."expense.headcount_basis"]
description = "d"
values = [ { since = 2023-06-20, value = "actual_if_known", source = "hs2023", clause = "根据…实际培训人数进行核算" } ]
[rules.expense]
family = "expense_standard"
severity = "fail"
since = 2023-06-20
source = "hs2023"
clause = "经费标准"
title = { zh = "经费标准", en = "Expense standard" }

[parameters."deadline.end_by"]
description = "d"
values = [ { since = 2023-06-20, value = 2023-11-30, source = "hs2023", clause = "原则上所有项目要在2023年11月前实施完成" } ]
[parameters."deadline.cross_year_exempt"]
description = "d"
values = [ { since = 2023-06-20, value = true, source = "hs2023", clause = "除跨年度实施项目以外" } ]
[rules.deadline]
family = "deadline"
severity = "warn"
since = 2023-06-20
source = "hs2023"
clause = "除跨年度实施项目以外,原则上所有项目要在2023年11月前实施完成"
title = { zh = "完成期限", en = "Deadline" }

[parameters."licence.modes"]
description = "d"
values = [ { since = 2023-06-20, value = ["online_async", "online_sync"], source = "hs2023", clause = "申报在线培训项目的单位(机构)须具备教师远程培训资质" } ]
[rules.licence]
family = "provider_licence"
severity = "fail"
since = 2023-06-20
source = "hs2023"
clause = "申报在线培训项目的单位(机构)须具备教师远程培训资质"
title = { zh = "远程培训资质", en = "Remote-training licence" }

[parameters."practice.min_share"]
description = "d"
values = [ { since = 2019-05-15, value = 0.3, source = "lz2019", clause = "一般不低于总课程的30%" } ]
[rules.practice]
family = "practice_share"
severity = "warn"
since = 2019-05-15
source = "lz2019"
clause = "加大实践型培训课程的设置比例,一般不低于总课程的30%"
title = { zh = "实践课程比例", en = "Practice share" }

[parameters."survey.min_share"]
description = "d"
values = [ { since = 2019-05-15, value = 0.3, source = "lz2019", clause = "选择不低于培训对象30%的样本" } ]
[rules.survey]
family = "survey_sample"
severity = "fail"
since = 2019-05-15
source = "lz2019"
clause = "选择不低于培训对象30%的样本,进行科学可行的调研取样"
title = { zh = "需求调研样本", en = "Needs-survey sample" }

[parameters."budget.numerator"]
description = "d"
values = [ { since = 2021-01-01, value = "training_budget", source = "by2022", clause = "教师培训经费" } ]
[parameters."budget.denominator"]
description = "d"
values = [ { since = 2021-01-01, value = "payroll_total", source = "by2022", clause = "当地教职工工资总额" } ]
[parameters."budget.min_share"]
description = "d"
values = [ { since = 2021-01-01, value = 0.02, source = "by2022", clause = "不低于当地教职工工资总额的2%" } ]
[parameters."budget.unit"]
description = "d"
values = [ { since = 2021-01-01, value = "cny", source = "by2022", clause = "元" } ]
[rules.budget]
family = "budget_floor"
severity = "fail"
since = 2021-01-01
source = "by2022"
clause = "教师培训经费坚持按不低于当地教职工工资总额的2%申报培训项目"
title = { zh = "培训经费下限", en = "Training budget floor" }

[parameters."trainers.numerator"]
description = "d"
values = [ { since = 2021-01-01, value = "trainer_team_size", source = "by2022", clause = "县级教师培训团队" } ]
[parameters."trainers.denominator"]
description = "d"
values = [ { since = 2021-01-01, value = "fulltime_teachers", source = "by2022", clause = "全县专任教师" } ]
[parameters."trainers.min_share"]
description = "d"
values = [ { since = 2021-01-01, value = 0.01, source = "by2022", clause = "不低于全县专任教师1:100的比例" } ]
[parameters."trainers.unit"]
description = "d"
values = [ { since = 2021-01-01, value = "count", source = "by2022", clause = "人" } ]
[rules.trainers]
family = "trainer_ratio"
severity = "fail"
since = 2021-01-01
source = "by2022"
clause = "按不低于全县专任教师1:100的比例…组建县级教师培训团队"
title = { zh = "培训者比例", en = "Trainer ratio" }
""", extends="national")


@pytest.fixture(scope="module")
def hs() -> Engine:
    return engine_with(HUANGSHI)


def project(**kw: Any) -> Project:
    base: dict[str, Any] = {
        "project_id": "P1", "level": "provincial", "mode": "in_person",
        "start_date": "2023-07-10", "end_date": "2023-07-24", "hours": 90,
    }
    return Project(**{**base, **kw})


def finding(d: Any, rule: str) -> Finding:
    (f,) = [f for f in d.findings if f.rule == rule]
    return f


AS_OF_2023 = D(2023, 12, 31)


class TestProjects:
    def test_only_project_rules_judge_a_project(self, hs: Engine) -> None:
        """A project is judged by project families only; the national person rules do not run."""
        d = hs.adjudicate(project(location_scope="in_province", headcount_planned=160, days=15, budget_cny=960000,
                                  total_course_hours=90, practice_hours=30, survey_sample_size=50, target_size=160),
                          region="hs_test", as_of=AS_OF_2023)
        assert d.subject.kind.value == "project"
        assert {f.rule for f in d.findings} == {
            "hs_test.deadline", "hs_test.expense", "hs_test.licence", "hs_test.practice", "hs_test.survey"
        }
        assert d.outcome is Outcome.PASS

    def test_e13_centralised_in_province_over_the_ceiling(self, hs: Engine) -> None:
        """E13: 160 people × 15 days × 400 = 960,000; a 1,000,000 budget is over by 40,000."""
        d = hs.adjudicate(project(location_scope="in_province", headcount_planned=160, days=15, budget_cny=1000000),
                          region="hs_test", as_of=AS_OF_2023)
        f = finding(d, "hs_test.expense")
        assert (f.outcome, f.measured, f.required, f.shortfall, f.unit) == (
            Outcome.FAIL, 1000000, 960000, 40000, "cny")
        assert d.outcome is Outcome.FAIL

    def test_e13_the_same_budget_out_of_province_passes(self, hs: Engine) -> None:
        """E13: out of the province the ceiling is 160 × 15 × 500 = 1,200,000."""
        d = hs.adjudicate(project(location_scope="out_of_province", headcount_planned=160, days=15,
                                  budget_cny=1000000), region="hs_test", as_of=AS_OF_2023)
        f = finding(d, "hs_test.expense")
        assert (f.outcome, f.required) == (Outcome.PASS, 1200000)

    def test_actual_headcount_settles_the_ceiling(self, hs: Engine) -> None:
        """HS11: with an actual headcount known, the ceiling follows it (150 × 15 × 400 = 900,000)."""
        d = hs.adjudicate(project(location_scope="in_province", headcount_planned=160, headcount_actual=150, days=15,
                                  budget_cny=960000), region="hs_test", as_of=AS_OF_2023)
        f = finding(d, "hs_test.expense")
        assert (f.outcome, f.required, f.shortfall) == (Outcome.FAIL, 900000, 60000)

    @pytest.mark.parametrize(
        ("mode", "headcount", "hours", "ceiling"),
        [
            ("online_async", 70, 90, 31500),  # 70 × 90 × 5
            ("online_sync", 80, 12, 38400),  # 80 × 12 × 40
            ("online_sync", 150, 12, 36000),  # 3000 × 12
            ("online_sync", 100, 12, 36000),  # both bands: 48,000 or 36,000; "stricter" takes 36,000
            ("online_sync", 99, 12, 47520),  # just inside the small band: 99 × 12 × 40
        ],
    )
    def test_e14_online_ceilings(self, hs: Engine, mode: str, headcount: int, hours: int, ceiling: int) -> None:
        """E14: a budget exactly at the ceiling passes; one yuan more fails."""
        kw = {"mode": mode, "headcount_planned": headcount, "hours": hours, "provider_remote_licence": True}
        at = finding(hs.adjudicate(project(budget_cny=ceiling, **kw), region="hs_test", as_of=AS_OF_2023),
                     "hs_test.expense")
        over = finding(hs.adjudicate(project(budget_cny=ceiling + 1, **kw), region="hs_test", as_of=AS_OF_2023),
                       "hs_test.expense")
        assert (at.outcome, at.required) == (Outcome.PASS, ceiling)
        assert (over.outcome, over.shortfall) == (Outcome.FAIL, 1)

    def test_the_tie_break_is_cited(self, hs: Engine) -> None:
        """At exactly 100 people the finding lists the sync_tie parameter it relied on."""
        d = hs.adjudicate(project(mode="online_sync", headcount_planned=100, hours=12, budget_cny=36000,
                                  provider_remote_licence=True), region="hs_test", as_of=AS_OF_2023)
        uses = {u.name: u.value for u in finding(d, "hs_test.expense").parameters}
        assert uses["expense.sync_tie"] == "stricter"

    def test_missing_budget_is_not_a_pass(self, hs: Engine) -> None:
        """A missing input takes the rule's severity and names the field."""
        f = finding(hs.adjudicate(project(location_scope="in_province", headcount_planned=160, days=15),
                                  region="hs_test", as_of=AS_OF_2023), "hs_test.expense")
        assert f.outcome is Outcome.FAIL and "budget_cny" in f.reason.en

    @pytest.mark.parametrize(
        ("end", "cross_year", "outcome", "late"),
        [
            ("2023-11-30", False, Outcome.PASS, 0),
            ("2023-12-05", False, Outcome.WARN, 5),  # E13: 原则上 → warn
            ("2024-03-01", True, Outcome.NOT_APPLICABLE, None),
        ],
    )
    def test_e13_deadline(self, hs: Engine, end: str, cross_year: bool, outcome: Outcome, late: int | None) -> None:
        """HS9: due by 2023-11-30 unless cross-year; late is a warning (原则上)."""
        d = hs.adjudicate(project(end_date=end, cross_year=cross_year), region="hs_test", as_of=D(2024, 3, 1))
        f = finding(d, "hs_test.deadline")
        assert (f.outcome, f.measured) == (outcome, late)

    @pytest.mark.parametrize(
        ("mode", "licence", "outcome"),
        [
            ("online_sync", True, Outcome.PASS),
            ("online_async", False, Outcome.FAIL),
            ("online_sync", None, Outcome.FAIL),
            ("in_person", None, Outcome.NOT_APPLICABLE),
        ],
    )
    def test_provider_licence(self, hs: Engine, mode: str, licence: bool | None, outcome: Outcome) -> None:
        """HS10: online projects need a licensed provider; unknown is not licensed."""
        d = hs.adjudicate(project(mode=mode, provider_remote_licence=licence), region="hs_test", as_of=AS_OF_2023)
        assert finding(d, "hs_test.licence").outcome is outcome

    @pytest.mark.parametrize(
        ("practice", "outcome", "share"),
        [(15, Outcome.WARN, Decimal("0.25")), (18, Outcome.PASS, Decimal("0.3"))],
    )
    def test_e06_practice_share(self, hs: Engine, practice: int, outcome: Outcome, share: Decimal) -> None:
        """E06: 15 of 60 h is 25 % (warn, 一般); 18 of 60 h is exactly 30 % and passes (不低于)."""
        d = hs.adjudicate(project(hours=60, total_course_hours=60, practice_hours=practice),
                          region="hs_test", as_of=AS_OF_2023)
        f = finding(d, "hs_test.practice")
        assert (f.outcome, f.measured, f.required) == (outcome, share, Decimal("0.3"))

    @pytest.mark.parametrize(("sample", "outcome"), [(300, Outcome.PASS), (299, Outcome.FAIL)])
    def test_survey_sample_boundary(self, hs: Engine, sample: int, outcome: Outcome) -> None:
        """L1: a sample of at least 30 % of the target; 300 of 1000 passes, 299 fails."""
        d = hs.adjudicate(project(survey_sample_size=sample, target_size=1000), region="hs_test", as_of=AS_OF_2023)
        assert finding(d, "hs_test.survey").outcome is outcome

    def test_a_rule_not_yet_in_force_does_not_judge(self, hs: Engine) -> None:
        """Before 2023-06-20 the Huangshi expense standard does not exist; Lanzhou's practice rule does."""
        d = hs.adjudicate(project(location_scope="in_province", headcount_planned=160, days=15, budget_cny=10**7,
                                  total_course_hours=60, practice_hours=18), region="hs_test", as_of=D(2023, 6, 19))
        assert {f.rule for f in d.findings} == {"hs_test.practice", "hs_test.survey"}


class TestUnits:
    @pytest.mark.parametrize(
        ("year", "payroll", "budget", "outcome", "floor", "short"),
        [
            (2021, 520_000_000, 10_770_000, Outcome.PASS, 10_400_000, 0),
            (2022, 580_000_000, 11_310_000, Outcome.FAIL, 11_600_000, 290_000),
            (2022, 580_000_000, 11_600_000, Outcome.PASS, 11_600_000, 0),  # exactly 2 % (不低于)
        ],
    )
    def test_e12_budget_floor(self, hs: Engine, year: int, payroll: int, budget: int, outcome: Outcome,
                              floor: int, short: int) -> None:
        """E12: the training budget is at least 2 % of payroll."""
        unit = Unit(unit_id="BY", year=year, payroll_total=payroll, training_budget=budget,
                    fulltime_teachers=100, trainer_team_size=1)
        d = hs.adjudicate(unit, region="hs_test", as_of=D(year, 12, 31))
        f = finding(d, "hs_test.budget")
        assert (f.outcome, f.required, f.shortfall, f.unit) == (outcome, floor, short, "cny")
        assert d.subject.kind.value == "unit" and d.outcome is outcome

    @pytest.mark.parametrize(("teachers", "outcome"), [(17_600, Outcome.PASS), (17_700, Outcome.FAIL)])
    def test_trainer_ratio(self, hs: Engine, teachers: int, outcome: Outcome) -> None:
        """NN8: 176 trainers cover 17,600 teachers at 1:100, not 17,700."""
        d = hs.adjudicate(Unit(unit_id="BY", year=2022, fulltime_teachers=teachers, trainer_team_size=176,
                               payroll_total=1, training_budget=1), region="hs_test", as_of=D(2022, 12, 31))
        assert finding(d, "hs_test.trainers").outcome is outcome

    def test_missing_field_names_it(self, hs: Engine) -> None:
        """A unit without payroll cannot pass the budget floor; the finding names the field."""
        d = hs.adjudicate(Unit(unit_id="BY", year=2022, training_budget=1), region="hs_test", as_of=D(2022, 12, 31))
        f = finding(d, "hs_test.budget")
        assert f.outcome is Outcome.FAIL and "payroll_total" in f.reason.en
