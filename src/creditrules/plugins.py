"""Finding and loading plugins: the pluggy manager, built in a function.

Discovery order (documented in ``docs/reference/plugins.md``):

1. the built-in plugins (:mod:`creditrules.builtin`: the base rulesets and the
   core rule families), always;
2. plugins passed to :meth:`creditrules.Engine.load` explicitly;
3. installed distributions' ``creditrules`` entry points, unless
   ``entry_points=False``; when ``CREDITRULES_LOAD_PLUGINS`` is set (a comma
   separated list of entry-point names, empty for none) only those load.

The engine calls each hook implementation itself, in plugin-name order, so a
broken one is named and contained, and results never depend on the order
plugins were installed in. ``creditrules plugins`` shows what each provided.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection, Iterable
from importlib import metadata
from typing import Any

import pluggy
from attrs import frozen

from . import hookspecs
from .errors import CreditrulesError, PluginError

__all__ = ["PluginInfo", "get_plugin_manager", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "creditrules"
ALLOW_ENV = "CREDITRULES_LOAD_PLUGINS"
TRACE_ENV = "CREDITRULES_TRACE_PLUGINS"


@frozen
class PluginInfo:
    """What the engine knows of one registered plugin."""

    name: str
    distribution: str
    version: str


def allow_list() -> frozenset[str] | None:
    raw = os.environ.get(ALLOW_ENV)
    if raw is None:
        return None
    return frozenset(n.strip() for n in raw.split(",") if n.strip())


def get_plugin_manager(
    plugins: Iterable[object] = (),
    *,
    entry_points: bool = True,
    allow: Iterable[str] | None = None,
    errors: list[str] | None = None,
    strict: bool = False,
) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """A fresh manager with the built-ins, ``plugins`` and (optionally) installed plugins.

    An installed plugin that fails to import is skipped and described in
    ``errors`` (with its distribution), so one broken plugin does not take the
    others down — unless the allow-list names it, which makes it required.
    """
    from . import builtin

    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    infos = [PluginInfo("creditrules", "creditrules", _version("creditrules"))]
    pm.register(builtin, "creditrules")
    for i, plugin in enumerate(plugins):
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{i}"
        _register(pm, plugin, name)
        infos.append(PluginInfo(name, "(registered directly)", ""))
    if entry_points:
        allowed = frozenset(allow) if allow is not None else allow_list()
        infos.extend(_load_entry_points(pm, allowed, errors if errors is not None else [], strict=strict))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements a hook creditrules does not define: {exc}") from None
    if os.environ.get(TRACE_ENV):
        pm.trace.root.setwriter(lambda s: sys.stderr.write(s))
        pm.enable_tracing()
    return pm, infos


def _load_entry_points(
    pm: pluggy.PluginManager, allowed: frozenset[str] | None, errors: list[str], *, strict: bool = False
) -> list[PluginInfo]:
    found: dict[str, metadata.EntryPoint] = {}
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if allowed is not None and ep.name not in allowed:
            continue
        if ep.name in found:
            first, second = _dist(found[ep.name]), _dist(ep)
            raise PluginError(
                f"two distributions register the creditrules plugin {ep.name!r}: {first} and {second}"
            )
        found[ep.name] = ep
    if allowed is not None:
        missing = sorted(allowed - set(found))
        if missing:
            raise PluginError(
                f"{ALLOW_ENV} names plugins that are not installed: {', '.join(missing)}"
            )
    infos = []
    for name, ep in found.items():
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must say who it is
            message = f"plugin {name!r} from {_dist(ep)} failed to import: {type(exc).__name__}: {exc}"
            if allowed is not None or strict:  # named in the allow-list, or strict: required
                raise PluginError(message) from exc
            errors.append(message + " (skipped)")
            continue
        _register(pm, plugin, name, _dist(ep))
        dist = ep.dist
        infos.append(PluginInfo(name, dist.name if dist else "?", dist.version if dist else ""))
    return infos


def _register(pm: pluggy.PluginManager, plugin: object, name: str, origin: str | None = None) -> None:
    """Register, refusing a plugin object or name seen before — naming both registrations."""
    first = pm.get_name(plugin)
    if first is not None or pm.has_plugin(name):
        already = first if first is not None else name
        who = f"{name!r}" + (f" from {origin}" if origin else "")
        raise PluginError(f"plugin {who} is already registered as {already!r}; register each plugin once")
    pm.register(plugin, name)


def _dist(ep: metadata.EntryPoint) -> str:
    return f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.value


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def plugin_name_of(pm: pluggy.PluginManager, impl: Any) -> str:
    return pm.get_name(impl) or repr(impl)


def collect(
    pm: pluggy.PluginManager,
    hook: str,
    expected: type | tuple[type, ...],
    *,
    lenient: Collection[str] = (),
    errors: list[str] | None = None,
) -> list[tuple[str, Any]]:
    """Call a collecting hook; return ``(plugin name, item)`` pairs in plugin-name order.

    pluggy calls implementations LIFO by registration; sorting by plugin name
    makes the result independent of install order. A plugin whose hook raises
    or returns something other than ``expected`` items is refused with a
    :class:`PluginError` naming it — or, if it is in ``lenient``, unregistered
    and described in ``errors``.
    """
    caller = getattr(pm.hook, hook)
    out: list[tuple[str, Any]] = []
    for impl in sorted(caller.get_hookimpls(), key=lambda i: i.plugin_name):
        try:
            result = list(impl.function() or ())
            wrong = [item for item in result if not isinstance(item, expected)]
            if wrong:
                raise TypeError(f"returned a {type(wrong[0]).__name__}, expected {_names(expected)}")
        except Exception as exc:
            message = f"plugin {impl.plugin_name!r}: {hook}() failed: {type(exc).__name__}: {exc}"
            if impl.plugin_name not in lenient:
                if isinstance(exc, CreditrulesError):  # already names the file and key path
                    raise
                raise PluginError(message) from exc
            if errors is not None:
                errors.append(message + " (skipped)")
            pm.unregister(name=impl.plugin_name)
            continue
        out.extend((impl.plugin_name, item) for item in result)
    return out


def _names(types: type | tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
