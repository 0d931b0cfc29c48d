"""The seed's own totals as self-checks: Beihai's ten years of 国培 (表1, 表2) as sample projects."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import resources

import pytest

from creditrules import Engine
from creditrules.convert import read_projects

PROJECTS = resources.files("creditrules.samples").joinpath("beihai_projects.csv")


@pytest.fixture(scope="module")
def projects():  # type: ignore[no-untyped-def]
    with resources.as_file(PROJECTS) as path:
        return read_projects(path)


def test_yearly_trainees_sum_to_the_seeds_total(projects) -> None:  # type: ignore[no-untyped-def]
    assert [p.end_date.year for p in projects] == list(range(2010, 2020))
    assert sum(p.headcount_actual for p in projects) == 40089  # 表1 合计


def test_funds_sent_down_sum_to_the_seeds_totals(projects) -> None:  # type: ignore[no-untyped-def]
    # 表2: 国培下移 1072.61 万元 + 区培下移 449.65 万元, from 2015 on
    assert sum(p.budget_cny for p in projects) == (Decimal("1072.61") + Decimal("449.65")) * 10000


def test_every_year_gets_a_decision(projects) -> None:  # type: ignore[no-untyped-def]
    engine = Engine.load()
    if "beihai" not in engine.chains:
        pytest.skip("beihai is not installed")
    decisions = [engine.adjudicate(p, region="beihai", as_of=dt.date(2020, 12, 31)) for p in projects]
    assert [d.subject.id for d in decisions] == [p.project_id for p in projects]
    assert {d.outcome.value for d in decisions} == {"pass"}  # Beihai sets no project rule; nothing to fail
