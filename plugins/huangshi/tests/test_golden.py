"""Huangshi golden cases (golden.toml), the 2023 plan as sample data, and ruleset checks.

Each case is adjudicated by an engine built from the *installed* plugins, the
way an integrator gets it, so the test also proves the entry point works.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from creditrules import Decision, Engine, Outcome
from creditrules.batch import Population, adjudicate_population
from creditrules.convert import read_persons, read_projects, read_records
from creditrules.golden import load_cases, run_case
from creditrules.testing import golden_test, installed_engine

GOLDEN = Path(__file__).with_name("golden.toml")
CASES = load_cases(GOLDEN)
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "creditrules_huangshi"
SAMPLES = PACKAGE / "samples"
SEED = Path(__file__).resolve().parents[4] / "shared" / "seeds" / "004_36b8d74ccc10ad5d.txt"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return installed_engine("huangshi")


test_golden_case = golden_test(GOLDEN, regions=["huangshi"])


def test_a_wrong_expectation_is_reported(engine: Engine) -> None:
    """The runner is not vacuous: expecting the lenient 48,000 at exactly 100 people yields that mismatch."""
    case = next(c for c in CASES if c.name.startswith("E14 live online, exactly 100"))
    findings = tuple(
        attrs.evolve(f, amounts=(("required", Decimal(48000)),)) if f.rule == "huangshi.expense_standard" else f
        for f in case.expect.findings
    )
    wrong = attrs.evolve(case, expect=attrs.evolve(case.expect, findings=findings))
    assert [str(m) for m in run_case(engine, wrong)] == [
        "finding huangshi.expense_standard.required: expected 48000, got 36000"
    ]


# -- the layer -------------------------------------------------------------------------


def test_chain_and_rules(engine: Engine) -> None:
    info = next(r for r in engine.regions() if r.id == "huangshi")
    assert (info.chain, info.plugin, info.name_zh) == (("national", "hubei", "huangshi"), "huangshi", "黄石市")
    def ids(on: dt.date) -> set[str]:
        return {r.id for r, _ in engine.rules("huangshi", on)}

    ours = {"huangshi.expense_standard", "huangshi.deadline", "huangshi.provider_licence"}
    assert ours.isdisjoint(ids(dt.date(2023, 6, 19)))
    assert ours <= ids(dt.date(2023, 6, 20))
    severities = {r.id: r.severity for r, _ in engine.rules("huangshi", dt.date(2023, 6, 20)) if r.id in ours}
    assert severities == {
        "huangshi.expense_standard": "fail",
        "huangshi.deadline": "warn",
        "huangshi.provider_licence": "fail",
    }


def test_hubei_layer_adds_nothing(engine: Engine) -> None:
    """The Wuhan-era values (HB1–HB6) are kept out of the provincial layer: the national defaults apply."""
    hubei = engine.chain("huangshi").layers[1]
    assert hubei.id == "hubei"
    assert (dict(hubei.parameters), hubei.rules, hubei.disables) == ({}, (), ())
    chain = engine.chain("huangshi")
    assert chain.param("new_teacher.minimum", dt.date(2024, 8, 31)).value == 120
    assert chain.param("cycle_hours.minimum", dt.date(2024, 8, 31)).value == 360


def test_the_tie_is_traced(engine: Engine) -> None:
    """At exactly 100 people the finding records the sync_tie parameter it used; at 99 it does not."""
    def uses(name: str) -> set[str]:
        case = next(c for c in CASES if c.name.startswith(name))
        d = engine.adjudicate(case.subject, region="huangshi", as_of=case.as_of)
        return {u.name for u in d.finding("huangshi.expense_standard").parameters}

    assert "expense_standard.sync_tie" in uses("HS-S1")
    assert "expense_standard.sync_tie" not in uses("HS-S2")


# -- the clauses quote the seed ----------------------------------------------------------


def test_clauses_quote_the_seed_verbatim() -> None:
    """Every fragment of every clause (joined by …) occurs in the seed, the PDF's layout spaces aside."""
    if not SEED.is_file():
        pytest.skip(f"seed file not available at {SEED}")
    seed = re.sub(r"\s+", "", SEED.read_text(encoding="utf-8"))
    doc = tomllib.loads((PACKAGE / "huangshi.toml").read_text(encoding="utf-8"))
    clauses = [v["clause"] for p in doc["parameters"].values() for v in p["values"]]
    clauses += [r["clause"] for r in doc["rules"].values()]
    assert len(clauses) == 14
    missing = [frag for c in clauses for frag in c.split("…") if re.sub(r"\s+", "", frag) not in seed]
    assert missing == []


# -- the 2023 plan as sample data ---------------------------------------------------------

SAMPLE_AS_OF = dt.date(2024, 8, 31)


def test_samples_name_their_date() -> None:
    """huangshi_as_of.txt tells `creditrules demo` to judge on the sample new teachers' last probation day."""
    assert dt.date.fromisoformat((SAMPLES / "huangshi_as_of.txt").read_text(encoding="utf-8").strip()) == SAMPLE_AS_OF


def test_sample_plan_totals_match_the_seed() -> None:
    """国培: 13 projects, 1447 people, within 614万; 省培: 5 projects, 290 people, within 174万 (HS1–HS3)."""
    projects = read_projects(SAMPLES / "huangshi_projects.csv")
    by_level = {
        level: [p for p in projects if p.level.value == level] for level in ("national", "provincial")
    }
    assert len(projects) == 18
    assert (len(by_level["national"]), len(by_level["provincial"])) == (13, 5)
    assert sum(p.headcount_planned or 0 for p in by_level["national"]) == 1447
    assert sum(p.headcount_planned or 0 for p in by_level["provincial"]) == 290
    national_budget = sum((p.budget_cny or Decimal(0) for p in by_level["national"]), Decimal(0))
    provincial_budget = sum((p.budget_cny or Decimal(0) for p in by_level["provincial"]), Decimal(0))
    assert (national_budget, provincial_budget) == (Decimal(5_291_500), Decimal(1_400_000))
    assert national_budget <= 6_140_000 and provincial_budget <= 1_740_000
    assert {p.project_id for p in projects if p.cross_year} == {"GP-11", "GP-12", "GP-13", "SP-01", "SP-02"}


@pytest.fixture(scope="module")
def sample_decisions(engine: Engine) -> list[Decision]:
    population = Population.build(
        read_persons(SAMPLES / "huangshi_persons.csv"),
        read_records(SAMPLES / "huangshi_records.csv"),
        projects=read_projects(SAMPLES / "huangshi_projects.csv"),
    )
    return list(adjudicate_population(engine, population, region="huangshi", as_of=SAMPLE_AS_OF))


def test_every_sample_project_gets_a_decision(sample_decisions: list[Decision]) -> None:
    projects = {d.subject.id: d for d in sample_decisions if d.subject.kind.value == "project"}
    assert sorted(projects) == [f"GP-{i:02d}" for i in range(1, 14)] + [f"SP-{i:02d}" for i in range(1, 6)]
    for d in projects.values():
        assert {f.rule for f in d.findings} == {
            "huangshi.expense_standard",
            "huangshi.deadline",
            "huangshi.provider_licence",
        }
    failed = {pid: sorted(f.rule for f in d.findings if f.outcome is Outcome.FAIL)
              for pid, d in projects.items() if d.outcome is Outcome.FAIL}
    assert failed == {
        "GP-04": ["huangshi.expense_standard"],  # duration and budget not stated
        "GP-05": ["huangshi.provider_licence"],  # licence not recorded before the tender
        "SP-03": ["huangshi.expense_standard"],
    }
    exempt = {pid for pid, d in projects.items() if d.finding("huangshi.deadline").outcome is Outcome.NOT_APPLICABLE}
    assert exempt == {"GP-11", "GP-12", "GP-13", "SP-01", "SP-02"}
    assert all(d.finding("huangshi.deadline").outcome is not Outcome.WARN for d in projects.values())


def test_sample_teachers(sample_decisions: list[Decision]) -> None:
    persons = {d.subject.id: d for d in sample_decisions if d.subject.kind.value == "person"}
    got = {pid: (d.outcome.value, d.totals.hours) for pid, d in persons.items()}
    assert got == {
        "HS-T01": ("pass", Decimal(210)),
        "HS-T02": ("fail", Decimal(100)),
        "HS-T03": ("pass", Decimal(124)),
        "HS-T04": ("pass", Decimal(216)),
    }
    assert persons["HS-T02"].finding("national.new_teacher").shortfall == 20
    assert persons["HS-T04"].ignored_records == ("HS-R0012",)
