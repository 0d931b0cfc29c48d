"""Every error creditrules raises on purpose.

Each one names *where* (file, line, record, field or key path) and *why*, so a
school clerk reading a refusal knows which cell to fix. Nothing here carries a
traceback from deep inside: the readers and loaders translate low-level
exceptions into these at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CreditrulesError",
    "InputError",
    "InputErrors",
    "InvalidField",
    "PluginError",
    "RulesetError",
    "UnknownRegion",
    "WorkerFailed",
]


class CreditrulesError(Exception):
    """Base class of every error this library raises deliberately."""

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled whole (attributes, not constructor arguments): a worker
        # process hands refusals back to the parent, and Exception's default
        # would call __init__ with the wrong arguments on the other side.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[CreditrulesError], args: tuple[object, ...], state: dict[str, object]) -> CreditrulesError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidField(CreditrulesError, ValueError):
    """A single field of a model failed validation.

    Raised by the models' validators; the reader adds file, line and record.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InputError(CreditrulesError):
    """One refused input row: ``records.csv:14 record R-0042: hours: must be ≥ 0, got '-3'``."""

    def __init__(
        self,
        reason: str,
        *,
        source: str | None = None,
        line: int | None = None,
        record_id: str | None = None,
        field: str | None = None,
        kind: str = "record",
    ) -> None:
        self.source = source
        self.line = line
        self.record_id = record_id
        self.field = field
        self.reason = reason
        self.kind = kind
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = ""
        if self.source is not None:
            where = self.source if self.line is None else f"{self.source}:{self.line}"
        parts = [where] if where else []
        if self.record_id:
            parts.append(f"{self.kind} {self.record_id}")
        head = " ".join(parts)
        body = f"{self.field}: {self.reason}" if self.field else self.reason
        return f"{head}: {body}" if head else body

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "line": self.line,
            "record_id": self.record_id,
            "field": self.field,
            "reason": self.reason,
            "message": self.message,
        }


class InputErrors(CreditrulesError):
    """Several refused rows from one read; ``errors`` holds each, in input order."""

    def __init__(self, errors: Sequence[InputError], *, truncated: bool = False) -> None:
        self.errors = list(errors)
        self.truncated = truncated
        lines = [e.message for e in self.errors]
        if truncated:
            lines.append("… more errors not shown")
        noun = "error" if len(self.errors) == 1 else "errors"
        super().__init__(f"{len(self.errors)} input {noun}:\n" + "\n".join(lines))


class RulesetError(CreditrulesError):
    """A ruleset file is malformed: names the file and the key path."""

    def __init__(self, source: str, key_path: str, reason: str) -> None:
        self.source = source
        self.key_path = key_path
        self.reason = reason
        where = f"{source}: {key_path}" if key_path else source
        super().__init__(f"{where}: {reason}")


class PluginError(CreditrulesError):
    """A plugin could not be loaded or conflicts with another one."""


class UnknownRegion(CreditrulesError, KeyError):
    """No installed ruleset provides the requested region."""

    def __init__(self, region: str, known: Sequence[str]) -> None:
        self.region = region
        self.known = list(known)
        super().__init__(region)

    def __str__(self) -> str:
        known = ", ".join(self.known) or "none installed"
        return f"unknown region {self.region!r} (known: {known})"


class WorkerFailed(CreditrulesError):
    """A worker process of a batch died or could not start (killed, out of memory, a broken install).

    The batch stops there: nothing after it is decided, and a file output is not written.
    """
