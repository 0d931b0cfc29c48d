"""A plugin made inside a test: ruleset documents and rule families, no package to install."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..families.base import RuleFamily
from ..hookspecs import hookimpl
from ..ruleset import RulesetDoc

__all__ = ["InlinePlugin"]


class InlinePlugin:
    """Provides ``docs`` and ``families`` through the plugin hooks, as an installed plugin would.

    For testing a family or a ruleset before it is packaged::

        engine = Engine.load(plugins=[InlinePlugin([doc], [MyFamily()])], entry_points=False)

    ``name`` is the plugin's name in messages and in ``engine.family_owner``
    (pluggy's own name for the object otherwise).
    """

    def __init__(self, docs: Iterable[RulesetDoc] = (), families: Iterable[RuleFamily] = (), *,
                 name: str | None = None) -> None:
        self.docs, self.families = tuple(docs), tuple(families)
        if name is not None:
            self.__name__ = name

    @hookimpl
    def creditrules_rulesets(self) -> Sequence[RulesetDoc]:
        return list(self.docs)

    @hookimpl
    def creditrules_families(self) -> Sequence[RuleFamily]:
        return list(self.families)
