"""Cutting a records file sorted by person into blocks of whole persons, read by the workers.

With ``--workers``, the process that reads the input must stay light, or it
becomes the bottleneck: parsing and structuring rows is most of a batch's
reading cost. So the records file is cut, as bytes, into blocks of about
128 KB that end between two persons; each worker decodes, parses and
structures its own block, with the same readers and the same checks as a
single process, and line numbers counted from the file's start. The persons
file (one row a person) is read here and handed out with the blocks.

Only a plain file can be cut without parsing it: UTF-8 and, for CSV, no quote
character (so every line break ends a row) and no lone carriage return; JSON
Lines are cut at line feeds, as their reader splits them. Any other file
takes the row path (:func:`creditrules.stream.grouped_rows`): same decisions,
same refusals, more work for the reading process.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from functools import partial
from itertools import chain
from typing import IO

from attrs import frozen

from .convert import _csv_rows, _json_decoder, _jsonl_rows, _lines, _raw_rows
from .errors import InputError, InputErrors
from .stream import OrderedRow, Unread, _merge, _ordered, grouped_rows

__all__ = ["Block", "blocks"]

#: About this many bytes of records per block, a few dozen persons: small enough that the
#: last blocks keep every worker busy to the end, large enough that cutting costs nothing.
BLOCK_BYTES = 1 << 17


@frozen
class Block:
    """Whole persons' record rows, as the file's bytes, and the persons rows that go with them."""

    records: bytes
    first_line: int  # the file's line number of the block's first line
    header: str | None  # the CSV header line; None for JSON Lines
    after: str | None  # the last person_id before the block, so order is checked across blocks
    people: tuple[OrderedRow | InputError, ...]
    sources: tuple[str, str]
    encoding: str | None = None

    def unread(self) -> Iterator[Unread]:
        """Each person of the block with their rows, and any refusal, as the row path gives them."""
        text = self.records.decode("utf-8")
        if self.header is None:
            rows = _jsonl_rows(text.split("\n"), self.sources[1], "record", offset=self.first_line - 1)
        else:
            lines = chain([self.header], _lines(text))
            rows = _csv_rows(lines, self.sources[1], "record", offset=self.first_line - 2)
        recs = _ordered(rows, self.sources[1], "record", self.after)
        # In a damaged file a block may meet another problem first than a read from
        # the start would; the worker then asks first_refusal() for that one.
        return _merge(iter(self.people), recs, self.sources)

    def first_refusal(self) -> InputErrors | None:
        """The first refusal of the files read from their start, row by row, as without blocks."""
        for unread in grouped_rows(*self.sources, encoding=self.encoding):
            try:
                unread.read()
            except InputErrors as exc:
                return exc
        return None


def blocks(persons: str, records: str, *, encoding: str | None = None,
           size: int = BLOCK_BYTES) -> Iterator[Block | Unread]:
    """Blocks of whole persons from two files sorted by ``person_id`` (or the row path's items)."""
    suffix = os.path.splitext(records)[1].lower()
    csv_file = suffix == ".csv"
    if not (suffix in (".csv", ".jsonl", ".ndjson")
            and (encoding or "utf-8").lower().replace("_", "-") in _UTF8 and _plain(records, csv_file)):
        yield from grouped_rows(persons, records, encoding=encoding)
        return
    with open(records, "rb") as fh:
        if csv_file:
            head = _header(fh, records, size)
            if head is None:
                fh.close()
                yield from grouped_rows(persons, records, encoding=encoding)
                return
            header, column, width, line, buf = head
            person_id: Callable[[bytes], str | None | object] = partial(_csv_person_id, column=column, width=width)
        else:
            header, line, buf = None, 1, fh.read(max(size, 3)).removeprefix(b"\xef\xbb\xbf")
            person_id = _json_person_id
        people = _ordered(_raw_rows(persons, "person", encoding), persons, "person")
        handout = _Handout(people)
        after: str | None = None
        while True:
            more = fh.read(size)
            buf += more
            cut = _cut(buf, person_id) if more else len(buf)
            if cut is None:
                continue  # one person fills the buffer: read on
            block, buf = buf[:cut], buf[cut:]
            last = _last_id(block, person_id)
            yield Block(block, line, header, after, handout.upto(last, final=not more), (persons, records), encoding)
            # Lines as the readers number them: CSV breaks at CR, LF and CRLF; JSON Lines at LF only.
            line += block.count(b"\n") + (block.count(b"\r") - block.count(b"\r\n") if csv_file else 0)
            after = last if last is not None else after
            if not more:
                return


_UTF8 = ("utf-8", "utf8")  # utf-8-sig named: the row path (it drops a second BOM, as _decode does)


def _plain(path: str, csv_file: bool = True) -> bool:
    """UTF-8 throughout, no NUL and, for CSV, no quote and no lone CR: a file whose lines are its rows.

    (In JSON Lines a line is a row whatever it holds: a JSON string cannot span lines.)
    """
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False  # a pipe can be read once only
        with open(path, "rb") as fh:
            tail = b""
            while block := fh.read(BLOCK_BYTES):
                if b"\x00" in block or (csv_file and b'"' in block):
                    return False
                joined = tail + block
                if csv_file and joined.count(b"\r") != joined.count(b"\r\n") + joined.endswith(b"\r"):
                    return False
                tail = joined[-1:]
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return not (csv_file and tail.endswith(b"\r"))
    except (OSError, UnicodeDecodeError):
        return False


def _header(fh: IO[bytes], source: str, size: int) -> tuple[str, int, int, int, bytes] | None:
    """(header line, person_id column, header width, line number after it, bytes after it), or None:
    take the row path."""
    data = fh.read(max(size, 3))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    pos, line = 0, 1
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            more = fh.read(size) if len(data) < BLOCK_BYTES else b""
            if not more:
                return None  # no header line near the start: let the row path word it
            data += more
            continue
        text = data[pos:end + 1].decode("utf-8")
        if any(cell.strip() for cell in text.split(",")):
            break
        pos, line = end + 1, line + 1
    if any(isinstance(item, InputError) for item in _csv_rows([text], source, "record")):
        return None  # a bad header: the row path refuses it in its own words
    names = [cell.strip() for cell in text.split(",")]
    if "person_id" not in names:
        return None
    while names and not names[-1]:
        names.pop()  # as the reader does: Excel pads the header with empty cells
    return text, names.index("person_id"), len(names), line + 1, data[end + 1:]


_BLANK = object()  # a line with no content at all, which the readers skip


def _csv_person_id(line: bytes, column: int, width: int) -> str | None | object:
    """The line's person_id; None for a row without one or one the reader refuses whole
    (more cells than the header); ``_BLANK`` for an empty line."""
    cells = line.decode("utf-8").split(",")
    if all(not cell.strip() for cell in cells):
        return _BLANK
    if any(cell.strip() for cell in cells[width:]):
        return None
    return (cells[column].strip() or None) if len(cells) > column else None


def _json_person_id(line: bytes) -> str | None | object:
    """As :func:`_csv_person_id`, for a JSON line (None too for a line that is not a JSON object)."""
    text = line.decode("utf-8")
    if not text.strip():
        return _BLANK
    try:
        value = _json_decoder().decode(text)  # the reader's own: huge numbers are refused alike
    except (ValueError, ArithmeticError, RecursionError):
        return None
    pid = value.get("person_id") if isinstance(value, dict) else None
    if isinstance(pid, str):
        return pid.strip() or None
    return str(pid) if isinstance(pid, int) and not isinstance(pid, bool) else None


def _cut(buf: bytes, person_id: Callable[[bytes], str | None | object]) -> int | None:
    """Where ``buf`` can be cut so that a block ends with whole persons; None if nowhere yet.

    The cut goes before the last person's rows (they may go on in the next
    read), and only between two rows whose ids are both present and increase:
    next to a row the order check refuses, the block's end would change which
    person is decided before the refusal.
    """
    pos = buf.rfind(b"\n") + 1
    after: str | None | object = _BLANK  # the id of the nearest non-empty row after ``pos``
    run: str | None | object = _BLANK  # the id of the last person's rows
    while pos > 0:
        start = buf.rfind(b"\n", 0, pos - 1) + 1
        pid = person_id(buf[start:pos])
        if pid is not _BLANK:
            if run is _BLANK:
                run = pid
            elif pid != run and isinstance(pid, str) and isinstance(after, str) and pid < after:
                return pos
            if pid != run:
                run = None  # past the last person: any valid boundary from here back will do
            after = pid
        pos = start
    return None


def _last_id(block: bytes, person_id: Callable[[bytes], str | None | object]) -> str | None:
    pos = len(block)
    while pos > 0:
        start = block.rfind(b"\n", 0, pos - 1) + 1
        pid = person_id(block[start:pos])
        if isinstance(pid, str):
            return pid
        pos = start
    return None


class _Handout:
    """Deals out the persons rows: each block gets those up to its last person_id."""

    def __init__(self, people: Iterator[OrderedRow | InputError]) -> None:
        self.people = people
        self.pending: OrderedRow | InputError | None = None
        self.done = False

    def upto(self, last: str | None, *, final: bool) -> tuple[OrderedRow | InputError, ...]:
        taken: list[OrderedRow | InputError] = []
        while not self.done:
            item = self.pending if self.pending is not None else next(self.people, None)
            self.pending = None
            if item is None:
                self.done = True
            elif isinstance(item, InputError):
                taken.append(item)  # a refusal ends the persons file: raised in this block, in order
                self.done = True
            elif not final and (last is None or (item[0] is not None and item[0] > last)):
                self.pending = item
                break
            else:
                taken.append(item)
        return tuple(taken)
