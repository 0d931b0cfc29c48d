"""creditrules: adjudicate teachers' continuing-education credits, region by region.

The public API::

    from creditrules import Engine, Person, TrainingRecord
    engine = Engine.load()
    decision = engine.adjudicate(person, records, region="beihai", as_of=date(2020, 12, 31))
    print(decision_json(decision))
"""

from __future__ import annotations

from .canonical import canonical_json
from .engine import DECISION_SCHEMA, ENGINE_VERSION, Engine, RegionInfo
from .errors import (
    CreditrulesError,
    InputError,
    InputErrors,
    InvalidField,
    PluginError,
    RulesetError,
    UnknownRegion,
)
from .families.base import Context, Judgement, Line, RuleFamily
from .hookspecs import hookimpl
from .model import (
    Category,
    Citation,
    CreditLine,
    Decision,
    Finding,
    Level,
    LocationScope,
    Mode,
    Outcome,
    ParameterUse,
    Period,
    Person,
    Project,
    Reason,
    Role,
    SubjectKind,
    TrainingRecord,
    Unit,
)
from .ruleset import RuleDef, RulesetDoc, load_ruleset, parse_ruleset

__version__ = ENGINE_VERSION

__all__ = [
    "Category",
    "Citation",
    "Context",
    "CreditLine",
    "CreditrulesError",
    "DECISION_SCHEMA",
    "Decision",
    "ENGINE_VERSION",
    "Engine",
    "Finding",
    "InputError",
    "InputErrors",
    "InvalidField",
    "Judgement",
    "Level",
    "Line",
    "LocationScope",
    "Mode",
    "Outcome",
    "ParameterUse",
    "Period",
    "Person",
    "PluginError",
    "Project",
    "Reason",
    "RegionInfo",
    "Role",
    "RuleDef",
    "RuleFamily",
    "RulesetDoc",
    "RulesetError",
    "SubjectKind",
    "TrainingRecord",
    "Unit",
    "UnknownRegion",
    "canonical_json",
    "decision_json",
    "hookimpl",
    "load_ruleset",
    "parse_ruleset",
]


def decision_json(decision: Decision) -> str:
    """The decision's canonical JSON (sorted keys, decimals as strings)."""
    return canonical_json(decision)
