"""creditrules.testing and creditrules.authoring: the kit rule authors use.

* the strategies draw what the data contract allows, shaped by a region;
* the suite bites: deliberately broken plugins (defined here, never shipped)
  are each caught by the property one would expect, on a crafted example and
  by hypothesis' own search;
* ``new-plugin`` scaffolds a package whose own tests pass once installed (the
  template tests itself), and ``creditrules test`` reports golden cases for
  policy staff;
* the pytest plugin collects one item per (region, property).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from attrs import evolve
from click.testing import CliRunner
from hypothesis import Phase, given, settings

from creditrules import (
    Context,
    Engine,
    Finding,
    Outcome,
    Person,
    Reason,
    RuleDef,
    RuleFamily,
    RulesetDoc,
    SubjectKind,
    TrainingRecord,
    parse_ruleset,
)
from creditrules.authoring import ScaffoldError, commands, new_plugin, run_golden
from creditrules.families.base import measure
from creditrules.families.person import CycleTotalFamily
from creditrules.families.records import CreditConversionFamily
from creditrules.model import Role
from creditrules.testing import (
    CI,
    InlinePlugin,
    boundary_values,
    cases,
    check_as_of_stability,
    check_boundaries,
    check_caps_and_conservation,
    check_determinism,
    check_duplicate_idempotence,
    check_layering,
    check_monotonicity,
    check_order_invariance,
    check_round_trip,
    check_row_refused,
    check_row_total,
    check_totality,
    histories,
    invalid_record_rows,
    junk_record_rows,
    persons,
    projects,
    property_names,
    records,
    run_property,
    threshold_parameters,
    units,
)
from creditrules.testing.strategies import default_engine

D = dt.date
QUICK = settings(settings.get_profile(CI), max_examples=15)


# -- a plugin made of inline rulesets and families ----------------------------------------


def layer(rid: str, body: str, *, extends: str = "national") -> RulesetDoc:
    head = (
        f'schema = "creditrules.ruleset/1"\nid = "{rid}"\nextends = "{extends}"\nkind = "region"\n'
        f'name = {{ zh = "测试", en = "Test {rid}" }}\n[sources.s]\ntitle = "A made-up source for a test"\n'
    )
    return parse_ruleset(head + textwrap.dedent(body), f"tests/{rid}.toml")


def engine_with(docs: Iterable[RulesetDoc], families: Sequence[RuleFamily] = ()) -> Engine:
    return Engine.load(plugins=[InlinePlugin(list(docs), families)], entry_points=False)


def rec(rid: str, start: dt.date, end: dt.date, hours: str, category: str = "centralized", **kw: Any) -> TrainingRecord:
    return TrainingRecord(
        record_id=rid, person_id="T1", level=kw.pop("level", "municipal"), category=category,
        start_date=start, end_date=end, hours=Decimal(hours), **kw,
    )


def searching(max_examples: int = 60) -> settings:
    """Hypothesis settings that stop at the first counter-example: no shrinking, so a test stays fast."""
    return settings(settings.get_profile(CI), max_examples=max_examples, phases=[Phase.explicit, Phase.generate])


# -- the strategies ------------------------------------------------------------------------


class TestStrategies:
    """What the strategies draw is valid input, and shaped by the region."""

    @QUICK
    @given(records("T1", start=D(2018, 3, 1), end=D(2019, 2, 28), region="beihai"))
    def test_a_record_keeps_to_the_contract(self, r: TrainingRecord) -> None:
        """Dates in range, end ≥ start, hours with one decimal place, parts within the hours."""
        assert D(2018, 3, 1) <= r.start_date <= r.end_date <= D(2019, 2, 28)
        assert r.hours == r.hours.quantize(Decimal("0.1")) and r.hours.as_tuple().exponent == -1
        for part in (r.practice_hours, r.absent_hours):
            assert part is None or Decimal(0) <= part <= r.hours

    def test_subcategories_include_the_regions_item_scored_ones(self) -> None:
        """Beihai's chain scores Guangxi's 校本 items; records draw those subcategories."""
        items = default_engine().chain("beihai").param("credit_conversion.items", D(2019, 1, 1)).value
        drawn = records("T1", start=D(2019, 1, 1), end=D(2019, 12, 31), region="beihai")
        seen: set[str] = set()

        @settings(settings.get_profile(CI), max_examples=150)
        @given(drawn)
        def collect(r: TrainingRecord) -> None:
            if r.subcategory:
                seen.add(r.subcategory)

        collect()
        assert seen & set(items), f"no item-scored subcategory drawn: {sorted(seen)}"

    @QUICK
    @given(histories("beihai", D(2019, 12, 31)))
    def test_a_history_has_unique_ids_and_one_person(self, history: tuple[Person, list[TrainingRecord]]) -> None:
        """Record ids are unique and every record is the person's."""
        person, recs = history
        assert len({r.record_id for r in recs}) == len(recs)
        assert all(r.person_id == person.person_id for r in recs)

    def test_histories_reach_past_as_of(self) -> None:
        """Some drawn records end after as_of, so the engine must ignore them."""
        seen = []

        @settings(settings.get_profile(CI), max_examples=60)
        @given(histories("beihai", D(2019, 12, 31)))
        def collect(history: tuple[Person, list[TrainingRecord]]) -> None:
            seen.extend(r for r in history[1] if r.end_date > D(2019, 12, 31))

        collect()
        assert seen

    @QUICK
    @given(persons("lanzhou"))
    def test_persons_take_the_roles_the_region_singles_out(self, p: Person) -> None:
        """Lanzhou's trainer minimum names full-time trainers: they are drawn, with teachers."""
        assert p.role in (Role.TEACHER, Role.TRAINER_FULLTIME, Role.NEW_TEACHER)

    @QUICK
    @given(projects(), units())
    def test_projects_and_units_are_valid(self, project: Any, unit: Any) -> None:
        """The models' validators accepted them; a project's practice stays within its course hours."""
        assert project.end_date >= project.start_date
        if project.practice_hours is not None and project.total_course_hours is not None:
            assert project.practice_hours <= project.total_course_hours
        assert unit.year >= 0

    def test_boundary_values_are_at_and_one_tenth_below(self) -> None:
        """Guangxi's 120-credit cycle minimum gives 120 and 119.9; its 16-credit annual floor 16 and 15.9."""
        thresholds = {t.label: t for t in threshold_parameters(default_engine(), "beihai", D(2019, 12, 31))}
        assert thresholds["cycle_credits.minimum"].value == 120
        assert thresholds["category_mix.maximum[remote]"].value == 40
        values = set()

        @settings(settings.get_profile(CI), max_examples=200)
        @given(boundary_values(default_engine(), "beihai", D(2019, 12, 31)))
        def collect(b: Any) -> None:
            values.add((b.threshold.label, b.value, b.below))

        collect()
        assert ("cycle_credits.minimum", Decimal(120), False) in values
        assert ("cycle_credits.minimum", Decimal("119.9"), True) in values

    @settings(settings.get_profile(CI), max_examples=60)
    @given(invalid_record_rows())
    def test_every_invalid_row_is_refused_with_an_input_error(self, broken: tuple[str, dict[str, Any]]) -> None:
        """Each catalogued way of breaking a row gives InputError, never another exception."""
        what, row = broken
        check_row_refused(row, what)

    @settings(settings.get_profile(CI), max_examples=100)
    @given(junk_record_rows())
    def test_junk_rows_are_read_or_refused(self, row: dict[str, Any]) -> None:
        """Arbitrary values in any field: a record or InputError, never a crash."""
        check_row_total(row)


# -- the suite bites: broken plugins, each caught by its property ----------------------------


class RecountFamily(RuleFamily):
    """BROKEN: gives records excluded as duplicates their credit back (a duplicate counts twice)."""

    name = "recount"
    subject = SubjectKind.PERSON
    stage = 25  # after repeat_training (20), before conversion
    description = "Late registrations count (broken on purpose)."

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        for ln in ctx.lines:
            if ln.excluded and any(r.endswith(".repeat_training") for r in ln.rules):
                ln.excluded = False
                ln.credited_hours = ln.record.hours
                ln.touch(rule.id)
        return [ctx.finding(rule, self.name, Outcome.PASS, Reason("补登记录已计入。", "Late registrations counted."))]


class StrictCycleTotal(CycleTotalFamily):
    """BROKEN: compares with > where the clause says 不少于 (≥)."""

    name = "strict_cycle_total"

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        cycle = ctx.cycle()
        minimum, unit = ctx.param(rule, "minimum"), ctx.param(rule, "unit")
        measured = measure(ctx.lines_in(cycle), str(unit.value))
        if measured > minimum.value:  # the bug
            outcome = Outcome.PASS
        else:
            outcome = Outcome.PENDING if cycle.end > ctx.as_of else ctx.failed(rule)
        return [ctx.finding(
            rule, self.name, outcome, Reason("周期学时", "Cycle hours"),
            uses=[minimum, unit, *ctx.cycle_uses()], measured=measured, required=minimum.value,
            shortfall=max(Decimal(0), minimum.value - measured), unit=str(unit.value), period=cycle,
        )]


class _AtAsOf:
    """A context whose every parameter is read on as_of: the wrong date for a record-level rule."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def param(self, rule: RuleDef, name: str, on: dt.date | None = None) -> Any:
        return self._ctx.param(rule, name)  # the bug: ignores the record's end date

    def optional_param(self, rule: RuleDef, name: str, on: dt.date | None = None) -> Any:
        return self._ctx.optional_param(rule, name)

    def params_on(self, rule: RuleDef, names: tuple[str, ...], on: dt.date, optional: tuple[str, ...] = ()) -> Any:
        return self._ctx.params_on(rule, names, self._ctx.on, optional)


class AsOfConversion(CreditConversionFamily):
    """BROKEN: converts hours to credits at the rate in force on as_of, not on the record's end date."""

    name = "asof_conversion"

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        return super().evaluate(rule, _AtAsOf(ctx))  # type: ignore[arg-type]


class QuietCycleTotal(CycleTotalFamily):
    """BROKEN: drops ``overrides`` from the parameters it reports, hiding the city's override."""

    name = "quiet_cycle_total"

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        return [
            evolve(f, parameters=tuple(evolve(u, overrides=None) for u in f.parameters))
            for f in super().evaluate(rule, ctx)
        ]


RECOUNT = layer("dupland", """
    [rules.recount]
    family = "recount"
    severity = "warn"
    since = 2000-01-01
    source = "s"
    clause = "补登的培训记录计入学时"
    title = { zh = "补登计入", en = "Late registrations count" }
""")

STRICT = layer("strictland", """
    [parameters."strict_hours.minimum"]
    description = "Hours per cycle"
    unit = "hours"
    values = [{ since = 2011-01-01, value = 360, source = "s", clause = "每五年累计不少于360学时" }]

    [parameters."strict_hours.unit"]
    description = "What the total counts"
    values = [{ since = 2011-01-01, value = "hours", source = "s", clause = "学时" }]

    [rules.strict_hours]
    family = "strict_cycle_total"
    severity = "fail"
    since = 2011-01-01
    source = "s"
    clause = "每五年累计不少于360学时"
    title = { zh = "周期学时", en = "Cycle hours" }

    [disable."national.cycle_hours"]
    since = 2011-01-01
    reason = "replaced by strict_hours"
    source = "s"
    clause = "每五年累计不少于360学时"
""")


def _conversion_layer(rid: str, family: str) -> RulesetDoc:
    return layer(rid, f"""
        [parameters."conv.hours_per_credit"]
        description = "Hours per credit"
        unit = "hours"
        values = [
          {{ since = 2010-01-01, value = {{ default = 3 }}, source = "s", clause = "3学时折合1学分" }},
          {{ since = 2018-01-01, value = {{ default = 4 }}, source = "s", clause = "自2018年起4学时折合1学分" }},
        ]

        [parameters."conv.quantum"]
        description = "Rounding step"
        values = [{{ since = 2010-01-01, value = 0.01, source = "s", clause = "保留两位小数" }}]

        [parameters."conv.rounding"]
        description = "Rounding"
        values = [{{ since = 2010-01-01, value = "half_up", source = "s", clause = "四舍五入" }}]

        [rules.conv]
        family = "{family}"
        severity = "fail"
        since = 2010-01-01
        source = "s"
        clause = "学时按规定折算学分"
        title = {{ zh = "学时折算学分", en = "Hours to credits" }}
    """)


WRONG_DATE = _conversion_layer("dateland", "asof_conversion")
RIGHT_DATE = _conversion_layer("dateland_ok", "credit_conversion")

QUIET = layer("quietland", """
    [parameters."cycle_hours.minimum"]
    description = "Hours per cycle"
    unit = "hours"
    override = true
    values = [{ since = 2011-01-01, value = 300, source = "s", clause = "每五年不少于300学时" }]

    [rules.quiet_hours]
    family = "quiet_cycle_total"
    params = "cycle_hours"
    severity = "fail"
    since = 2011-01-01
    source = "s"
    clause = "每五年不少于300学时"
    title = { zh = "周期学时", en = "Cycle hours" }

    [disable."national.cycle_hours"]
    since = 2011-01-01
    reason = "replaced by quiet_hours"
    source = "s"
    clause = "每五年不少于300学时"
""")


@pytest.fixture(scope="module")
def broken() -> Engine:
    return engine_with(
        [RECOUNT, STRICT, WRONG_DATE, RIGHT_DATE, QUIET],
        [RecountFamily(), StrictCycleTotal(), AsOfConversion(), QuietCycleTotal()],
    )


PERSON = Person("T1")
TWO_TRAININGS = [
    rec("R1", D(2014, 3, 3), D(2014, 3, 5), "24"),
    rec("R2", D(2017, 6, 1), D(2017, 6, 30), "12", "remote"),
]


class TestTheSuiteBites:
    """Each broken plugin is caught by the property that names its bug, and only by it."""

    def test_counting_a_duplicate_twice_breaks_duplicate_idempotence(self, broken: Engine) -> None:
        """A family re-crediting a duplicate: registering R1 twice adds 24 h."""
        with pytest.raises(AssertionError, match=r"\[duplicate_idempotence\].*registering R1 twice.*totals"):
            check_duplicate_idempotence(broken, "dupland", D(2015, 12, 31), PERSON, TWO_TRAININGS[:1])
        check_duplicate_idempotence(broken, "national", D(2015, 12, 31), PERSON, TWO_TRAININGS[:1])

    def test_greater_than_for_at_least_breaks_boundaries(self, broken: Engine) -> None:
        """360 h against 'at least 360 h' fails under >: boundaries builds exactly that case."""
        with pytest.raises(AssertionError, match=r"\[boundaries\].*strictland.strict_hours.*exactly the required 360"):
            check_boundaries(broken, "strictland", D(2015, 12, 31), PERSON, [])
        check_boundaries(broken, "national", D(2015, 12, 31), PERSON, [])

    def test_reading_the_rate_on_as_of_breaks_conservation(self, broken: Engine) -> None:
        """A 2014 record converted at 2019's 4 h per credit instead of its own 3 h per credit."""
        with pytest.raises(AssertionError, match=r"\[caps_and_conservation\].*line R1.*24 h ÷ 3 h per credit.*= 8 credits, got 6"):
            check_caps_and_conservation(broken, "dateland", D(2019, 12, 31), PERSON, TWO_TRAININGS)
        check_caps_and_conservation(broken, "dateland_ok", D(2019, 12, 31), PERSON, TWO_TRAININGS)

    def test_hiding_an_override_breaks_layering(self, broken: Engine) -> None:
        """quietland's 300 h replaces national's 360 h; a finding that does not say so is caught."""
        with pytest.raises(AssertionError, match=r"\[layering\].*cycle_hours.minimum from quietland: overrides should name 'national'"):
            check_layering(broken, "quietland", D(2015, 12, 31), PERSON, TWO_TRAININGS)

    @pytest.mark.parametrize("region", ["dupland", "strictland", "dateland", "quietland"])
    def test_the_other_properties_hold_for_the_broken_plugins(self, broken: Engine, region: str) -> None:
        """The failures above are specific: on the same input, unrelated properties pass."""
        for check in (check_determinism, check_order_invariance, check_as_of_stability, check_round_trip,
                      check_totality):
            check(broken, region, D(2019, 12, 31), PERSON, TWO_TRAININGS)

    @pytest.mark.parametrize(("region", "prop"), [
        ("dupland", "duplicate_idempotence"),
        ("strictland", "boundaries"),
        ("dateland", "caps_and_conservation"),
        ("quietland", "layering"),
    ])
    def test_hypothesis_finds_each_bug_by_itself(self, broken: Engine, region: str, prop: str) -> None:
        """No crafted input: the property's own search finds a counter-example."""
        with pytest.raises(AssertionError, match=rf"\[{prop}\] region {region}"):
            run_property(prop, broken, region, settings=searching())

    @pytest.mark.parametrize("region", ["national", "dateland_ok"])
    def test_correct_regions_pass_the_same_searches(self, broken: Engine, region: str) -> None:
        """The control: the same searches on correct rules find nothing."""
        for prop in ("duplicate_idempotence", "boundaries", "caps_and_conservation", "layering"):
            run_property(prop, broken, region, settings=searching(25))


class TestFoundBugs:
    """Inconsistencies the properties found in our own rules, kept as regressions."""

    def test_a_duplicate_cannot_change_which_same_day_training_counts(self) -> None:
        """Two centralised trainings on one day: one counts. Registering the 6 h one again, under an id
        that sorts first, used to make the 6 h one count instead of the 2 h one (2 h → 6 h credited)."""
        engine = Engine.load(entry_points=False)
        same_day = [rec("R164", D(2015, 1, 1), D(2015, 1, 1), "2"),
                    rec("R393", D(2015, 1, 1), D(2015, 1, 1), "6", level="national")]
        check_duplicate_idempotence(engine, "national", D(2015, 12, 31), PERSON, same_day)


    def test_a_duplicate_cannot_take_another_records_share_of_an_item_cap(self) -> None:
        """Two national competition awards on one day, 6 credits a year at most: the first counts. A copy of
        the remote one, under an id that sorts first, used to move the 6 credits from centralised to remote."""
        engine = Engine.load(entry_points=False)
        day = D(2016, 1, 2)
        awards = [rec("R001", day, day, "0", "centralized", level="national", subcategory="competition_award"),
                  rec("R002", day, day, "0", "remote", level="national", subcategory="competition_award")]
        check_duplicate_idempotence(engine, "guangxi", D(2016, 12, 31), PERSON, awards)


class TestProperties:
    """The properties on hand-made input, where the expected answer is obvious."""

    def test_monotonicity_holds_across_a_cycle_cap(self) -> None:
        """Beihai caps remote at 40 credits a cycle; adding remote training never lowers the cycle total."""
        remote = [rec(f"R{i}", D(2017, i, 1), D(2017, i, 2), "60", "remote") for i in range(1, 4)]
        check_monotonicity(default_engine(), "beihai", D(2020, 12, 31), PERSON, remote)
        check_caps_and_conservation(default_engine(), "beihai", D(2020, 12, 31), PERSON, remote)

    def test_a_failure_message_names_region_date_subject_and_values(self, broken: Engine) -> None:
        """What a rule author reads first."""
        with pytest.raises(AssertionError) as info:
            check_duplicate_idempotence(broken, "dupland", D(2015, 12, 31), PERSON, TWO_TRAININGS[:1])
        assert str(info.value).startswith(
            "[duplicate_idempotence] region dupland, as_of 2015-12-31, person T1: registering R1 twice"
        )
        assert '"24" ≠ "48"' in str(info.value)

    def test_cases_draw_every_kind_of_subject(self) -> None:
        """Project and unit subjects are drawn for the properties that take them."""
        kinds = set()

        @settings(settings.get_profile(CI), max_examples=40)
        @given(cases("huangshi", kinds=(SubjectKind.PERSON, SubjectKind.PROJECT, SubjectKind.UNIT)))
        def collect(case: Any) -> None:
            kinds.add(case.subject.kind)

        collect()
        assert kinds == {SubjectKind.PERSON, SubjectKind.PROJECT, SubjectKind.UNIT}

    def test_property_names_are_the_documented_ten(self) -> None:
        """The registry, in the order docs/explanation/properties.md lists them."""
        assert property_names() == [
            "determinism", "order_invariance", "as_of_stability", "duplicate_idempotence", "monotonicity",
            "caps_and_conservation", "boundaries", "round_trip", "layering", "totality",
        ]


# -- authoring: new-plugin and creditrules test ---------------------------------------------


class TestNewPlugin:
    """The scaffold's refusals and its contents."""

    def test_refuses_a_bad_name_an_unknown_layer_and_a_used_folder(self, tmp_path: Path) -> None:
        """Each refusal says what to change."""
        engine = default_engine()
        with pytest.raises(ScaffoldError, match="lower-case"):
            new_plugin("Wuhan", "hubei", tmp_path / "a", engine=engine)
        with pytest.raises(ScaffoldError, match="'hubie': no installed ruleset layer"):
            new_plugin("wuhan", "hubie", tmp_path / "a", engine=engine)
        with pytest.raises(ScaffoldError, match="already installed"):
            new_plugin("beihai", "guangxi", tmp_path / "a", engine=engine)
        (tmp_path / "used").mkdir()
        (tmp_path / "used" / "x").write_text("")
        with pytest.raises(ScaffoldError, match="not an empty folder"):
            new_plugin("wuhan", "hubei", tmp_path / "used", engine=engine)

    @pytest.mark.parametrize("extends", ["hubei", "guangxi", "nanning"])
    def test_the_scaffold_loads_and_its_golden_case_passes(self, tmp_path: Path, extends: str) -> None:
        """Without installing: the ruleset loads on top of the parent, overrides one value, and G01 passes."""
        root = new_plugin("wuhan", extends, tmp_path / "creditrules-wuhan", engine=default_engine())
        doc = next(root.glob("src/creditrules_wuhan/wuhan.toml"))
        from creditrules import load_ruleset

        ruleset = load_ruleset(doc)
        assert any(p.override for p in ruleset.parameters.values())
        assert [r.family for r in ruleset.rules] == ["annual_minimum"]
        engine = Engine.load(plugins=[InlinePlugin([ruleset])])
        report = run_golden(root, engine=engine)
        assert report.exit_code == 0, report.text()
        assert "wuhan = \"creditrules_wuhan\"" in (root / "pyproject.toml").read_text()


class TestRunGolden:
    """`creditrules test`: which case, which finding, expected against got."""

    GOLDEN = """
        [[case]]
        name = "passes"
        region = "beihai"
        as_of = 2019-12-31
        person = { person_id = "T1" }
        records = [{ record_id = "R1", level = "municipal", category = "centralized", start_date = 2019-03-01, end_date = 2019-03-02, hours = 48 }]
        [[case.expect.findings]]
        rule = "guangxi.annual"
        period_end = 2019-12-31
        item = "total"
        outcome = "pass"

        [[case]]
        name = "expects too much"
        source = "a worked example"
        region = "beihai"
        as_of = 2019-12-31
        person = { person_id = "T1" }
        records = [{ record_id = "R1", level = "municipal", category = "centralized", start_date = 2019-03-01, end_date = 2019-03-02, hours = 12 }]
        [[case.expect.findings]]
        rule = "guangxi.annual"
        period_end = 2019-12-31
        item = "total"
        outcome = "pass"
        measured = "16"
    """

    def test_the_report_names_case_finding_expected_and_got(self, tmp_path: Path) -> None:
        """One passing case, one failing with two differences; exit status 1."""
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "golden.toml").write_text(textwrap.dedent(self.GOLDEN), encoding="utf-8")
        report = run_golden(tmp_path, engine=default_engine())
        assert report.exit_code == 1
        text = report.text(root=tmp_path)
        assert text.splitlines()[:9] == [
            "tests/golden.toml",
            "  PASS  passes",
            "  FAIL  expects too much  (a worked example)",
            "        region beihai, judged on 2019-12-31, person T1",
            "        finding guangxi.annual@2019-12-31[total].outcome",
            "            expected: pass",
            "            got:      fail",
            "        finding guangxi.annual@2019-12-31[total].measured",
            "            expected: 16",
        ]
        assert text.splitlines()[-1] == "2 cases: 1 passed, 1 failed"

    def test_an_unknown_region_and_a_missing_file_exit_2(self, tmp_path: Path) -> None:
        """Errors are reported in the same readable way, with what to do."""
        golden = tmp_path / "golden.toml"
        golden.write_text(textwrap.dedent(self.GOLDEN).replace('"beihai"', '"atlantis"'), encoding="utf-8")
        report = run_golden(golden, engine=default_engine())
        assert report.exit_code == 2
        assert "region 'atlantis' is not installed" in report.text()
        (tmp_path / "nowhere").mkdir()
        empty = run_golden(tmp_path / "nowhere", engine=default_engine())
        assert empty.exit_code == 2 and "no golden file here" in empty.text()

    def test_the_click_commands(self, tmp_path: Path) -> None:
        """`commands` holds `new-plugin` and `test`, ready for the CLI group."""
        names = [c.name for c in commands]
        assert names == ["new-plugin", "test"]
        new_cmd, test_cmd = commands
        runner = CliRunner()
        dest = tmp_path / "creditrules-wuhan"
        result = runner.invoke(new_cmd, ["wuhan", "--extends", "hubei", "--dest", str(dest)])
        assert result.exit_code == 0, result.output
        assert "pip install -e" in result.output and (dest / "tests" / "golden.toml").is_file()
        bad = runner.invoke(new_cmd, ["wuhan", "--extends", "nowhere", "--dest", str(tmp_path / "x")])
        assert bad.exit_code == 2 and "no installed ruleset layer" in bad.output
        result = runner.invoke(test_cmd, [str(Path(__file__).parents[1] / "plugins" / "beihai"), "--properties"])
        assert result.exit_code == 0, result.output
        assert "passed, 0 failed" in result.output
        assert re.search(r"properties: (\d+) of \1 region\(s\) consistent\n$", result.output), result.output


# -- the template tests itself; the pytest plugin collects -------------------------------------


def _isolated_env(where: Path) -> Path:
    """A venv that sees this environment's packages (creditrules, its plugins, pytest, hypothesis) but
    installs into its own folder: a scaffolded plugin never leaks into the environment other tests use."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(where)],
                   check=True, capture_output=True)
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # When this environment is itself a venv, --system-site-packages reaches the base interpreter only:
    # bridge to this one's site-packages, .pth files (editable installs) included.
    parents = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    lines = [f"import site; site.addsitedir({p!r})" for p in sorted(parents)]
    Path(purelib, "_creditrules_parent_env.pth").write_text("\n".join(lines) + "\n")
    return python


def _pip_install(python: Path, project: Path) -> None:
    """``pip install -e project`` into ``python``'s venv: offline with this environment's hatchling,
    else with pip fetching the build backend. Skips (not fails) only when no build backend can be had."""
    base = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps"]
    fast = subprocess.run([*base, "--no-build-isolation", "--no-index", "-e", str(project)],
                          capture_output=True, text=True, timeout=300)
    if fast.returncode == 0:
        return
    slow = subprocess.run([*base, "-e", str(project)], capture_output=True, text=True, timeout=300)
    if slow.returncode != 0 and "hatchling" in slow.stderr and "No matching distribution" in slow.stderr:
        pytest.skip("no build backend: hatchling is neither installed here nor downloadable")
    assert slow.returncode == 0, f"pip install failed:\n{fast.stderr}\n{slow.stderr}"


def test_the_scaffold_installs_and_its_own_tests_pass(tmp_path: Path) -> None:
    """new-plugin → pip install -e → python -m pytest in the package: green (golden case + 10 properties)."""
    root = new_plugin("wuhan", "hubei", tmp_path / "creditrules-wuhan", engine=default_engine())
    python = _isolated_env(tmp_path / "venv")
    _pip_install(python, root)
    try:
        run = subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)],
            cwd=root, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert "11 passed" in run.stdout, run.stdout[-2000:]
        assert "wuhan" not in {r.id for r in Engine.load().regions()}, "the scaffold leaked into this environment"
    finally:
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "uninstall", "--yes", "--quiet",
                        "creditrules-wuhan"], capture_output=True)


def test_the_pytest_plugin_collects_one_item_per_region_and_property(tmp_path: Path) -> None:
    """`pytest --creditrules-properties --creditrules-region beihai` in an unrelated project."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--co",
         "--creditrules-properties", "--creditrules-region", "beihai"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    items = [line for line in run.stdout.splitlines() if line.startswith("creditrules::")]
    assert items == [f"creditrules::beihai-{p}" for p in property_names()], run.stdout + run.stderr
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--creditrules-properties",
         "--creditrules-region", "huangshi", "-k", "determinism or layering"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0 and "2 passed" in run.stdout, run.stdout + run.stderr
    quiet = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--co"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "creditrules::" not in quiet.stdout  # opt-in: nothing without the flag



def test_every_name_of_the_kit_is_one_submodules_and_importing_the_kit_needs_no_hypothesis() -> None:
    import importlib
    import subprocess
    import sys

    import creditrules.testing as kit

    for name in kit.__all__:
        homes = [m for m in kit._MODULES if name in importlib.import_module(f"creditrules.testing.{m}").__all__]
        assert len(homes) == 1, (name, homes)
        assert getattr(kit, name) is getattr(importlib.import_module(f"creditrules.testing.{homes[0]}"), name)
    probe = ("import sys, creditrules.testing as t; t.golden_test; t.installed_engine; "
             "print('hypothesis' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
