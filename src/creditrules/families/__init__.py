"""The built-in rule families, registered through the plugin manager like any plugin's."""

from __future__ import annotations

from .base import Context, Judgement, Line, RuleFamily
from .person import (
    AnnualMinimumFamily,
    CategoryMixFamily,
    CycleTotalFamily,
    NewTeacherFamily,
    TrainerMinimumFamily,
)
from .project import (
    DeadlineFamily,
    ExpenseStandardFamily,
    PracticeShareFamily,
    ProviderLicenceFamily,
    SurveySampleFamily,
)
from .records import (
    AbsenceFamily,
    CreditConversionFamily,
    PracticeGateFamily,
    RepeatTrainingFamily,
    SecondaryTrainingFamily,
)
from .unit import BudgetFloorFamily, TrainerRatioFamily

__all__ = ["BUILTIN_FAMILIES", "Context", "Judgement", "Line", "RuleFamily"]

BUILTIN_FAMILIES: tuple[type[RuleFamily], ...] = (
    AbsenceFamily,
    AnnualMinimumFamily,
    BudgetFloorFamily,
    CategoryMixFamily,
    CreditConversionFamily,
    CycleTotalFamily,
    DeadlineFamily,
    ExpenseStandardFamily,
    NewTeacherFamily,
    PracticeGateFamily,
    PracticeShareFamily,
    ProviderLicenceFamily,
    RepeatTrainingFamily,
    SecondaryTrainingFamily,
    SurveySampleFamily,
    TrainerMinimumFamily,
    TrainerRatioFamily,
)
