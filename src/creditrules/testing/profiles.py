"""The hypothesis profiles of the property suite, registered on import.

``creditrules-ci``
    Quick and reproducible: 25 examples per property and region, no deadline,
    ``derandomize=True`` (the same examples on every run and machine), no
    example database. What ``python -m pytest`` and a plugin's CI run.
``creditrules-thorough``
    For a nightly or a release: 500 examples per property and region, random
    seeds, failing examples kept in the local ``.hypothesis`` database and
    printed as a reproduction blob.

Select one with ``pytest --hypothesis-profile creditrules-thorough``, or in
code with ``hypothesis.settings.get_profile(THOROUGH)``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = ["CI", "THOROUGH", "register_profiles"]

CI = "creditrules-ci"
THOROUGH = "creditrules-thorough"

#: Health checks that only say the inputs are rich: a history of a dozen records
#: is slow to generate and large by hypothesis' standards, and that is the point.
RELAXED = (HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much)


def register_profiles() -> None:
    """Register (again, harmlessly) the two profiles; does not load either."""
    settings.register_profile(
        CI,
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=RELAXED,
    )
    settings.register_profile(
        THOROUGH,
        max_examples=500,
        deadline=None,
        print_blob=True,
        suppress_health_check=RELAXED,
    )


register_profiles()
