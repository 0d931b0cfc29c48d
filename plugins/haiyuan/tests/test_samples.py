"""The sample population (src/creditrules_haiyuan/samples) decides as its README says."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest

from creditrules import Engine
from creditrules.batch import Population, adjudicate_population
from creditrules.convert import read_persons, read_records

# subject -> (outcome, {(rule, item) of every fail/warn finding})
EXPECTED_2020 = {
    "HY-T001": ("pass", {("haiyuan.repeat_selection", "HY-R001-03")}),
    # absent throughout: sanctioned (H4), and the record earns nothing (national.absence)
    "HY-T002": ("pass", {("haiyuan.sanctions", "excluded_from_awards_promotion"),
                         ("haiyuan.sanctions", "performance_pay_withheld"), ("national.absence", None)}),
    "HY-T003": ("pass", {("haiyuan.sanctions", "annual_appraisal_deduction")}),
    "HY-T004": ("pass", set()),
    "HY-T005": ("pass", set()),
    "HY-T006": ("pass", {("haiyuan.sanctions", "excluded_from_awards_promotion"),
                         ("haiyuan.sanctions", "performance_pay_withheld")}),
    "HY-T007": ("fail", {("national.cycle_hours", None)}),
    "HY-T008": ("pass", {("haiyuan.repeat_selection", "HY-R008-03"),
                         ("haiyuan.sanctions", "annual_appraisal_deduction")}),
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    engine = Engine.load()
    if "haiyuan" not in {r.id for r in engine.regions()}:
        pytest.skip("the haiyuan region is not installed: run `pip install -e plugins/haiyuan`")
    return engine


@pytest.fixture(scope="module")
def population() -> Population:
    samples = resources.files("creditrules_haiyuan").joinpath("samples")
    with resources.as_file(samples) as d:
        return Population.build(read_persons(d / "haiyuan_persons.csv"), read_records(d / "haiyuan_records.csv"))


def _summary(engine: Engine, population: Population, as_of: dt.date) -> dict[str, tuple[str, set]]:
    out = {}
    for decision in adjudicate_population(engine, population, region="haiyuan", as_of=as_of):
        flagged = {(f.rule, f.item) for f in decision.findings if f.outcome.value in ("fail", "warn")}
        out[decision.subject.id] = (decision.outcome.value, flagged)
    return out


def test_samples_as_of_2020(engine: Engine, population: Population) -> None:
    assert _summary(engine, population, dt.date(2020, 12, 31)) == EXPECTED_2020


def test_samples_as_of_2012_show_only_the_2012_warnings(engine: Engine, population: Population) -> None:
    """Judged on the seed's date, later records are ignored and the 2011–2015 cycle is pending."""
    got = _summary(engine, population, dt.date(2012, 12, 31))
    assert got == {
        "HY-T001": ("pass", {("haiyuan.repeat_selection", "HY-R001-03")}),
        "HY-T002": ("pass", {("haiyuan.sanctions", "excluded_from_awards_promotion"),
                             ("haiyuan.sanctions", "performance_pay_withheld"), ("national.absence", None)}),
        "HY-T003": ("pass", {("haiyuan.sanctions", "annual_appraisal_deduction")}),
        "HY-T004": ("pass", set()),
        "HY-T005": ("pass", set()),
        "HY-T006": ("pass", {("haiyuan.sanctions", "excluded_from_awards_promotion"),
                             ("haiyuan.sanctions", "performance_pay_withheld")}),
        "HY-T007": ("pass", set()),
        "HY-T008": ("pass", set()),
    }
