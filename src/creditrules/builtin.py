"""The built-in plugin: the base ruleset layers and the core rule families.

Registered first by :func:`creditrules.plugins.get_plugin_manager`, through
the same hooks a city plugin implements.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .families import BUILTIN_FAMILIES, RuleFamily
from .hookspecs import hookimpl
from .ruleset import RulesetDoc, load_ruleset

BASE_LAYERS = ("national", "guangxi", "ningxia", "gansu", "hubei")


def rulesets_dir() -> Path:
    """Where the base layers are: inside the wheel, or ``rulesets/`` of a source checkout."""
    packaged = Path(__file__).parent / "_rulesets"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rulesets"


@hookimpl
def creditrules_rulesets() -> Sequence[RulesetDoc]:
    base = rulesets_dir()
    return [load_ruleset(base / f"{name}.toml", origin=f"rulesets/{name}.toml") for name in BASE_LAYERS]


@hookimpl
def creditrules_families() -> Sequence[RuleFamily]:
    return [cls() for cls in BUILTIN_FAMILIES]
