"""The sample population (src/creditrules_lanzhou/samples) decides as its README says, as of 2020-12-31."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest

from creditrules import Engine
from creditrules.batch import Population, adjudicate_population
from creditrules.convert import read_persons, read_projects, read_records

AS_OF = dt.date(2020, 12, 31)

EXPECTED = {
    "LZ-T001": ("pass", set()),
    "LZ-T002": ("fail", {"lanzhou.practice_gate", "national.cycle_hours"}),
    "LZ-T003": ("fail", {"lanzhou.repeat_training"}),
    "LZ-T004": ("fail", {"lanzhou.trainer_minimum"}),
    "LZ-T005": ("pass", set()),
    "LZ-T006": ("pass", set()),
    "LZ-T007": ("fail", {"national.cycle_hours"}),
    "LZ-T008": ("fail", {"lanzhou.practice_gate"}),
    "LZ-P2020-01": ("pass", set()),
    "LZ-P2020-02": ("pass", {"lanzhou.practice_share"}),
    "LZ-P2020-03": ("fail", {"lanzhou.practice_share", "lanzhou.survey_sample"}),
    "LZ-P2020-04": ("fail", {"lanzhou.survey_sample"}),
    "LZ-P2020-05": ("pass", set()),
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    engine = Engine.load()
    if "lanzhou" not in {r.id for r in engine.regions()}:
        pytest.skip("the lanzhou region is not installed: run `pip install -e plugins/lanzhou`")
    return engine


def test_samples_decide_as_documented(engine: Engine) -> None:
    samples = resources.files("creditrules_lanzhou").joinpath("samples")
    with resources.as_file(samples) as d:
        population = Population.build(
            read_persons(d / "lanzhou_persons.csv"),
            read_records(d / "lanzhou_records.csv"),
            read_projects(d / "lanzhou_projects.csv"),
        )
    got = {}
    for decision in adjudicate_population(engine, population, region="lanzhou", as_of=AS_OF):
        flagged = {f.rule for f in decision.findings if f.outcome.value in ("fail", "warn")}
        got[decision.subject.id] = (decision.outcome.value, flagged)
    assert got == EXPECTED
