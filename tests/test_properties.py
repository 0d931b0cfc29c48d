"""The consistency properties, for every installed region: what the product promises of each plugin.

One test per (region, property), run with the quick ``creditrules-ci``
hypothesis profile (25 examples each, reproducible) unless
``--hypothesis-profile`` names another::

    python -m pytest tests/test_properties.py --hypothesis-profile creditrules-thorough

``docs/explanation/properties.md`` says what each property guarantees and how
to read a failure.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

from creditrules import Engine
from creditrules.testing import CI, property_names, run_property


def _load() -> tuple[Engine | None, list[str], str]:
    try:
        engine = Engine.load()
    except Exception as exc:  # shown by the test below, not as a collection crash
        return None, [], f"{type(exc).__name__}: {exc}"
    return engine, [r.id for r in engine.regions()], "; ".join(engine.load_errors)


ENGINE, REGIONS, LOAD_PROBLEMS = _load()


def test_every_installed_plugin_loaded() -> None:
    """A plugin skipped at load would silently drop its region from the tests below."""
    assert ENGINE is not None and not LOAD_PROBLEMS, LOAD_PROBLEMS


@pytest.mark.parametrize("prop", property_names())
@pytest.mark.parametrize("region", REGIONS)
def test_property(region: str, prop: str, request: pytest.FixtureRequest) -> None:
    """``region`` satisfies the consistency property ``prop``."""
    assert ENGINE is not None
    profile = request.config.getoption("hypothesis_profile", None) or CI
    run_property(prop, ENGINE, region, settings=settings.get_profile(profile))
