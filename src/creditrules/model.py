"""The domain model: frozen, typed values and nothing about wire formats.

Reading CSV/JSONL/dicts lives in :mod:`creditrules.convert`; writing JSON in
:mod:`creditrules.canonical`. Validators here check invariants a value must
hold whatever its source, and raise :class:`~creditrules.errors.InvalidField`
naming the field, so the reader can add the file, line and record.

Hours, credits and money are :class:`~decimal.Decimal`, never float: a credit
of 4/3 must not become 1.3333333333333333 on one machine and something else
after a replay.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeAlias

from attrs import Attribute, Converter, field, frozen

from .errors import InvalidField

__all__ = [
    "Category",
    "CreditLine",
    "Decision",
    "Finding",
    "LocationScope",
    "LayerRef",
    "Level",
    "Mode",
    "Outcome",
    "ParameterUse",
    "Period",
    "Person",
    "Project",
    "Reason",
    "Citation",
    "RulesetRef",
    "Role",
    "Subject",
    "SubjectKind",
    "SubjectRef",
    "Totals",
    "CategoryTotal",
    "TrainingRecord",
    "Unit",
]

#: Largest hours a single record may claim; beyond it a value is a typo (1e12),
#: not a training. A five-year degree programme stays well below this.
MAX_RECORD_HOURS = Decimal(10000)


class Role(StrEnum):
    TEACHER = "teacher"
    NEW_TEACHER = "new_teacher"
    TRAINER_FULLTIME = "trainer_fulltime"
    TRAINER_PARTTIME = "trainer_parttime"
    PRINCIPAL = "principal"
    BACKBONE = "backbone"
    KINDERGARTEN_HEAD = "kindergarten_head"
    PARTY_SECRETARY = "party_secretary"
    TEACHING_RESEARCHER = "teaching_researcher"


class Level(StrEnum):
    """Who runs a training: 国培, 省培/区培, 市培, 县培, 校本."""

    NATIONAL = "national"
    PROVINCIAL = "provincial"
    MUNICIPAL = "municipal"
    COUNTY = "county"
    SCHOOL = "school"


class Category(StrEnum):
    """Credit category of a record (学分类别)."""

    CENTRALIZED = "centralized"
    REMOTE = "remote"
    SCHOOL_BASED = "school_based"
    DEGREE = "degree"
    RESEARCH = "research"
    TRAINER_DUTY = "trainer_duty"
    PUBLIC_SUBJECT = "public_subject"
    SECONDARY_TRAINING = "secondary_training"


class Mode(StrEnum):
    IN_PERSON = "in_person"
    ONLINE_ASYNC = "online_async"
    ONLINE_SYNC = "online_sync"
    BLENDED = "blended"


class LocationScope(StrEnum):
    LOCAL = "local"
    IN_PROVINCE = "in_province"
    OUT_OF_PROVINCE = "out_of_province"


class SubjectKind(StrEnum):
    PERSON = "person"
    PROJECT = "project"
    UNIT = "unit"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    PENDING = "pending"
    NOT_APPLICABLE = "not_applicable"
    #: A rule's code failed (raised, returned the wrong thing, ran too long):
    #: the decision cannot be trusted, and says which plugin and rule.
    ERROR = "error"


# -- converters -----------------------------------------------------------------
# Trivial normalisation only, so Python callers may write ``hours=12`` or
# ``category="remote"``; reading files is :mod:`creditrules.convert`'s job.


def _enum_converter(enum: type[StrEnum], optional: bool = False) -> Converter:  # type: ignore[type-arg]
    def convert(value: Any, field: Attribute[Any]) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, enum):
            return value
        try:
            return enum(value)
        except ValueError:
            choices = ", ".join(m.value for m in enum)
            raise InvalidField(field.name, f"must be one of {choices}, got '{value}'") from None

    return Converter(convert, takes_field=True)


def _decimal(value: Any, field: Attribute[Any]) -> Any:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise InvalidField(field.name, f"must be a number, got '{value}'")
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(value)
    except (ArithmeticError, ValueError, TypeError):
        raise InvalidField(field.name, f"must be a number, got '{value}'") from None


def _date(value: Any, field: Attribute[Any]) -> Any:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidField(field.name, f"must be a date YYYY-MM-DD, got '{value}'") from None


DEC = Converter(_decimal, takes_field=True)
DATE = Converter(_date, takes_field=True)


# -- validators ---------------------------------------------------------------
# attrs' own validators word their messages for programmers ("'hours' must be
# >= 0: -3"); these speak to the clerk who typed the spreadsheet.


def _non_empty(_: Any, attribute: Attribute[Any], value: str) -> None:
    if not value or not value.strip():
        raise InvalidField(attribute.name, "must not be empty")


def _hours(_: Any, attribute: Attribute[Any], value: Decimal | None) -> None:
    if value is None:
        return
    if not value.is_finite():
        raise InvalidField(attribute.name, f"must be a number, got '{value}'")
    if value < 0:
        raise InvalidField(attribute.name, f"must be ≥ 0, got '{value}'")
    if value > MAX_RECORD_HOURS:
        raise InvalidField(attribute.name, f"must be ≤ {MAX_RECORD_HOURS}, got '{value}'")


def _non_negative(_: Any, attribute: Attribute[Any], value: Decimal | int | None) -> None:
    if value is None:
        return
    if isinstance(value, Decimal) and not value.is_finite():
        raise InvalidField(attribute.name, f"must be a number, got '{value}'")
    if value < 0:
        raise InvalidField(attribute.name, f"must be ≥ 0, got '{value}'")


def _not_before(start_field: str) -> Any:
    def check(instance: Any, attribute: Attribute[Any], value: dt.date | None) -> None:
        start = getattr(instance, start_field)
        if value is not None and start is not None and value < start:
            raise InvalidField(
                attribute.name, f"must not be before {start_field} {start.isoformat()}, got '{value.isoformat()}'"
            )

    return check


def _at_most(other_field: str) -> Any:
    def check(instance: Any, attribute: Attribute[Any], value: Decimal | None) -> None:
        other = getattr(instance, other_field)
        if value is not None and other is not None and value > other:
            raise InvalidField(attribute.name, f"must not exceed {other_field} {other}, got '{value}'")

    return check


# -- subjects -------------------------------------------------------------------


@frozen
class Person:
    """A teacher, trainer or principal whose training records are adjudicated."""

    person_id: str = field(validator=_non_empty)
    role: Role = field(default=Role.TEACHER, converter=_enum_converter(Role))
    school_id: str | None = None
    probation_start: dt.date | None = field(default=None, converter=DATE)
    probation_end: dt.date | None = field(default=None, converter=DATE, validator=_not_before("probation_start"))

    kind = SubjectKind.PERSON

    @property
    def id(self) -> str:
        return self.person_id


@frozen
class TrainingRecord:
    """One training a person took part in, as registered (学分登记)."""

    record_id: str = field(validator=_non_empty)
    person_id: str = field(validator=_non_empty)
    level: Level = field(converter=_enum_converter(Level))
    category: Category = field(converter=_enum_converter(Category))
    start_date: dt.date = field(converter=DATE)
    end_date: dt.date = field(converter=DATE, validator=_not_before("start_date"))
    hours: Decimal = field(converter=DEC, validator=_hours)
    project_id: str | None = None
    subcategory: str | None = None
    mode: Mode | None = field(default=None, converter=_enum_converter(Mode, optional=True))
    practice_hours: Decimal | None = field(converter=DEC, default=None, validator=[_hours, _at_most("hours")])
    absent_hours: Decimal | None = field(converter=DEC, default=None, validator=[_hours, _at_most("hours")])
    topic: str | None = None
    passed: bool | None = None
    practice_passed: bool | None = None
    organised_by_unit: bool | None = None
    source_project_id: str | None = None
    location_scope: LocationScope | None = field(
        default=None, converter=_enum_converter(LocationScope, optional=True)
    )
    provider_id: str | None = None


@frozen
class Project:
    """A training programme (培训项目), adjudicated for expense, practice share, deadline…"""

    project_id: str = field(validator=_non_empty)
    level: Level = field(converter=_enum_converter(Level))
    mode: Mode = field(converter=_enum_converter(Mode))
    start_date: dt.date = field(converter=DATE)
    end_date: dt.date = field(converter=DATE, validator=_not_before("start_date"))
    hours: Decimal = field(converter=DEC, validator=_hours)
    days: Decimal | None = field(converter=DEC, default=None, validator=_non_negative)
    total_course_hours: Decimal | None = field(converter=DEC, default=None, validator=_hours)
    practice_hours: Decimal | None = field(converter=DEC, default=None, validator=[_hours, _at_most("total_course_hours")])
    headcount_planned: int | None = field(default=None, validator=_non_negative)
    headcount_actual: int | None = field(default=None, validator=_non_negative)
    budget_cny: Decimal | None = field(converter=DEC, default=None, validator=_non_negative)
    location_scope: LocationScope | None = field(
        default=None, converter=_enum_converter(LocationScope, optional=True)
    )
    cross_year: bool | None = None
    provider_remote_licence: bool | None = None
    survey_sample_size: int | None = field(default=None, validator=_non_negative)
    target_size: int | None = field(default=None, validator=_non_negative)
    title: str | None = None

    kind = SubjectKind.PROJECT

    @property
    def id(self) -> str:
        return self.project_id


@frozen
class Unit:
    """A school or county for one budget year: budgets, trainer ratios, bases."""

    unit_id: str = field(validator=_non_empty)
    year: int = field(validator=_non_negative)
    payroll_total: Decimal | None = field(converter=DEC, default=None, validator=_non_negative)
    public_funds: Decimal | None = field(converter=DEC, default=None, validator=_non_negative)
    training_budget: Decimal | None = field(converter=DEC, default=None, validator=_non_negative)
    school_based_budget: Decimal | None = field(converter=DEC, default=None, validator=_non_negative)
    fulltime_teachers: int | None = field(default=None, validator=_non_negative)
    trainer_team_size: int | None = field(default=None, validator=_non_negative)
    schools: int | None = field(default=None, validator=_non_negative)
    training_bases: int | None = field(default=None, validator=_non_negative)
    title: str | None = None

    kind = SubjectKind.UNIT

    @property
    def id(self) -> str:
        return self.unit_id


Subject: TypeAlias = Person | Project | Unit


# -- decisions ------------------------------------------------------------------


@frozen
class Reason:
    zh: str
    en: str


@frozen
class Citation:
    """Where a rule comes from: the document and the quoted clause."""

    source: str
    text: str


@frozen
class ParameterUse:
    """A parameter value a finding relied on, and where it came from.

    ``layer`` is the ruleset that supplied the value; ``overrides`` names the
    parent layer it replaced, so a city's override is visible in the trace.
    """

    name: str
    value: Any
    since: dt.date
    layer: str
    citation: Citation
    overrides: str | None = None


@frozen
class Period:
    start: dt.date
    end: dt.date


@frozen
class Finding:
    """One rule's judgment of one subject (for one period, where it has one)."""

    rule: str
    family: str
    outcome: Outcome
    reason: Reason
    citation: Citation
    measured: Decimal | None = None
    required: Decimal | None = None
    shortfall: Decimal | None = None
    unit: str | None = None
    period: Period | None = None
    item: str | None = None
    records: tuple[str, ...] = ()
    parameters: tuple[ParameterUse, ...] = ()


@frozen
class CreditLine:
    """What one record was counted for, after every record-level rule."""

    record_id: str
    category: Category
    hours: Decimal
    credited_hours: Decimal
    credits: Decimal | None
    rules: tuple[str, ...] = ()


@frozen
class CategoryTotal:
    category: Category
    hours: Decimal
    credits: Decimal | None


@frozen
class Totals:
    hours: Decimal
    credits: Decimal | None
    by_category: tuple[CategoryTotal, ...] = ()


@frozen
class SubjectRef:
    kind: SubjectKind
    id: str


@frozen
class LayerRef:
    """One ruleset layer a decision used, pinned by its content hash."""

    id: str
    hash: str


@frozen
class RulesetRef:
    """The ruleset chain a decision used: each layer's id and content hash, root first."""

    chain: tuple[LayerRef, ...]
    hash: str


@frozen
class Decision:
    schema: str
    subject: SubjectRef
    region: str
    as_of: dt.date
    outcome: Outcome
    totals: Totals
    findings: tuple[Finding, ...]
    lines: tuple[CreditLine, ...]
    ignored_records: tuple[str, ...]
    ruleset: RulesetRef
    engine: str

    def finding(self, rule: str, period_end: dt.date | None = None) -> Finding:
        """The finding of ``rule`` (for the period ending ``period_end``, if given)."""
        for f in self.findings:
            if f.rule == rule and (period_end is None or (f.period and f.period.end == period_end)):
                return f
        raise KeyError(rule if period_end is None else f"{rule}@{period_end.isoformat()}")
