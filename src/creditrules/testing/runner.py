"""Running the properties with hypothesis: one property, or every property of a region."""

from __future__ import annotations

from collections.abc import Iterable

import hypothesis
from hypothesis import given

from ..engine import Engine
from .profiles import RELAXED
from .properties import Property, property_registry
from .strategies import PropertyCase, cases

__all__ = ["check_region", "property_names", "run_property"]


def property_names() -> list[str]:
    """The names of every property, in the order :func:`check_region` runs them."""
    return list(property_registry())


def _settings(base: hypothesis.settings | None, max_examples: int | None) -> hypothesis.settings:
    parent = base if base is not None else hypothesis.settings.default
    assert parent is not None
    # One AssertionError, never an ExceptionGroup of several: callers catch AssertionError.
    return hypothesis.settings(
        parent,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=tuple({*parent.suppress_health_check, *RELAXED}),
        max_examples=max_examples if max_examples is not None else parent.max_examples,
    )


def run_property(
    prop: str | Property,
    engine: Engine,
    region: str,
    *,
    settings: hypothesis.settings | None = None,
    max_examples: int | None = None,
) -> None:
    """Search for a counter-example to ``prop`` in ``region``; raise its AssertionError if one is found.

    Inputs come from :func:`~creditrules.testing.strategies.cases` (a judgment
    date, and a person with history, a project or a unit, as the property
    needs). ``settings`` defaults to the current hypothesis profile (what
    ``--hypothesis-profile`` selected); ``max_examples`` overrides its count.
    The error's notes hold hypothesis' falsifying example.
    """
    p = property_registry()[prop] if isinstance(prop, str) else prop
    chain = engine.chain(region)  # UnknownRegion now, not inside hypothesis
    strategy = cases(chain, engine=engine, kinds=p.kinds)

    @_settings(settings, max_examples)
    @given(case=strategy)
    def holds(case: PropertyCase) -> None:
        p.check(engine, region, case.as_of, case.subject, case.records)

    holds.__name__ = holds.__qualname__ = f"{p.name}[{region}]"
    holds()


def _message(exc: BaseException) -> str:
    notes = getattr(exc, "__notes__", [])
    return "\n".join([str(exc), *notes])


def check_region(
    engine: Engine,
    region: str,
    *,
    max_examples: int | None = None,
    settings: hypothesis.settings | None = None,
    properties: Iterable[str] | None = None,
) -> None:
    """Run every property (or those named) for ``region``; one AssertionError lists every failure."""
    names = list(properties) if properties is not None else property_names()
    failures: list[tuple[str, AssertionError]] = []
    for name in names:
        try:
            run_property(name, engine, region, settings=settings, max_examples=max_examples)
        except AssertionError as exc:
            failures.append((name, exc))
    if failures:
        body = "\n\n".join(f"--- {name}\n{_message(exc)}" for name, exc in failures)
        raise AssertionError(
            f"{region}: {len(failures)} of {len(names)} properties failed "
            f"({', '.join(n for n, _ in failures)})\n\n{body}"
        )
