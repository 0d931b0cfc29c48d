"""The command line, as a user meets it: output, exit codes, refusals, determinism."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import subprocess
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from creditrules import Engine, cli, hookimpl, parse_ruleset
from creditrules.samples import find_samples, sample_as_of

AS_OF = ["--region", "beihai", "--as-of", "2020-12-31"]

PERSONS = """\
person_id,role,school_id
T-1,teacher,S-1
T-2,backbone,S-1
"""

RECORDS_HEADER = "record_id,person_id,level,category,subcategory,start_date,end_date,hours,topic"
RECORDS = [
    "R-0001,T-1,municipal,centralized,thematic_training,2020-07-06,2020-07-09,24,北海市市培—班主任工作能力提升",
    "R-0002,T-1,school,school_based,,2020-03-01,2020-06-20,12,校本研修:课堂观察与评课",
    "R-0003,T-1,national,remote,,2020-10-01,2020-11-25,30,国培计划—网络研修与校本实践",
    "R-0004,T-2,school,school_based,open_lesson,2020-11-08,2020-11-08,2,公开课:校级教学开放周",
    "R-0005,T-2,provincial,centralized,,2021-01-05,2021-01-08,24,广西区培—新课程标准解读",
]

UNITS = """\
unit_id,year,title,public_funds,school_based_budget
S-1,2020,示例学校,1000000,40000
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Input files are named as given, so relative names keep the messages short.
    monkeypatch.chdir(tmp_path)


def run(*args: str, columns: int | None = None) -> Result:
    env = {"COLUMNS": str(columns)} if columns else None
    return CliRunner(env=env).invoke(cli.main, list(args), catch_exceptions=False)


def write(name: str, text: str, encoding: str = "utf-8") -> str:
    Path(name).write_bytes(text.encode(encoding))
    return name


def records_csv(rows: Sequence[str] = RECORDS, name: str = "records.csv", encoding: str = "utf-8") -> str:
    return write(name, "\n".join([RECORDS_HEADER, *rows]) + "\n", encoding)


def small_inputs() -> list[str]:
    return ["--persons", write("persons.csv", PERSONS), "--records", records_csv(), "--units", write("units.csv", UNITS)]


def sample_copies() -> dict[str, str]:
    """The bundled Beihai sample files, copied here (so a test may shuffle them)."""
    files = find_samples("beihai")
    assert files is not None
    out = {}
    for kind, traversable in files.items():
        with resources.as_file(traversable) as path:
            out[kind] = write(f"{kind}.csv", Path(path).read_text(encoding="utf-8"))
    return out


def shuffled(path: str, seed: int) -> str:
    header, *rows = Path(path).read_text(encoding="utf-8").splitlines()
    random.Random(seed).shuffle(rows)
    return write(f"shuffled_{seed}_{path}", "\n".join([header, *rows]) + "\n")


# -- regions, rules, version --------------------------------------------------------


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert "creditrules" in result.output and "0.1.0" in result.output


def test_regions_lists_beihai_with_its_chain() -> None:
    result = run("regions")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("beihai"))
    assert "北海市" in row and "Beihai" in row
    beihai = next(r for r in json.loads(run("regions", "--json").stdout) if r["id"] == "beihai")
    assert beihai["hash"][:10] in row
    wide = run("regions", columns=200)
    assert "national → guangxi → beihai" in wide.stdout


def test_regions_json() -> None:
    result = run("regions", "--json")
    regions = {r["id"]: r for r in json.loads(result.stdout)}
    assert regions["beihai"]["chain"] == ["national", "guangxi", "beihai"]
    assert regions["beihai"]["name"] == {"zh": "北海市", "en": "Beihai"}
    assert regions["beihai"]["plugin"] == "beihai"
    assert "guangxi" not in regions  # a base layer, listed only with --all
    assert "guangxi" in {r["id"] for r in json.loads(run("regions", "--all", "--json").stdout)}


def test_rules_show_parameters_with_value_since_layer_and_citation() -> None:
    result = run("rules", *AS_OF)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "guangxi.annual" in out and "年度最低学分 / Annual minimum credits" in out
    assert "annual.minimum = 16 credits" in out
    assert "since 2016-01-01 · guangxi" in out
    assert "每年所修学分最低不得少于16分" in out
    assert "beihai.school_based_budget" in out
    # A rule a lower layer switched off is shown as such, with its reason.
    assert "national.cycle_hours" in out and "by guangxi since 2016-01-01" in out


def test_rules_json() -> None:
    view = json.loads(run("rules", *AS_OF, "--json").stdout)
    assert view["chain"] == ["national", "guangxi", "beihai"]
    params = {p["name"]: p for p in view["parameters"]}
    assert params["annual.minimum"]["value"] == "16"
    assert params["annual.minimum"]["layer"] == "guangxi"
    assert params["annual.minimum"]["citation"]["text"] == "每年所修学分最低不得少于16分"
    rules = {r["id"]: r for r in view["rules"]}
    assert rules["beihai.central_subtypes"]["title"]["zh"] == "集中培训六类审核"
    assert "national.cycle_hours" not in rules


TESTCITY = """\
schema = "creditrules.ruleset/1"
id = "testcity"
extends = "guangxi"
kind = "region"
name = { zh = "测试市", en = "Test City" }

[parameters."annual.minimum"]
description = "Credits required each year"
unit = "credits"
override = true
values = [
  { since = 2018-01-01, value = 20, source = "测试市继续教育办法", clause = "每年所修学分不少于20分" },
]
"""


class _TestCity:
    @hookimpl
    def creditrules_rulesets(self) -> list[Any]:
        return [parse_ruleset(TESTCITY, "testcity.toml")]


def test_rules_mark_a_city_override(monkeypatch: pytest.MonkeyPatch) -> None:
    class WithTestCity(Engine):
        @classmethod
        def load(cls, plugins: Any = (), **kw: Any) -> Engine:
            return super().load([*plugins, _TestCity()], **kw)

    monkeypatch.setattr(cli, "Engine", WithTestCity)
    out = run("rules", "--region", "testcity", "--as-of", "2020-12-31").stdout
    assert "annual.minimum = 20 credits" in out
    assert "since 2018-01-01 · testcity · overrides guangxi" in out
    assert "每年所修学分不少于20分" in out
    # Before the city's value takes effect, the province's applies, unmarked.
    before = run("rules", "--region", "testcity", "--as-of", "2017-06-30").stdout
    assert "annual.minimum = 16 credits" in before and "overrides" not in before


# -- adjudicate -----------------------------------------------------------------------


def test_adjudicate_writes_one_canonical_line_per_subject_in_order() -> None:
    result = run("adjudicate", *AS_OF, *small_inputs())
    assert result.exit_code == 0, result.output
    lines = result.stdout_bytes.decode("utf-8").splitlines()
    decisions = [json.loads(line) for line in lines]
    assert [(d["subject"]["kind"], d["subject"]["id"]) for d in decisions] == [
        ("person", "T-1"), ("person", "T-2"), ("unit", "S-1"),
    ]
    for line, d in zip(lines, decisions):
        assert line == json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert decisions[1]["ignored_records"] == ["R-0005"]  # ends after as_of: listed, not counted
    # The summary goes to stderr, so stdout stays pure JSON Lines.
    assert "person" in result.stderr and "unit" in result.stderr


def test_adjudicate_is_byte_identical_across_runs_and_row_orders() -> None:
    files = sample_copies()
    args = [*AS_OF, "--units", files["units"]]
    first = run("adjudicate", *args, "--persons", files["persons"], "--records", files["records"])
    again = run("adjudicate", *args, "--persons", files["persons"], "--records", files["records"])
    assert first.exit_code == 0, first.output
    assert len(first.stdout_bytes.splitlines()) == 14
    assert first.stdout_bytes == again.stdout_bytes
    for seed in (1, 2):
        mixed = run("adjudicate", *args, "--persons", shuffled(files["persons"], seed),
                    "--records", shuffled(files["records"], seed))
        assert mixed.stdout_bytes == first.stdout_bytes


def test_adjudicate_out_file_holds_the_same_bytes_as_stdout() -> None:
    inputs = small_inputs()
    to_stdout = run("adjudicate", *AS_OF, *inputs)
    to_file = run("adjudicate", *AS_OF, *inputs, "--out", "decisions.jsonl")
    assert to_file.exit_code == 0
    assert to_file.stdout == ""
    assert Path("decisions.jsonl").read_bytes() == to_stdout.stdout_bytes


def test_adjudicate_refuses_a_malformed_record_naming_file_line_record_and_field() -> None:
    rows = list(RECORDS)
    rows[1] = rows[1].replace(",12,", ",-3,")
    result = run("adjudicate", *AS_OF, "--persons", write("persons.csv", PERSONS),
                 "--records", records_csv(rows), "--out", "decisions.jsonl")
    assert result.exit_code == 2
    assert "records.csv:3 record R-0002: hours: must be ≥ 0, got '-3'" in result.stderr
    assert result.stdout == ""
    assert not Path("decisions.jsonl").exists()
    assert "Traceback" not in result.output


def test_adjudicate_reports_every_bad_row_of_every_file() -> None:
    rows = list(RECORDS)
    rows[0] = rows[0].replace(",24,", ",-3,")
    rows[2] = rows[2].replace("remote", "telepathy")
    persons = PERSONS.replace("T-2,backbone", "T-2,wizard")
    result = run("adjudicate", *AS_OF, "--persons", write("persons.csv", persons), "--records", records_csv(rows))
    assert result.exit_code == 2
    errors = result.stderr.splitlines()
    assert errors[0].startswith("persons.csv:3 person T-2: role: must be one of")
    assert errors[1] == "records.csv:2 record R-0001: hours: must be ≥ 0, got '-3'"
    assert errors[2].startswith("records.csv:4 record R-0003: category: must be one of")
    assert errors[3].startswith("3 input errors")


def test_adjudicate_refuses_a_record_of_an_unknown_person() -> None:
    rows = [*RECORDS, "R-0099,T-404,school,school_based,,2020-03-01,2020-06-20,12,校本研修"]
    result = run("adjudicate", *AS_OF, "--persons", write("persons.csv", PERSONS), "--records", records_csv(rows))
    assert result.exit_code == 2
    assert "records.csv:7 record R-0099: person_id:" in result.stderr
    assert "T-404" in result.stderr
    assert result.stdout == ""


def test_adjudicate_unknown_region_lists_the_known_ones() -> None:
    result = run("adjudicate", "--region", "atlantis", "--as-of", "2020-12-31", *small_inputs())
    assert result.exit_code == 2
    assert "unknown region 'atlantis'" in result.stderr
    assert "beihai" in result.stderr
    assert "Traceback" not in result.output


def test_adjudicate_missing_file_is_one_clear_message() -> None:
    result = run("adjudicate", *AS_OF, "--persons", "nowhere.csv", "--records", records_csv())
    assert result.exit_code == 2
    assert "nowhere.csv: cannot read file" in result.stderr
    assert "Traceback" not in result.output


def test_adjudicate_exit_code_is_0_with_failures_unless_fail_on_fail() -> None:
    inputs = small_inputs()
    plain = run("adjudicate", *AS_OF, *inputs)
    assert plain.exit_code == 0
    assert any(json.loads(line)["outcome"] == "fail" for line in plain.stdout.splitlines())
    assert run("adjudicate", *AS_OF, *inputs, "--fail-on-fail").exit_code == 1


def test_adjudicate_reads_gbk_input_like_utf8() -> None:
    utf8 = run("adjudicate", *AS_OF, "--persons", write("persons.csv", PERSONS), "--records", records_csv())
    auto = run("adjudicate", *AS_OF, "--persons", write("p_gbk.csv", PERSONS, "gbk"),
               "--records", records_csv(name="r_gbk.csv", encoding="gbk"))
    named = run("adjudicate", *AS_OF, "--persons", "p_gbk.csv", "--records", "r_gbk.csv", "--encoding", "gbk")
    assert auto.exit_code == 0, auto.output
    assert auto.stdout_bytes == utf8.stdout_bytes == named.stdout_bytes
    explained = run("explain", *AS_OF, "--persons", "p_gbk.csv", "--records", "r_gbk.csv", "--id", "T-1")
    assert "北海市市培—班主任工作能力提升" in explained.stdout


def test_adjudicate_reads_jsonl_input() -> None:
    rows = list(csv.DictReader(io.StringIO("\n".join([RECORDS_HEADER, *RECORDS]))))
    write("records.jsonl", "".join(json.dumps({k: v for k, v in r.items() if v}, ensure_ascii=False) + "\n"
                                   for r in rows))
    as_csv = run("adjudicate", *AS_OF, "--persons", write("persons.csv", PERSONS), "--records", records_csv())
    as_jsonl = run("adjudicate", *AS_OF, "--persons", "persons.csv", "--records", "records.jsonl")
    assert as_jsonl.exit_code == 0, as_jsonl.output
    assert as_jsonl.stdout_bytes == as_csv.stdout_bytes


# -- explain --------------------------------------------------------------------------


def test_explain_shows_totals_records_findings_and_citations() -> None:
    result = run("explain", *AS_OF, *small_inputs(), "--id", "T-1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "person T-1" in out and "FAIL" in out
    assert "ruleset national → guangxi → beihai" in out
    assert "R-0001" in out and "北海市市培—班主任工作能力提升" in out
    assert "guangxi.credit_conversion" in out
    # a finding: rule, reasons in both languages, numbers with their unit, the quoted clause
    assert "guangxi.cycle_credits" in out
    assert "2016-01-01至2020-12-31周期累计" in out
    assert "Cycle 2016-01-01–2020-12-31 total" in out
    assert "required 120 credits" in out
    assert "“五年一个培训周期。每个周期必须修满120学分(360学时)”" in out
    assert "cycle_credits.minimum = 120" in out and "since 2016-01-01 · guangxi" in out
    assert "\x1b[" not in out  # no colour codes when not a terminal


def test_explain_a_stored_decision_line() -> None:
    inputs = small_inputs()
    run("adjudicate", *AS_OF, *inputs, "--out", "decisions.jsonl")
    stored = run("explain", "--decision", "decisions.jsonl", "--id", "S-1")
    assert stored.exit_code == 0, stored.output
    assert "unit S-1" in stored.stdout
    assert "beihai.school_based_budget" in stored.stdout
    assert "“按照不低于5%的公用经费由各单位自行组织开展校本研修”" in stored.stdout
    fresh = run("explain", *AS_OF, *inputs, "--id", "S-1")
    assert fresh.stdout == stored.stdout


def test_explain_unknown_id_and_bad_combinations() -> None:
    inputs = small_inputs()
    missing = run("explain", *AS_OF, *inputs, "--id", "T-999")
    assert missing.exit_code == 2 and "T-999" in missing.stderr
    assert run("explain", "--id", "T-1").exit_code == 2
    run("adjudicate", *AS_OF, *inputs, "--out", "decisions.jsonl")
    both = run("explain", "--decision", "decisions.jsonl", *inputs, "--id", "T-1")
    assert both.exit_code == 2


def test_explain_refuses_a_file_that_is_not_decisions() -> None:
    write("junk.jsonl", '{"hello": 1}\nnot json\n')
    result = run("explain", "--decision", "junk.jsonl", "--id", "T-1")
    assert result.exit_code == 2
    assert "junk.jsonl:1: not a creditrules.decision/1 decision" in result.stderr
    assert "junk.jsonl:2: not valid JSON" in result.stderr


# -- demo -----------------------------------------------------------------------------


def test_demo_prints_the_summary_and_examples() -> None:
    result = run("demo")
    assert result.exit_code == 0, result.output
    out = result.stdout
    row = next(line for line in out.splitlines() if line.startswith("beihai "))
    assert "北海市" in row and "2020-12-31" in row and "132.92 credits" in row
    assert "Examples: beihai 北海市 Beihai" in out
    assert "✗ fail" in out and "✓ PASS" in out
    assert "beihai.school_based_budget" in out  # the failing school
    assert run("demo").stdout == out  # nothing depends on the clock


def test_demo_out_writes_every_decision() -> None:
    result = run("demo", "--out", "demo.jsonl")
    assert result.exit_code == 0, result.output
    lines = Path("demo.jsonl").read_text(encoding="utf-8").splitlines()
    decisions = [d for d in map(json.loads, lines) if d["region"] == "beihai"]
    assert len(decisions) == 24  # 12 teachers, 10 years of 国培 (projects), 2 schools
    assert sum(d["subject"]["kind"] == "project" for d in decisions) == 10
    outcomes = {d["subject"]["id"]: d["outcome"] for d in decisions}
    assert outcomes["BH-S01"] == "pass" and outcomes["BH-S02"] == "fail"
    assert {"pass", "fail"} <= set(outcomes.values())


def test_demo_explain_one_sample_subject() -> None:
    result = run("demo", "--explain", "BH-T007")
    assert result.exit_code == 0, result.output
    assert "national.repeat_training" in result.stdout
    assert "BH-R0234 overlaps BH-R0233" in result.stdout


def test_python_dash_m_creditrules_demo() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-m", "creditrules", "demo"], capture_output=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    out = done.stdout.decode("utf-8")
    assert "Sample populations" in out and "Examples: beihai" in out
    assert "Traceback" not in done.stderr.decode("utf-8", "replace")


def test_a_plugin_package_may_ship_samples_with_their_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    samples = tmp_path / "pkg" / "fakecity_plugin" / "samples"
    samples.mkdir(parents=True)
    (samples.parent / "__init__.py").write_text("")
    (samples / "fakecity_persons.csv").write_text(PERSONS, encoding="utf-8")
    (samples / "fakecity_records.csv").write_text(RECORDS_HEADER + "\n", encoding="utf-8")
    (samples / "fakecity_as_of.txt").write_text("2025-12-31\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    assert find_samples("fakecity") is None  # not in creditrules' own samples
    files = find_samples("fakecity", ["fakecity_plugin"])
    assert files is not None and set(files) == {"persons", "records", "as_of"}
    assert sample_as_of(files).isoformat() == "2025-12-31"
    beihai = find_samples("beihai", ["fakecity_plugin"])
    assert beihai is not None and sample_as_of(beihai).isoformat() == "2020-12-31"


@pytest.mark.parametrize("module", ["cli_batch", "cli_audit", "cli_docs", "authoring", "cli"])
def test_each_command_module_can_be_imported_first(module: str) -> None:
    """The commands of sibling modules are added to the CLI lazily, so none finds another half-made."""
    import subprocess
    import sys

    probe = f"import creditrules.{module}; from creditrules.cli import main; print(len(main.list_commands(None)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 15
