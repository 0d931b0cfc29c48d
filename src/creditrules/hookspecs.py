"""The hooks a creditrules plugin may implement.

A plugin is a module or object registered under the ``creditrules``
entry-point group::

    [project.entry-points.creditrules]
    beihai = "creditrules_beihai"

Every hook is prefixed ``creditrules_`` so one grep finds every spec and impl.
Implementations may accept fewer arguments than the spec names (pluggy's
opt-in arguments), so specs can grow without breaking plugins. The engine
never depends on the order pluggy calls implementations in: it sorts what the
hooks return by id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .families.base import RuleFamily
    from .model import Category, TrainingRecord
    from .ruleset import RulesetDoc

hookspec = pluggy.HookspecMarker("creditrules")
hookimpl = pluggy.HookimplMarker("creditrules")


@hookspec
def creditrules_rulesets() -> Sequence[RulesetDoc]:
    """Return the ruleset documents this plugin provides.

    Called once when :meth:`creditrules.Engine.load` builds the engine. Read
    each file with :func:`creditrules.load_ruleset` (it validates the file and
    names the key path of any error). A region's id must be unique across all
    installed plugins: a second plugin providing the same id is refused, naming
    both.

    :return: a sequence of :class:`creditrules.ruleset.RulesetDoc`; an empty
        sequence when the plugin only adds rule families.
    """
    raise NotImplementedError


@hookspec
def creditrules_families() -> Sequence[RuleFamily]:
    """Return rule-family implementations this plugin provides.

    A family is the code behind rules: the ruleset names a family, its
    parameters and its citation; the family computes findings. Family names
    are unique across plugins (a duplicate is refused naming both plugins). The
    built-in families (``cycle_total``, ``category_mix``, …) are registered
    through this same hook by :mod:`creditrules.families`.

    :return: instances of :class:`creditrules.families.base.RuleFamily`.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def creditrules_classify(
    record: TrainingRecord, region: str, chain: tuple[str, ...], on: dt.date
) -> Category | None:
    """Return the credit category ``record`` counts in for ``region``, or ``None``.

    Called once per record before any record-level rule runs, for cities that
    classify a record differently from what it was registered as. The first
    non-``None`` answer, asking plugins in name order, wins; ``None`` keeps the registered
    category. The hook is called for every region, so a plugin answers only
    when its own layer is in ``chain``.

    :param record: the record as read.
    :param region: the region being adjudicated.
    :param chain: the ids of the region's ruleset layers, root first.
    :param on: the record's end date (the date whose rules apply to it).
    """
