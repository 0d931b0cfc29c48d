"""Haiyuan's golden cases (golden.toml): the worked example of domain.md §3 (E10) and boundary cases.

Each case is adjudicated by an engine built from the *installed* plugins, the
way an integrator gets it, so the test also proves the entry point works.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import creditrules_haiyuan
import pytest

from creditrules import Engine, Outcome, hookimpl, parse_ruleset
from creditrules.golden import load_cases, run_case
from creditrules.testing import golden_test, installed_engine

GOLDEN = Path(__file__).with_name("golden.toml")
CASES = load_cases(GOLDEN)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return installed_engine("haiyuan")


test_golden_case = golden_test(GOLDEN, regions=["haiyuan"])


def test_a_wrong_expectation_is_reported(engine: Engine) -> None:
    """The runner is not vacuous: expecting E10's repeat to pass yields exactly that mismatch."""
    case = next(c for c in CASES if c.name.startswith("E10 repeat"))
    findings = tuple(
        attrs.evolve(f, outcome=Outcome.PASS) if f.rule == "haiyuan.repeat_selection" else f
        for f in case.expect.findings
    )
    wrong = attrs.evolve(case, expect=attrs.evolve(case.expect, findings=findings))
    assert [str(m) for m in run_case(engine, wrong)] == [
        "finding haiyuan.repeat_selection@2012-12-31[R2012].outcome: expected pass, got warn"
    ]


def _flags(decision) -> list[str]:
    return sorted(f.item for f in decision.findings if f.rule == "haiyuan.sanctions" and f.item)


def test_e10_failed_only_is_not_not_completed(engine: Engine) -> None:
    """E10 Y: a failure raises the H3 flag and not the H4 flags (golden.toml cannot assert an absence)."""
    case = next(c for c in CASES if c.name.startswith("E10 teacher Y"))
    decision = engine.adjudicate(case.subject, case.records, region=case.region, as_of=case.as_of)
    assert _flags(decision) == ["annual_appraisal_deduction"]
    finding = next(f for f in decision.findings if f.item == "annual_appraisal_deduction")
    assert "annual_appraisal_deduction" in finding.reason.zh and "annual_appraisal_deduction" in finding.reason.en
    assert "扣除相应的分数" in finding.reason.zh


def test_e10_not_completed_only_is_not_failed(engine: Engine) -> None:
    case = next(c for c in CASES if c.name.startswith("E10 teacher X"))
    decision = engine.adjudicate(case.subject, case.records, region=case.region, as_of=case.as_of)
    assert _flags(decision) == ["excluded_from_awards_promotion", "performance_pay_withheld"]
    assert all(
        f.item in f.reason.en and f.item in f.reason.zh for f in decision.findings if f.rule == "haiyuan.sanctions"
    )


class _Strict:
    """A test layer over Haiyuan that reads 不合格 as 不能完成 too (the other side of the E10 ambiguity)."""

    @hookimpl
    def creditrules_rulesets(self):
        return [parse_ruleset(
            """
schema = "creditrules.ruleset/1"
id = "haiyuan_strict"
extends = "haiyuan"
name = { zh = "海原县(严格)", en = "Haiyuan, strict reading" }

[sources.test]
title = "test layer: the other reading of H3/H4"
[parameters."sanctions.failed_counts_as_not_completed"]
description = "failed counts as not completed"
override = true
values = [{ since = 2012-07-01, value = true, source = "test", clause = "test" }]
[parameters."sanctions.missing_result_counts_as_not_completed"]
description = "no result counts as not completed"
override = true
values = [{ since = 2012-07-01, value = true, source = "test", clause = "test" }]
""",
            "test:haiyuan_strict",
        )]


def test_the_other_reading_is_one_parameter_away() -> None:
    """failed_counts_as_not_completed / missing_result_counts_as_not_completed switch the H4 flags on."""
    engine = Engine.load([creditrules_haiyuan, _Strict()], entry_points=False)
    y = next(c for c in CASES if c.name.startswith("E10 teacher Y"))
    decision = engine.adjudicate(y.subject, y.records, region="haiyuan_strict", as_of=y.as_of)
    assert _flags(decision) == [
        "annual_appraisal_deduction", "excluded_from_awards_promotion", "performance_pay_withheld"
    ]
    none = next(c for c in CASES if c.name.startswith("sanctions: no recorded result"))
    decision = engine.adjudicate(none.subject, none.records, region="haiyuan_strict", as_of=none.as_of)
    assert _flags(decision) == ["excluded_from_awards_promotion", "performance_pay_withheld"]


def test_bad_parameter_values_are_refused_at_load() -> None:
    """The families check their parameter values when the engine loads, naming the key."""
    from creditrules import RulesetError

    class _Bad:
        @hookimpl
        def creditrules_rulesets(self):
            return [parse_ruleset(
                """
schema = "creditrules.ruleset/1"
id = "haiyuan_bad"
extends = "haiyuan"
name = { zh = "坏", en = "bad" }
[parameters."repeat_selection.match_on"]
description = "x"
override = true
values = [{ since = 2012-07-01, value = ["school_id"], source = "test", clause = "test" }]
""",
                "test:haiyuan_bad",
            )]

    with pytest.raises(RulesetError, match="match_on"):
        Engine.load([creditrules_haiyuan, _Bad()], entry_points=False)


def test_rules_are_in_force_from_2012_07_01(engine: Engine) -> None:
    before = {r.id for r, _ in engine.rules("haiyuan", dt.date(2012, 6, 30))}
    after = {r.id for r, _ in engine.rules("haiyuan", dt.date(2012, 7, 1))}
    assert not {"haiyuan.repeat_selection", "haiyuan.sanctions"} & before
    assert {"haiyuan.repeat_selection", "haiyuan.sanctions"} <= after
