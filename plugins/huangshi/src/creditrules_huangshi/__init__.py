"""Huangshi (黄石市, Hubei): the 2023 国培/省培 plan's expense standards, deadline and provider licence.

Registered through the ``creditrules`` entry point in this package's
``pyproject.toml``; the engine finds it once the package is installed. The
rules use built-in families only (``expense_standard``, ``deadline``,
``provider_licence``), so this plugin provides a ruleset and no family.

Layers: ``national`` → ``hubei`` → ``huangshi``.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from creditrules import RulesetDoc, hookimpl, load_ruleset

__all__ = ["samples_dir"]


def samples_dir() -> Path:
    """The directory of the 2023 plan sample data (``projects.csv``; see its README.md)."""
    return Path(str(resources.files(__name__).joinpath("samples")))


@hookimpl
def creditrules_rulesets() -> Sequence[RulesetDoc]:
    path = resources.files(__name__).joinpath("huangshi.toml")
    with resources.as_file(path) as p:
        return [load_ruleset(p, origin="creditrules_huangshi/huangshi.toml")]
