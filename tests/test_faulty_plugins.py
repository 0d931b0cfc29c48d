"""Faulty plugins: a broken rule or plugin is named, contained, and never turns into a silent default.

Runtime faults (a family that raises, returns the wrong type, loops forever)
give the affected decision outcome ``error``, naming the plugin and the rule,
while every other subject of the same batch gets exactly the decision a
well-behaved plugin would have given. Load-time faults of *installed* plugins
(simulated with entry points of throw-away distributions in ``tmp_path``) skip
that plugin with a message naming it and its distribution — unless the
allow-list names it, which makes it required. ``creditrules adjudicate`` exits
3 when any decision is ``error``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from creditrules import (
    Context,
    Decision,
    Engine,
    Finding,
    Outcome,
    Person,
    PluginError,
    Reason,
    RuleDef,
    RuleFamily,
    SubjectKind,
    TrainingRecord,
    cli,
    decision_json,
    hookimpl,
    parse_ruleset,
)
from creditrules import plugins as plugins_module
from creditrules.testing import InlinePlugin

from .test_fuzz import cpu_limit

AS_OF = dt.date(2020, 12, 31)
PLUGIN = "creditrules_faulty"
RULE = "faulty.probe"


def region_text(rid: str = "faulty", *, extends: str = "guangxi", family: str | None = "faulty_probe") -> str:
    """A region on top of Guangxi with one extra rule run by ``family`` (none if ``None``)."""
    head = textwrap.dedent(f"""\
        schema = "creditrules.ruleset/1"
        id = "{rid}"
        extends = "{extends}"
        kind = "region"
        name = {{ zh = "故障测试", en = "Faulty test" }}
        """)
    if family is None:
        return head
    return textwrap.dedent(f"""\
        schema = "creditrules.ruleset/1"
        id = "{rid}"
        extends = "{extends}"
        kind = "region"
        name = {{ zh = "故障测试", en = "Faulty test" }}

        [sources.t]
        title = "Test source"

        [rules.probe]
        family = "{family}"
        severity = "fail"
        since = 2000-01-01
        source = "t"
        clause = "探针规则"
        title = {{ zh = "探针", en = "Probe" }}
        """)


REGION = parse_ruleset(region_text(), "faulty.toml")


class Probe(RuleFamily):
    """Passes everyone; the subclasses misbehave for person ``BAD`` only."""

    name = "faulty_probe"
    subject = SubjectKind.PERSON
    stage = 150

    def evaluate(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        if ctx.subject.id == "BAD":
            return self.misbehave(rule, ctx)
        return [ctx.finding(rule, self.name, Outcome.PASS, Reason("通过", "passed"))]

    def misbehave(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        return [ctx.finding(rule, self.name, Outcome.PASS, Reason("通过", "passed"))]


class Raises(Probe):
    def misbehave(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        raise ZeroDivisionError("division by zero in the probe")


class Exits(Probe):
    def misbehave(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        raise SystemExit(3)  # sys.exit() in a plugin must not end the batch, nor kill a worker


class WrongType(Probe):
    def misbehave(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        return ["pass"]  # type: ignore[list-item]


class ReturnsNone(Probe):
    def misbehave(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        return None  # type: ignore[return-value]


class LoopsForever(Probe):
    def misbehave(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        n = 0
        while True:
            n += 1


class RecordStageProbe(Probe):
    """The same probe as a record-stage family (one that would adjust credit lines)."""

    stage = 50


class RaisesInRecordStage(RecordStageProbe):
    def misbehave(self, rule: RuleDef, ctx: Context) -> Iterable[Finding]:
        raise ZeroDivisionError("division by zero in the probe")


def engine_with(family: RuleFamily) -> Engine:
    return Engine.load(plugins=[InlinePlugin([REGION], [family], name=PLUGIN)], entry_points=False)


def rec(rid: str, person: str, end: str, hours: int, category: str = "centralized") -> TrainingRecord:
    return TrainingRecord(record_id=rid, person_id=person, level="municipal", category=category,
                          start_date=end, end_date=end, hours=hours)


def batch() -> list[tuple[Person, list[TrainingRecord]]]:
    """Three subjects; the faulty family misbehaves for the middle one only."""
    return [
        (Person("A1"), [rec("R1", "A1", "2019-03-01", 40), rec("R2", "A1", "2020-05-01", 90)]),
        (Person("BAD"), [rec("R3", "BAD", "2020-04-01", 24)]),
        (Person("Z9"), [rec("R4", "Z9", "2018-09-01", 12, "remote")]),
    ]


def decide(engine: Engine) -> list[Decision]:
    return [engine.adjudicate(p, rs, region="faulty", as_of=AS_OF) for p, rs in batch()]


_REFERENCE: dict[int, list[str]] = {}


def reference(stage: int = Probe.stage) -> list[str]:
    """The decisions a well-behaved plugin gives (the same rule at the same stage, passing everyone)."""
    if stage not in _REFERENCE:
        family = RecordStageProbe() if stage == RecordStageProbe.stage else Probe()
        _REFERENCE[stage] = [decision_json(d) for d in decide(engine_with(family))]
    return _REFERENCE[stage]


def error_finding(d: Decision) -> Finding:
    (f,) = [f for f in d.findings if f.outcome is Outcome.ERROR]
    return f


# -- runtime faults -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "says"),
    [
        (Raises(), "ZeroDivisionError: division by zero in the probe"),
        (Exits(), "SystemExit: 3"),
        (WrongType(), "returned a str, not a Finding"),
        (ReturnsNone(), "TypeError"),
        (RaisesInRecordStage(), "ZeroDivisionError"),
    ],
    ids=["raises", "exits", "wrong-type", "returns-none", "raises-in-record-stage"],
)
def test_a_faulty_family_gives_an_error_decision_naming_plugin_and_rule(family: RuleFamily, says: str) -> None:
    """The bad subject's decision is ``error`` and says who failed; the others are untouched."""
    decisions = decide(engine_with(family))
    bad = decisions[1]
    assert bad.outcome is Outcome.ERROR
    finding = error_finding(bad)
    assert finding.rule == RULE and finding.family == "faulty_probe"
    assert f"plugin {PLUGIN}" in finding.reason.en and f"rule {RULE}" in finding.reason.en
    assert f"插件 {PLUGIN}" in finding.reason.zh and f"规则 {RULE}" in finding.reason.zh
    assert says in finding.reason.en
    # Every other rule still ran for the bad subject: the error is one finding among the rest.
    assert len(bad.findings) > 1
    good = reference(family.stage)
    assert [decision_json(d) for d in (decisions[0], decisions[2])] == [good[0], good[2]]


def test_error_takes_precedence_over_fail() -> None:
    """A subject who also fails a real rule is still ``error``: a failed rule's verdict is not to be trusted."""
    engine = engine_with(Raises())
    d = engine.adjudicate(Person("BAD"), [], region="faulty", as_of=AS_OF)  # no credits at all: fails Guangxi
    assert any(f.outcome is Outcome.FAIL for f in d.findings)
    assert d.outcome is Outcome.ERROR


def test_a_family_that_loops_forever_is_stopped_at_the_time_limit() -> None:
    """The per-decision time limit stops the loop; the batch goes on with correct decisions."""
    engine = engine_with(LoopsForever())
    engine.rule_timeout = 0.5
    decisions = decide(engine)
    bad = decisions[1]
    assert bad.outcome is Outcome.ERROR
    finding = error_finding(bad)
    assert finding.rule == RULE
    assert f"plugin {PLUGIN}" in finding.reason.en and f"rule {RULE}" in finding.reason.en
    assert "time limit" in finding.reason.en
    good = reference()
    assert [decision_json(d) for d in (decisions[0], decisions[2])] == [good[0], good[2]]


def test_the_time_limit_is_per_decision_not_per_batch() -> None:
    """Many quick decisions in a row never add up to a timeout."""
    engine = engine_with(Probe())
    engine.rule_timeout = 0.5
    for i in range(200):
        d = engine.adjudicate(Person(f"P{i}"), [], region="faulty", as_of=AS_OF)
        assert d.outcome is not Outcome.ERROR


class Classifies:
    """A plugin whose classify hook (a runtime hook, called per record) raises."""

    __name__ = "creditrules_badclassify"

    @hookimpl
    def creditrules_classify(self, record: TrainingRecord, region: str, chain: tuple[str, ...], on: dt.date) -> Any:
        raise ValueError("classify broke")


def test_a_classify_hook_that_raises_gives_an_error_decision() -> None:
    engine = Engine.load(plugins=[Classifies()], entry_points=False)
    d = engine.adjudicate(Person("T1"), [rec("R1", "T1", "2020-04-01", 24)], region="guangxi", as_of=AS_OF)
    assert d.outcome is Outcome.ERROR
    assert "creditrules_badclassify" in json.dumps([f.reason.en for f in d.findings])


TWO_RULES = parse_ruleset(region_text() + textwrap.dedent("""
    [rules.probe_again]
    family = "faulty_probe"
    severity = "fail"
    since = 2000-01-01
    source = "t"
    clause = "探针规则"
    title = { zh = "探针二", en = "Probe again" }
    """), "faulty.toml")


def test_two_looping_rules_in_one_decision_are_both_stopped() -> None:
    engine = Engine.load(plugins=[InlinePlugin([TWO_RULES], [LoopsForever()], name=PLUGIN)], entry_points=False)
    engine.rule_timeout = 0.5
    with cpu_limit(3.0):  # fails the test instead of hanging it if the time limit did not hold
        d = engine.adjudicate(Person("BAD"), [], region="faulty", as_of=AS_OF)
    assert d.outcome is Outcome.ERROR
    assert {f.rule for f in d.findings if f.outcome is Outcome.ERROR} >= {RULE}
    assert any("Not run: the decision's time limit was reached" in f.reason.en for f in d.findings)


class ClassifiesForever:
    __name__ = "creditrules_loopclassify"

    @hookimpl
    def creditrules_classify(self, record: TrainingRecord, region: str, chain: tuple[str, ...], on: dt.date) -> Any:
        while True:
            pass


def test_a_classify_hook_that_loops_is_stopped_at_the_time_limit() -> None:
    engine = Engine.load(plugins=[ClassifiesForever()], entry_points=False)
    engine.rule_timeout = 0.5
    records = [rec(f"R{i}", "T1", f"2020-0{i + 1}-01", 8) for i in range(3)]
    with cpu_limit(3.0):  # fails the test instead of hanging it if the time limit did not hold
        d = engine.adjudicate(Person("T1"), records, region="guangxi", as_of=AS_OF)
    assert d.outcome is Outcome.ERROR
    assert "creditrules_loopclassify" in json.dumps([f.reason.en for f in d.findings])


# -- installed plugins that fail to load --------------------------------------------------


class Installed:
    """Throw-away distributions with ``creditrules`` entry points, seen by the plugin loader.

    Each plugin is a module written to ``tmp_path/site`` (on ``sys.path``) and
    a ``.dist-info`` directory (in ``tmp_path/dists``, off ``sys.path``) naming
    its distribution and version; the loader's ``metadata.entry_points`` is
    patched to return these next to the really installed ones.
    """

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = tmp_path / "site"
        self.dist_root = tmp_path / "dists"
        self.root.mkdir()
        self.dist_root.mkdir()
        self.dists: list[metadata.Distribution] = []
        self.real = metadata.entry_points
        monkeypatch.syspath_prepend(str(self.root))
        monkeypatch.setattr(plugins_module.metadata, "entry_points", self.entry_points)
        monkeypatch.delenv("CREDITRULES_LOAD_PLUGINS", raising=False)
        self.monkeypatch = monkeypatch

    def add(self, name: str, source: str, *, ruleset: str | None = None, dist: str | None = None) -> str:
        """Install plugin ``name`` (module ``<name>_<test id>``); returns its distribution name."""
        module = f"{name}_{abs(hash(self.root)) % 10**8}"
        (self.root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        if ruleset is not None:
            (self.root / f"{module}.toml").write_text(ruleset, encoding="utf-8")
        self.monkeypatch.delitem(sys.modules, module, raising=False)
        dist = dist or f"creditrules-{name.replace('_', '-')}"
        info = self.dist_root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n", encoding="utf-8")
        (info / "entry_points.txt").write_text(f"[creditrules]\n{name} = {module}\n", encoding="utf-8")
        self.dists.append(metadata.PathDistribution(info))
        return dist

    def entry_points(self, **select: Any) -> list[metadata.EntryPoint]:
        found = list(self.real(**select))
        for d in self.dists:
            found.extend(d.entry_points.select(**select))
        return found


#: A plugin module providing the ruleset file next to it (as a real plugin does).
RULESET_PLUGIN = """\
    from pathlib import Path
    from creditrules import hookimpl, load_ruleset

    @hookimpl
    def creditrules_rulesets():
        return [load_ruleset(Path(__file__).with_suffix(".toml"))]
"""

#: A plugin providing a family that raises for person BAD, and a region using it.
FAULTY_FAMILY_PLUGIN = RULESET_PLUGIN + """\

    from creditrules import Outcome, Reason, RuleFamily, SubjectKind

    class Probe(RuleFamily):
        name = "faulty_probe"
        subject = SubjectKind.PERSON
        stage = 150

        def evaluate(self, rule, ctx):
            if ctx.subject.id == "BAD":
                raise KeyError("missing column in the probe")
            return [ctx.finding(rule, self.name, Outcome.PASS, Reason("通过", "passed"))]

    @hookimpl
    def creditrules_families():
        return [Probe()]
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Installed:
    return Installed(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def beihai_reference() -> list[str]:
    """Beihai decisions with only the really installed plugins: what a broken neighbour must not change."""
    return beihai_decisions(Engine.load())


def beihai_decisions(engine: Engine) -> list[str]:
    people = [
        (Person("T-1"), [rec("R-1", "T-1", "2019-03-01", 40), rec("R-2", "T-1", "2020-05-01", 90)]),
        (Person("T-2"), [rec("R-3", "T-2", "2020-04-01", 24, "remote")]),
    ]
    return [decision_json(engine.adjudicate(p, rs, region="beihai", as_of=AS_OF)) for p, rs in people]


LOAD_FAULTS = {
    "import-fails": ("import this_module_does_not_exist_anywhere\n", None, "failed to import"),
    "syntax-error": ("def broken(:\n", None, "failed to import"),
    "hook-raises": (
        ("from creditrules import hookimpl\n\n@hookimpl\ndef creditrules_rulesets():\n"
         "    raise RuntimeError('ruleset directory missing')\n"),
        None,
        "creditrules_rulesets() failed: RuntimeError: ruleset directory missing",
    ),
    "wrong-return-type": (
        "from creditrules import hookimpl\n\n@hookimpl\ndef creditrules_families():\n    return ['cycle_total']\n",
        None,
        "creditrules_families() failed: TypeError: returned a str, expected RuleFamily",
    ),
    "malformed-ruleset": (RULESET_PLUGIN, 'schema = "creditrules.ruleset/1"\nid = "oops"\n', "name: required key is missing"),
    "extends-missing-layer": (
        RULESET_PLUGIN,
        region_text("orphan", extends="atlantis", family=None),
        "extends 'atlantis', which no installed ruleset provides",
    ),
}


@pytest.mark.parametrize("fault", sorted(LOAD_FAULTS))
def test_a_broken_installed_plugin_is_skipped_and_named(
    fault: str, installed: Installed, beihai_reference: list[str]
) -> None:
    """Skipped with a message naming the plugin (and its distribution where it is known); the rest loads."""
    source, ruleset, says = LOAD_FAULTS[fault]
    dist = installed.add("broken", source, ruleset=ruleset)
    engine = Engine.load()
    (problem,) = [p for p in engine.load_errors if "'broken'" in p]
    assert says in problem
    assert problem.endswith("(skipped)")
    if "import" in says:
        assert f"{dist} 1.2.3" in problem  # the distribution, to know what to uninstall
    assert "broken" not in {p.name for p in engine.plugins} or fault not in ("import-fails", "syntax-error")
    assert "orphan" not in engine.chains and "oops" not in engine.chains
    assert beihai_decisions(engine) == beihai_reference


@pytest.mark.parametrize("fault", [
    "import-fails",
    "hook-raises",
    "extends-missing-layer",
])
def test_strict_loading_refuses_a_broken_installed_plugin(fault: str, installed: Installed) -> None:
    source, ruleset, says = LOAD_FAULTS[fault]
    installed.add("broken", source, ruleset=ruleset)
    with pytest.raises(Exception) as exc:
        Engine.load(strict=True)
    assert says in str(exc.value)


def test_an_allow_listed_plugin_that_fails_is_fatal(installed: Installed, monkeypatch: pytest.MonkeyPatch) -> None:
    """Naming a plugin in CREDITRULES_LOAD_PLUGINS makes it required: its failure stops the load, naming it."""
    source, _, _ = LOAD_FAULTS["import-fails"]
    dist = installed.add("broken", source)
    monkeypatch.setenv("CREDITRULES_LOAD_PLUGINS", "beihai,broken")
    with pytest.raises(PluginError) as exc:
        Engine.load()
    assert "'broken'" in str(exc.value) and dist in str(exc.value)
    # The same through the command line: one message, exit 2, no traceback.
    result = CliRunner().invoke(cli.main, ["regions"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "'broken'" in result.output


def test_an_allow_listed_plugin_whose_hook_fails_is_fatal(installed: Installed, monkeypatch: pytest.MonkeyPatch) -> None:
    source, _, says = LOAD_FAULTS["hook-raises"]
    installed.add("broken", source)
    with pytest.raises(PluginError) as exc:
        Engine.load(allow=["broken"])
    assert "'broken'" in str(exc.value) and says in str(exc.value)


def test_a_plugin_outside_the_allow_list_is_not_even_imported(installed: Installed, monkeypatch: pytest.MonkeyPatch) -> None:
    """The allow-list decides what code runs: a plugin not on it is never imported, so cannot fail."""
    source, _, _ = LOAD_FAULTS["import-fails"]
    installed.add("broken", source)
    monkeypatch.setenv("CREDITRULES_LOAD_PLUGINS", "beihai")
    engine = Engine.load()
    assert engine.load_errors == ()
    assert {p.name for p in engine.plugins} == {"creditrules", "beihai"}


def test_two_installed_plugins_providing_one_region(installed: Installed, beihai_reference: list[str]) -> None:
    """The conflict is reported naming both plugins and the region; neither is trusted with it, the others load."""
    ruleset = region_text("twin", family=None)
    installed.add("twin_a", RULESET_PLUGIN, ruleset=ruleset)
    installed.add("twin_b", RULESET_PLUGIN, ruleset=ruleset)
    engine = Engine.load()
    (problem,) = [p for p in engine.load_errors if "twin" in p]
    assert "'twin'" in problem and "'twin_a'" in problem and "'twin_b'" in problem
    assert "neither is loaded" in problem and "CREDITRULES_LOAD_PLUGINS" in problem
    assert "twin" not in engine.chains
    assert beihai_decisions(engine) == beihai_reference


def test_a_plugin_claiming_an_installed_region_does_not_displace_it(installed: Installed) -> None:
    """A second 'beihai' from another distribution is reported, and never replaces the one in use."""
    installed.add("impostor", RULESET_PLUGIN, ruleset=region_text("beihai", family=None))
    engine = Engine.load()
    assert any("'beihai'" in p and "'impostor'" in p for p in engine.load_errors)
    assert "beihai" not in engine.chains or engine.provider("beihai") == "beihai"


def test_creditrules_plugins_lists_the_broken_plugin(installed: Installed) -> None:
    source, _, _ = LOAD_FAULTS["hook-raises"]
    installed.add("broken", source)
    good = installed.add("good", RULESET_PLUGIN, ruleset=region_text("good_region", family=None))
    result = CliRunner().invoke(cli.main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    rows = {row["plugin"]: row for row in listing["plugins"]}
    assert rows["good"]["distribution"] == good and rows["good"]["version"] == "1.2.3"
    assert list(rows["good"]["rulesets"]) == ["good_region"]
    assert len(rows["good"]["rulesets"]["good_region"]) == 64  # the content hash
    # The broken one provides nothing, and its failure is listed with its name.
    assert "broken" not in rows or (rows["broken"]["rulesets"], rows["broken"]["families"]) == ({}, [])
    assert any("'broken'" in e and "ruleset directory missing" in e for e in listing["errors"])


# -- the command line -------------------------------------------------------------------


PERSONS = "person_id,role\nA1,teacher\nBAD,teacher\nZ9,teacher\n"
RECORDS = (
    "record_id,person_id,level,category,start_date,end_date,hours\n"
    "R1,A1,municipal,centralized,2019-03-01,2019-03-01,40\n"
    "R3,BAD,municipal,centralized,2020-04-01,2020-04-01,24\n"
    "R4,Z9,municipal,remote,2018-09-01,2018-09-01,12\n"
)


def run_cli(tmp_path: Path, *extra: str) -> Any:
    (tmp_path / "persons.csv").write_text(PERSONS, encoding="utf-8")
    (tmp_path / "records.csv").write_text(RECORDS, encoding="utf-8")
    out = tmp_path / "decisions.jsonl"
    args = ["adjudicate", "--region", "faulty", "--as-of", "2020-12-31", "--persons", str(tmp_path / "persons.csv"),
            "--records", str(tmp_path / "records.csv"), "--out", str(out), *extra]
    return CliRunner().invoke(cli.main, args), out


def test_adjudicate_exits_3_when_a_decision_is_error(installed: Installed, tmp_path: Path) -> None:
    """Every decision is written, the broken ones are named on stderr, and the exit code says so."""
    installed.add("faulty", FAULTY_FAMILY_PLUGIN, ruleset=region_text())
    result, out = run_cli(tmp_path)
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    decisions = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(d["subject"]["id"], d["outcome"]) for d in decisions][1] == ("BAD", "error")
    assert {d["outcome"] for d in decisions[::2]} <= {"pass", "fail"}
    assert "error: person BAD: The rule's code failed (plugin faulty, rule faulty.probe): KeyError" in result.stderr
    assert "1 decision has outcome error" in result.stderr


def test_exit_3_takes_precedence_over_fail_on_fail(installed: Installed, tmp_path: Path) -> None:
    installed.add("faulty", FAULTY_FAMILY_PLUGIN, ruleset=region_text())
    result, _ = run_cli(tmp_path, "--fail-on-fail")
    assert result.exit_code == 3


def test_adjudicate_exits_0_when_no_decision_is_error(installed: Installed, tmp_path: Path) -> None:
    installed.add("faulty", FAULTY_FAMILY_PLUGIN, ruleset=region_text())
    (tmp_path / "p.csv").write_text("person_id\nA1\n", encoding="utf-8")
    (tmp_path / "r.csv").write_text(RECORDS.splitlines()[0] + "\n" + RECORDS.splitlines()[1] + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["adjudicate", "--region", "faulty", "--as-of", "2020-12-31",
                                           "--persons", str(tmp_path / "p.csv"), "--records", str(tmp_path / "r.csv")])
    assert result.exit_code == 0, result.output


def test_adjudicate_stops_a_looping_rule_and_exits_3(
    installed: Installed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    looping = FAULTY_FAMILY_PLUGIN.replace('raise KeyError("missing column in the probe")', "while True: pass")
    installed.add("faulty", looping, ruleset=region_text())
    monkeypatch.setattr(Engine, "rule_timeout", 0.5)
    result, out = run_cli(tmp_path)
    assert result.exit_code == 3, result.output
    assert "time limit" in result.stderr and "plugin faulty, rule faulty.probe" in result.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
