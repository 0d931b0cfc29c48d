"""Golden cases as pytest tests, in one line of a plugin's test module::

    from creditrules.testing import golden_test, installed_engine

    test_golden_case = golden_test(Path(__file__).with_name("golden.toml"), regions=["beihai"])

Each case becomes one test, named after the case; a failure lists every way the
decision differs from the expectation. The engine is built from the
*installed* plugins — the way an integrator gets it — so the test also proves
the entry point works; it skips, saying what to install, when a region is
missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

from ..engine import Engine
from ..golden import GoldenCase, load_cases, run_case

__all__ = ["golden_test", "installed_engine"]


@cache
def _engine() -> Engine:
    return Engine.load()


def installed_engine(*regions: str) -> Engine:
    """The engine of the installed plugins (built once); skips the test if a region is missing."""
    import pytest

    engine = _engine()
    missing = sorted(set(regions) - set(engine.chains))
    if missing:
        pytest.skip(f"region {', '.join(missing)} is not installed: pip install -e the plugin that provides it")
    return engine


def golden_test(path: str | Path, *, regions: Iterable[str]) -> Callable[[GoldenCase], None]:
    """A pytest test function parametrized over the cases of the golden file at ``path``."""
    import pytest

    source = Path(path)
    cases = load_cases(source)
    needed = tuple(regions)

    @pytest.mark.parametrize("case", cases, ids=[c.name for c in cases])
    def test_golden_case(case: GoldenCase) -> None:
        mismatches = run_case(installed_engine(*needed), case)
        assert mismatches == [], f"{case.name} ({case.source or source.name}):\n" + "\n".join(
            f"  {m}" for m in mismatches
        )

    return test_golden_case
