"""The fuzz suite: hostile input, tried systematically, against every reader.

Every case must end in a decision (valid input) or in a structured refusal
naming where and why — an :class:`InputError` with file, line, record and
field; a :class:`RulesetError` with file and key path; a :class:`LedgerError`
or a broken-chain report; exit code 2 and one clear line from the CLI — never
another exception and never a hang.

The readers are fuzzed *by specification*: hypothesis draws valid models,
writes them as CSV (UTF-8, UTF-8 with BOM, GBK, half UTF-8 half GBK), JSON
Lines or a JSON array, and damages chosen rows and whole files in known ways
(missing and extra columns, blank cells, wrong types, negative and absurd
hours, 2023-02-30, end before start, unknown categories, duplicate ids with
other content, NUL bytes, huge cells, truncation, random bytes …). The oracle
then knows, row by row, what must come back: the very model written, or a
refusal of that line naming that field. Nothing valid may be lost or changed
(no mojibake, no shifted cells), nothing damaged may pass.

Each case is counted per reader and outcome; the table is printed at the end
of the test run (``tests/conftest.py``).

Profiles (environment variable ``CREDITRULES_FUZZ``):

``quick`` (default, CI)
    a fixed, reproducible set of examples (``derandomize``); about 10 s on two cores.
``long``
    20× as many examples, fresh random ones each run, failures kept in the
    hypothesis database: ``CREDITRULES_FUZZ=long python -m pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import signal
import string
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from creditrules import (
    Engine,
    Outcome,
    Person,
    PluginError,
    RulesetDoc,
    RulesetError,
    TrainingRecord,
    cli,
    load_ruleset,
    parse_ruleset,
)
from creditrules.audit import Ledger, make_record
from creditrules.audit.ledger import LedgerError
from creditrules.batch import adjudicate_population, read_valid
from creditrules.convert import (
    FileError,
    RowResult,
    iter_results,
    read_records,
    unstructure,
)
from creditrules.errors import InputError, InputErrors
from creditrules.model import Category, Level, LocationScope, Mode, Project, Role, Unit
from creditrules.ruleset import MAX_FILE_BYTES, SCHEMA
from creditrules.testing import InlinePlugin

# -- profiles -----------------------------------------------------------------------------

PROFILE = os.environ.get("CREDITRULES_FUZZ", "quick")
if PROFILE not in ("quick", "long"):
    raise ValueError(f"CREDITRULES_FUZZ must be 'quick' or 'long', got {PROFILE!r}")

RELAXED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
           HealthCheck.large_base_example]


def fuzz(examples: int, **extra: Any) -> settings:
    """``examples`` cases in the quick profile (reproducible), 20× that in the long one (random)."""
    if PROFILE == "long":
        return settings(max_examples=examples * 20, deadline=timedelta(seconds=20), print_blob=True,
                        suppress_health_check=RELAXED, **extra)
    return settings(max_examples=examples, deadline=timedelta(seconds=20), derandomize=True, database=None,
                    print_blob=False, suppress_health_check=RELAXED, **extra)


class Hang(BaseException):
    """A case ran past its CPU budget. A BaseException, so no ``except Exception`` can swallow it."""


@contextmanager
def cpu_limit(seconds: float = 20.0) -> Iterator[None]:
    """Fail a case that burns ``seconds`` of CPU: a hang, caught where hypothesis' deadline cannot.

    SIGVTALRM (process CPU time), so it does not touch the engine's own
    SIGALRM time limit.
    """

    def fire(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds} s of CPU time: a hang")

    previous = signal.signal(signal.SIGVTALRM, fire)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


Counts = defaultdict[str, Counter[str]]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for the module's files (hypothesis cannot use the per-test ``tmp_path``)."""
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


# -- what a structured refusal looks like ------------------------------------------------------


def check_input_error(error: object, source: str) -> InputError:
    """A refusal a clerk can act on: names the file, is one short line, locates a row error."""
    assert isinstance(error, InputError), f"not an InputError: {error!r}"
    assert error.source == source, error.message
    message = error.message
    assert message.startswith(source), message
    assert "\n" not in message and len(message) < 600, f"unreadable refusal: {message[:300]!r}…"
    assert "Traceback" not in message and "<class" not in message, message
    if not isinstance(error, FileError):
        assert error.line is not None, f"a row refusal without a line: {message}"
    return error


# -- models ---------------------------------------------------------------------------------------

#: Realistic training titles: two or more CJK ideographs each, all in GBK.
PHRASES = ["班主任工作能力提升", "课堂观察与评课", "国培计划", "网络研修与校本实践", "新课程标准解读", "信息技术应用能力",
           "师德师风建设", "校本研修", "集体备课", "北海市示例第一中学"]
ASCII = string.ascii_letters + string.digits

ids = st.from_regex(r"[A-Z]{1,3}-?[0-9]{1,5}", fullmatch=True)
words = st.text(ASCII + "_-", min_size=1, max_size=10)
#: Text that survives GBK: ASCII and whole phrases.
gbk_text = st.one_of(words, st.lists(st.sampled_from(PHRASES), min_size=1, max_size=3).map("—".join),
                     st.tuples(words, st.sampled_from(PHRASES)).map(" ".join))
#: Anything a spreadsheet cell may hold: quotes, commas, line breaks, emoji, right-to-left text.
any_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters="\n\t"),
                   min_size=1, max_size=24).map(str.strip).filter(bool)
dates = st.dates(dt.date(2010, 1, 1), dt.date(2030, 12, 31))
hours = st.decimals(min_value=0, max_value=10000, places=2, allow_nan=False, allow_infinity=False)
money = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
counts_ = st.integers(0, 10**6)


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@st.composite
def person(draw: st.DrawFn, text: st.SearchStrategy[str]) -> Person:
    start = draw(opt(dates))
    end = draw(opt(dates.filter(lambda d: start is None or d >= start)))
    return Person(draw(ids), draw(st.sampled_from(Role)), draw(opt(words)), start, end)


@st.composite
def record(draw: st.DrawFn, text: st.SearchStrategy[str]) -> TrainingRecord:
    start = draw(dates)
    total = draw(hours)
    part = st.decimals(min_value=0, max_value=total, places=2, allow_nan=False, allow_infinity=False)
    return TrainingRecord(
        record_id=draw(ids), person_id=draw(ids), level=draw(st.sampled_from(Level)),
        category=draw(st.sampled_from(Category)), start_date=start,
        end_date=start + dt.timedelta(days=draw(st.integers(0, 200))), hours=total,
        project_id=draw(opt(ids)), subcategory=draw(opt(words)), mode=draw(opt(st.sampled_from(Mode))),
        practice_hours=draw(opt(part)), absent_hours=draw(opt(part)), topic=draw(opt(text)),
        passed=draw(opt(st.booleans())), practice_passed=draw(opt(st.booleans())),
        organised_by_unit=draw(opt(st.booleans())), source_project_id=draw(opt(ids)),
        location_scope=draw(opt(st.sampled_from(LocationScope))), provider_id=draw(opt(words)),
    )


@st.composite
def project(draw: st.DrawFn, text: st.SearchStrategy[str]) -> Project:
    start = draw(dates)
    total = draw(opt(hours))
    return Project(
        project_id=draw(ids), level=draw(st.sampled_from(Level)), mode=draw(st.sampled_from(Mode)),
        start_date=start, end_date=start + dt.timedelta(days=draw(st.integers(0, 400))), hours=draw(hours),
        days=draw(opt(money)), total_course_hours=total,
        practice_hours=None if total is None else draw(opt(st.decimals(0, total, places=1))),
        headcount_planned=draw(opt(counts_)), headcount_actual=draw(opt(counts_)), budget_cny=draw(opt(money)),
        location_scope=draw(opt(st.sampled_from(LocationScope))), cross_year=draw(opt(st.booleans())),
        provider_remote_licence=draw(opt(st.booleans())), survey_sample_size=draw(opt(counts_)),
        target_size=draw(opt(counts_)), title=draw(opt(text)),
    )


@st.composite
def unit(draw: st.DrawFn, text: st.SearchStrategy[str]) -> Unit:
    return Unit(
        unit_id=draw(ids), year=draw(st.integers(1990, 2100)), payroll_total=draw(opt(money)),
        public_funds=draw(opt(money)), training_budget=draw(opt(money)), school_based_budget=draw(opt(money)),
        fulltime_teachers=draw(opt(counts_)), trainer_team_size=draw(opt(counts_)), schools=draw(opt(counts_)),
        training_bases=draw(opt(counts_)), title=draw(opt(text)),
    )


MODELS: dict[str, Callable[..., st.SearchStrategy[Any]]] = {
    "person": person, "record": record, "project": project, "unit": unit,
}
CLASSES: dict[str, type] = {"person": Person, "record": TrainingRecord, "project": Project, "unit": Unit}
KEYS: dict[str, tuple[str, ...]] = {
    "person": ("person_id",), "record": ("record_id",), "project": ("project_id",), "unit": ("unit_id", "year"),
}
#: An optional text field per kind, changed to make "the same id, other content".
OTHER_CONTENT = {"person": "school_id", "record": "topic", "project": "title", "unit": "title"}

DATES = {"start_date", "end_date", "probation_start", "probation_end"}
HOURS = {"hours", "practice_hours", "absent_hours", "total_course_hours"}
DECIMALS = HOURS | {"days", "budget_cny", "payroll_total", "public_funds", "training_budget", "school_based_budget"}
INTS = {"year", "headcount_planned", "headcount_actual", "survey_sample_size", "target_size", "fulltime_teachers",
        "trainer_team_size", "schools", "training_bases"}
ENUMS = {"role", "level", "category", "mode", "location_scope"}
BOOLS = {"passed", "practice_passed", "organised_by_unit", "cross_year", "provider_remote_licence"}


def columns(kind: str) -> list[str]:
    return [f.name for f in attrs.fields(CLASSES[kind])]


def required(kind: str) -> list[str]:
    return [f.name for f in attrs.fields(CLASSES[kind]) if f.default is attrs.NOTHING]


# -- damage ------------------------------------------------------------------------------------------

ANY = "<any field>"


@attrs.define
class Row:
    """One row as written: its cells, the model it must read back as, or the field it must be refused on."""

    cells: dict[str, Any]
    model: Any
    refuse: str | None = None  # None: must be accepted as ``model``; a column name or ANY: must be refused
    why: str = ""
    line: int = 0  # filled in when written
    end: int = 0  # byte offset just past the row


def _fits_gbk(value: Any) -> bool:
    try:
        str(value).encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def wrong_value(column: str, json_mode: bool) -> st.SearchStrategy[Any]:
    if column in DATES:
        return st.sampled_from(["2023-02-30", "2021-02-29", "2023-13-01", "2023/01/05", "20230105", "2023-1-5",
                                "05.01.2023", "yesterday", "2023-01-05T08:00", "０２０23-01-05"])
    if column in DECIMALS or column in INTS:
        return st.sampled_from(["abc", "12小时", "24h", "1,5", "十二", "0x1A", "1_000", "١٢", "NaN", "Infinity", "--1",
                                "1e99999999999999999999", "1.2.3"])
    if column in ENUMS:
        return st.sampled_from(["training", "other", "国培", "centralised-ish", "teacher/backbone"])
    if column in BOOLS:
        return st.sampled_from(["maybe", "2", "ja", "√"])
    if json_mode:
        return st.sampled_from([[1], {"a": 1}, Decimal("1.5"), True])
    return st.nothing()  # any text is a valid text cell


DAMAGES = ["blank", "wrong", "negative", "absurd", "bad_date", "end_before_start", "unknown_enum", "extra_cell",
           "unknown_key", "missing_key"]


@st.composite
def damaged_row(draw: st.DrawFn, kind: str, model: Any, fmt: str, clean: int = 5) -> Row:
    """``model`` written as a row, maybe (``clean`` in ``clean + 10`` rows not) damaged in one known way."""
    cells = unstructure(model)
    json_mode = fmt.startswith("json")
    damage = draw(st.sampled_from(["none"] * clean + DAMAGES))
    row = Row(cells, model)
    present = [c for c in columns(kind) if c in cells]
    if damage == "blank":
        column = draw(st.sampled_from(required(kind)))
        cells[column] = draw(st.sampled_from(["", "   ", None] if json_mode else ["", "   "]))
        row.refuse, row.why = column, "blank required cell"
    elif damage == "wrong":
        choices = [c for c in present if c not in ("person_id", "record_id", "project_id", "unit_id")
                   and (json_mode or c in DATES | DECIMALS | INTS | ENUMS | BOOLS)]
        column = draw(st.sampled_from(choices))
        gbk = fmt in ("csv-gbk", "csv-mixed")
        cells[column] = draw(wrong_value(column, json_mode).filter(lambda v: not gbk or _fits_gbk(v)))
        row.refuse, row.why = column, f"wrong type {cells[column]!r}"
    elif damage == "negative" and [c for c in present if c in DECIMALS | INTS]:
        column = draw(st.sampled_from([c for c in present if c in DECIMALS | INTS]))
        cells[column] = draw(st.sampled_from(["-3", "-0.5", "-10000"]))
        row.refuse, row.why = column, "negative"
    elif damage == "absurd" and [c for c in present if c in HOURS]:
        column = draw(st.sampled_from([c for c in present if c in HOURS]))
        cells[column] = draw(st.sampled_from(["1e12", "10000.01", "99999999999999999999", "1E+400"]))
        row.refuse, row.why = column, "absurd hours"
    elif damage == "bad_date" and [c for c in present if c in DATES]:
        column = draw(st.sampled_from([c for c in present if c in DATES]))
        cells[column] = draw(st.sampled_from(["2023-02-30", "2019-02-29", "2023-00-10", "2023-04-31"]))
        row.refuse, row.why = column, "impossible date"
    elif damage == "end_before_start" and kind in ("record", "project"):
        cells["end_date"] = (model.start_date - dt.timedelta(days=draw(st.integers(1, 400)))).isoformat()
        row.refuse, row.why = "end_date", "end before start"
    elif damage == "end_before_start" and kind == "person" and model.probation_start is not None:
        cells["probation_end"] = (model.probation_start - dt.timedelta(days=1)).isoformat()
        row.refuse, row.why = "probation_end", "end before start"
    elif damage == "unknown_enum" and [c for c in present if c in ENUMS]:
        column = draw(st.sampled_from([c for c in present if c in ENUMS]))
        cells[column] = draw(st.sampled_from(["headmaster", "training", "国培", "online-ish"]))
        row.refuse, row.why = column, "unknown category"
    elif damage == "extra_cell" and not json_mode:
        cells["\0extra"] = draw(st.sampled_from(["x", "备注", "42"]))
        row.refuse, row.why = ANY, "extra cell"
    elif damage == "unknown_key" and json_mode:
        cells[draw(st.sampled_from(["remarks", "hours ", "Hours", "备注"]))] = "x"
        row.refuse, row.why = ANY, "unknown key"
    elif damage == "missing_key" and json_mode:
        column = draw(st.sampled_from(required(kind)))
        del cells[column]
        row.refuse, row.why = column, "missing key"
    return row


FORMATS = ["csv-utf8", "csv-bom", "csv-gbk", "csv-mixed", "jsonl", "json"]
FILE_DAMAGE = ["none"] * 6 + ["truncate", "nul", "missing_column", "extra_column", "garbage_header", "empty",
                              "utf16", "random_bytes", "huge_cell", "duplicate"]


@attrs.define
class Case:
    kind: str
    fmt: str
    damage: str
    rows: list[Row]
    data: bytes = b""
    refuse_file: bool | None = False  # True: must refuse the file; None: may; False: must not
    truncated_at: int | None = None
    field: str | None = None  # the field a file refusal must name, if known


@st.composite
def cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(sorted(MODELS)))
    fmt = draw(st.sampled_from(FORMATS))
    text = gbk_text if fmt in ("csv-gbk", "csv-mixed") else st.one_of(gbk_text, any_text)
    models = draw(st.lists(MODELS[kind](text), max_size=6))
    unique = list({tuple(getattr(m, k) for k in KEYS[kind]): m for m in models}.values())
    case = Case(kind, fmt, draw(st.sampled_from(FILE_DAMAGE)), [draw(damaged_row(kind, m, fmt)) for m in unique])
    if case.damage == "duplicate" and case.rows:
        source = draw(st.sampled_from(case.rows))
        field = OTHER_CONTENT[kind]
        twin = attrs.evolve(source.model, **{field: (getattr(source.model, field) or "") + "改"})
        row = Row(unstructure(twin), twin, refuse=ANY, why="duplicate id, other content")
        if source.refuse is not None:
            row.refuse = None  # the first was refused, so this one is the only reading of the id
            row.why = "repeat of a refused row"
        case.rows.insert(draw(st.integers(case.rows.index(source) + 1, len(case.rows))), row)
    if case.damage == "huge_cell" and case.rows:
        target = draw(st.sampled_from(case.rows))
        field = OTHER_CONTENT[kind]
        huge = "长" * draw(st.sampled_from([131_073, 200_000]))
        target.cells[field] = huge
        if target.refuse is None:
            target.model = attrs.evolve(target.model, **{field: huge})
    write_case(draw, case)
    return case


def cell_text(value: Any, spelling: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return [("true", "false"), ("yes", "no"), ("是", "否"), ("1", "0"), ("TRUE", "FALSE")][spelling][not value]
    return str(value)


def write_case(draw: st.DrawFn, case: Case) -> None:
    """Serialise ``case.rows`` into ``case.data`` (with each row's line and end offset), then damage the file."""
    kind, fmt = case.kind, case.fmt
    header = columns(kind)
    if draw(st.booleans()):  # optional columns every row leaves blank may be left out of the file
        used = {c for r in case.rows for c, v in r.cells.items() if v not in (None, "")}
        header = [c for c in header if c in used or c in required(kind)]
    header = draw(st.permutations(header))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    spelling = draw(st.integers(0, 4))
    chunks: list[bytes] = []
    line = 1

    def emit(text: str, encoding: str) -> None:
        nonlocal line
        chunks.append(text.encode(encoding))
        line += text.count("\n")

    if fmt.startswith("csv"):
        encoding = {"csv-utf8": "utf-8", "csv-bom": "utf-8", "csv-gbk": "gbk", "csv-mixed": "utf-8"}[fmt]
        if fmt == "csv-bom":
            chunks.append(b"\xef\xbb\xbf")
        head = list(header)
        if case.damage == "missing_column":
            gone = draw(st.sampled_from(required(kind)))
            head.remove(gone)
            case.refuse_file, case.field = True, gone if head else None  # no header left: "file is empty"
        elif case.damage == "extra_column":
            head.insert(draw(st.integers(0, len(head))), draw(st.sampled_from(["remarks", "备注", "hours2"])))
            case.refuse_file = True
        elif case.damage == "garbage_header":
            head = [draw(st.text(ASCII + "中文 ", min_size=1, max_size=8))]
            case.refuse_file = True
        emit(_csv_line(head, newline), "utf-8")
        for row in case.rows:
            if draw(st.integers(0, 5)) == 0:  # a blank line or an Excel all-empty row, which carry no data
                emit(draw(st.sampled_from([newline, "," * (len(head) - 1) + newline])), "utf-8")
            row.line = line
            values = [cell_text(row.cells.get(c), spelling) for c in head]
            values += [cell_text(v, spelling) for c, v in row.cells.items() if c.startswith("\0")]
            row_encoding = draw(st.sampled_from(["utf-8", "gbk"])) if fmt == "csv-mixed" else encoding
            emit(_csv_line(values, newline), row_encoding)
            row.end = sum(map(len, chunks))
        if case.damage == "empty":
            chunks, case.rows = [draw(st.sampled_from([b"", b"\n", b" \r\n\r\n"]))], []
            case.refuse_file = True
    else:
        if fmt == "json":
            emit("[\n", "utf-8")
        for i, row in enumerate(case.rows):
            row.line = line
            obj = {c: _json_cell(row.cells[c], spelling, draw) for c in header if c in row.cells}
            obj.update({c: v for c, v in row.cells.items() if c not in header and not c.startswith("\0")})
            emit(_json_text(obj) + ("," if fmt == "json" and i < len(case.rows) - 1 else "") + "\n", "utf-8")
            row.end = sum(map(len, chunks))
        if fmt == "json":
            emit("]\n", "utf-8")
        if case.damage == "empty":
            chunks, case.rows = [draw(st.sampled_from([b"", b"\n", b"  "]))], []
            case.refuse_file = fmt == "json"
    data = b"".join(chunks)
    if fmt == "csv-mixed":
        case.refuse_file = None  # refused as mixed, or (when only one half has Chinese) read exactly
    if case.damage == "truncate" and data:
        case.truncated_at = draw(st.integers(0, len(data) - 1))
        data = data[: case.truncated_at]
        case.refuse_file = None
    elif case.damage == "nul" and data:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\x00" + data[at:]
        case.refuse_file = True
    elif case.damage == "utf16":
        data = data.decode("utf-8", "replace").encode("utf-16")
        case.refuse_file = True
    elif case.damage == "random_bytes":
        data = draw(st.binary(max_size=300))
        case.refuse_file = None
    elif case.damage == "huge_cell" and case.rows and fmt.startswith("csv"):
        case.refuse_file = True  # past a cell longer than the CSV field limit nothing can be trusted
    case.data = data


def _csv_line(values: Sequence[str], newline: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerow(values)
    return buffer.getvalue()


def _json_cell(value: Any, spelling: int, draw: st.DrawFn) -> Any:
    if value is None:
        return draw(st.sampled_from([None, ""]))
    if isinstance(value, bool):
        return value if spelling % 2 else cell_text(value, spelling)
    return value


class _Raw(str):
    """A number written into JSON as is (``12.50`` stays ``12.50``)."""


def _json_text(obj: dict[str, Any]) -> str:
    def encode(value: Any) -> Any:
        if isinstance(value, Decimal):
            return _Raw(str(value))
        return value

    parts = []
    for key, value in obj.items():
        value = encode(value)
        text = str(value) if isinstance(value, _Raw) and _is_number(value) else json.dumps(value, ensure_ascii=False,
                                                                                             default=str)
        parts.append(f"{json.dumps(key, ensure_ascii=False)}: {text}")
    return "{" + ", ".join(parts) + "}"


def _is_number(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# -- the reader oracle ----------------------------------------------------------------------------------


def check_case(case: Case, path: Path, counts: Counts) -> None:
    """Read ``path`` and hold each row to what was written; tally the outcome."""
    source = str(path)
    with cpu_limit():
        results: list[RowResult] = list(iter_results(path, case.kind))  # type: ignore[arg-type]
    tally = counts[f"{case.kind}s"]
    tally["cases"] += 1
    for r in results:
        if r.error is not None:
            check_input_error(r.error, source)
    file_errors = [r.error for r in results if isinstance(r.error, FileError)]
    if file_errors:
        note(f"file refused: {file_errors[0].message}")
        assert case.refuse_file is not False, f"{case.damage}: unexpected file refusal: {file_errors[0].message}"
        if case.field is not None and case.fmt != "csv-mixed":  # a mixed file is refused before its header
            assert case.field in {e.field for e in file_errors}, [e.message for e in file_errors]
        tally["file refused"] += 1
        return
    assert case.refuse_file is not True, f"{case.damage}: the damaged file was not refused"
    if case.damage == "random_bytes":
        tally["rows refused" if any(r.error for r in results) else "accepted"] += 1
        return
    by_line = {r.line: r for r in results}
    complete = [row for row in case.rows if case.truncated_at is None or row.end <= case.truncated_at]
    if case.truncated_at is None:
        assert len(results) == len(case.rows), "a row was lost or invented"
    for row in complete:
        got = by_line.get(row.line)
        assert got is not None, f"line {row.line} ({row.why or 'valid'}) vanished"
        if row.refuse is None:
            assert got.error is None, f"line {row.line} is valid but refused: {got.error.message}"  # type: ignore[union-attr]
            assert got.model == row.model, f"line {row.line} read back changed"
        else:
            assert got.error is not None, f"line {row.line} ({row.why}) was accepted"
            if row.refuse is not ANY:
                assert got.error.field == row.refuse, f"{row.why}: {got.error.message}"
            assert got.error.record_id is None or isinstance(got.error.record_id, str)
    refused = sum(r.error is not None for r in results)
    tally["rows refused" if refused else "accepted"] += 1


@fuzz(300)
@given(case=cases())
def test_readers_refuse_damage_and_keep_everything_valid(case: Case, work: Path, fuzz_counts: Counts) -> None:
    """Every row reads back as written or is refused on its line and field; never an exception."""
    suffix = ".csv" if case.fmt.startswith("csv") else "." + case.fmt
    path = work / f"{case.kind}s{suffix}"
    path.write_bytes(case.data)
    note(f"{case.kind} {case.fmt} damage={case.damage} rows={[(r.line, r.why) for r in case.rows]}")
    check_case(case, path, fuzz_counts)
    # The collecting reader agrees: the same refusals, at most MAX_ERRORS of them, all structured.
    reader = {"person": "read_persons", "record": "read_records", "project": "read_projects", "unit": "read_units"}
    from creditrules import convert

    with cpu_limit():
        try:
            getattr(convert, reader[case.kind])(path)
        except InputErrors as exc:
            for error in exc.errors:
                check_input_error(error, str(path))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_a_10_mb_cell_is_refused_quickly_in_one_readable_line(fmt: str, work: Path, fuzz_counts: Counts) -> None:
    """A 10 MB cell: refused (CSV: the whole file; JSON: the field), the message short, in seconds."""
    big = "9" * 10_000_000
    path = work / f"big.{fmt}"
    row = {"record_id": "R1", "person_id": "P1", "level": "county", "category": "centralized",
           "start_date": "2020-01-01", "end_date": "2020-01-02", "hours": big}
    if fmt == "csv":
        path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\nR2,P1,county,centralized,2020-01-01,"
                        "2020-01-02,3\n", encoding="utf-8")
    else:
        line = json.dumps(row)
        path.write_text(line + "\n" if fmt == "jsonl" else f"[{line}]", encoding="utf-8")
    with cpu_limit(10):
        results = list(iter_results(path, "record"))
    errors = [check_input_error(r.error, str(path)) for r in results if r.error is not None]
    assert errors
    if fmt == "csv":
        assert isinstance(errors[0], FileError) and "longer than" in errors[0].reason
        assert len(results) == 1  # nothing after the oversized cell is read as rows
    else:
        assert errors[0].field == "hours" and "(10000000 characters)" in errors[0].reason
    fuzz_counts["records"]["cases"] += 1
    fuzz_counts["records"]["file refused" if fmt == "csv" else "rows refused"] += 1


def test_a_file_half_utf8_half_gbk_is_refused_naming_both_lines(work: Path, fuzz_counts: Counts) -> None:
    header = "record_id,person_id,level,category,start_date,end_date,hours,topic\n"
    first = "R1,P1,county,centralized,2020-01-01,2020-01-02,3,班主任工作能力提升\n"
    second = "R2,P1,county,centralized,2020-02-01,2020-02-02,3,课堂观察与评课\n"
    path = work / "mixed.csv"
    path.write_bytes(header.encode() + first.encode("utf-8") + second.encode("gbk"))
    (result,) = list(iter_results(path, "record"))
    error = check_input_error(result.error, str(path))
    assert isinstance(error, FileError)
    assert error.message == (f"{path}:3: mixed encodings: line 2 is UTF-8 but line 3 is not (GBK?); "
                             "save the whole file in one encoding (if it is all GBK, name it: --encoding gbk)")
    fuzz_counts["records"]["cases"] += 1
    fuzz_counts["records"]["file refused"] += 1


def test_a_utf8_file_cut_inside_a_character_is_not_read_as_gbk(work: Path) -> None:
    data = "record_id,person_id,level,category,start_date,end_date,hours,topic\nR1,P1,county,centralized," \
           "2020-01-01,2020-01-02,3,班主任工作能力提升\n".encode()
    path = work / "cut.csv"
    path.write_bytes(data[:-3])
    (result,) = list(iter_results(path, "record"))
    assert isinstance(result.error, FileError) and "cut off" in result.error.reason


@pytest.mark.parametrize("encoding", ["undefined", "punycode", "rot13", "no-such-codec", "utf-16"])
def test_an_odd_encoding_name_is_a_structured_refusal(encoding: str, work: Path) -> None:
    path = work / "enc.csv"
    path.write_bytes(b"record_id,person_id\nR1,P1\n")
    with pytest.raises(InputErrors) as exc:
        read_records(path, encoding=encoding)
    for error in exc.value.errors:
        check_input_error(error, str(path))


def test_a_nul_in_the_path_is_a_structured_refusal() -> None:
    (result,) = list(iter_results("records\x00.csv", "record"))
    assert isinstance(result.error, FileError) and "cannot read file" in result.error.reason


# -- whole populations, to decisions -------------------------------------------------------------------


@st.composite
def populations(draw: st.DrawFn) -> tuple[list[Row], list[Row]]:
    people = draw(st.lists(person(gbk_text), min_size=1, max_size=5, unique_by=lambda p: p.person_id))
    rows_p = [draw(damaged_row("person", p, "csv-utf8", clean=40)) for p in people]
    rows_r = []
    for i in range(draw(st.integers(0, 12))):
        r = draw(record(gbk_text))
        owner = draw(st.sampled_from([p.person_id for p in people] + ["NOBODY"]))
        r = attrs.evolve(r, record_id=f"R{i}", person_id=owner)
        rows_r.append(draw(damaged_row("record", r, "csv-utf8", clean=40)))
    return rows_p, rows_r


def _write_rows(path: Path, kind: str, rows: list[Row]) -> None:
    head = columns(kind)
    lines = [_csv_line(head, "\n")]
    for row in rows:
        values = [cell_text(row.cells.get(c), 0) for c in head]
        values += [cell_text(v, 0) for c, v in row.cells.items() if c.startswith("\0")]
        lines.append(_csv_line(values, "\n"))
    path.write_text("".join(lines), encoding="utf-8")


@fuzz(40)
@given(population=populations(), region=st.sampled_from(["beihai", "nanning", "binyang", "hengzhou", "huangshi",
                                                           "lanzhou", "haiyuan"]),
       as_of=st.dates(dt.date(2016, 1, 1), dt.date(2026, 12, 31)))
def test_populations_end_in_decisions_or_structured_refusals(
    population: tuple[list[Row], list[Row]], region: str, as_of: dt.date, engine: Engine, work: Path,
    fuzz_counts: Counts,
) -> None:
    """Strict reading refuses with located errors or decides everyone; partial reading decides every valid subject.

    No decision of a built-in or installed rule is ever ``error`` on valid input.
    """
    rows_p, rows_r = population
    persons, records = work / "pop_persons.csv", work / "pop_records.csv"
    _write_rows(persons, "person", rows_p)
    _write_rows(records, "record", rows_r)
    tally = fuzz_counts["populations"]
    tally["cases"] += 1
    with cpu_limit():
        try:
            whole = cli.load_population(str(persons), str(records))
        except InputErrors as exc:
            for error in exc.errors:
                check_input_error(error, error.source or "?")
                assert error.source in (str(persons), str(records))
            tally["refused whole"] += 1
        else:
            decisions = list(adjudicate_population(engine, whole, region=region, as_of=as_of))
            assert len(decisions) == len(whole)
            assert all(d.outcome is not Outcome.ERROR for d in decisions), [d.findings for d in decisions]
            tally["decided whole"] += 1
        valid = read_valid(str(persons), str(records))
        for f in valid.files:
            assert f.read == f.accepted + f.refused
        assert sum(f.refused for f in valid.files) == len(valid.rejected)
        for r in valid.rejected:
            assert r.line is not None and r.reason and "\n" not in r.reason
        decisions = list(adjudicate_population(engine, valid.population, region=region, as_of=as_of))
    assert [d.subject.id for d in decisions] == [p.person_id for p in valid.population.persons]
    assert all(d.outcome is not Outcome.ERROR for d in decisions), [d.findings for d in decisions]
    tally["decisions"] += len(decisions)
    tally["rows refused"] += len(valid.rejected)


# -- ruleset files ----------------------------------------------------------------------------------------


def toml(value: Any) -> str:
    """A TOML inline value (enough for ruleset documents)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        text = str(value)
        return text if "E" not in text or "." in text else text.replace("E", ".0E")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def toml_document(doc: dict[str, Any]) -> str:
    lines = [f"{json.dumps(k)} = {toml(v)}" for k, v in doc.items() if not isinstance(v, dict) or k == "name"]
    for section, table in doc.items():
        if isinstance(table, dict) and section != "name":
            for key, body in table.items():
                lines.append(f"\n[{json.dumps(section)}.{json.dumps(key, ensure_ascii=False)}]")
                if isinstance(body, dict):
                    lines += [f"{json.dumps(k, ensure_ascii=False)} = {toml(v)}" for k, v in body.items()]
                else:
                    lines.append(f"oops = {toml(body)}")
    return "\n".join(lines) + "\n"


def base_ruleset() -> dict[str, Any]:
    since = dt.date(2016, 1, 1)

    def values(value: Any) -> list[dict[str, Any]]:
        return [{"since": since, "value": value, "source": "s", "clause": "测试条款"}]

    return {
        "schema": SCHEMA, "id": "fz", "extends": "guangxi", "kind": "region", "name": {"zh": "模糊", "en": "Fuzz"},
        "sources": {"s": {"title": "Fuzz source"}},
        "parameters": {
            "annual.minimum": {"description": "d", "override": True, "values": values(Decimal(16))},
            "credit_conversion.hours_per_credit": {"description": "d", "override": True,
                                                   "values": values({"default": Decimal(3)})},
            "category_mix.minimum": {"description": "d", "override": True,
                                     "values": values({"centralized": Decimal(30), "school_based": Decimal(50)})},
            "credit_conversion.quantum": {"description": "d", "override": True, "values": values(Decimal("0.01"))},
            "credit_conversion.rounding": {"description": "d", "override": True, "values": values("half_up")},
        },
        "rules": {},
    }


PATHS_TO_BREAK = ["schema", "id", "extends", "kind", "name", "sources", "parameters", "rules"]

odd_values = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False), st.integers(-10**30, 10**30),
    st.sampled_from([Decimal("1e12"), Decimal(-1), Decimal(0), Decimal("1E-30"), Decimal("1E+400"), True, "",
                     "half_down", "credits", dt.date(2023, 2, 28), [], {}, [Decimal(1), "a"], {"default": "x"},
                     {"default": Decimal(0)}, {"remote": Decimal(-5)}, {"nonsense": Decimal(1)}]),
    st.text(max_size=10),
)


@st.composite
def ruleset_texts(draw: st.DrawFn) -> tuple[str, str | None]:
    """A ruleset text and, when the damage is known, the key path its refusal must name."""
    doc = base_ruleset()
    expect: str | None = None
    damage = draw(st.sampled_from(["none", "value", "value", "no_citation", "drop_key", "wrong_type", "unknown_key",
                                   "dates", "deep_value", "text_edit", "text_edit", "bomb"]))
    params = doc["parameters"]
    name = draw(st.sampled_from(sorted(params)))
    entry = params[name]["values"][0]
    if damage == "value":
        entry["value"] = draw(odd_values)
    elif damage == "no_citation":
        missing = draw(st.sampled_from(["source", "clause"]))
        del entry[missing]
        expect = f'parameters."{name}".values[0].{missing}'
    elif damage == "drop_key":
        key = draw(st.sampled_from(["schema", "id", "name"]))
        del doc[key]
        expect = key
    elif damage == "wrong_type":
        key = draw(st.sampled_from(PATHS_TO_BREAK))
        doc[key] = draw(st.sampled_from([Decimal(1), "x", [1], True, dt.date(2020, 1, 1)]))
        expect = None  # tables need a header, so the TOML itself may be what is refused
    elif damage == "unknown_key":
        entry[draw(st.sampled_from(["sourc", "valeu", "备注"]))] = "x"
        expect = None
    elif damage == "dates":
        params[name]["values"].append(dict(entry, since=draw(dates)))
    elif damage == "deep_value":
        depth = draw(st.integers(5, 40))
        value: Any = Decimal(1)
        for _ in range(depth):
            value = {"k": value}
        entry["value"] = value
    text = toml_document(doc)
    if damage == "text_edit":
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(text)))
            edit = draw(st.sampled_from(["insert", "delete", "truncate"]))
            if edit == "insert":
                text = text[:at] + draw(st.sampled_from(["[", "]", "{", "\"", "'", "=", "\n", ".", "#", "\\",
                                                          "\x00", "\ud7ff", "= 1979-05-27T07:32:00Z", "a.b.c"]))
            elif edit == "delete":
                text = text[:at] + text[at + draw(st.integers(1, 20)):]
            else:
                text = text[:at]
    elif damage == "bomb":
        text += draw(st.sampled_from([
            "x = " + "[" * 5000 + "]" * 5000 + "\n",
            "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n",
            ".".join(["k"] * 50_000) + " = 1\n",
            "[" + ".".join(["t"] * 50_000) + "]\n",
            "x = " + "9" * 5000 + "\n",
            "x = 1e99999999999999999999\n",
            'x = """' + "长" * 300_000,
            "x = 2023-02-30\n",
        ]))
    return text, expect


def adjudicate_one(engine: Engine, region: str) -> Outcome:
    recs = [TrainingRecord(record_id=f"R{i}", person_id="T1", level="county", category=c, start_date=d,
                           end_date=d, hours=h, subcategory=s)
            for i, (c, d, h, s) in enumerate([
                ("centralized", dt.date(2017, 5, 1), 24, None), ("remote", dt.date(2018, 3, 1), 50, None),
                ("school_based", dt.date(2019, 4, 1), 8, "open_lesson"), ("school_based", dt.date(2020, 4, 1), 12,
                                                                           "school_activity")])]
    return engine.adjudicate(Person("T1"), recs, region=region, as_of=dt.date(2020, 12, 31)).outcome


@fuzz(250)
@given(drawn=ruleset_texts())
@example(drawn=("", None))
def test_ruleset_files_are_read_or_refused_by_key_path(drawn: tuple[str, str | None], fuzz_counts: Counts) -> None:
    """parse_ruleset refuses with file and key path, never crashes or hangs; what it reads, the engine loads or refuses."""
    text, expect = drawn
    tally = fuzz_counts["rulesets"]
    tally["cases"] += 1
    with cpu_limit(10):
        try:
            doc = parse_ruleset(text, "fz.toml")
        except RulesetError as exc:
            assert str(exc).startswith("fz.toml: "), str(exc)
            assert exc.source == "fz.toml" and exc.reason
            assert len(str(exc)) < 2000 and "Traceback" not in str(exc)
            if expect is not None:
                assert exc.key_path == expect, str(exc)
            tally["refused"] += 1
            return
        assert expect is None, f"not refused: expected a refusal at {expect}"
        try:
            engine = Engine.load(plugins=[InlinePlugin([doc], name="creditrules_fuzzed")], entry_points=False)
        except (RulesetError, PluginError) as exc:
            assert "fz.toml" in str(exc) or "creditrules_fuzzed" in str(exc), str(exc)
            tally["refused at load"] += 1
            return
        outcome = adjudicate_one(engine, doc.id) if doc.id in engine.chains and doc.kind == "region" else None
    if outcome is Outcome.ERROR:
        tally["error decisions"] += 1  # a value the load-time check let through, caught when used
    tally["decided" if outcome is not None else "loaded"] += 1


def test_a_ruleset_value_without_a_citation_is_refused_by_key_path() -> None:
    doc = base_ruleset()
    del doc["parameters"]["annual.minimum"]["values"][0]["source"]
    with pytest.raises(RulesetError) as exc:
        parse_ruleset(toml_document(doc), "fz.toml")
    assert str(exc.value) == 'fz.toml: parameters."annual.minimum".values[0].source: required key is missing'


def test_ruleset_files_too_big_or_not_utf8_are_refused(work: Path) -> None:
    big = work / "big.toml"
    big.write_bytes(b"# " + b"x" * MAX_FILE_BYTES)
    with pytest.raises(RulesetError, match="a ruleset may be at most"):
        load_ruleset(big)
    gbk = work / "gbk.toml"
    gbk.write_bytes(toml_document(base_ruleset()).encode("gbk"))
    with pytest.raises(RulesetError, match="not UTF-8"):
        load_ruleset(gbk)


@st.composite
def extends_graphs(draw: st.DrawFn) -> list[tuple[str, str | None]]:
    """Layers with arbitrary parents: chains, trees, cycles, missing parents, Guangxi underneath."""
    n = draw(st.integers(1, 25))
    names = [f"l{i}" for i in range(n)]
    return [(name, draw(st.sampled_from([None, "guangxi", "atlantis", *(p for p in names if p != name)])))
            for name in names]


def layer(rid: str, parent: str | None) -> RulesetDoc:
    ext = f'extends = "{parent}"\n' if parent else ""
    return parse_ruleset(f'schema = "{SCHEMA}"\nid = "{rid}"\n{ext}kind = "region"\nname = {{ zh = "层", en = "L" }}\n',
                         f"{rid}.toml")


@fuzz(60)
@given(graph=extends_graphs())
@example(graph=[(f"l{i}", f"l{i - 1}" if i else "guangxi") for i in range(120)])  # a very deep chain
@example(graph=[("l0", "l2"), ("l1", "l0"), ("l2", "l1")])  # a cycle
def test_extends_chains_deep_cyclic_or_broken_load_or_are_refused(
    graph: list[tuple[str, str | None]], fuzz_counts: Counts
) -> None:
    tally = fuzz_counts["extends chains"]
    tally["cases"] += 1
    docs = [layer(rid, parent) for rid, parent in graph]
    with cpu_limit(20):
        try:
            engine = Engine.load(plugins=[InlinePlugin(docs, name="creditrules_fuzzed")], entry_points=False)
        except (RulesetError, PluginError) as exc:
            message = str(exc)
            assert any(why in message for why in (
                "cycle in extends", "which no installed ruleset provides", "extends chain deeper than"
            )), message
            assert message.split(":")[0].endswith(".toml")
            tally["refused"] += 1
            return
        leaf = graph[-1][0]
        outcome = engine.adjudicate(Person("T1"), [], region=leaf, as_of=dt.date(2020, 12, 31)).outcome
    assert outcome is not Outcome.ERROR
    tally["decided"] += 1


# -- ledger files -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ledger_bytes(engine: Engine, work: Path) -> bytes:
    """A real ledger: a few Beihai decisions with their archived rules."""
    path = work / "good.ledger"
    recs = [TrainingRecord(record_id=f"R{i}", person_id=f"T{i % 3}", level="county", category="centralized",
                           start_date=dt.date(2019, 1, 1 + i), end_date=dt.date(2019, 1, 1 + i), hours=8 + i)
            for i in range(9)]
    with Ledger(path, clock=lambda: "2020-12-31T00:00:00+00:00") as led:
        led.archive(engine.chain("beihai"))
        people = [Person(f"T{i}") for i in range(3)]
        mine = [[r for r in recs if r.person_id == p.person_id] for p in people]
        decisions = [engine.adjudicate(p, rs, region="beihai", as_of=dt.date(2020, 12, 31))
                     for p, rs in zip(people, mine)]
        led.append(make_record(engine, d, p, rs) for d, p, rs in zip(decisions, people, mine))
    return path.read_bytes()


class Damaged(bytes):
    """Ledger bytes that print as their damage, not as 400 kB of repr."""

    damage = ""

    def __repr__(self) -> str:
        return f"<{self.damage}: {len(self)} bytes>"


@st.composite
def damaged_ledgers(draw: st.DrawFn, good: bytes) -> Damaged:
    damage = draw(st.sampled_from(["truncate", "flip", "overwrite", "random", "empty", "text", "header_only",
                                   "zero_pages"]))
    data = bytearray(good)
    if damage == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "flip":
        for _ in range(draw(st.integers(1, 30))):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    elif damage == "overwrite":
        at = draw(st.integers(0, len(data) - 1))
        data[at: at + 512] = draw(st.binary(min_size=512, max_size=512))
    elif damage == "random":
        data = bytearray(draw(st.binary(max_size=8192)))
    elif damage == "empty":
        data = bytearray()
    elif damage == "text":
        data = bytearray(b"person_id,role\nT1,teacher\n")
    elif damage == "header_only":
        data = data[:100] + bytes(draw(st.integers(0, 4096)))
    elif damage == "zero_pages":
        page = draw(st.integers(1, max(1, len(data) // 4096 - 1)))
        data[page * 4096: (page + 1) * 4096] = bytes(4096)
    out = Damaged(data)
    out.damage = damage
    return out


@fuzz(80)
@given(data=st.data())
def test_damaged_ledgers_are_refused_or_reported_broken(
    data: st.DataObject, ledger_bytes: bytes, work: Path, fuzz_counts: Counts
) -> None:
    """A damaged ledger file: LedgerError, or verify() names the break — never another exception."""
    content = data.draw(damaged_ledgers(ledger_bytes))
    path = work / "damaged.ledger"
    for leftover in work.glob("damaged.ledger*"):
        leftover.unlink()
    path.write_bytes(content)
    tally = fuzz_counts["ledgers"]
    tally["cases"] += 1
    with cpu_limit(10):
        try:
            with Ledger(path) as led:
                report = led.verify()
                led.head()
                len(led)
                for entry in led.entries():
                    assert isinstance(entry.record.text, str)
        except LedgerError as exc:
            assert str(exc).startswith(str(path)), str(exc)
            tally["refused"] += 1
            return
    tally["intact" if report.ok else "reported broken"] += 1


def test_a_ledger_that_is_not_sqlite_is_refused(work: Path, fuzz_counts: Counts) -> None:
    for i, content in enumerate([b"person_id\nT1\n", os.urandom(4096), b"SQLite format 3\x00" + bytes(200)]):
        path = work / f"notsql{i}.ledger"
        path.write_bytes(content)
        with pytest.raises(LedgerError) as exc, Ledger(path) as led:
            led.verify()
        assert str(exc.value).startswith(str(path))
        fuzz_counts["ledgers"]["cases"] += 1
        fuzz_counts["ledgers"]["refused"] += 1


# -- the command line --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_files(work: Path) -> dict[str, str]:
    """Input files of every sort the command line may be pointed at (absolute paths)."""
    root = work / "cli"
    root.mkdir()
    good_p = "person_id,role\nT1,teacher\nT2,backbone\n"
    good_r = ("record_id,person_id,level,category,start_date,end_date,hours,topic\n"
              "R1,T1,county,centralized,2019-03-01,2019-03-02,24,班主任工作能力提升\n"
              "R2,T2,school,school_based,2020-03-01,2020-03-01,8,校本研修\n")
    files = {
        "persons": good_p.encode(), "records": good_r.encode(), "records_gbk": good_r.encode("gbk"),
        "bad_row": good_r.replace(",24,", ",-24,").encode(), "bad_date": good_r.replace("2019-03-02", "2023-02-30").encode(),
        "orphan": (good_r + "R3,T9,county,centralized,2019-03-01,2019-03-02,24,x\n").encode(),
        "empty": b"", "utf16": good_r.encode("utf-16"), "binary": os.urandom(2048),
        "huge": ("record_id,topic\nR1," + "x" * 200_000 + "\n").encode(),
        "bad_header": b"who,what\n1,2\n",
    }
    out = {}
    for name, data in files.items():
        path = root / f"{name}.csv"
        path.write_bytes(data)
        out[name] = str(path)
    out["missing"] = str(root / "does-not-exist.csv")
    out["directory"] = str(root)
    out["long_name"] = str(root / ("长" * 200 + ".csv"))
    out["wrong_ext"] = str(root / "records.xlsx")
    Path(out["wrong_ext"]).write_bytes(b"PK\x03\x04")
    out["out_dir_missing"] = str(root / "no" / "such" / "dir" / "out.jsonl")
    out["out"] = str(root / "out.jsonl")
    return out


texts_for_cli = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=12)
BAD_DATES = st.one_of(st.sampled_from(["2023-02-30", "2020-13-01", "", "20201231", "2020/12/31", "0001-01-01",
                                       "9999-12-31", "2020-12-31T00:00", "２０２０-12-31", "-1", "2019-02-29"]),
                      texts_for_cli)
BAD_REGIONS = st.one_of(st.sampled_from(["atlantis", "", "BEIHAI", "北海", "beihai\n", " beihai", "x" * 300,
                                         "../../etc/passwd", "-", "national"]), texts_for_cli)


def usually(good: st.SearchStrategy[str], bad: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Three in four good, so the paths past argument parsing are exercised too."""
    return st.integers(0, 3).flatmap(lambda i: bad if i == 0 else good)


DATES_CLI = usually(st.sampled_from(["2020-12-31", "2019-06-30", "2016-01-01", "2020-02-29"]), BAD_DATES)
REGIONS_CLI = usually(st.sampled_from(["beihai", "nanning", "binyang", "lanzhou", "haiyuan", "huangshi"]), BAD_REGIONS)


@st.composite
def cli_args(draw: st.DrawFn, files: dict[str, str]) -> list[str]:
    command = draw(st.sampled_from(["adjudicate", "adjudicate", "adjudicate", "rules", "explain", "regions", "plugins",
                                    "ledger", "replay", "demo"]))
    path = st.sampled_from(sorted(files.values()))
    args: list[str] = []
    if command in ("adjudicate", "rules", "explain"):
        if draw(st.integers(0, 9)):
            args += ["--region", draw(REGIONS_CLI)]
        if draw(st.integers(0, 9)):
            args += ["--as-of", draw(DATES_CLI)]
        if draw(st.integers(0, 3)) == 0:
            args += ["--known-at", draw(DATES_CLI)]
    if command in ("adjudicate", "explain"):
        args += ["--persons", draw(usually(st.just(files["persons"]), path))]
        args += ["--records", draw(usually(st.sampled_from([files["records"], files["records_gbk"]]), path))]
        if draw(st.integers(0, 3)) == 0:
            args += ["--units", draw(path)]
        if draw(st.integers(0, 3)) == 0:
            args += ["--encoding", draw(st.sampled_from(["utf-8", "gbk", "gb18030", "undefined", "rot13", "nope",
                                                         "utf-16", "punycode", "idna", "latin-1"]))]
    if command == "adjudicate":
        if draw(st.booleans()):
            args += ["--out", draw(st.sampled_from([files["out"], files["out_dir_missing"], files["directory"], "-"]))]
        if draw(st.booleans()):
            args.append("--skip-invalid")
        if draw(st.integers(0, 3)) == 0:
            args += ["--rejects", draw(st.sampled_from([files["out"] + ".rej.csv", files["out"], files["directory"]]))]
        if draw(st.booleans()):
            args.append("--fail-on-fail")
    if command == "explain":
        args += ["--id", draw(st.sampled_from(["T1", "T9", ""]) | texts_for_cli)]
    if command == "ledger":
        args = [draw(st.sampled_from(["verify", "head"])), draw(path)]
    if command == "replay":
        args = [draw(path)]
    if command == "demo":
        args = draw(st.sampled_from([[], ["--region", "atlantis"], ["--as-of", "2023-02-30"], ["--explain", "nobody"]]))
    if draw(st.integers(0, 14)) == 0:
        args.insert(draw(st.integers(0, len(args))), draw(st.sampled_from(["--bogus", "--as-of", "-x", "--", "é"])))
    return [command, *args]


@fuzz(70)
@given(data=st.data())
def test_the_command_line_answers_every_argument_with_an_exit_code_and_a_clear_line(
    data: st.DataObject, cli_files: dict[str, str], fuzz_counts: Counts
) -> None:
    """Random and malformed dates, regions, paths, encodings and flags: exit 0, 1 or 2, never a traceback."""
    args = data.draw(cli_args(cli_files))
    note(repr(args))
    Path(cli_files["out"]).unlink(missing_ok=True)
    with cpu_limit(30):
        result = CliRunner().invoke(cli.main, args)
    tally = fuzz_counts["command line"]
    tally["cases"] += 1
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output[-2000:])
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines, "exit 2 without a message"
        said = [line for line in lines if line.startswith(("error:", "Error:"))
                or line.endswith("nothing was adjudicated or written.")]
        assert said, result.stderr
        assert all(len(line) < 1000 for line in lines), "a refusal line too long to read"
    tally[f"exit {result.exit_code}"] += 1
