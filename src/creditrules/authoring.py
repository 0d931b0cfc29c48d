"""Tools for rule authors: scaffold a city plugin, run its golden cases for policy staff.

``creditrules new-plugin NAME --extends LAYER`` writes an installable plugin
package (:func:`new_plugin`); ``creditrules test PATH`` runs a plugin's golden
cases and says, case by case, which finding differed and how
(:func:`run_golden`). Both commands are in :data:`commands`, for the CLI group
to add. The tutorial ``docs/tutorial/add-your-city.md`` walks through both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from attrs import frozen

from .canonical import dec
from .cli import DATE
from .engine import Engine
from .errors import CreditrulesError, InputError, UnknownRegion
from .golden import GoldenCase, Mismatch, load_cases, run_case, show_value

__all__ = [
    "GoldenReport",
    "ScaffoldError",
    "commands",
    "golden_files",
    "new_plugin",
    "new_plugin_cmd",
    "run_golden",
    "test_cmd",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: Parameters the scaffold overrides, the first one the parent chain defines.
OVERRIDE_CANDIDATES = ("new_teacher.minimum", "cycle_hours.minimum")
#: The scaffold's example rule: at least this many hours a year (a common city figure, 每年不少于72学时).
ANNUAL_HOURS = Decimal(72)
DEFAULT_SINCE = dt.date(2024, 1, 1)


class ScaffoldError(CreditrulesError, ValueError):
    """The plugin cannot be scaffolded as asked (bad name, unknown layer, folder in use)."""


# -- new-plugin ------------------------------------------------------------------------


def new_plugin(
    name: str,
    extends: str,
    dest: Path | str,
    *,
    since: dt.date = DEFAULT_SINCE,
    engine: Engine | None = None,
) -> Path:
    """Write an installable plugin package for region ``name`` extending layer ``extends`` into ``dest``.

    The package (``dest`` is created; it must not exist or be empty) holds:

    * ``pyproject.toml`` with the ``creditrules`` entry point;
    * ``src/creditrules_<name>/__init__.py`` with the hook implementations;
    * ``src/creditrules_<name>/<name>.toml``: the ruleset layer, with one
      cited override of a parent parameter and one rule of the built-in
      ``annual_minimum`` family, every citation a ``TODO`` to replace;
    * ``tests/golden.toml`` with one case, and ``tests/test_plugin.py``
      running the golden cases and the property suite of
      :mod:`creditrules.testing`;
    * ``README.md``.

    ``engine`` (default: the installed plugins) tells which layers exist.
    Returns ``dest``.
    """
    if not _NAME.match(name):
        raise ScaffoldError(f"plugin name {name!r}: use lower-case letters, digits and _, starting with a letter")
    engine = engine or Engine.load()
    if extends not in engine.chains:
        known = ", ".join(sorted(engine.chains))
        raise ScaffoldError(f"--extends {extends!r}: no installed ruleset layer has that id (installed: {known})")
    if name in engine.chains:
        raise ScaffoldError(f"a ruleset layer {name!r} is already installed; choose another name")
    root = Path(dest)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ScaffoldError(f"{root} exists and is not an empty folder")
    parent = engine.chain(extends)
    files = _files(name, extends, parent, since, engine)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _override(parent: Any, since: dt.date) -> tuple[str, Any, str | None] | None:
    """(name, value in force on ``since``, unit) of the parameter to override, if the parent has one."""
    names = parent.parameter_names()
    for name in OVERRIDE_CANDIDATES:
        if name in names:
            try:
                use = parent.param(name, since)
            except LookupError:
                continue
            unit = next((layer.parameters[name].unit for layer in parent.layers if name in layer.parameters), None)
            return name, use.value, unit
    return None


def _files(name: str, extends: str, parent: Any, since: dt.date, engine: Engine) -> dict[str, str]:
    from .testing._introspect import cycle_of  # no hypothesis needed: plain chain arithmetic

    pkg = f"creditrules_{name}"
    dist = f"creditrules-{name.replace('_', '-')}"
    title = name.replace("_", " ").title()
    prefix = "annual_hours" if "annual_hours.minimum" not in parent.parameter_names() else f"{name}_annual_hours"
    as_of = dt.date(since.year, 12, 31)
    cycle = cycle_of(parent, as_of)
    on = max(since, cycle.start if cycle else since, dt.date(since.year, 3, 4))
    override = _override(parent, since)
    return {
        "pyproject.toml": _PYPROJECT.format(dist=dist, title=title, name=name, pkg=pkg),
        f"src/{pkg}/__init__.py": _INIT.format(title=title, name=name, pkg=pkg, extends=extends),
        f"src/{pkg}/{name}.toml": _ruleset(name, extends, title, since, prefix, override),
        "tests/golden.toml": _GOLDEN.format(
            title=title, name=name, as_of=as_of.isoformat(), day=on.isoformat(),
            rule=f"{name}.annual_hours", minimum=dec(ANNUAL_HOURS),
        ),
        "tests/test_plugin.py": _TEST.format(title=title, name=name, dist=dist),
        "README.md": _README.format(title=title, name=name, dist=dist, pkg=pkg, extends=extends),
    }


def _toml_value(value: Any) -> str:
    if isinstance(value, Decimal):
        return dec(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return str(value)


def _ruleset(name: str, extends: str, title: str, since: dt.date, prefix: str,
             override: tuple[str, Any, str | None] | None) -> str:
    s = since.isoformat()
    parts = [_RULESET_HEAD.format(name=name, extends=extends, title=title)]
    if override is not None:
        pname, value, unit = override
        unit_line = f'unit = "{unit}"\n' if unit else ""
        parts.append(_OVERRIDE.format(pname=pname, value=_toml_value(value), unit_line=unit_line, since=s,
                                      extends=extends))
    parts.append(_RULE.format(name=name, prefix=prefix, since=s, minimum=dec(ANNUAL_HOURS)))
    return "".join(parts)


# -- templates ---------------------------------------------------------------------------
# Plain str.format templates: doubled braces are literal braces.

_PYPROJECT = '''[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "{dist}"
version = "0.1.0"
description = "creditrules plugin: {title} teacher-training credit rules"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["creditrules>=0.1"]

[project.optional-dependencies]
test = ["pytest>=8", "hypothesis>=6.90"]

# How the engine finds this plugin once the package is installed.
[project.entry-points.creditrules]
{name} = "{pkg}"

[tool.hatch.build.targets.wheel]
packages = ["src/{pkg}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra --strict-markers"
'''

_INIT = '''"""{title}: the creditrules ruleset layer ``{name}`` (extends ``{extends}``).

Registered through the ``creditrules`` entry point in ``pyproject.toml``; the
engine finds it once this package is installed (``pip install -e .``). The
rules use built-in families only. To add a family of your own, subclass
``creditrules.RuleFamily`` and return an instance from
``creditrules_families`` (see creditrules' docs/reference/families.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from creditrules import RuleFamily, RulesetDoc, hookimpl, load_ruleset

__all__: list[str] = []


@hookimpl
def creditrules_rulesets() -> Sequence[RulesetDoc]:
    path = resources.files(__name__).joinpath("{name}.toml")
    with resources.as_file(path) as p:
        return [load_ruleset(p, origin="{pkg}/{name}.toml")]


@hookimpl
def creditrules_families() -> Sequence[RuleFamily]:
    return []
'''

_RULESET_HEAD = '''schema = "creditrules.ruleset/1"
id = "{name}"
extends = "{extends}"
kind = "region"
name = {{ zh = "{title}(请填写中文名)", en = "{title}" }}
notes = """
TODO: say which documents this layer rests on, what it changes from {extends}, and every
ambiguity you decided (and how). Replace every TODO citation below with the document and the
clause quoted word for word: a citation is what an auditor checks.
"""

[sources.todo]
title = "TODO: the document's full title and number, e.g. 《…市中小学教师继续教育学分管理办法》(…〔2024〕…号)"
status = "to be verified"
'''

_OVERRIDE = '''
# -- a value the parent layer sets, replaced here (override = true) --------------------
# Until `since`, the value of {extends}'s chain still applies; from `since` on, this one.

[parameters."{pname}"]
description = "TODO: what the value means"
{unit_line}override = true
values = [
  {{ since = {since}, value = {value}, source = "todo", clause = "TODO: quote the clause that sets this value" }},
]
'''

_RULE = '''
# -- a rule of a built-in family ------------------------------------------------------
# annual_minimum: each year of the training cycle, at least `minimum` (in `unit`), and at
# least `category_minimum` per category (a table such as {{ school_based = 24 }}; empty: none).

[parameters."{prefix}.minimum"]
description = "Training hours required each year"
unit = "hours"
values = [
  {{ since = {since}, value = {minimum}, source = "todo", clause = "TODO: e.g. 每位教师每年参加培训不少于72学时" }},
]

[parameters."{prefix}.unit"]
description = "What the annual minimum counts: hours or credits"
values = [
  {{ since = {since}, value = "hours", source = "todo", clause = "TODO: the clause's unit (学时 or 学分)" }},
]

[parameters."{prefix}.category_minimum"]
description = "Hours required each year per category (none yet)"
unit = "hours"
values = [
  {{ since = {since}, value = {{}}, source = "todo", clause = "TODO: per-category minimums, if the document sets any" }},
]

[rules.annual_hours]
family = "annual_minimum"
params = "{prefix}"
severity = "fail"
since = {since}
source = "todo"
clause = "TODO: quote the clause, e.g. 每位教师每年参加培训不少于72学时"
title = {{ zh = "年度培训学时", en = "Annual training hours" }}
'''

_GOLDEN = '''# {title} golden cases: worked examples the region must keep deciding the same way.
# Run them with `creditrules test .` (readable report) or `python -m pytest` (with the
# property suite). Numbers are strings so they stay exact: "80" equals "80.0".

[[case]]
name = "G01 a teacher with 80 hours meets the annual minimum"
source = "TODO: where this example comes from (a worked example in the document, a real case)"
region = "{name}"
as_of = {as_of}
person = {{ person_id = "T1", role = "teacher" }}
records = [
  {{ record_id = "R1", level = "municipal", category = "centralized", start_date = {day}, end_date = {day}, hours = 80 }},
]
[[case.expect.findings]]
rule = "{rule}"
period_end = {as_of}
item = "total"
outcome = "pass"
measured = "80"
required = "{minimum}"
'''

_TEST = '''"""{title}'s tests: the golden cases, and creditrules' consistency properties.

Run with ``python -m pytest`` after ``pip install -e .``. The properties use
the quick ``creditrules-ci`` hypothesis profile unless ``--hypothesis-profile
creditrules-thorough`` (500 examples each) is given.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from creditrules import Engine
from creditrules.golden import GoldenCase, load_cases, run_case
from creditrules.testing import CI, property_names, run_property

REGION = "{name}"
GOLDEN = Path(__file__).with_name("golden.toml")
CASES = load_cases(GOLDEN)


@pytest.fixture(scope="module")
def engine() -> Engine:
    engine = Engine.load()
    if REGION not in {{r.id for r in engine.regions()}}:
        problems = "; ".join(engine.load_errors) or "the plugin is not installed"
        pytest.fail(f"region {{REGION!r}} is not available ({{problems}}): run `pip install -e .` here")
    return engine


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_case(engine: Engine, case: GoldenCase) -> None:
    """The decision matches every expectation of the case."""
    mismatches = run_case(engine, case)
    assert mismatches == [], f"{{case.name}}:\\n" + "\\n".join(f"  {{m}}" for m in mismatches)


@pytest.mark.parametrize("prop", property_names())
def test_property(engine: Engine, request: pytest.FixtureRequest, prop: str) -> None:
    """The region passes creditrules' consistency property ``prop`` (see creditrules' docs/explanation/properties.md)."""
    profile = request.config.getoption("hypothesis_profile", None) or CI
    run_property(prop, engine, REGION, settings=settings.get_profile(profile))
'''

_README = '''# {dist}

A [creditrules](https://pypi.org/project/creditrules/) plugin: the teacher-training credit rules
of {title}, as the ruleset layer `{name}` on top of `{extends}`.

| file | what it is |
|---|---|
| `src/{pkg}/{name}.toml` | the ruleset layer: dated, cited parameters and rules |
| `src/{pkg}/__init__.py` | the hooks that hand the layer (and any rule family of your own) to the engine |
| `tests/golden.toml` | worked examples the region must keep deciding the same way |
| `tests/test_plugin.py` | runs the golden cases and creditrules' consistency properties |
| `pyproject.toml` | the package, with the `creditrules` entry point |

```console
pip install -e ".[test]"            # install the plugin (and pytest, hypothesis)
creditrules regions                 # {name} is listed
creditrules test .                  # the golden cases, case by case
python -m pytest                    # golden cases + property suite (quick profile)
python -m pytest --hypothesis-profile creditrules-thorough   # before a release
```

Every value and rule in the ruleset cites its document and clause. Replace each `TODO` before
relying on the plugin.
'''


# -- creditrules test ----------------------------------------------------------------


def golden_files(path: Path | str) -> list[Path]:
    """The golden files of ``path``: the file itself, or ``golden*.toml`` in a plugin folder or its ``tests/``."""
    p = Path(path)
    if p.is_file():
        return [p]
    found = [*sorted(p.glob("golden*.toml")), *sorted(p.glob("tests/golden*.toml"))]
    return found


@frozen
class CaseResult:
    """One case's outcome: its mismatches, or why it could not run."""

    file: Path
    case: GoldenCase
    mismatches: tuple[Mismatch, ...]
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and not self.mismatches


@frozen
class GoldenReport:
    """Everything ``creditrules test`` found: per case, and the files it could not read."""

    results: tuple[CaseResult, ...]
    file_errors: tuple[tuple[Path, str], ...] = ()

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.file_errors and bool(self.results)

    @property
    def exit_code(self) -> int:
        """0: every case passed; 1: some case differed; 2: a file or case could not be run."""
        if self.file_errors or any(r.error for r in self.results) or not self.results:
            return 2
        return 1 if self.failed else 0

    def text(self, *, root: Path | None = None) -> str:
        """The report as policy staff read it: each case, each difference, expected against got."""
        lines: list[str] = []
        current: Path | None = None
        for path, error in self.file_errors:
            lines += [_rel(path, root), f"  cannot read the file: {error}", ""]
        for r in self.results:
            if r.file != current:
                if current is not None:
                    lines.append("")
                lines.append(_rel(r.file, root))
                current = r.file
            src = f"  ({r.case.source})" if r.case.source else ""
            if r.passed:
                lines.append(f"  PASS  {r.case.name}")
                continue
            lines.append(f"  FAIL  {r.case.name}{src}")
            lines.append(f"        region {r.case.region}, judged on {r.case.as_of.isoformat()}, "
                         f"{r.case.subject.kind.value} {r.case.subject.id}")
            if r.error:
                lines.append(f"        could not run: {r.error}")
            for m in r.mismatches:
                lines.append(f"        {m.what}")
                lines.append(f"            expected: {show_value(m.expected)}")
                lines.append(f"            got:      {show_value(m.got)}")
        total = len(self.results)
        passed = total - len(self.failed)
        if lines:
            lines.append("")
        if not total and not self.file_errors:
            lines.append("no golden cases found")
        else:
            lines.append(f"{total} case{'s' if total != 1 else ''}: {passed} passed, {total - passed} failed"
                         + (f"; {len(self.file_errors)} file(s) unreadable" if self.file_errors else ""))
        return "\n".join(lines)


def _rel(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def run_golden(path: Path | str, *, engine: Engine | None = None) -> GoldenReport:
    """Run every golden case of ``path`` (a golden file, or a plugin folder) with ``engine``.

    ``engine`` defaults to the installed plugins, so the plugin at ``path``
    must be installed (``pip install -e PATH``). Nothing raises for a bad file
    or case: each becomes an entry of the report.
    """
    engine = engine or Engine.load()
    results: list[CaseResult] = []
    errors: list[tuple[Path, str]] = []
    files = golden_files(path)
    if not files:
        errors.append((Path(path), "no golden file here (looked for golden*.toml and tests/golden*.toml)"))
    for file in files:
        try:
            cases = load_cases(file)
        except InputError as exc:
            errors.append((file, exc.message))
            continue
        for case in cases:
            results.append(_run_one(engine, file, case))
    return GoldenReport(tuple(results), tuple(errors))


def _run_one(engine: Engine, file: Path, case: GoldenCase) -> CaseResult:
    try:
        return CaseResult(file, case, tuple(run_case(engine, case)))
    except UnknownRegion:
        installed = ", ".join(r.id for r in engine.regions()) or "none"
        hint = f"region {case.region!r} is not installed (installed: {installed}); install its plugin: pip install -e <plugin folder>"
        return CaseResult(file, case, (), hint)
    except CreditrulesError as exc:
        return CaseResult(file, case, (), str(exc))


def _property_failures(engine: Engine, regions: Sequence[str]) -> list[str]:
    from hypothesis import settings

    from .testing import CI, check_region

    out = []
    for region in regions:
        try:
            check_region(engine, region, settings=settings.get_profile(CI))
        except AssertionError as exc:
            out.append(str(exc))
    return out


# -- click commands ----------------------------------------------------------------------


@click.command("new-plugin")
@click.argument("name")
@click.option("--extends", "extends", required=True, metavar="LAYER",
              help="The layer the new region builds on, e.g. guangxi or nanning (see `creditrules regions --all`).")
@click.option("--dest", type=click.Path(file_okay=False), default=None,
              help="Folder to create (default: ./creditrules-NAME).")
@click.option("--since", type=DATE, default=DEFAULT_SINCE.isoformat(), show_default=True,
              help="First day the example rule and override apply.")
def new_plugin_cmd(name: str, extends: str, dest: str | None, since: dt.date) -> None:
    """Scaffold an installable plugin package for a new region NAME."""
    target = Path(dest) if dest else Path(f"creditrules-{name.replace('_', '-')}")
    try:
        root = new_plugin(name, extends, target, since=since)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Created {root}/ — a plugin for region {name!r} on top of {extends!r}. Next:")
    click.echo(f"  1. edit {root}/src/creditrules_{name}/{name}.toml: replace every TODO with the cited clause")
    click.echo(f"  2. pip install -e {root}")
    click.echo(f"  3. creditrules test {root}        # the golden cases")
    click.echo(f"  4. python -m pytest {root}        # golden cases + property suite")


@click.command("test")
@click.argument("path", type=click.Path(exists=True))
@click.option("--properties", is_flag=True,
              help="Also run the consistency properties (quick profile) for every region the cases name.")
def test_cmd(path: str, properties: bool) -> None:
    """Run the golden cases of PATH (a plugin folder or a golden .toml file), case by case.

    Exit status: 0 when every case passes, 1 when a case's decision differs from
    what it expects, 2 when a file or case cannot be run.
    """
    engine = Engine.load()
    report = run_golden(path, engine=engine)
    click.echo(report.text(root=Path.cwd()))
    code = report.exit_code
    if properties:
        regions = sorted({r.case.region for r in report.results if r.case.region in engine.chains})
        failures = _property_failures(engine, regions)
        for text in failures:
            click.echo("")
            click.echo(text)
        click.echo(f"properties: {len(regions) - len(failures)} of {len(regions)} region(s) consistent")
        if failures and code == 0:
            code = 1
    click.get_current_context().exit(code)


#: The authoring commands, for the ``creditrules`` CLI group to add.
commands: list[click.Command] = [new_plugin_cmd, test_cmd]
