"""Shared test fixtures: the fuzz suite's tally, printed at the end of the run."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest

#: reader → outcome → count, filled by tests/test_fuzz.py; printed by the summary hook below.
FUZZ_COUNTS: defaultdict[str, Counter[str]] = defaultdict(Counter)


@pytest.fixture(scope="session")
def fuzz_counts() -> defaultdict[str, Counter[str]]:
    """The session's fuzz tally: ``fuzz_counts[reader][outcome] += 1`` per case tried."""
    return FUZZ_COUNTS


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not FUZZ_COUNTS:
        return
    terminalreporter.section("fuzz: cases tried and their outcomes")
    width = max(len(r) for r in FUZZ_COUNTS) + 2
    for reader in sorted(FUZZ_COUNTS):
        tally = FUZZ_COUNTS[reader]
        outcomes = " · ".join(f"{o} {n}" for o, n in sorted(tally.items()) if o != "cases")
        terminalreporter.write_line(f"{reader:<{width}}{tally['cases']:>6} cases: {outcomes}")
    total = sum(c["cases"] for c in FUZZ_COUNTS.values())
    verdict = ("every one ended in a decision or a structured refusal" if exitstatus == 0
               else "see the failures above")
    terminalreporter.write_line(f"{total} cases in all; {verdict}.")
