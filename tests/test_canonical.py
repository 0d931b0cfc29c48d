"""Canonical decision JSON: sorted keys, normalised decimals, and it re-reads to the same bytes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditrules import Engine
import json

from creditrules.canonical import canonical_json, dec, plain_json, read_decision
from creditrules.golden import load_cases
from creditrules.model import Citation, Finding, Outcome, ParameterUse, Reason
from creditrules.testing.strategies import histories

ROOT = Path(__file__).resolve().parents[1]
CASES = [case for path in sorted(ROOT.glob("plugins/*/tests/golden.toml")) for case in load_cases(path)]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_golden_decision_is_canonical_and_rereads(engine: Engine, case) -> None:  # type: ignore[no-untyped-def]
    if case.region not in engine.chains:
        pytest.skip(f"region {case.region} not installed")
    decision = engine.adjudicate(case.subject, case.records, region=case.region, as_of=case.as_of,
                                 known_at=case.known_at)
    text = canonical_json(decision)
    plain = json.loads(text)
    assert text == json.dumps(plain, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert canonical_json(read_decision(text)) == text


@given(st.text(), st.text(), st.decimals(allow_nan=False, allow_infinity=False, places=3))
def test_any_text_and_decimal_survive_the_round_trip(zh: str, en: str, value: Decimal) -> None:
    use = ParameterUse(name="x.y", value={"b": value, "a": [zh, True, None]}, since=dt.date(2020, 1, 1),
                       layer="l", citation=Citation(zh, en))
    plain = json.loads(canonical_json(use))
    assert plain["citation"] == {"source": zh, "text": en}
    assert Decimal(plain["value"]["b"]) == value and plain["value"]["a"] == [zh, True, None]
    assert json.loads(canonical_json(Reason(zh, en))) == {"zh": zh, "en": en}


@pytest.mark.parametrize(("raw", "text"), [("4.00", "4"), ("12.50", "12.5"), ("1E+2", "100"), ("0.000", "0"),
                                           ("-3.10", "-3.1"), ("1.333", "1.333")])
def test_decimals_are_written_normalised(raw: str, text: str) -> None:
    assert dec(Decimal(raw)) == text


# The compiled writers (canonical_json) must give the reference serialisation's
# bytes exactly: a decision's id is the hash of those bytes, so a writer that
# drifts by one character would break every stored ledger's replay.

@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_compiled_writer_matches_the_reference_on_every_golden_case(engine: Engine, case) -> None:  # type: ignore[no-untyped-def]
    if case.region not in engine.chains:
        pytest.skip(f"region {case.region} not installed")
    decision = engine.adjudicate(case.subject, case.records, region=case.region, as_of=case.as_of,
                                 known_at=case.known_at)
    assert canonical_json(decision) == plain_json(decision)
    reread = read_decision(plain_json(decision))  # parameter values as plain JSON, not Python types
    assert canonical_json(reread) == plain_json(reread)


@pytest.mark.parametrize("region", ["beihai", "lanzhou", "binyang"])
def test_compiled_writer_matches_the_reference_on_generated_histories(engine: Engine, region: str) -> None:
    as_of = dt.date(2020, 12, 31)

    @given(history=histories(region, as_of, engine=engine))
    def check(history) -> None:  # type: ignore[no-untyped-def]
        person, records = history
        decision = engine.adjudicate(person, records, region=region, as_of=as_of)
        assert canonical_json(decision) == plain_json(decision)

    check()


@given(st.text(), st.text(), st.decimals(allow_nan=False, allow_infinity=False))
def test_compiled_writer_escapes_text_and_decimals_like_json_dumps(zh: str, en: str, value: Decimal) -> None:
    finding = Finding(rule=zh, family=en, outcome=Outcome.WARN, reason=Reason(zh, en), citation=Citation(en, zh),
                      measured=value, records=(zh, en), item=zh)
    assert canonical_json(finding) == plain_json(finding)


@pytest.mark.parametrize("raw", ["sNaN", "NaN", "-0.00", "1E+3", "Infinity"])
def test_compiled_writer_takes_any_decimal_the_reference_takes(raw: str) -> None:
    from creditrules.model import Totals

    totals = Totals(hours=Decimal(raw), credits=None)
    assert canonical_json(totals) == plain_json(totals)
