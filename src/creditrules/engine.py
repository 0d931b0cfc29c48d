"""The engine: installed rulesets and families in, explainable decisions out.

>>> from creditrules import Engine
>>> engine = Engine.load()                                   # doctest: +SKIP
>>> decision = engine.adjudicate(person, records, region="beihai", as_of=date(2020, 12, 31))  # doctest: +SKIP

A decision depends only on (subject, records, region, as_of, the ruleset
chain, the engine version) — never on the wall clock, the order records
arrive in, or the order plugins were installed in.
"""

from __future__ import annotations

import datetime as dt
import signal
from importlib import metadata
import threading
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

import pluggy
from attrs import frozen

from .chain import MissingParameter, RulesetChain, build_chains
from .errors import PluginError, RulesetError, UnknownRegion
from .families.base import RECORD_STAGE_END, Context, Line, RuleFamily, sorted_with_ties
from .model import (
    Category,
    CategoryTotal,
    Citation,
    CreditLine,
    Decision,
    Finding,
    Outcome,
    Reason,
    Subject,
    SubjectKind,
    SubjectRef,
    Totals,
    TrainingRecord,
)
from .plugins import PluginInfo, allow_list, collect, get_plugin_manager
from .ruleset import RuleDef, RulesetDoc

__all__ = ["Engine", "RegionInfo", "DECISION_SCHEMA", "ENGINE_VERSION"]

DECISION_SCHEMA = "creditrules.decision/1"


def _engine_version() -> str:
    try:
        return metadata.version("creditrules")
    except metadata.PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"


#: Written into every decision: a replay under another engine version says so.
ENGINE_VERSION = _engine_version()


@frozen
class RegionInfo:
    id: str
    name_zh: str
    name_en: str
    chain: tuple[str, ...]
    hash: str
    plugin: str


class Engine:
    """Adjudicates subjects against the rulesets of installed plugins.

    Build one with :meth:`load` and reuse it: loading reads and validates
    every ruleset; adjudication then only looks values up.
    """

    #: Seconds one decision may take before the rule running then is stopped
    #: with an ``error`` finding (main thread on Unix only; ``None`` disables).
    rule_timeout: float | None = 10.0
    #: Installed plugins that were skipped at load, and why.
    load_errors: tuple[str, ...] = ()

    def __init__(
        self,
        pm: pluggy.PluginManager,
        docs: Sequence[tuple[str, RulesetDoc]],
        families: Sequence[tuple[str, RuleFamily]],
        plugins: Sequence[PluginInfo] = (),
    ) -> None:
        self.pm = pm
        self.plugins = tuple(plugins)
        self._providers: dict[str, str] = {}
        for plugin, doc in docs:
            if doc.id in self._providers:
                raise PluginError(
                    f"ruleset {doc.id!r} is provided by two plugins: {self._providers[doc.id]!r} and {plugin!r}"
                )
            self._providers[doc.id] = plugin
        self.families: dict[str, RuleFamily] = {}
        self.family_owner: dict[str, str] = {}
        family_owner = self.family_owner
        for plugin, fam in families:
            if fam.name in self.families:
                raise PluginError(
                    f"rule family {fam.name!r} is provided by two plugins: {family_owner[fam.name]!r} and {plugin!r}"
                )
            self.families[fam.name] = fam
            family_owner[fam.name] = plugin
        self.chains: Mapping[str, RulesetChain] = build_chains(doc for _, doc in docs)
        for chain in self.chains.values():
            self._check_chain(chain)
        self._classifiers = sorted(pm.hook.creditrules_classify.get_hookimpls(), key=lambda i: i.plugin_name)
        self._plan: dict[tuple[str, dt.date, SubjectKind], list[tuple[RuleDef, RuleFamily]]] = {}
        self._archived: dict[str, RulesetChain] = {}

    @classmethod
    def load(
        cls,
        plugins: Iterable[object] = (),
        *,
        entry_points: bool = True,
        allow: Iterable[str] | None = None,
        strict: bool = False,
    ) -> Engine:
        """Build an engine from the built-ins, ``plugins`` and the installed ``creditrules`` entry points.

        :param plugins: extra plugin objects (modules or instances) to register.
        :param entry_points: load installed plugins (default); ``False`` for
            the built-ins and ``plugins`` only, as tests want.
        :param allow: only these entry-point names (overrides ``CREDITRULES_LOAD_PLUGINS``).
        :param strict: refuse to start if any installed plugin is broken. By
            default a broken installed plugin (fails to import, a hook raises or
            returns the wrong type, its ruleset is malformed or extends a missing
            layer) is skipped and described in :attr:`load_errors`; plugins
            passed in ``plugins`` and plugins named in the allow-list are always
            required.
        """
        errors: list[str] = []
        pm, infos = get_plugin_manager(plugins, entry_points=entry_points, allow=allow, errors=errors, strict=strict)
        required = {"creditrules"} | {i.name for i in infos if i.distribution == "(registered directly)"}
        allowed = set(allow) if allow is not None else set(allow_list() or ())
        lenient = set() if strict else {i.name for i in infos} - required - allowed
        docs = collect(pm, "creditrules_rulesets", RulesetDoc, lenient=lenient, errors=errors)
        families = collect(pm, "creditrules_families", RuleFamily, lenient=lenient, errors=errors)
        dropped = _conflicting_claims(docs, lenient, infos, errors)
        docs = [(p, d) for p, d in docs if p not in dropped]
        families = [(p, f) for p, f in families if p not in dropped]
        for name in dropped:
            pm.unregister(name=name)
        # A skipped plugin is not "loaded": collect() and the line above took it out of the manager.
        infos = [i for i in infos if pm.get_plugin(i.name) is not None]
        while True:
            try:
                engine = cls(pm, docs, families, infos)
            except (RulesetError, PluginError) as exc:
                culprit = _culprit(exc, docs, lenient)
                if culprit is None:
                    raise
                errors.append(f"plugin {culprit!r}: {exc} (skipped)")
                docs = [(p, d) for p, d in docs if p != culprit]
                families = [(p, f) for p, f in families if p != culprit]
                pm.unregister(name=culprit)
                infos = [i for i in infos if i.name != culprit]
                continue
            engine.load_errors = tuple(errors)
            return engine

    # -- what is installed ------------------------------------------------------------

    def regions(self, *, include_base: bool = False) -> list[RegionInfo]:
        """Regions one can adjudicate against, sorted by id (base layers with ``include_base``)."""
        out = []
        for rid, chain in sorted(self.chains.items()):
            if chain.leaf.kind != "region" and not include_base:
                continue
            out.append(RegionInfo(
                id=rid,
                name_zh=chain.leaf.name.zh,
                name_en=chain.leaf.name.en,
                chain=tuple(layer.id for layer in chain.layers),
                hash=chain.hash,
                plugin=self._providers[rid],
            ))
        return out

    def provider(self, ruleset_id: str) -> str:
        """The plugin that provides ruleset ``ruleset_id``."""
        return self._providers[ruleset_id]

    def chain(self, region: str) -> RulesetChain:
        try:
            return self.chains[region]
        except KeyError:
            raise UnknownRegion(region, sorted(self.chains)) from None

    def chain_from(self, layers: Sequence[RulesetDoc]) -> RulesetChain:
        """A chain built from explicit layer documents (root first), checked like installed ones.

        Replay uses it to rebuild the exact rules a stored decision used, from
        the archive, even after a plugin was upgraded or uninstalled.
        """
        chains = build_chains(layers)
        chain = chains[layers[-1].id]
        cached = self._archived.get(chain.hash)
        if cached is not None:
            return cached
        self._check_chain(chain)
        self._archived[chain.hash] = chain
        return chain

    def rules(self, region: str, as_of: dt.date) -> list[tuple[RuleDef, RuleFamily]]:
        """The rules in force for ``region`` on ``as_of``, in evaluation order."""
        chain = self.chain(region)
        return self._ordered(chain.rules_in_force(as_of))

    # -- adjudication -----------------------------------------------------------------

    def adjudicate(
        self,
        subject: Subject,
        records: Iterable[TrainingRecord] = (),
        *,
        region: str,
        as_of: dt.date,
        known_at: dt.date | None = None,
    ) -> Decision:
        """Judge ``subject`` (a person over ``records``, a project, or a unit) for ``region`` on ``as_of``.

        Records that end after ``as_of`` are ignored (listed in
        ``ignored_records``). ``known_at`` restricts the rules to values
        recorded by that date (audit replay); ``None`` uses all known values.
        """
        return self.adjudicate_with(self.chain(region), subject, records, as_of=as_of, known_at=known_at)

    def adjudicate_with(
        self,
        chain: RulesetChain,
        subject: Subject,
        records: Iterable[TrainingRecord] = (),
        *,
        as_of: dt.date,
        known_at: dt.date | None = None,
    ) -> Decision:
        """Like :meth:`adjudicate`, against an explicit chain (an archived one, on replay)."""
        region = chain.region
        kind = subject.kind
        counted: list[TrainingRecord] = []
        ignored: list[str] = []
        for r in records:
            if kind is SubjectKind.PERSON and r.person_id != subject.id:
                raise ValueError(
                    f"record {r.record_id}: person_id {r.person_id!r} does not belong to person {subject.id!r}"
                )
            if r.end_date > as_of:
                ignored.append(r.record_id)
            else:
                counted.append(r)
        # Canonical order: the decision never depends on the order records arrive in.
        counted = _canonical_order(counted)
        findings: list[Finding] = []
        with _Deadline(self.rule_timeout) as deadline:
            lines = [Line(r, self._classify(r, chain, findings, deadline), r.hours) for r in counted]
            ctx = Context(subject, lines, region=region, as_of=as_of, chain=chain, known_at=known_at)
            for rule, family in self._rules_for(chain, ctx.on, kind):
                if deadline.expired:
                    # The timer fires once: after it, nothing may run unguarded.
                    findings.append(ctx.finding(
                        rule, family.name, Outcome.ERROR,
                        Reason("未运行:本次判定已超出时限。", "Not run: the decision's time limit was reached."),
                    ))
                    continue
                deadline.rule = rule.id
                findings.extend(self._evaluate(family, rule, ctx, deadline))
        return self._decision(subject, region, as_of, chain, lines, findings, sorted(ignored))

    def _evaluate(self, family: RuleFamily, rule: RuleDef, ctx: Context, deadline: _Deadline) -> list[Finding]:
        """One rule's findings; a fault in its code becomes an ``error`` finding, never a crash."""
        try:
            out = list(family.evaluate(rule, ctx))
            if not all(isinstance(f, Finding) for f in out):
                wrong = next(type(f).__name__ for f in out if not isinstance(f, Finding))
                raise TypeError(f"evaluate() returned a {wrong}, not a Finding")
            return out
        except MissingParameter as exc:
            return [ctx.finding(rule, family.name, Outcome.NOT_APPLICABLE,
                                Reason(f"参数未生效:{exc}", f"Not in force: {exc}"))]
        # SystemExit too: a plugin calling sys.exit() must not end a batch (or kill a worker).
        except (Exception, SystemExit) as exc:  # a plugin's bug must not take the batch down, nor pass silently
            if isinstance(exc, RuleTimeout):
                deadline.expired = True
            plugin = self.family_owner.get(family.name, "?")
            what = f"{type(exc).__name__}: {exc}"
            return [ctx.finding(
                rule, family.name, Outcome.ERROR,
                Reason(f"规则代码出错(插件 {plugin},规则 {rule.id}):{what}",
                       f"The rule's code failed (plugin {plugin}, rule {rule.id}): {what}"),
            )]

    # -- internals --------------------------------------------------------------------

    def _rules_for(
        self, chain: RulesetChain, as_of: dt.date, kind: SubjectKind
    ) -> list[tuple[RuleDef, RuleFamily]]:
        key = (chain.hash, as_of, kind)
        plan = self._plan.get(key)
        if plan is None:
            if len(self._plan) > 4096:
                self._plan.clear()
            plan = self._plan[key] = self._plan_rules(chain, as_of, kind)
        return plan

    def _plan_rules(
        self, chain: RulesetChain, as_of: dt.date, kind: SubjectKind
    ) -> list[tuple[RuleDef, RuleFamily]]:
        # Record-stage rules apply by each record's own date, so every rule of the
        # chain is a candidate; judgments only if in force on as_of.
        in_force = chain.rule_ids_in_force(as_of)
        chosen = []
        for active in chain.rules:
            fam = self.families[active.rule.family]
            if fam.subject is not kind:
                continue
            if fam.stage < RECORD_STAGE_END or active.rule.id in in_force:
                chosen.append(active.rule)
        return self._ordered(chosen)

    def _ordered(self, rules: Iterable[RuleDef]) -> list[tuple[RuleDef, RuleFamily]]:
        pairs = [(r, self.families[r.family]) for r in rules]
        pairs.sort(key=lambda p: (p[1].stage, p[0].id))
        return pairs

    def _classify(
        self, record: TrainingRecord, chain: RulesetChain, findings: list[Finding], deadline: _Deadline
    ) -> Category:
        """The category a plugin's ``creditrules_classify`` gives ``record`` (first answer by plugin name).

        Implementations are asked in plugin-name order, never install order; one
        that raises or answers nonsense adds an ``error`` finding naming it, and the
        record keeps its registered category.
        """
        if not self._classifiers or deadline.expired:
            return record.category
        layers = tuple(layer.id for layer in chain.layers)
        for impl in self._classifiers:
            try:
                answer = impl.function(record=record, region=chain.region, chain=layers, on=record.end_date)
                if answer is None:
                    continue
                return Category(str(answer))
            except (Exception, SystemExit) as exc:  # a plugin's bug: reported, never a crash
                if isinstance(exc, RuleTimeout):
                    deadline.expired = True
                what = f"{type(exc).__name__}: {exc}"
                findings.append(Finding(
                    rule=f"{impl.plugin_name}.classify", family="classify", outcome=Outcome.ERROR,
                    reason=Reason(f"插件 {impl.plugin_name} 的分类钩子出错(记录 {record.record_id}):{what}",
                                  f"Plugin {impl.plugin_name}'s classify hook failed on record "
                                  f"{record.record_id}: {what}"),
                    citation=Citation("creditrules_classify hook", f"plugin {impl.plugin_name}"),
                    records=(record.record_id,),
                ))
                return record.category
        return record.category

    def _decision(
        self,
        subject: Subject,
        region: str,
        as_of: dt.date,
        chain: RulesetChain,
        lines: list[Line],
        findings: list[Finding],
        ignored: list[str],
    ) -> Decision:
        outcomes = {f.outcome for f in findings}
        if Outcome.ERROR in outcomes:
            outcome = Outcome.ERROR
        elif Outcome.FAIL in outcomes:
            outcome = Outcome.FAIL
        else:
            outcome = Outcome.PASS
        credit_lines = tuple(
            CreditLine(
                record_id=ln.record.record_id,
                category=ln.category,
                hours=ln.record.hours,
                credited_hours=ln.credited_hours,
                credits=ln.credits,
                rules=tuple(sorted(ln.rules)),
            )
            for ln in lines
        )
        return Decision(
            schema=DECISION_SCHEMA,
            subject=SubjectRef(subject.kind, subject.id),
            region=region,
            as_of=as_of,
            outcome=outcome,
            totals=_totals(lines),
            findings=tuple(findings),
            lines=credit_lines,
            ignored_records=tuple(ignored),
            ruleset=chain.ref,
            engine=ENGINE_VERSION,
        )

    def _check_chain(self, chain: RulesetChain) -> None:
        """Refuse, at load, a rule whose family is unknown or whose parameters are missing."""
        names = chain.parameter_names()
        for active in chain.rules:
            rule = active.rule
            origin = next(layer.origin for layer in chain.layers if rule in layer.rules)
            fam = self.families.get(rule.family)
            if fam is None:
                raise RulesetError(
                    origin, f"rules.{rule.name}.family",
                    f"unknown family {rule.family!r} (known: {', '.join(sorted(self.families))})",
                )
            for pname in fam.required_parameters(rule):
                if pname not in names:
                    raise RulesetError(
                        origin, f"rules.{rule.name}",
                        f"family {fam.name!r} needs parameter {pname!r}, which no layer of {chain.region!r} defines",
                    )
            for rel in (*fam.params, *fam.optional):
                self._check_values(chain, fam, rule, rel)
            for name in fam.shared:
                self._check_values(chain, fam, rule, name, shared=True)

    @staticmethod
    def _check_values(chain: RulesetChain, fam: RuleFamily, rule: RuleDef, rel: str, shared: bool = False) -> None:
        full = rel if shared else f"{rule.params}.{rel}"
        for layer in chain.layers:
            pdef = layer.parameters.get(full)
            if pdef is None:
                continue
            for i, entry in enumerate(pdef.entries):
                problem = fam.check_value(rule, rel, entry.value)
                if problem:
                    raise RulesetError(layer.origin, f'parameters."{full}".values[{i}].value', problem)


def _conflicting_claims(
    docs: list[tuple[str, RulesetDoc]],
    lenient: set[str],
    infos: Sequence[PluginInfo],
    errors: list[str],
) -> set[str]:
    """Two installed plugins claiming one ruleset id: neither is trusted with it.

    Which one is genuine cannot be told from inside, and picking by name would
    let a newly installed plugin displace the one in use. So every lenient
    claimant is skipped and reported (a required plugin keeps its claim); the
    operator uninstalls one or names the right one in CREDITRULES_LOAD_PLUGINS.
    """
    claims: dict[str, list[str]] = {}
    for plugin, doc in docs:
        claims.setdefault(doc.id, []).append(plugin)
    dist = {i.name: f"{i.distribution} {i.version}".strip() for i in infos}
    dropped: set[str] = set()
    for rid, plugins in sorted(claims.items()):
        if len(plugins) < 2:
            continue
        losers = [p for p in plugins if p in lenient]
        if len(plugins) - len(losers) > 1:
            continue  # two required plugins: the engine refuses, naming both
        named = " and ".join(f"{p!r} ({dist.get(p, '?')})" for p in plugins)
        errors.append(f"ruleset {rid!r} is provided by {named}; "
                      f"{'neither' if len(losers) == len(plugins) else ', '.join(map(repr, losers))} is loaded "
                      f"(uninstall one, or name the right one in CREDITRULES_LOAD_PLUGINS)")
        dropped.update(losers)
    return dropped


def _culprit(exc: Exception, docs: Sequence[tuple[str, RulesetDoc]], lenient: set[str]) -> str | None:
    """The lenient plugin whose ruleset caused ``exc``, if one did."""
    source = getattr(exc, "source", None)
    for plugin, doc in docs:
        if plugin in lenient and (doc.origin == source or f"{plugin!r}" in str(exc)):
            return plugin
    return None


class RuleTimeout(Exception):
    """A decision ran past :attr:`Engine.rule_timeout`; raised inside the rule running then."""


class _Deadline:
    """Interrupts a runaway rule with SIGALRM: one timer per decision, not per rule.

    Signals only reach the main thread, so elsewhere (worker threads) the
    deadline is not enforced; process pools run decisions in main threads. The
    handler is installed once, and never over a handler the application set.
    """

    installed = False

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.rule = ""
        self.armed = False
        self.expired = False

    def __enter__(self) -> _Deadline:
        if self.seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGALRM)
            if current is _fire:
                pass
            elif current in (signal.SIG_DFL, None):
                signal.signal(signal.SIGALRM, _fire)
            else:
                return self
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self.armed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _fire(signum: int, frame: object) -> None:
    raise RuleTimeout("stopped at the decision's time limit (Engine.rule_timeout); the rule may loop forever")


def _canonical_order(records: list[TrainingRecord]) -> list[TrainingRecord]:
    """By (end, start, id), then by content for records sharing all three."""
    return sorted_with_ties(records, lambda r: (r.end_date, r.start_date, r.record_id), _record_key)


def _record_key(r: TrainingRecord) -> tuple[object, ...]:
    # Records sharing an id sort by content, never by arrival order.
    return (r.category.value, r.level.value, r.hours, r.topic or "", r.project_id or "", r.subcategory or "")


def _totals(lines: list[Line]) -> Totals:
    by_cat: dict[Category, tuple[Decimal, Decimal | None]] = {}
    any_credits = any(ln.credits is not None for ln in lines)
    for ln in lines:
        hours, credits = by_cat.get(ln.category, (Decimal(0), None))
        if ln.credits is not None:
            credits = (credits or Decimal(0)) + ln.credits
        by_cat[ln.category] = (hours + ln.credited_hours, credits)
    cats = tuple(
        CategoryTotal(c, h, cr if cr is not None or not any_credits else Decimal(0))
        for c, (h, cr) in sorted(by_cat.items(), key=lambda kv: kv[0].value)
    )
    total_hours = sum((c.hours for c in cats), Decimal(0))
    total_credits = sum((c.credits or Decimal(0) for c in cats), Decimal(0)) if any_credits else None
    return Totals(hours=total_hours, credits=total_credits, by_category=cats)
