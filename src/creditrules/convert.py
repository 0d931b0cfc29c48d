"""Reading input into the models: the one place that knows about wire formats.

Rows come from CSV (what a school clerk exports from Excel), JSON Lines or a
JSON array, and become :class:`~creditrules.model.Person`,
:class:`~creditrules.model.TrainingRecord`, :class:`~creditrules.model.Project`
or :class:`~creditrules.model.Unit` through a single cattrs converter.

Every refusal is an :class:`~creditrules.errors.InputError` naming the file,
the physical line, the row's id and the field, worded for the person who typed
the spreadsheet: ``records.csv:14 record R-0042: hours: must be ≥ 0, got '-3'``.
The collecting readers (:func:`read_records` …) gather every row error before
refusing, so a clerk fixes the whole file in one pass; nothing is dropped
silently.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import os
import re
import stat
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeAlias, Union, cast, get_args, get_origin, get_type_hints, overload

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, ClassValidationError

from .errors import InputError, InputErrors, InvalidField
from .model import Category, Level, LocationScope, Mode, Person, Project, Role, TrainingRecord, Unit

__all__ = [
    "MAX_ERRORS",
    "DuplicateError",
    "FileError",
    "Kind",
    "Model",
    "RowResult",
    "converter",
    "iter_results",
    "iter_rows",
    "iter_structured",
    "make_converter",
    "read_persons",
    "read_projects",
    "read_records",
    "read_units",
    "structure_person",
    "structure_project",
    "structure_record",
    "structure_unit",
    "unstructure",
]

Kind: TypeAlias = Literal["person", "record", "project", "unit"]
Model: TypeAlias = Person | TrainingRecord | Project | Unit
PathArg: TypeAlias = "str | os.PathLike[str]"

#: A read stops collecting after this many row errors: past it the file is
#: probably the wrong one, and a longer list helps nobody.
MAX_ERRORS = 100

_CLASSES: dict[Kind, type[Model]] = {
    "person": Person,
    "record": TrainingRecord,
    "project": Project,
    "unit": Unit,
}

# The columns that identify a row within one file; a unit is one school or
# county *for one budget year*, so the same unit_id recurs across years.
_ID_FIELDS: dict[Kind, tuple[str, ...]] = {
    "person": ("person_id",),
    "record": ("record_id",),
    "project": ("project_id",),
    "unit": ("unit_id", "year"),
}

_ENUMS: tuple[type[Enum], ...] = (Role, Level, Category, Mode, LocationScope)

# ASCII only: Python's int()/Decimal() also take '1_000', '²' and other
# Unicode digits, which a clerk never means as a number.
_INT_RE = re.compile(r"[+-]?\d+", re.ASCII)
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TRUE = frozenset({"true", "1", "yes", "y", "是"})
_FALSE = frozenset({"false", "0", "no", "n", "否"})


class FileError(InputError):
    """A refusal of a whole file, not of one row: unreadable, undecodable, a bad header, broken JSON.

    Rows past such an error were never read, so ``--skip-invalid`` cannot keep
    the good ones: the input is refused whole.
    """


# -- hooks ----------------------------------------------------------------------


class _Refusal(ValueError):
    """A hook's refusal; ``reason`` is already worded for the clerk."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


#: A refused value is quoted in the message up to this many characters: a
#: clerk needs to recognise the cell, not to read 10 MB of it back.
_SHOWN_CHARS = 40


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _shown(value: object) -> str:
    """``value`` as quoted in a refusal: one line, at most ``_SHOWN_CHARS`` characters."""
    text = value.strip() if isinstance(value, str) else str(value)
    size = len(text)
    if size > _SHOWN_CHARS:
        text = text[:_SHOWN_CHARS]
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)  # a line break shown as \n
    return f"{text}… ({size} characters)" if size > _SHOWN_CHARS else text


def _require(value: object) -> None:
    if _is_blank(value):
        raise _Refusal("is required")


def _structure_str(value: object, _: type) -> str:
    _require(value)
    if isinstance(value, str):
        return value.strip()
    # JSON writers emit numeric ids as numbers; the id is still the digits.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Refusal(f"must be text, got '{value}'")


def _structure_decimal(value: object, _: type) -> Decimal:
    _require(value)
    number: Decimal | None = None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float):
        # repr is the shortest text that round-trips, so 0.1 becomes
        # Decimal('0.1') rather than 0.1000000000000000055511151231257827.
        number = Decimal(repr(value))
    elif isinstance(value, str) and _DECIMAL_RE.fullmatch(value.strip()):
        try:
            number = Decimal(value.strip())
        except ArithmeticError:  # an exponent past what Decimal holds: 1e99999999999999999999
            pass
    if number is None or not number.is_finite():
        raise _Refusal(f"must be a number, got '{_shown(value)}'")
    return number


def _structure_int(value: object, _: type) -> int:
    _require(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        try:
            return int(value.strip())
        except ValueError:  # more digits than int() accepts from text
            pass
    raise _Refusal(f"must be a whole number, got '{_shown(value)}'")


def _structure_date(value: object, _: type) -> dt.date:
    _require(value)
    # A datetime is a date subclass, but a timestamp is not a calendar day.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE_RE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Refusal(f"must be a date YYYY-MM-DD, got '{_shown(value)}'")


def _structure_bool(value: object, _: type) -> bool:
    _require(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise _Refusal(f"must be true or false, got '{_shown(value)}'")


def _structure_enum(value: object, cls: type[Enum]) -> Enum:
    _require(value)
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        try:
            return cls(value.strip().lower())
        except ValueError:
            pass
    allowed = ", ".join(str(member.value) for member in cls)
    raise _Refusal(f"must be one of {allowed}, got '{_shown(value)}'")


def _is_optional(t: Any) -> bool:
    args = get_args(t)
    return get_origin(t) in (Union, types.UnionType) and len(args) == 2 and type(None) in args


def _optional_hook(conv: cattrs.Converter) -> Callable[[object, Any], object]:
    def structure(value: object, t: Any) -> object:
        if _is_blank(value):
            return None
        (inner,) = (arg for arg in get_args(t) if arg is not type(None))
        return conv.structure(value, inner)

    return structure


def make_converter() -> cattrs.Converter:
    """A new converter with creditrules' hooks: clerk-friendly parsing, strict keys.

    Detailed validation is on so a failure carries the attribute name; extra
    keys are forbidden so a misspelt column is never ignored.
    """
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(dt.date, _structure_date)
    # Registered per class: a StrEnum is a str subclass, so a hook on Enum
    # would lose to the str hook in cattrs' singledispatch.
    for enum in _ENUMS:
        conv.register_structure_hook(enum, _structure_enum)
        conv.register_unstructure_hook(enum, lambda member: member.value)
    conv.register_structure_hook_func(_is_optional, _optional_hook(conv))
    conv.register_unstructure_hook(Decimal, str)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    return conv


_converter: cattrs.Converter | None = None


def converter() -> cattrs.Converter:
    """The shared converter, built on first use."""
    global _converter
    if _converter is None:
        _converter = make_converter()
    return _converter


# -- structuring one row -----------------------------------------------------------


def _row_id(kind: Kind, row: Mapping[str, Any]) -> str | None:
    value = row.get(_ID_FIELDS[kind][0])
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _first_failure(group: ClassValidationError) -> tuple[str | None, str]:
    """The field and reason of the first failure cattrs collected (class field order)."""
    for exc in group.exceptions:
        if isinstance(exc, InvalidField):
            return exc.field, exc.reason
        notes = getattr(exc, "__notes__", [])
        name = next((n.name for n in notes if isinstance(n, AttributeValidationNote)), None)
        if isinstance(exc, ClassValidationError):
            return _first_failure(exc)
        return name, exc.reason if isinstance(exc, _Refusal) else str(exc)
    return None, str(group)


def _check_keys(cls: type[Model], row: Mapping[str, Any]) -> tuple[str | None, str] | None:
    fields = attrs.fields(cls)
    names = {f.name for f in fields}
    for key in row:
        if key not in names:
            return None, f"unknown column '{key}'"
    for f in fields:
        if f.default is attrs.NOTHING and f.name not in row:
            return f.name, "required column is missing"
    return None


def _structure(kind: Kind, row: Mapping[str, Any]) -> Model:
    try:
        return _lean(kind, row)
    except Exception:  # noqa: BLE001 - the full path below says what is wrong, exactly as before
        return _structure_checked(kind, row)


def _lean(kind: Kind, row: Mapping[str, Any]) -> Model:
    """The row structured without the checked path's bookkeeping; raises on anything amiss."""
    if set(map(type, row.values())) == _TEXT_ONLY:
        return _text_structurer(kind, tuple(row))(row)
    return _FAST[kind](row)


_TEXT: dict[tuple[Kind, tuple[str, ...]], Callable[[Mapping[str, Any]], Model]] = {}
_TEXT_ONLY = {str}  # a row of text cells only (a CSV row): exactly str, not a subclass such as an enum member


def _text_structurer(kind: Kind, columns: tuple[str, ...]) -> Callable[[Mapping[str, Any]], Model]:
    """A function structuring rows of text cells with exactly these ``columns``, compiled once.

    A CSV row is all text, with the same columns on every row of a file, so each
    cell's parsing is written out in line: the checks of the hooks above, in the
    same order, with none of the calls. Anything else (a bad cell, a missing or
    unknown column) raises, and :func:`_structure` takes the checked path.
    """
    key = (kind, columns)
    hit = _TEXT.get(key)
    if hit is not None:
        return hit
    cls = _CLASSES[kind]
    hints = get_type_hints(cls)
    fields = {f.name: f for f in attrs.fields(cls)}
    env: dict[str, Any] = {"_cls": cls, "_DECIMAL_RE": _DECIMAL_RE, "_INT_RE": _INT_RE, "_DATE_RE": _DATE_RE,
                           "_TRUE": _TRUE, "_FALSE": _FALSE, "_Decimal": Decimal, "_date": dt.date.fromisoformat}
    lines = ["def structure(row):"]
    for i, name in enumerate(columns):
        f = fields[name]  # an unknown column: KeyError now, and the checked path words it per row
        t = hints[name]
        inner = next(a for a in get_args(t) if a is not type(None)) if _is_optional(t) else t
        lines.append(f"    t = row[{name!r}].strip()")
        if f.default is not attrs.NOTHING:
            lines.append("    if t:")
            pad = "        "
            default = f"    else: v{i} = _default_{name}"
            env[f"_default_{name}"] = f.default
        else:
            lines.append("    if not t: raise ValueError")
            pad = "    "
            default = ""
        if inner is str:
            lines.append(f"{pad}v{i} = t")
        elif inner is Decimal:
            lines.append(f"{pad}if not _DECIMAL_RE.fullmatch(t): raise ValueError")
            lines.append(f"{pad}v{i} = _Decimal(t)")
            lines.append(f"{pad}if not v{i}.is_finite(): raise ValueError")
        elif inner is dt.date:
            lines.append(f"{pad}if not _DATE_RE.fullmatch(t): raise ValueError")
            lines.append(f"{pad}v{i} = _date(t)")
        elif inner is int:
            lines.append(f"{pad}if not _INT_RE.fullmatch(t): raise ValueError")
            lines.append(f"{pad}v{i} = int(t)")
        elif inner is bool:
            lines.append(f"{pad}w = t.casefold()")
            lines.append(f"{pad}v{i} = True if w in _TRUE else (False if w in _FALSE else _no())")
        elif isinstance(inner, type) and issubclass(inner, Enum):
            env[f"_E{i}"] = {member.value: member for member in inner}
            lines.append(f"{pad}v{i} = _E{i}[t.lower()]")
        else:
            raise TypeError(f"no text parser for {name}: {t}")
        if default:
            lines.append(default)
    lines.extend(_direct_build(cls, columns, env))
    env["_no"] = _no
    exec(compile("\n".join(lines) + "\n", f"<text structurer for {cls.__name__}>", "exec"), env)
    structure: Callable[[Mapping[str, Any]], Model] = env["structure"]
    if len(_TEXT) < 256:
        _TEXT[key] = structure
    return structure


def _no() -> bool:
    raise ValueError


_FACTORY: type = type(attrs.Factory(list))


def _direct_build(cls: type[Model], columns: tuple[str, ...], env: dict[str, Any]) -> list[str]:
    """Source lines building ``cls`` from the parsed cells ``v<i>``, without its converters.

    Each cell was parsed to its field's exact type, so the converters would hand
    it back unchanged; a row costs half as much without their twenty calls. The
    validators still run, after every field is set, as the class's ``__init__``
    runs them. A column missing, or a default made by a factory, takes ``__init__``.
    """
    fields = attrs.fields(cls)
    given = {name: i for i, name in enumerate(columns)}
    direct = all(f.name in given or (f.default is not attrs.NOTHING and not isinstance(f.default, _FACTORY))
                 for f in fields) and attrs.has(cls) and getattr(cls, "__slots__", None) is not None
    if not direct or hasattr(cls, "__attrs_post_init__"):
        keywords = ", ".join(f"{name}=v{i}" for name, i in given.items())
        return [f"    return _cls({keywords})"]
    env["_new"] = object.__new__
    env["_set"] = object.__setattr__
    out = ["    o = _new(_cls)"]
    for f in fields:
        value = f"v{given[f.name]}" if f.name in given else f"_default_{f.name}"
        env.setdefault(f"_default_{f.name}", f.default)
        out.append(f"    _set(o, {f.name!r}, {value})")
    for j, f in enumerate(fields):
        if f.validator is not None:
            env[f"_check{j}"], env[f"_field{j}"] = f.validator, f
            out.append(f"    _check{j}(o, _field{j}, o.{f.name})")
    out.append("    return o")
    return out


def _fast_structurer(cls: type[Model]) -> Callable[[Mapping[str, Any]], Model]:
    """Structure a well-formed row with the same hooks as the converter, without its bookkeeping.

    cattrs' detailed validation costs most of a read; a row that fails here for
    any reason is structured again by :func:`_structure_checked`, which finds
    and words the error. Both use the hooks above, so they accept the same rows
    and build equal objects (a test checks it on the fuzz corpus).
    """
    hints = get_type_hints(cls)
    hooks: dict[str, tuple[Callable[[object, Any], Any], Any, bool]] = {}
    for f in attrs.fields(cls):
        t = hints[f.name]
        optional = _is_optional(t)
        inner = next(a for a in get_args(t) if a is not type(None)) if optional else t
        hook = converter().get_structure_hook(inner)
        hooks[f.name] = (hook, inner, f.default is not attrs.NOTHING)

    def structure(row: Mapping[str, Any]) -> Model:
        given = {}
        for name, value in row.items():
            hook, inner, defaulted = hooks[name]  # an unknown column: KeyError, the full path words it
            if defaulted and (value is None or (value.__class__ is str and not value.strip())):
                continue
            given[name] = hook(value, inner)
        return cls(**given)

    return structure


def _structure_checked(kind: Kind, row: Mapping[str, Any]) -> Model:
    cls = _CLASSES[kind]
    failure = _check_keys(cls, row)
    if failure is None:
        defaulted = {f.name for f in attrs.fields(cls) if f.default is not attrs.NOTHING}
        # A blank cell in a column with a default means "not given", so the
        # default applies (role → teacher, optional → None).
        given = {k: v for k, v in row.items() if not (k in defaulted and _is_blank(v))}
        try:
            return converter().structure(given, cls)
        except InvalidField as exc:  # older cattrs let __init__ errors through bare
            failure = exc.field, exc.reason
        except ClassValidationError as exc:
            failure = _first_failure(exc)
    field, reason = failure
    raise InputError(_readable(reason), field=field, record_id=_shown_id(kind, row), kind=kind) from None


_FAST: dict[Kind, Callable[[Mapping[str, Any]], Model]] = {kind: _fast_structurer(cls) for kind, cls in _CLASSES.items()}

_QUOTED = re.compile(r"'([^']*)'")


def _readable(reason: str) -> str:
    """A model's reason with every quoted value shown as :func:`_shown` does: one line, clipped."""
    return _QUOTED.sub(lambda m: f"'{_shown(m.group(1))}'", reason)


def _shown_id(kind: Kind, row: Mapping[str, Any]) -> str | None:
    rid = _row_id(kind, row)
    return None if rid is None else _shown(rid)


def structure_person(d: Mapping[str, Any]) -> Person:
    """One person from a row; raises :class:`InputError` for the first bad field."""
    return cast(Person, _structure("person", d))


def structure_record(d: Mapping[str, Any]) -> TrainingRecord:
    """One training record from a row; raises :class:`InputError` for the first bad field."""
    return cast(TrainingRecord, _structure("record", d))


def structure_project(d: Mapping[str, Any]) -> Project:
    """One project from a row; raises :class:`InputError` for the first bad field."""
    return cast(Project, _structure("project", d))


def structure_unit(d: Mapping[str, Any]) -> Unit:
    """One unit-year from a row; raises :class:`InputError` for the first bad field."""
    return cast(Unit, _structure("unit", d))


def unstructure(obj: Model) -> dict[str, Any]:
    """A plain dict of ``obj``: Decimal as str, dates ISO, enums by value, None kept.

    ``structure_X(unstructure(x)) == x`` holds for every model whose strings
    are already stripped and non-empty (the reader strips them, and reads an
    empty optional string as None).
    """
    return cast(dict[str, Any], converter().unstructure(obj))


# -- files into raw rows ------------------------------------------------------------

_Raw: TypeAlias = "tuple[int, dict[str, Any]] | InputError"


def _line_of(data: bytes | str, offset: int) -> int:
    newline = b"\n" if isinstance(data, bytes) else "\n"
    return data.count(newline, 0, offset) + 1  # type: ignore[arg-type]


def _decode(data: bytes, source: str, encoding: str | None, kind: Kind) -> str:
    """Text of ``data``; auto tries UTF-8 then GB18030 (what Excel writes in China)."""
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise FileError(f"unknown encoding '{encoding}'", source=source, kind=kind) from None
        except UnicodeDecodeError as exc:
            reason = f"not valid {encoding}: undecodable byte at offset {exc.start}"
            raise FileError(reason, source=source, line=_line_of(data, exc.start), kind=kind) from None
        except UnicodeError as exc:  # codecs such as 'undefined' or 'punycode' fail without an offset
            raise FileError(f"cannot be read as {encoding}: {exc}", source=source, kind=kind) from None
        return text.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first = exc
    if first.reason == "unexpected end of data" and not data[: first.start].isascii():
        # UTF-8 text up to a character cut in half: a truncated file, not a GBK one
        # (read as GB18030 its Chinese text would silently become mojibake).
        reason = "the file ends in the middle of a character: it looks cut off; save or copy it again"
        raise FileError(reason, source=source, line=_line_of(data, first.start), kind=kind)
    mixed = _utf8_line(data)
    if mixed is not None:
        bad = _line_of(data, first.start)
        reason = (
            f"mixed encodings: line {mixed} is UTF-8 but line {bad} is not (GBK?); "
            "save the whole file in one encoding (if it is all GBK, name it: --encoding gbk)"
        )
        raise FileError(reason, source=source, line=bad, kind=kind)
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        reason = (
            f"neither UTF-8 nor GB18030: undecodable byte at offset {first.start}; "
            "save the file as UTF-8 or name its encoding"
        )
        raise FileError(reason, source=source, line=_line_of(data, first.start), kind=kind) from None


#: Chinese in UTF-8: a CJK ideograph or CJK/fullwidth punctuation, three bytes E3–E9 or EF, xx, xx.
_UTF8_CJK = re.compile(rb"[\xe3-\xe9\xef][\x80-\xbf]{2}")


def _utf8_line(data: bytes) -> int | None:
    """The first line of a non-UTF-8 file that is Chinese in UTF-8, if any.

    A file pasted together from a UTF-8 and a GBK export decodes as GB18030
    without complaint — into mojibake. A whole line that is valid UTF-8 and
    holds a Chinese character is the tell: GBK text is valid UTF-8 by chance
    only in short runs of two-byte sequences (a single GBK character never
    makes a three-byte one), so a GBK file is practically never taken for mixed.
    """
    for number, line in enumerate(data.split(b"\n"), 1):
        if line.isascii() or not _UTF8_CJK.search(line):
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return number
    return None


def _known_columns(kind: Kind) -> list[str]:
    return [f.name for f in attrs.fields(_CLASSES[kind])]


def _header_errors(names: list[str], kind: Kind, source: str, line: int) -> list[InputError]:
    known = _known_columns(kind)
    errors: list[InputError] = []

    def add(reason: str, field: str | None = None) -> None:
        errors.append(FileError(reason, source=source, line=line, field=field, kind=kind))

    seen: set[str] = set()
    for position, name in enumerate(names, 1):
        if not name:
            add(f"column {position} has no name")
        elif name in seen:
            add(f"duplicate column '{_shown(name)}'")
        elif name not in known:
            add(f"unknown column '{_shown(name)}' (known columns: {', '.join(known)})")
        seen.add(name)
    for f in attrs.fields(_CLASSES[kind]):
        if f.default is attrs.NOTHING and f.name not in seen:
            add("required column is missing", f.name)
    return errors


_NEWLINE = re.compile(r"\r\n|\r|\n")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their endings, as ``io.StringIO(text, newline="")`` splits them.

    Slices, made one at a time: the csv reader gets its lines without a second
    copy of a file that may be hundreds of megabytes.
    """
    pos = 0
    for match in _NEWLINE.finditer(text):
        end = match.end()
        yield text[pos:end]
        pos = end
    if pos < len(text):
        yield text[pos:]


def _csv_rows(lines: Iterable[str], source: str, kind: Kind, offset: int = 0) -> Iterator[_Raw]:
    """Rows of CSV ``lines`` (header first); ``offset`` is added to line numbers (a block cut from a file)."""
    # strict: an unterminated quote must be an error, not swallow the rest of
    # the file into one cell.
    reader = csv.reader(lines, strict=True)
    names: list[str] | None = None
    while True:
        start = reader.line_num + 1 + offset  # a quoted cell may span lines; report the first
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "field limit" in str(exc):
                # Past an oversized cell the reader cannot tell quoted text from
                # rows, so nothing after it can be trusted.
                reason = (
                    f"a cell is longer than {csv.field_size_limit()} characters: the file is damaged "
                    "or not a table of this kind; nothing after this line was read"
                )
                yield FileError(reason, source=source, line=start, kind=kind)
                return
            yield InputError(f"not valid CSV: {exc}", source=source, line=start, kind=kind)
            continue
        if all(not cell.strip() for cell in cells):
            continue  # blank lines (and Excel's all-empty rows) carry no data
        if names is None:
            names = [cell.strip() for cell in cells]
            while names and not names[-1]:
                names.pop()  # Excel pads the header with empty trailing cells
            errors = _header_errors(names, kind, source, start)
            yield from errors
            if errors:
                return
            continue
        yield _csv_row(names, cells, source, start, kind)
    if names is None:
        yield FileError("file is empty: expected a header line", source=source, kind=kind)


def _csv_row(names: list[str], cells: list[str], source: str, line: int, kind: Kind) -> _Raw:
    width = len(names)
    row = dict(zip(names, cells + [""] * (width - len(cells))))
    extra = [cell for cell in cells[width:] if cell.strip()]
    if extra:
        used = max(i for i, cell in enumerate(cells) if cell.strip()) + 1
        reason = f"row has {used} cells but the header has {width} columns"
        return InputError(reason, source=source, line=line, record_id=_shown_id(kind, row), kind=kind)
    return line, row


def _json_object(value: Any, source: str, line: int, kind: Kind) -> _Raw:
    if not isinstance(value, dict):
        reason = f"must be a JSON object, got {type(value).__name__}"
        return InputError(reason, source=source, line=line, kind=kind)
    return line, value


def _json_decoder() -> json.JSONDecoder:
    # Numbers stay exact: 0.1 is read as Decimal('0.1'), never as a float.
    # NaN/Infinity become Decimal too, so the hook refuses them by field.
    return json.JSONDecoder(parse_float=Decimal, parse_constant=Decimal)


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (column {exc.colno})"
    if isinstance(exc, ArithmeticError):  # Decimal refuses an exponent like 1e99999999999999999999
        return "a number is too large or too small"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc) or type(exc).__name__  # int too long


def _jsonl_rows(lines: Iterable[str], source: str, kind: Kind, offset: int = 0) -> Iterator[_Raw]:
    """Rows of JSON ``lines``; ``offset`` is added to line numbers (a block cut from a file)."""
    decoder = _json_decoder()
    # Lines split on \n only: str.splitlines also breaks on \x1c, \u2028 …,
    # which would shift the reported line numbers.
    for line, chunk in enumerate(lines, 1 + offset):
        chunk = chunk.removesuffix("\n")
        if not chunk.strip():
            continue
        try:
            value = decoder.decode(chunk)
        except (ValueError, ArithmeticError, RecursionError) as exc:
            yield InputError(f"not valid JSON: {_json_reason(exc)}", source=source, line=line, kind=kind)
            continue
        yield _json_object(value, source, line, kind)


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


class _LineCounter:
    """Line numbers of increasing offsets in ``text`` without rescanning from 0."""

    def __init__(self, text: str) -> None:
        self.text, self.offset, self.line = text, 0, 1

    def at(self, offset: int) -> int:
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def _json_array_rows(text: str, source: str, kind: Kind) -> Iterator[_Raw]:
    decoder, lines = _json_decoder(), _LineCounter(text)

    def error(reason: str, offset: int) -> InputError:
        # Past a syntax error the array cannot be followed: the rest of the file is unread.
        return FileError(f"not valid JSON: {reason}", source=source, line=lines.at(offset), kind=kind)

    index = _JSON_SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("[", index):
        yield error("expected an array of objects '['", index)
        return
    index = _JSON_SPACE.match(text, index + 1).end()  # type: ignore[union-attr]
    closed = text.startswith("]", index)
    if closed:  # an empty array: step past its ']' as the loop does for a full one
        index = _JSON_SPACE.match(text, index + 1).end()  # type: ignore[union-attr]
    while not closed:
        try:
            value, end = decoder.raw_decode(text, index)
        except (ValueError, ArithmeticError, RecursionError) as exc:
            yield error(_json_reason(exc), index)
            return
        yield _json_object(value, source, lines.at(index), kind)
        index = _JSON_SPACE.match(text, end).end()  # type: ignore[union-attr]
        closed = text.startswith("]", index)
        if not closed and not text.startswith(",", index):
            yield error("expected ',' or ']'", index)
            return
        index = _JSON_SPACE.match(text, index + 1).end()  # type: ignore[union-attr]
    if index < len(text):
        yield error("extra data after the array", index)


# Per suffix: the parser, and how the decoded text is cut into lines for it
# (None: the parser reads the whole text, so the file is never streamed).
_FORMATS: dict[str, tuple[Callable[[Any, str, Kind], Iterator[_Raw]], str | None]] = {
    ".csv": (_csv_rows, ""),  # universal newlines, endings kept: what csv.reader expects
    ".jsonl": (_jsonl_rows, "\n"),
    ".ndjson": (_jsonl_rows, "\n"),
    ".json": (_json_array_rows, None),
}

#: Bytes read at a time while a file is checked and streamed.
_BLOCK = 1 << 20


def _raw_rows(path: PathArg, kind: Kind, encoding: str | None) -> Iterator[_Raw]:
    """Rows of ``path`` as (line, dict), with file and syntax errors yielded in place.

    A CSV or JSONL file that decodes cleanly is streamed, so reading holds one
    block and one row at a time, whatever the file's size. Anything else (GBK
    guessed, a bad byte, a NUL, a JSON array) is decoded whole, where the
    problem can be found and worded with its line.
    """
    source = str(path)
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        reason = f"unsupported file type '{Path(path).suffix}': expected .csv, .jsonl or .json"
        yield FileError(reason, source=source, kind=kind)
        return
    parse, newline = _FORMATS[suffix]
    if newline is not None and _decodes_cleanly(path, encoding):
        problems: list[InputError] = []
        yield from parse(_streamed_lines(path, encoding, newline, source, kind, problems), source, kind)
        yield from problems
        return
    try:
        data = Path(path).read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        yield FileError(f"cannot read file: {reason}", source=source, kind=kind)
        return
    try:
        text = _decode(data, source, encoding, kind)
    except InputError as exc:
        yield exc
        return
    del data  # the decoded text is all that is needed from here on
    if "\x00" in text:
        reason = "contains a NUL byte: is it a binary or UTF-16 file? Save it as CSV (UTF-8)"
        yield FileError(reason, source=source, line=_line_of(text, text.index("\x00")), kind=kind)
        return
    if newline is None:
        yield from parse(text, source, kind)
    else:
        yield from parse(_lines(text) if newline == "" else text.split("\n"), source, kind)


def _decodes_cleanly(path: PathArg, encoding: str | None) -> bool:
    """Does ``path`` decode (as UTF-8, or ``encoding``) without error or NUL? One pass, one block held."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False  # a pipe or a device can be read once only: read it whole
        decoder = codecs.getincrementaldecoder(encoding or "utf-8")()
        with open(path, "rb") as fh:
            while block := fh.read(_BLOCK):
                if "\x00" in decoder.decode(block):
                    return False
            decoder.decode(b"", final=True)
    except Exception:  # noqa: BLE001 - the whole-file path finds the problem again, and words it
        return False
    return True


def _streamed_lines(
    path: PathArg, encoding: str | None, newline: str, source: str, kind: Kind, problems: list[InputError]
) -> Iterator[str]:
    # The BOM goes as _decode drops it: utf-8-sig when guessing, one leading U+FEFF when named.
    with open(path, encoding=encoding or "utf-8-sig", newline=newline) as fh:
        first = encoding is not None
        try:
            for line in fh:
                if first:
                    line, first = line.removeprefix("\ufeff"), False
                yield line
        except UnicodeDecodeError:  # the file changed after it was checked
            problems.append(FileError("changed while it was read; nothing after this point was read: read it "
                                      "again", source=source, kind=kind))


def iter_rows(path: PathArg, kind: Kind, *, encoding: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Raw rows of ``path`` as ``(line, dict)``, not yet structured.

    Format follows the extension (.csv, .jsonl, .json). CSV cells are strings
    ('' when blank), keyed by the (validated) header. Raises the first
    :class:`InputError` met (unreadable file, bad header, bad JSON line …).
    """
    for item in _raw_rows(path, kind, encoding):
        if isinstance(item, InputError):
            raise item
        yield item


# -- rows into models ---------------------------------------------------------------


def _located(error: InputError, source: str, line: int) -> InputError:
    # InputError fixes its message at construction, so locate by rebuilding.
    return InputError(
        error.reason, source=source, line=line, record_id=error.record_id, field=error.field, kind=error.kind
    )


class _Duplicates:
    """Refuses a second row with a seen id but different content.

    An identical repeat passes: the engine must show that a record entered
    twice earns its credit once, so the repeat has to reach it.
    """

    def __init__(self, kind: Kind, source: str) -> None:
        self.kind, self.source = kind, source
        # The content's hash, not the row itself: memory per row stays about
        # 300 bytes (measured), where holding the rows would cost kilobytes.
        self.first: dict[tuple[Any, ...], tuple[int, int]] = {}

    def check(self, obj: Model, line: int) -> DuplicateError | None:
        fields = _ID_FIELDS[self.kind]
        key = tuple(getattr(obj, name) for name in fields)
        digest = hash(obj)
        first = self.first.setdefault(key, (line, digest))
        if first[1] == digest:
            return None
        what = " ".join(f"{name} {_shown(value)}" for name, value in zip(fields, key))
        reason = f"duplicate {what} (first on line {first[0]}) with different content"
        return DuplicateError(reason, source=self.source, line=line, record_id=_shown(key[0]), kind=self.kind,
                              key=key, first_line=first[0])


class DuplicateError(InputError):
    """A row repeating an earlier row's id with different content; ``key`` is the id, ``first_line`` the earlier row.

    Which of the two is right only the clerk knows, so ``--skip-invalid``
    refuses both.
    """

    def __init__(self, reason: str, *, key: tuple[Any, ...], first_line: int, **where: Any) -> None:
        super().__init__(reason, **where)
        self.key = key
        self.first_line = first_line


class RowResult(NamedTuple):
    """One row of a file as read: where it is, the model or the refusal, and the raw cells.

    ``cells`` is the row before structuring (``{}`` when the row could not be
    split into cells), so a caller can still tell whose row a refused one was.
    A :class:`FileError` has ``line`` of the error, or ``None`` for the whole file.
    """

    line: int | None
    model: Model | None
    error: InputError | None
    cells: Mapping[str, Any]


def iter_results(
    path: PathArg, kind: Kind, *, encoding: str | None = None, duplicates_across_file: bool = True
) -> Iterator[RowResult]:
    """Every row of ``path`` in file order, accepted or refused; nothing raises for bad input.

    A :class:`FileError` ends the file: rows past it were not read. A repeated
    id with other content is refused (:class:`DuplicateError`); that check keeps
    about 300 bytes per row (the id, its line and the content's hash, in Python
    objects), so ``duplicates_across_file=False`` turns it off for readers that
    must hold nothing per row (they check ids per person).
    """
    source = str(path)
    duplicates = _Duplicates(kind, source) if duplicates_across_file else None
    for item in _raw_rows(path, kind, encoding):
        if isinstance(item, InputError):
            yield RowResult(item.line, None, item, {})
            continue
        line, row = item
        try:
            obj = _structure(kind, row)
        except InputError as exc:
            yield RowResult(line, None, _located(exc, source, line), row)
            continue
        duplicate = duplicates.check(obj, line) if duplicates is not None else None
        yield RowResult(line, None, duplicate, row) if duplicate else RowResult(line, obj, None, row)


@overload
def iter_structured(
    path: PathArg, kind: Literal["person"], *, encoding: str | None = None
) -> Iterator[Person | InputError]: ...
@overload
def iter_structured(
    path: PathArg, kind: Literal["record"], *, encoding: str | None = None
) -> Iterator[TrainingRecord | InputError]: ...
@overload
def iter_structured(
    path: PathArg, kind: Literal["project"], *, encoding: str | None = None
) -> Iterator[Project | InputError]: ...
@overload
def iter_structured(
    path: PathArg, kind: Literal["unit"], *, encoding: str | None = None
) -> Iterator[Unit | InputError]: ...
@overload
def iter_structured(path: PathArg, kind: Kind, *, encoding: str | None = None) -> Iterator[Model | InputError]: ...
def iter_structured(path: PathArg, kind: Kind, *, encoding: str | None = None) -> Iterator[Model | InputError]:
    """Models of ``path`` in file order, with each refused row yielded as its :class:`InputError`.

    Nothing raises for bad input, so a caller may keep the good rows (``--skip-invalid``)
    and still report every bad one; :func:`iter_results` also gives lines and raw cells.
    """
    for result in iter_results(path, kind, encoding=encoding):
        yield result.error if result.error is not None else cast(Model, result.model)


def _read(path: PathArg, kind: Kind, encoding: str | None) -> list[Any]:
    models: list[Any] = []
    errors: list[InputError] = []
    for item in iter_structured(path, kind, encoding=encoding):
        if not isinstance(item, InputError):
            models.append(item)
        elif len(errors) == MAX_ERRORS:
            raise InputErrors(errors, truncated=True)
        else:
            errors.append(item)
    if errors:
        raise InputErrors(errors)
    return models


def read_persons(path: PathArg, *, encoding: str | None = None) -> list[Person]:
    """Every person in ``path``; raises :class:`InputErrors` listing every bad row."""
    return _read(path, "person", encoding)


def read_records(path: PathArg, *, encoding: str | None = None) -> list[TrainingRecord]:
    """Every training record in ``path``; raises :class:`InputErrors` listing every bad row."""
    return _read(path, "record", encoding)


def read_projects(path: PathArg, *, encoding: str | None = None) -> list[Project]:
    """Every project in ``path``; raises :class:`InputErrors` listing every bad row."""
    return _read(path, "project", encoding)


def read_units(path: PathArg, *, encoding: str | None = None) -> list[Unit]:
    """Every unit-year in ``path``; raises :class:`InputErrors` listing every bad row."""
    return _read(path, "unit", encoding)
