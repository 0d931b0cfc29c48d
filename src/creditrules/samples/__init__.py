"""Sample populations for ``creditrules demo``, one set of files per region.

A region's samples are CSV files named ``<region>_<kind>.csv`` where kind is
``persons``, ``records``, ``projects`` or ``units``; ``persons`` and
``records`` are required, the others optional. They live here (package data
of creditrules) or in a ``samples/`` directory of the plugin package that
provides the region, named the same way::

    creditrules_huangshi/samples/huangshi_persons.csv
    creditrules_huangshi/samples/huangshi_records.csv
    creditrules_huangshi/samples/huangshi_as_of.txt     (optional)

``<region>_as_of.txt`` holds the date the demo judges the samples on
(``2025-12-31``); without it the demo uses :data:`DEFAULT_AS_OF`.

The Beihai population (12 teachers over the 2016–2020 cycle, two schools) is
invented: its records are shaped like real 学分登记 exports, but no person or
school in it exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING

from ..errors import CreditrulesError, UnknownRegion

if TYPE_CHECKING:
    from ..engine import Engine, RegionInfo

__all__ = [
    "DEFAULT_AS_OF",
    "KINDS",
    "REQUIRED",
    "SampleSet",
    "find_samples",
    "installed_samples",
    "sample_as_of",
    "sample_regions",
]

#: The input kinds a sample set may hold, in the order ``adjudicate`` reads them.
KINDS = ("persons", "records", "projects", "units")
REQUIRED = ("persons", "records")

#: The date samples are judged on when they do not name one: the end of the
#: 2016–2020 cycle, which the Beihai samples cover.
DEFAULT_AS_OF = dt.date(2020, 12, 31)

#: A region's sample files by kind, plus ``"as_of"`` when it names its date.
SampleSet = dict[str, Traversable]


def _dirs(packages: Iterable[str]) -> list[Traversable]:
    """This package first, then the ``samples/`` directory of each named package, if it has one."""
    out = [resources.files(__name__)]
    for package in packages:
        try:
            candidate = resources.files(package).joinpath("samples")
        except (ModuleNotFoundError, TypeError):
            continue
        if candidate.is_dir():
            out.append(candidate)
    return out


def find_samples(region: str, packages: Iterable[str] = ()) -> SampleSet | None:
    """The sample files of ``region`` by kind, or ``None`` if none ship persons and records."""
    for directory in _dirs(packages):
        found = {
            kind: directory.joinpath(f"{region}_{kind}.csv")
            for kind in KINDS
            if directory.joinpath(f"{region}_{kind}.csv").is_file()
        }
        if all(kind in found for kind in REQUIRED):
            as_of = directory.joinpath(f"{region}_as_of.txt")
            if as_of.is_file():
                found["as_of"] = as_of
            return found
    return None


def sample_as_of(files: SampleSet) -> dt.date:
    """The date a sample set is meant to be judged on."""
    if "as_of" not in files:
        return DEFAULT_AS_OF
    text = files["as_of"].read_text(encoding="utf-8").strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CreditrulesError(f"{files['as_of'].name}: not a date YYYY-MM-DD: {text[:40]!r}") from None


def sample_regions(packages: Iterable[str] = ()) -> list[str]:
    """Regions that ship samples (whether or not their ruleset is installed), sorted."""
    regions = set()
    for directory in _dirs(packages):
        for entry in directory.iterdir():
            name = entry.name
            if name.endswith("_persons.csv"):
                region = name.removesuffix("_persons.csv")
                if directory.joinpath(f"{region}_records.csv").is_file():
                    regions.add(region)
    return sorted(regions)


def installed_samples(engine: Engine, only: Sequence[str] = ()) -> list[tuple[RegionInfo, SampleSet]]:
    """Installed regions that ship samples (or just ``only``, which must all have them), by id.

    A region's samples are looked for here, then in its plugin's package.
    """
    infos = {info.id: info for info in engine.regions(include_base=bool(only))}
    for region in only:
        if region not in infos:
            raise UnknownRegion(region, sorted(infos))
    chosen = []
    for rid, info in sorted(infos.items()):
        if only and rid not in only:
            continue
        module = engine.pm.get_plugin(info.plugin)
        name = getattr(module, "__name__", None)
        files = find_samples(rid, [name.split(".")[0]] if isinstance(name, str) else [])
        if files is not None:
            chosen.append((info, files))
        elif only:
            raise CreditrulesError(f"region {rid!r} ships no sample data")
    if not chosen:
        raise CreditrulesError(
            "no installed region ships sample data; install one, e.g. `pip install creditrules-beihai`"
        )
    return chosen
