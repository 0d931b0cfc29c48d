"""Beihai's golden cases (golden.toml): the worked examples of domain.md §3 and boundary cases.

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
    return installed_engine("beihai")


test_golden_case = golden_test(GOLDEN, regions=["beihai"])


def test_a_wrong_expectation_is_reported(engine: Engine) -> None:
    """The runner is not vacuous: flipping E02's expected school-based outcome yields exactly that mismatch."""
    case = next(c for c in CASES if c.name.startswith("E02"))
    findings = tuple(
        attrs.evolve(f, outcome=Outcome.PASS) if f.item == "school_based" else f for f in case.expect.findings
    )
    wrong = attrs.evolve(case, expect=attrs.evolve(case.expect, findings=findings))
    assert [str(m) for m in run_case(engine, wrong)] == [
        "finding guangxi.annual@2019-12-31[school_based].outcome: expected pass, got fail"
    ]
