"""A decision never depends on who was judged before it in the same process.

The engine keeps plans, parameter lookups, cycles and decimal text between
decisions, so a batch makes them once. Whether a person is judged first, last,
alone, in a fresh process or after someone judged in another decimal context,
their decision must be the same, byte for byte and value for value (10.0 hours
stays 10.0, not 10).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditrules import Engine, decision_json
from creditrules.model import Decision
from creditrules.testing.strategies import histories


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def _alone(region: str, as_of: dt.date, person, records) -> Decision:  # type: ignore[no-untyped-def]
    """The decision of a fresh engine (module-wide caches are keyed by chain and date, so they may be warm)."""
    return Engine.load().adjudicate(person, records, region=region, as_of=as_of)


def _exact(decision: Decision) -> list[tuple[str, ...]]:
    """Every finding's numbers as written in Python (``str`` keeps 10.0 apart from 10)."""
    return [(f.rule, str(f.item), str(f.measured), str(f.required), str(f.shortfall)) for f in decision.findings]


@pytest.mark.parametrize("region", ["beihai", "lanzhou", "binyang"])
def test_a_decision_does_not_depend_on_who_was_judged_before(engine: Engine, region: str) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(people=st.lists(histories(region, dt.date(2020, 12, 31), engine=engine), min_size=2, max_size=6),
           as_of=st.sampled_from([dt.date(2019, 6, 30), dt.date(2020, 12, 31)]))
    def check(people, as_of: dt.date) -> None:  # type: ignore[no-untyped-def]
        alone = [_alone(region, as_of, p, rs) for p, rs in people]
        for order in (people, people[::-1], people + people):
            for person, records in order:
                decision = engine.adjudicate(person, records, region=region, as_of=as_of)
                expected = alone[next(i for i, (p, _) in enumerate(people) if p is person)]
                assert decision_json(decision) == decision_json(expected)
                assert decision == expected and _exact(decision) == _exact(expected)

    check()


def test_equal_totals_written_differently_stay_apart(engine: Engine) -> None:
    """4.5 + 5.5 hours is 10.0; one record of 10 hours is 10: equal, but each decision keeps its own."""
    from creditrules.model import Person, TrainingRecord

    def record(pid: str, n: int, hours: str) -> TrainingRecord:
        return TrainingRecord(f"{pid}-{n}", pid, "county", "centralized", dt.date(2022, 3, n), dt.date(2022, 3, n),
                              hours)

    halves = (Person("T1"), [record("T1", 1, "4.5"), record("T1", 2, "5.5")])
    whole = (Person("T2"), [record("T2", 1, "10")])
    as_of = dt.date(2022, 12, 31)
    alone = [_alone("binyang", as_of, *who) for who in (halves, whole)]
    for first, second in ((halves, whole), (whole, halves)):
        _alone("binyang", as_of, *first)
        after = engine.adjudicate(*second, region="binyang", as_of=as_of)
        assert _exact(after) == _exact(alone[1 if second is whole else 0])
    measured = {str(d.subject.id): next(f for f in d.findings if f.family == "cycle_total").measured for d in alone}
    assert (str(measured["T1"]), str(measured["T2"])) == ("10.0", "10")


def test_a_callers_decimal_context_does_not_leak_into_another_callers_decision(engine: Engine) -> None:
    import decimal

    from creditrules.model import Person, TrainingRecord

    def who(pid: str) -> tuple[Person, list[TrainingRecord]]:
        return Person(pid), [TrainingRecord(f"{pid}-1", pid, "school", "remote", dt.date(2019, 3, 1),
                                            dt.date(2019, 3, 2), "7.77")]

    as_of = dt.date(2020, 12, 31)
    alone = _alone("beihai", as_of, *who("T2"))
    with decimal.localcontext(prec=3):  # T1 is judged first, with the table empty, in a 3-digit context
        _alone("beihai", as_of, *who("T1"))
    assert decision_json(engine.adjudicate(*who("T2"), region="beihai", as_of=as_of)) == decision_json(alone)
