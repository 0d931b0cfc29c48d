"""Lanzhou's golden cases (golden.toml): the worked examples of domain.md §3 and boundary cases.

Each case is adjudicated by an engine built from the *installed* plugins, the
way an integrator gets it, so the test also proves the entry point works.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from creditrules import Engine, Outcome
from creditrules.golden import load_cases, run_case
from creditrules.testing import golden_test, installed_engine

GOLDEN = Path(__file__).with_name("golden.toml")
CASES = load_cases(GOLDEN)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return installed_engine("lanzhou")


test_golden_case = golden_test(GOLDEN, regions=["lanzhou"])


def test_a_wrong_expectation_is_reported(engine: Engine) -> None:
    """The runner is not vacuous: flipping E06's expected practice-share outcome yields exactly that mismatch."""
    case = next(c for c in CASES if c.name.startswith("E06 practice share 15/60"))
    findings = tuple(
        attrs.evolve(f, outcome=Outcome.PASS) if f.rule == "lanzhou.practice_share" else f
        for f in case.expect.findings
    )
    wrong = attrs.evolve(case, expect=attrs.evolve(case.expect, findings=findings))
    assert [str(m) for m in run_case(engine, wrong)] == [
        "finding lanzhou.practice_share.outcome: expected pass, got warn"
    ]


def test_e09_conflict_fails_and_repeated_topic_warns(engine: Engine) -> None:
    """E09's two lanzhou.repeat_training findings (no period or item tells them apart in golden.toml)."""
    case = next(c for c in CASES if c.name.startswith("E09"))
    decision = engine.adjudicate(case.subject, case.records, region=case.region, as_of=case.as_of)
    found = sorted(
        (f.outcome.value, tuple(sorted(f.records))) for f in decision.findings if f.rule == "lanzhou.repeat_training"
    )
    assert found == [("fail", ("R1", "R2")), ("warn", ("R1", "R3"))]
    conflict = next(f for f in decision.findings if f.rule == "lanzhou.repeat_training" and f.outcome is Outcome.FAIL)
    assert "R2" in conflict.reason.zh and "R2 overlaps R1" in conflict.reason.en


def test_every_lanzhou_rule_cites_the_seed(engine: Engine) -> None:
    """Each Lanzhou rule in force quotes 兰教师〔2019〕213号, and the national repeat rule is off from 2019-05-15."""
    import datetime as dt

    rules = engine.rules("lanzhou", dt.date(2019, 5, 15))
    ids = {r.id for r, _ in rules}
    assert "national.repeat_training" not in ids
    lanzhou = [r for r, _ in rules if r.id.startswith("lanzhou.")]
    assert {r.id for r in lanzhou} == {
        "lanzhou.practice_share",
        "lanzhou.practice_gate",
        "lanzhou.trainer_minimum",
        "lanzhou.repeat_training",
        "lanzhou.survey_sample",
    }
    for r in lanzhou:
        assert "兰教师〔2019〕213号" in r.citation.source
    assert "national.repeat_training" in {r.id for r, _ in engine.rules("lanzhou", dt.date(2019, 5, 14))}
