"""The creditrules pytest plugin: the property suite for every installed region, on request.

Loaded in any environment where creditrules is installed, through the
``pytest11`` entry point (``creditrules = "creditrules.testing.pytest_plugin"``).
It does nothing unless asked::

    pytest --creditrules-properties                        # every installed region
    pytest --creditrules-properties --creditrules-region wuhan --creditrules-region beihai
    pytest --creditrules-properties --hypothesis-profile creditrules-thorough

One test item is collected per (region, property), named
``creditrules[<region>-<property>]``, so ``-k wuhan`` or ``-k boundaries``
selects as usual. Items use the profile ``--hypothesis-profile`` names, and
``creditrules-ci`` when none is named. ``-p no:creditrules`` disables the
plugin altogether.

This module imports only pytest at load time: hypothesis and the engine are
imported when the suite is requested, so an ordinary test run pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..engine import Engine

__all__ = ["PropertyItem"]

OPTION = "--creditrules-properties"
REGION_OPTION = "--creditrules-region"
_engine_key = pytest.StashKey["Engine"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("creditrules", "creditrules consistency properties")
    group.addoption(
        OPTION,
        action="store_true",
        default=False,
        help="Run the creditrules consistency properties against installed regions (one item per region × property).",
    )
    group.addoption(
        REGION_OPTION,
        action="append",
        default=[],
        metavar="REGION",
        help="Only this region (repeatable); default: every installed region.",
    )


def _wanted(config: pytest.Config) -> bool:
    return bool(config.getoption(OPTION))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "creditrules_property(region, name): a creditrules consistency property item")
    profile = config.getoption("hypothesis_profile", None)
    if _wanted(config) or (isinstance(profile, str) and profile.startswith("creditrules-")):
        # Registered before hypothesis' own pytest_configure loads the profile by name.
        from . import profiles

        profiles.register_profiles()


class PropertyItem(pytest.Item):
    """One consistency property of one region."""

    def __init__(self, *, region: str, prop: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.region = region
        self.prop = prop
        self.add_marker(pytest.mark.creditrules_property(region, prop))

    def runtest(self) -> None:
        from hypothesis import settings

        from .runner import run_property

        profile = self.config.getoption("hypothesis_profile", None)
        chosen = settings.get_profile(profile) if profile else settings.get_profile("creditrules-ci")
        run_property(self.prop, _engine(self.config), self.region, settings=chosen)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, AssertionError):
            notes = getattr(excinfo.value, "__notes__", [])
            return "\n".join([str(excinfo.value), *notes])
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"creditrules property {self.prop} of region {self.region}"


class PropertySuite(pytest.Collector):
    """The property items of the regions asked for."""

    def collect(self) -> Iterator[pytest.Item]:
        from .runner import property_names

        engine = _engine(self.config)
        installed = [r.id for r in engine.regions()]
        asked = self.config.getoption(REGION_OPTION) or installed
        unknown = sorted(set(asked) - set(installed))
        if unknown:
            raise pytest.UsageError(
                f"{REGION_OPTION}: not installed: {', '.join(unknown)} (installed: {', '.join(installed) or 'none'})"
            )
        for region in asked:
            for prop in property_names():
                yield PropertyItem.from_parent(self, name=f"{region}-{prop}", region=region, prop=prop)


def _engine(config: pytest.Config) -> Engine:
    engine = config.stash.get(_engine_key, None)
    if engine is None:
        from ..engine import Engine

        engine = config.stash[_engine_key] = Engine.load()
    return engine


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: the items are in place before -k and -m deselect.
    if not _wanted(config):
        return
    suite = PropertySuite.from_parent(session, name="creditrules", nodeid="creditrules")
    added: list[pytest.Item | pytest.Collector] = list(suite.collect())
    items.extend(item for item in added if isinstance(item, pytest.Item))
    # Report them like collected items, so "collected N items" and --collect-only count them.
    session.ihook.pytest_collectreport(report=pytest.CollectReport(suite.nodeid, "passed", None, added))
