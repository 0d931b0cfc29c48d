"""Ruleset files and chains: every refusal names the file and the key path; values in force by date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from creditrules import (
    Engine,
    RulesetError,
    hookimpl,
    load_ruleset,
    parse_ruleset,
)
from creditrules.chain import MissingParameter, RulesetChain, build_chains
from creditrules.testing import InlinePlugin

D = dt.date


def doc_text(rid: str, body: str = "", *, extends: str | None = None, kind: str = "base", top: str = "") -> str:
    """A valid ruleset (one source ``s``) with top-level keys ``top`` and tables ``body``."""
    head = f'schema = "creditrules.ruleset/1"\nid = "{rid}"\nkind = "{kind}"\nname = {{ zh = "测试", en = "Test" }}\n'
    if extends:
        head += f'extends = "{extends}"\n'
    return head + top + '[sources.s]\ntitle = "Source S"\n' + body


def param(name: str, *entries: str, override: bool = False, extra: str = "") -> str:
    """A parameter table; each entry is the inside of one ``values`` inline table."""
    values = ",\n  ".join(f"{{ {e} }}" for e in entries)
    flag = "override = true\n" if override else ""
    return f'\n[parameters."{name}"]\ndescription = "d"\n{flag}{extra}values = [\n  {values},\n]\n'


def entry(since: str, value: str, *, recorded: str | None = None, cite: str = 'source = "s", clause = "c"') -> str:
    rec = f", recorded = {recorded}" if recorded else ""
    return f"since = {since}, value = {value}{rec}, {cite}"


def rule(name: str, family: str, *, params: str | None = None, extra: str = "") -> str:
    p = f'params = "{params}"\n' if params else ""
    return (
        f'\n[rules.{name}]\nfamily = "{family}"\nseverity = "fail"\nsince = 2000-01-01\nsource = "s"\n'
        f'clause = "c"\ntitle = {{ zh = "规则", en = "Rule" }}\n{p}{extra}'
    )


def refusal(exc: pytest.ExceptionInfo[RulesetError], origin: str, key_path: str) -> str:
    """Assert the error names ``origin`` and ``key_path`` at the head of its message; return the reason."""
    message = str(exc.value)
    assert message.startswith(f"{origin}: {key_path}: "), message
    assert (exc.value.source, exc.value.key_path) == (origin, key_path)
    return exc.value.reason


def engine_with(*texts: str) -> Engine:
    docs = [parse_ruleset(t, f"test/{i}.toml") for i, t in enumerate(texts)]
    return Engine.load(plugins=[InlinePlugin(docs)], entry_points=False)


def chain_of(*texts: str) -> RulesetChain:
    """The chain of the last text, built from all of them (origins ``<id>.toml``)."""
    docs = [parse_ruleset(t, f"{_id(t)}.toml") for t in texts]
    return build_chains(docs)[docs[-1].id]


def _id(text: str) -> str:
    return text.split('id = "', 1)[1].split('"', 1)[0]


# -- refusals from one file --------------------------------------------------------


class TestFileRefusals:
    def test_malformed_toml_names_the_file_and_line(self, tmp_path: Path) -> None:
        """A syntax error is reported with the file path and the TOML parser's line."""
        path = tmp_path / "broken.toml"
        path.write_text(doc_text("broken") + '\n[parameters."a.b"\ndescription = "d"\n', encoding="utf-8")
        with pytest.raises(RulesetError) as exc:
            load_ruleset(path)
        assert str(exc.value).startswith(f"{path}: not valid TOML: ")
        assert "(at line 8, column 18)" in str(exc.value)

    def test_origin_label_replaces_the_path(self, tmp_path: Path) -> None:
        """A plugin's label (not its temp path) names the file in errors."""
        path = tmp_path / "x.toml"
        path.write_text(doc_text("x", top="colour = 1\n"), encoding="utf-8")
        with pytest.raises(RulesetError) as exc:
            load_ruleset(path, origin="creditrules_x/x.toml")
        refusal(exc, "creditrules_x/x.toml", "colour")

    def test_unknown_top_level_key(self) -> None:
        """A misspelt top-level key is refused, not ignored."""
        with pytest.raises(RulesetError) as exc:
            parse_ruleset(doc_text("x", top='extend = "national"\n'), "x.toml")
        assert "unknown key" in refusal(exc, "x.toml", "extend")

    def test_unknown_key_in_a_parameter(self) -> None:
        """A misspelt key of a parameter table is refused with the parameter's quoted name."""
        text = doc_text("x", param("cyc.minimum", entry("2000-01-01", "10"), extra='units = "hours"\n'))
        with pytest.raises(RulesetError) as exc:
            parse_ruleset(text, "x.toml")
        assert "unknown key" in refusal(exc, "x.toml", 'parameters."cyc.minimum".units')

    def test_unknown_key_in_a_value_entry(self) -> None:
        """A misspelt key of one dated value is refused with the entry's index."""
        text = doc_text("x", param(
            "cyc.minimum", entry("2000-01-01", "10"), entry("2010-01-01", "20") + ", sinse = 2010-01-01"
        ))
        with pytest.raises(RulesetError) as exc:
            parse_ruleset(text, "x.toml")
        assert "unknown key" in refusal(exc, "x.toml", 'parameters."cyc.minimum".values[1].sinse')

    @pytest.mark.parametrize(
        ("cite", "missing"),
        [('clause = "c"', "source"), ('source = "s"', "clause")],
    )
    def test_a_value_without_citation_is_refused(self, cite: str, missing: str) -> None:
        """Every dated value cites its source and clause."""
        text = doc_text("x", param("cyc.minimum", entry("2000-01-01", "10", cite=cite)))
        with pytest.raises(RulesetError) as exc:
            parse_ruleset(text, "x.toml")
        assert refusal(exc, "x.toml", f'parameters."cyc.minimum".values[0].{missing}') == "required key is missing"

    def test_a_rule_without_clause_is_refused(self) -> None:
        """Every rule cites the clause it rests on."""
        text = doc_text("x", rule("tot", "cycle_total").replace('clause = "c"\n', ""))
        with pytest.raises(RulesetError) as exc:
            parse_ruleset(text, "x.toml")
        assert refusal(exc, "x.toml", "rules.tot.clause") == "required key is missing"

    def test_an_empty_citation_is_refused(self) -> None:
        """A blank clause is no citation."""
        text = doc_text("x", param("cyc.minimum", entry("2000-01-01", "10", cite='source = "s", clause = " "')))
        with pytest.raises(RulesetError) as exc:
            parse_ruleset(text, "x.toml")
        assert refusal(exc, "x.toml", 'parameters."cyc.minimum".values[0].clause') == "must not be empty"

    @pytest.mark.parametrize(
        ("second", "why"),
        [("2000-01-01", "same day"), ("1999-12-31", "earlier")],
    )
    def test_overlapping_or_out_of_order_dates(self, second: str, why: str) -> None:
        """Values follow each other in time; a second value for the same day needs a later 'recorded'."""
        text = doc_text("x", param("cyc.minimum", entry("2000-01-01", "10"), entry(second, "20")))
        with pytest.raises(RulesetError) as exc:
            parse_ruleset(text, "x.toml")
        assert "overlap or are out of order" in refusal(exc, "x.toml", 'parameters."cyc.minimum".values[1].since')

    def test_a_correction_with_a_later_recorded_date_is_accepted(self) -> None:
        """Same since, later recorded: a correction of a past value, not an overlap."""
        text = doc_text("x", param(
            "cyc.minimum", entry("2000-01-01", "10"), entry("2000-01-01", "12", recorded="2005-06-01")
        ))
        doc = parse_ruleset(text, "x.toml")
        assert [e.value for e in doc.parameters["cyc.minimum"].entries] == [Decimal(10), Decimal(12)]

    def test_floats_are_read_exactly(self) -> None:
        """0.3 in a file is Decimal('0.3'), also inside tables and lists, never a binary float."""
        text = doc_text("x", param("share.min", entry("2000-01-01", "0.3"))
                        + param("share.table", entry("2000-01-01", "{ a = 0.1, b = [0.7, 2] }")))
        doc = parse_ruleset(text, "x.toml")
        assert doc.parameters["share.min"].entries[0].value == Decimal("0.3")
        assert str(doc.parameters["share.min"].entries[0].value) == "0.3"
        table = doc.parameters["share.table"].entries[0].value
        assert table == {"a": Decimal("0.1"), "b": (Decimal("0.7"), Decimal(2))}
        assert all(isinstance(v, Decimal) for v in (table["a"], *table["b"]))

    def test_a_datetime_is_not_a_date(self) -> None:
        """A since with a time of day is refused: parameters change on days."""
        text = doc_text("x", param("cyc.minimum", entry("2000-01-01T08:00:00", "10")))
        with pytest.raises(RulesetError) as exc:
            parse_ruleset(text, "x.toml")
        assert "must be a date" in refusal(exc, "x.toml", 'parameters."cyc.minimum".values[0].since')


# -- refusals across layers --------------------------------------------------------


class TestChainRefusals:
    def test_extends_cycle(self) -> None:
        """a → b → a is refused, naming the cycle."""
        a = doc_text("a", extends="b")
        b = doc_text("b", extends="a")
        with pytest.raises(RulesetError) as exc:
            engine_with(a, b)
        reason = refusal(exc, "test/0.toml", "extends")
        assert reason == "cycle in extends: a → b → a"

    def test_unknown_parent(self) -> None:
        """Extending a ruleset no plugin provides is refused in the child's file."""
        with pytest.raises(RulesetError) as exc:
            engine_with(doc_text("child", extends="nowhere", kind="region"))
        assert "'nowhere'" in refusal(exc, "test/0.toml", "extends")

    def test_redefining_a_parent_parameter_needs_override(self) -> None:
        """A child silently replacing a national value is refused; the message names the parent."""
        parent = doc_text("parent", param("cyc.minimum", entry("2000-01-01", "10")))
        child = doc_text("child", param("cyc.minimum", entry("2010-01-01", "20")), extends="parent")
        with pytest.raises(RulesetError) as exc:
            chain_of(parent, child)
        reason = refusal(exc, "child.toml", 'parameters."cyc.minimum"')
        assert "already defined by 'parent'" in reason and "override = true" in reason

    def test_override_of_nothing(self) -> None:
        """override = true on a parameter no parent defines is a typo, and refused."""
        parent = doc_text("parent", param("cyc.minimum", entry("2000-01-01", "10")))
        child = doc_text("child", param("cyc.minimun", entry("2010-01-01", "20"), override=True), extends="parent")
        with pytest.raises(RulesetError) as exc:
            chain_of(parent, child)
        assert "overrides nothing" in refusal(exc, "child.toml", 'parameters."cyc.minimun".override')

    def test_disable_of_an_unknown_rule(self) -> None:
        """Disabling a rule no parent layer has is refused, at the TOML key path the author wrote."""
        parent = doc_text("parent")
        child = doc_text(
            "child",
            '\n[disable."parent.nope"]\nsince = 2010-01-01\nreason = "r"\nsource = "s"\nclause = "c"\n',
            extends="parent",
        )
        with pytest.raises(RulesetError) as exc:
            chain_of(parent, child)
        assert "no rule 'parent.nope'" in refusal(exc, "child.toml", 'disable."parent.nope"')

    def test_unknown_family(self) -> None:
        """A rule naming a family no plugin provides is refused at load, listing the known ones."""
        with pytest.raises(RulesetError) as exc:
            engine_with(doc_text("x", rule("tot", "cycle_totl")))
        reason = refusal(exc, "test/0.toml", "rules.tot.family")
        assert "unknown family 'cycle_totl'" in reason and "cycle_total" in reason

    def test_family_parameter_no_layer_defines(self) -> None:
        """A rule is refused at load when its family needs a parameter the chain lacks."""
        text = doc_text("x", rule("tot", "cycle_total") + param("tot.minimum", entry("2000-01-01", "10")))
        with pytest.raises(RulesetError) as exc:
            engine_with(text)
        assert "needs parameter 'tot.unit'" in refusal(exc, "test/0.toml", "rules.tot")

    def test_parameter_prefix_is_honoured(self) -> None:
        """With params = "annual", a rule reads annual.* and is refused when annual.unit is missing."""
        text = doc_text("x", rule("yearly", "cycle_total", params="annual")
                        + param("annual.minimum", entry("2000-01-01", "10")))
        with pytest.raises(RulesetError) as exc:
            engine_with(text)
        assert "needs parameter 'annual.unit'" in refusal(exc, "test/0.toml", "rules.yearly")


# -- values in force --------------------------------------------------------------


PARENT = doc_text("parent", param(
    "cyc.minimum",
    entry("2000-01-01", "10"),
    entry("2010-01-01", "20"),
    entry("2020-01-01", "30"),
))
CHILD = doc_text(
    "child",
    param("cyc.minimum", entry("2015-01-01", "25"), override=True),
    extends="parent",
    kind="region",
)


class TestValuesInForce:
    def test_last_value_with_since_on_or_before_the_date(self) -> None:
        """The value in force is the last whose since ≤ date; the change applies on its since day."""
        chain = chain_of(PARENT)
        assert chain.param("cyc.minimum", D(2009, 12, 31)).value == 10
        assert chain.param("cyc.minimum", D(2010, 1, 1)).value == 20
        assert chain.param("cyc.minimum", D(2030, 1, 1)).value == 30

    def test_before_the_first_value_nothing_is_in_force(self) -> None:
        """No value is invented before the first since."""
        with pytest.raises(MissingParameter, match="no value in force on 1999-12-31"):
            chain_of(PARENT).param("cyc.minimum", D(1999, 12, 31))

    def test_child_override_applies_from_its_first_since(self) -> None:
        """Before the override the parent's values apply; from it on the child's, even past later parent values."""
        chain = chain_of(PARENT, CHILD)
        assert chain.param("cyc.minimum", D(2014, 12, 31)).value == 20
        assert chain.param("cyc.minimum", D(2015, 1, 1)).value == 25
        assert chain.param("cyc.minimum", D(2021, 1, 1)).value == 25

    def test_override_is_visible_in_the_trace(self) -> None:
        """ParameterUse names the layer that supplied the value and the layer it overrode."""
        chain = chain_of(PARENT, CHILD)
        before = chain.param("cyc.minimum", D(2012, 1, 1))
        after = chain.param("cyc.minimum", D(2016, 1, 1))
        assert (before.layer, before.overrides, before.since) == ("parent", None, D(2010, 1, 1))
        assert (after.layer, after.overrides, after.since) == ("child", "parent", D(2015, 1, 1))
        assert after.citation.source == "Source S" and after.citation.text == "c"
        assert [(u.layer, u.value) for u in chain.history("cyc.minimum")] == [
            ("parent", 10), ("parent", 20), ("child", 25)
        ]

    def test_recorded_after_known_at_is_invisible(self) -> None:
        """An auditor replaying with known_at sees the values as they were known then."""
        text = doc_text("x", param(
            "cyc.minimum",
            entry("2000-01-01", "10"),
            entry("2000-01-01", "12", recorded="2005-06-01"),
            entry("2006-01-01", "15", recorded="2005-12-01"),
        ))
        chain = chain_of(text)
        on = D(2003, 1, 1)
        assert chain.param("cyc.minimum", on, known_at=D(2005, 5, 31)).value == 10
        assert chain.param("cyc.minimum", on, known_at=D(2005, 6, 1)).value == 12
        assert chain.param("cyc.minimum", on).value == 12
        assert chain.param("cyc.minimum", D(2007, 1, 1), known_at=D(2005, 11, 30)).value == 12
        assert chain.param("cyc.minimum", D(2007, 1, 1), known_at=D(2005, 12, 1)).value == 15

    def test_child_override_recorded_later_is_invisible_before(self) -> None:
        """Before the child's override was recorded, the parent's value is what was known."""
        child = doc_text(
            "child",
            param("cyc.minimum", entry("2015-01-01", "25", recorded="2016-03-01"), override=True),
            extends="parent",
        )
        chain = chain_of(PARENT, child)
        assert chain.param("cyc.minimum", D(2015, 6, 1), known_at=D(2016, 2, 29)).layer == "parent"
        assert chain.param("cyc.minimum", D(2015, 6, 1), known_at=D(2016, 3, 1)).value == 25


class TestContentHash:
    def test_stable_across_comments_and_layout(self) -> None:
        """Reformatting or commenting a file does not change what it says, nor its hash."""
        reformatted = "# a comment\n" + PARENT.replace("values = [\n  ", "values = [ ")
        assert parse_ruleset(PARENT, "a.toml").hash == parse_ruleset(reformatted, "b.toml").hash

    def test_changes_when_a_value_changes(self) -> None:
        """Any changed value changes the layer's hash and every chain built on it."""
        changed = PARENT.replace("value = 30", "value = 31")
        assert parse_ruleset(PARENT, "a.toml").hash != parse_ruleset(changed, "a.toml").hash
        assert chain_of(PARENT, CHILD).hash != chain_of(changed, CHILD).hash
        assert chain_of(PARENT, CHILD).hash == chain_of(PARENT, CHILD).hash

    def test_chain_ref_lists_each_layer(self) -> None:
        """A decision's ruleset reference pins each layer's id and hash, root first."""
        chain = chain_of(PARENT, CHILD)
        assert [layer.id for layer in chain.ref.chain] == ["parent", "child"]
        assert chain.ref.chain[1].hash == parse_ruleset(CHILD, "x").hash


BAD_VALUE_LAYER = """
schema = "creditrules.ruleset/1"
id = "badvalues"
extends = "guangxi"
name = {{ zh = "坏值", en = "Bad values" }}

[sources.s]
title = "a test source"

[parameters."{name}"]
description = "a value of the wrong shape"
override = true
values = [ {{ since = 2016-01-01, value = {value}, source = "s", clause = "x" }} ]
"""


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("annual.minimum", '"sixteen"', "must be a number"),
        ("category_mix.minimum", "70", "must be a table of name = number"),
        ("cycle.years", "0", "must be > 0"),
        ("cycle.anchor", '"2016"', "must be a date"),
        ("repeat_training.overlap_categories", '["centralised"]', "unknown 'centralised'"),
        ("new_teacher.roles", '"new_teacher"', "must be a list of words"),
    ],
)
def test_a_value_of_the_wrong_shape_is_refused_at_load(name: str, value: str, reason: str) -> None:
    """A rule author's typo in a value is refused with the file and key path, before any decision."""

    class Layer:
        @hookimpl
        def creditrules_rulesets(self):  # type: ignore[no-untyped-def]
            return [parse_ruleset(BAD_VALUE_LAYER.format(name=name, value=value), "badvalues.toml")]

    with pytest.raises(RulesetError) as exc:
        Engine.load(plugins=[Layer()], entry_points=False)
    message = str(exc.value)
    assert message.startswith(f'badvalues.toml: parameters."{name}".values[0].value: ')
    assert reason in message
