"""Lanzhou (兰州市, Gansu): the ruleset of 兰教师〔2019〕213号.

Every Lanzhou rule uses a built-in family (practice_share, practice_gate,
trainer_minimum, repeat_training, survey_sample), so this plugin only ships
its ruleset. Registered through the ``creditrules`` entry point in this
package's ``pyproject.toml``; the engine finds it once the package is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from creditrules import RulesetDoc, hookimpl, load_ruleset

__all__: list[str] = []


@hookimpl
def creditrules_rulesets() -> Sequence[RulesetDoc]:
    path = resources.files(__name__).joinpath("lanzhou.toml")
    with resources.as_file(path) as p:
        return [load_ruleset(p, origin="creditrules_lanzhou/lanzhou.toml")]
