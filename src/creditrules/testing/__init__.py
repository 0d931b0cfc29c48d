"""creditrules.testing: strategies and consistency properties every region gets for free.

A public, documented kit for rule authors (``docs/explanation/properties.md``):

* **strategies** (hypothesis) for valid input shaped by a region's rules —
  :func:`persons`, :func:`records`, :func:`histories`, :func:`projects`,
  :func:`units` — and near-boundary values of its thresholds,
  :func:`boundary_values`;
* **properties**, each a function ``check_<name>(engine, region, as_of,
  subject, records)`` raising :class:`AssertionError` with a clear message:
  determinism, order invariance, as-of stability, duplicate idempotence,
  monotonicity, caps and conservation, boundaries, round trip, layering,
  totality;
* **runners**: :func:`run_property` (one property, hypothesis searching for a
  counter-example) and :func:`check_region` (all of them);
* a **pytest plugin** (:mod:`creditrules.testing.pytest_plugin`, loaded through
  the ``pytest11`` entry point): ``pytest --creditrules-properties``;
* two **hypothesis profiles**, ``creditrules-ci`` and ``creditrules-thorough``
  (:mod:`creditrules.testing.profiles`).

In a plugin's tests::

    from hypothesis import settings
    from creditrules import Engine
    from creditrules.testing import CI, check_region

    def test_properties():
        check_region(Engine.load(), "wuhan", settings=settings.get_profile(CI))

The names below need hypothesis (``pip install creditrules[test]``). They are
loaded on first use, so importing this package — as pytest does for the plugin
in every project where creditrules is installed — costs nothing and needs no
hypothesis.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .boundaries import check_boundaries
    from .goldentests import golden_test, installed_engine
    from .inline import InlinePlugin
    from .profiles import CI, THOROUGH, register_profiles
    from .properties import (
        Check,
        Property,
        check_as_of_stability,
        check_caps_and_conservation,
        check_determinism,
        check_duplicate_idempotence,
        check_layering,
        check_monotonicity,
        check_order_invariance,
        check_round_trip,
        check_row_refused,
        check_row_total,
        check_totality,
        property_registry,
    )
    from .runner import check_region, property_names, run_property
    from .strategies import (
        BoundaryValue,
        PropertyCase,
        Threshold,
        as_of_dates,
        boundary_values,
        cases,
        default_engine,
        histories,
        invalid_record_rows,
        junk_record_rows,
        one_decimal,
        persons,
        projects,
        records,
        threshold_parameters,
        units,
    )

__all__ = [
    "BoundaryValue",
    "InlinePlugin",
    "golden_test",
    "installed_engine",
    "CI",
    "Check",
    "Property",
    "PropertyCase",
    "THOROUGH",
    "Threshold",
    "as_of_dates",
    "boundary_values",
    "cases",
    "check_as_of_stability",
    "check_boundaries",
    "check_caps_and_conservation",
    "check_determinism",
    "check_duplicate_idempotence",
    "check_layering",
    "check_monotonicity",
    "check_order_invariance",
    "check_region",
    "check_round_trip",
    "check_row_refused",
    "check_row_total",
    "check_totality",
    "default_engine",
    "histories",
    "invalid_record_rows",
    "junk_record_rows",
    "one_decimal",
    "persons",
    "projects",
    "property_names",
    "property_registry",
    "records",
    "register_profiles",
    "run_property",
    "threshold_parameters",
    "units",
]


#: The modules the names above come from, each listing its own in ``__all__``.
#: ``goldentests`` and ``inline`` come first: they need no hypothesis, so their names load without it.
_MODULES = ("goldentests", "inline", "profiles", "properties", "boundaries", "runner", "strategies")


def __getattr__(name: str) -> Any:
    # __all__ is written out for mypy and ruff, which read it statically; each name
    # is found in the submodule that lists it (tests/test_testing_kit.py checks all resolve).
    if name in __all__:
        for home in _MODULES:
            module = importlib.import_module(f"{__name__}.{home}")
            if name in module.__all__:
                value = getattr(module, name)
                globals()[name] = value
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
