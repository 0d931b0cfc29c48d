"""Nanning (南宁市, Guangxi) and its counties Hengzhou (横州市) and Binyang (宾阳县): three rulesets, one plugin.

Registered through the ``creditrules`` entry point in this package's
``pyproject.toml``; the engine finds it once the package is installed. The
rules use built-in families only (``secondary_training``, ``cycle_total``,
``budget_floor``, ``trainer_ratio``), so this plugin provides rulesets and
no family.

Layers: ``national`` → ``guangxi`` → ``nanning`` → ``hengzhou`` / ``binyang``.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from creditrules import RulesetDoc, hookimpl, load_ruleset

__all__ = ["RULESETS", "samples_dir"]

#: The ruleset files this plugin ships, parent first.
RULESETS = ("nanning", "hengzhou", "binyang")


def samples_dir() -> Path:
    """The directory of the Binyang sample data (units, persons, records; see its README.md)."""
    return Path(str(resources.files(__name__).joinpath("samples")))


@hookimpl
def creditrules_rulesets() -> Sequence[RulesetDoc]:
    out = []
    for name in RULESETS:
        path = resources.files(__name__).joinpath(f"{name}.toml")
        with resources.as_file(path) as p:
            out.append(load_ruleset(p, origin=f"creditrules_nanning/{name}.toml"))
    return out
