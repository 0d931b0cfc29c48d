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

Importing this package needs hypothesis (``pip install creditrules[test]``).
"""

from __future__ import annotations

from .boundaries import check_boundaries
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
    "CI",
    "THOROUGH",
    "BoundaryValue",
    "Check",
    "Property",
    "PropertyCase",
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
