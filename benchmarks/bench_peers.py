"""creditrules against OpenFisca, GoRules ZEN and a raw polars pipeline, side by side, in one run.

    pip install -e ".[bench]"                  # openfisca-core, zen-engine, polars
    python benchmarks/bench_peers.py            # ~2 minutes on a 2-core VM
    python benchmarks/bench_peers.py --records 1000000 --out benchmarks/results-1m.json

What is measured (see docs/performance.md for the numbers and how to read them):

* per decision — one person with 20 records, the Beihai chain, judged on
  2020-12-31: creditrules ``engine.adjudicate`` (its decision always carries
  the full trace: findings, reasons, citations, parameter uses) and
  adjudicate + ``decision_json``; OpenFisca (a tiny TaxBenefitSystem, one
  simulation per person, plain and traced); ZEN on its fast path
  ``ZenEngine({"loader": ...}).evaluate(key, ctx)`` (plain and traced); and a
  plain Python function as the floor. Each call is timed on its own
  (perf_counter_ns) after a warm-up, over ``--rounds`` rounds; a percentile is
  the best of the rounds' percentiles. GC stays on, as in production.
* batch — CSV in, one core: creditrules through its CLI (``python -m creditrules
  adjudicate … --out decisions.jsonl``, full findings) in a subprocess pinned to
  core 0, and the same with the population split into two shards on cores 0
  and 1 (two workers); a stage breakdown in-process; OpenFisca vectorised over
  the whole population; ZEN once per person; polars read + aggregate (the
  floor: the same arithmetic with no findings, reasons or trace). Each runs in
  its own pinned subprocess, so its peak RSS (``ru_maxrss``) is its own.
* agreement — every peer's pass/fail (and counted credits, to the hundredth)
  against creditrules' ``guangxi.cycle_credits`` finding for the same people.

Every ratio is ``peer_time / creditrules_time`` for the same work (per call,
or per whole batch), so ratio > 1 means creditrules is faster. Results go to ``--out`` (JSON), generated data to
``--data-dir`` (default ``benchmarks/data/``, git-ignored).
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import peer_models as pm  # noqa: E402

REGION = "beihai"
CYCLE_RULE = "guangxi.cycle_credits"
TARGETS = {
    "per_decision_p50_us": 50.0,
    "openfisca_per_decision_ms_reference": 1.1,
    "batch_records_per_s": 250_000,
    "batch_vs_polars_min_fraction": 0.5,
    "two_workers_min_speedup": 1.8,
}


# -- helpers ------------------------------------------------------------------------------


Cores = int | set[int] | None


def pin(cores: Cores) -> None:
    """Restrict this process to ``cores`` (one core id or a set); ``None`` leaves it alone."""
    if cores is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cores} if isinstance(cores, int) else cores)


def _pinned(cores: Cores) -> Callable[[], None] | None:
    return (lambda: pin(cores)) if cores is not None else None


ALL_CORES = set(range(os.cpu_count() or 1))


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("POLARS_MAX_THREADS", "OMP_NUM_THREADS", "NUMEXPR_MAX_THREADS", "NUMEXPR_NUM_THREADS",
                "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS", "TOKIO_WORKER_THREADS"):
        env[var] = "1"
    env["PYTHONHASHSEED"] = "0"
    return env


def run_pinned(cmd: list[str], core: Cores) -> tuple[float, str]:
    """Run ``cmd`` pinned to ``core``; (wall seconds, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(),
                            preexec_fn=_pinned(core))
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return wall, out.decode()


def run_parallel(cmds: list[tuple[list[str], Cores]]) -> tuple[float, list[float], list[int]]:
    """Start every ``(cmd, core)`` at once; (wall until all end, per-process wall, per-process peak RSS)."""
    t0 = time.perf_counter()
    procs = [(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=child_env(),
                               preexec_fn=_pinned(core)), cmd) for cmd, core in cmds]
    walls: dict[int, float] = {}
    rss: dict[int, int] = {}
    pending = {p.pid: p for p, _ in procs}
    while pending:
        pid, status, usage = os.wait4(-1, 0)
        if pid in pending:
            walls[pid] = time.perf_counter() - t0
            rss[pid] = usage.ru_maxrss * 1024
            p = pending.pop(pid)
            p.returncode = os.waitstatus_to_exitcode(status)
            if p.returncode != 0:
                raise RuntimeError(f"worker failed ({p.returncode}): {p.stderr.read().decode()[-3000:]}")
    wall = time.perf_counter() - t0
    return wall, [walls[p.pid] for p, _ in procs], [rss[p.pid] for p, _ in procs]


def percentile(samples: list[int], q: float) -> float:
    s = sorted(samples)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def time_calls(fn: Callable[[Any], Any], items: list[Any], *, rounds: int, reps: int) -> dict[str, float]:
    """Per-call µs: p50/p90/p99/mean, each the best over ``rounds`` rounds of ``reps`` passes over ``items``."""
    for it in items:  # warm-up
        fn(it)
    stats: dict[str, list[float]] = {"p50": [], "p90": [], "p99": [], "mean": []}
    clock = time.perf_counter_ns
    for _ in range(rounds):
        gc.collect()
        samples = []
        for _ in range(reps):
            for it in items:
                t0 = clock()
                fn(it)
                samples.append(clock() - t0)
        stats["p50"].append(statistics.median(samples))
        stats["p90"].append(percentile(samples, 90))
        stats["p99"].append(percentile(samples, 99))
        stats["mean"].append(statistics.fmean(samples))
    out = {k: min(v) / 1000 for k, v in stats.items()}
    out["calls_per_round"] = len(items) * reps
    return out


def rss_now() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


SPIN = "import time\nt=time.perf_counter()\ns=0\nfor i in range(6_000_000): s+=i\nprint(time.perf_counter()-t)"


def calibrate() -> dict[str, Any]:
    """How much CPU this machine gives now: a pure-Python loop alone on core 0, then on every core at once.

    ``parallel_efficiency`` = one / slowest-of-concurrent; 1.0 means each core
    is really free (a shared or throttled VM gives less, and no worker pool
    can scale past it).
    """
    cmd = [sys.executable, "-c", SPIN]
    alone = min(float(run_pinned(cmd, 0)[1]) for _ in range(2))
    cores = sorted(ALL_CORES)
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, env=child_env(), preexec_fn=_pinned(c)) for c in cores]
    together = [float(p.communicate()[0]) for p in procs]
    return {"alone_s": alone, "concurrent_s": together, "parallel_efficiency": alone / max(together),
            "loadavg": _loadavg()}


def _loadavg() -> list[float]:
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return []


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(next(line for line in f if line.startswith("MemTotal")).split()[1]) * 1024
    except (OSError, StopIteration):
        pass
    packages = {}
    for name in ("creditrules", "creditrules-beihai", "openfisca-core", "zen-engine", "polars", "numpy",
                 "attrs", "cattrs", "pluggy"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu,
        "memory_bytes": mem,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": packages,
    }


# -- data -------------------------------------------------------------------------------------


def ensure_data(data_dir: Path, records: int, seed: int, order: str = "person") -> dict[str, Any]:
    name = f"{REGION}-{records}-s{seed}" + ("" if order == "person" else f"-{order}")
    d = data_dir / name
    meta = d / "summary.json"
    if meta.exists() and (d / "records.csv").exists():
        return json.loads(meta.read_text())
    print(f"generating {records:,} records into {d} …", file=sys.stderr)
    t0 = time.perf_counter()
    summary = generate.generate(d, records=records, region=REGION, seed=seed, order=order)
    summary["generate_seconds"] = round(time.perf_counter() - t0, 2)
    meta.write_text(json.dumps(summary, indent=2))
    return summary


def ensure_shards(src: Path, n: int) -> list[Path]:
    """Split a population into ``n`` shards by person (round robin), streaming."""
    dirs = [src / f"shard{i}of{n}" for i in range(n)]
    if all((d / "records.csv").exists() for d in dirs):
        return dirs
    for d in dirs:
        d.mkdir(exist_ok=True)
    shard_of: dict[str, int] = {}
    with open(src / "persons.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        outs = [open(d / "persons.csv", "w", newline="", encoding="utf-8") for d in dirs]
        writers = [csv.writer(o, lineterminator="\n") for o in outs]
        for w in writers:
            w.writerow(header)
        for i, row in enumerate(reader):
            shard_of[row[0]] = i % n
            writers[i % n].writerow(row)
        for o in outs:
            o.close()
    with open(src / "records.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        pcol = header.index("person_id")
        outs = [open(d / "records.csv", "w", newline="", encoding="utf-8") for d in dirs]
        writers = [csv.writer(o, lineterminator="\n") for o in outs]
        for w in writers:
            w.writerow(header)
        for row in reader:
            writers[shard_of[row[pcol]]].writerow(row)
        for o in outs:
            o.close()
    return dirs


def read_cycle_findings(paths: Iterable[Path]) -> dict[str, tuple[int, bool]]:
    """person id → (measured credits in hundredths, passed) of creditrules' cycle finding."""
    out: dict[str, tuple[int, bool]] = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                f_ = next(x for x in d["findings"] if x["rule"] == CYCLE_RULE)
                out[d["subject"]["id"]] = (round(float(f_["measured"]) * 100), f_["outcome"] == "pass")
    return out


def agreement(creditrules: dict[str, tuple[int, bool]], peer: dict[str, tuple[int, bool]]) -> dict[str, Any]:
    same_pass = sum(1 for k, v in creditrules.items() if k in peer and peer[k][1] == v[1])
    same_credits = sum(1 for k, v in creditrules.items() if k in peer and peer[k][0] == v[0])
    missing = [k for k in creditrules if k not in peer]
    diffs = [k for k, v in creditrules.items() if k in peer and peer[k] != v][:5]
    return {
        "persons": len(creditrules),
        "pass_fail_agree": same_pass,
        "credits_agree": same_credits,
        "creditrules_pass": sum(v[1] for v in creditrules.values()),
        "peer_pass": sum(v[1] for v in peer.values()),
        "missing": len(missing),
        "examples_of_disagreement": diffs,
        "agree_pct": round(100 * same_pass / max(1, len(creditrules)), 3),
    }


# -- child modes: one batch each, in its own pinned process -----------------------------------------


def child_creditrules_stages(persons: str, records: str, out: str) -> dict[str, Any]:
    """The CLI's path, stage by stage, in one process."""
    from creditrules import Engine, decision_json
    from creditrules.batch import adjudicate_population
    from creditrules.cli import load_population

    rss0 = rss_now()
    t0 = time.perf_counter()
    engine = Engine.load()
    t1 = time.perf_counter()
    population = load_population(persons, records)
    t2 = time.perf_counter()
    decisions = list(adjudicate_population(engine, population, region=REGION, as_of=pm.AS_OF))
    t3 = time.perf_counter()
    lines = [decision_json(d) + "\n" for d in decisions]
    t4 = time.perf_counter()
    data = "".join(lines).encode("utf-8")
    with open(out, "wb") as f:
        f.write(data)
    t5 = time.perf_counter()
    return {
        "engine_load_s": t1 - t0, "read_s": t2 - t1, "adjudicate_s": t3 - t2, "json_s": t4 - t3,
        "write_s": t5 - t4, "total_s": t5 - t0, "persons": len(decisions), "output_bytes": len(data),
        "rss_after_import": rss0, "peak_rss": peak_rss(),
    }


def child_creditrules_stream(persons: str, records: str, out: str, workers: int = 1,
                             grouped: bool = True) -> dict[str, Any]:
    """``creditrules.stream``: people streamed (pre-grouped merge) or grouped in memory, ``workers`` processes."""
    from creditrules import stream

    rss0 = rss_now()
    t0 = time.perf_counter()
    if grouped:
        try:
            from creditrules.split import blocks  # blocks of whole persons, read by the workers
            groups: Any = blocks(persons, records)
        except ImportError:
            groups = stream.grouped_people(persons, records)
    else:
        groups = stream.in_memory_people(persons, records)
    n = 0
    with open(out, "wb") as f:
        for _ in stream.run_batch(groups, region=REGION, as_of=pm.AS_OF, workers=workers, sink=f):
            n += 1
    t1 = time.perf_counter()
    return {"total_s": t1 - t0, "persons": n, "workers": workers, "grouped": grouped,
            "rss_after_import": rss0, "peak_rss": peak_rss(),
            "peak_rss_workers": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}


def child_creditrules_sort(persons: str, records: str, out: str) -> dict[str, Any]:
    """``creditrules.stream.sort_records``: what an input not grouped by person costs before streaming."""
    from creditrules import stream

    t0 = time.perf_counter()
    rows = stream.sort_records(records, out)
    return {"total_s": time.perf_counter() - t0, "records": rows, "peak_rss": peak_rss()}


def child_polars(persons: str, records: str, result: str) -> dict[str, Any]:
    import polars as pl

    rss0 = rss_now()
    t0 = time.perf_counter()
    person_ids = pl.read_csv(persons, columns=["person_id"])["person_id"]
    df = pm.polars_read(records)
    t1 = time.perf_counter()
    prepared = pm.polars_prepare(df)
    res = pm.polars_rule(prepared, person_ids)
    t2 = time.perf_counter()
    res.write_csv(result)
    return {"read_s": t1 - t0, "compute_s": t2 - t1, "total_s": t2 - t0, "persons": res.height,
            "threads": pl.thread_pool_size(), "rss_after_import": rss0, "peak_rss": peak_rss()}


def child_openfisca(persons: str, records: str, result: str) -> dict[str, Any]:
    import numpy as np
    import polars as pl

    rss0 = rss_now()
    t0 = time.perf_counter()
    tbs = pm.openfisca_system()
    t1 = time.perf_counter()
    person_ids = pl.read_csv(persons, columns=["person_id"])["person_id"].to_list()
    df = pm.polars_read(records)
    t2 = time.perf_counter()
    prepared = pm.polars_prepare(df)
    # join_with_persons numbers groups by the ids that have members, so only
    # persons with records become teachers; the others fail with 0 credits.
    ids, idx = np.unique(prepared["person_id"].to_numpy(), return_inverse=True)
    cols = {
        "end": prepared["end"].to_numpy().astype(np.int64), "hours": prepared["hours"].to_numpy(),
        "practice": prepared["practice"].to_numpy(), "cat": prepared["cat"].to_numpy().astype(np.int64),
        "item": prepared["item"].to_numpy().astype(np.int64), "excluded": prepared["excluded"].to_numpy(),
    }
    t3 = time.perf_counter()
    sim = pm.openfisca_simulation(tbs, cols, ids, idx)
    t4 = time.perf_counter()
    credits, passed, practice = pm.openfisca_run(sim)
    t5 = time.perf_counter()
    got = pl.DataFrame({"person_id": ids, "credits": credits, "cycle_pass": passed, "practice_pass": practice})
    (pl.DataFrame({"person_id": person_ids}).join(got, on="person_id", how="left")
     .fill_null(0).with_columns(pl.col("cycle_pass", "practice_pass").cast(pl.Boolean)).write_csv(result))
    return {"tbs_s": t1 - t0, "read_s": t2 - t1, "prepare_s": t3 - t2, "build_s": t4 - t3, "calc_s": t5 - t4,
            "total_s": t5 - t0, "engine_s": t5 - t3, "persons": len(credits),
            "rss_after_import": rss0, "peak_rss": peak_rss()}


def child_zen(persons: str, records: str, result: str) -> dict[str, Any]:
    import polars as pl

    rss0 = rss_now()
    t0 = time.perf_counter()
    engine = pm.zen_engine()
    person_ids = pl.read_csv(persons, columns=["person_id"])["person_id"].to_list()
    df = pm.polars_read(records)
    t1 = time.perf_counter()
    groups = pm.zen_groups(pm.polars_prepare(df))
    t2 = time.perf_counter()
    evaluate = engine.evaluate
    results = {}
    for pid in person_ids:
        results[pid] = evaluate("cycle", pm.zen_context(groups.get(pid, [])))["result"]
    t3 = time.perf_counter()
    with open(result, "w", encoding="utf-8") as f:
        f.write("person_id,credits,cycle_pass,practice_pass\n")
        for pid, r in results.items():
            f.write(f"{pid},{int(r['credits'])},{r['cycle'] == 'pass'},{r['practicePass']}\n")
    return {"read_s": t1 - t0, "prepare_s": t2 - t1, "eval_s": t3 - t2, "total_s": t3 - t0,
            "persons": len(results), "rss_after_import": rss0, "peak_rss": peak_rss()}


CHILDREN = {"creditrules-stages": child_creditrules_stages, "creditrules-stream": child_creditrules_stream,
            "creditrules-sort": child_creditrules_sort, "polars": child_polars,
            "openfisca": child_openfisca, "zen": child_zen}


def read_peer_result(path: Path) -> tuple[dict[str, tuple[int, bool]], dict[str, bool]]:
    cycle: dict[str, tuple[int, bool]] = {}
    practice: dict[str, bool] = {}
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            cycle[row["person_id"]] = (int(float(row["credits"])), row["cycle_pass"].lower() == "true")
            practice[row["person_id"]] = row["practice_pass"].lower() == "true"
    return cycle, practice


# -- per decision ----------------------------------------------------------------------------------


def per_decision(args: argparse.Namespace, skip: set[str]) -> dict[str, Any]:
    from creditrules import Engine, decision_json
    from creditrules.convert import structure_person, structure_record

    people = generate.twenty_record_people(args.decision_people)
    engine = Engine.load()
    objs = []
    for p, rs in people:
        person = structure_person({k: generate._cell(v) for k, v in p.items()})
        recs = [structure_record({k: generate._cell(v) for k, v in r.items()}) for r in rs]
        objs.append((person, recs))
    rows = [pm.python_rows(rs) for _, rs in people]
    as_of = pm.AS_OF
    rounds, reps = args.rounds, args.reps
    out: dict[str, Any] = {"people": len(objs), "records_per_person": 20, "rounds": rounds}

    def adjudicate(o: Any) -> Any:
        return engine.adjudicate(o[0], o[1], region=REGION, as_of=as_of)

    def adjudicate_json(o: Any) -> Any:
        return decision_json(engine.adjudicate(o[0], o[1], region=REGION, as_of=as_of))

    print("per decision: creditrules …", file=sys.stderr)
    out["creditrules_adjudicate"] = time_calls(adjudicate, objs, rounds=rounds, reps=reps)
    out["creditrules_adjudicate_json"] = time_calls(adjudicate_json, objs, rounds=rounds, reps=reps)
    decisions = [adjudicate(o) for o in objs]
    sample = decision_json(decisions[0])
    out["decision_json_bytes"] = len(sample.encode())
    out["findings_per_decision"] = statistics.mean(len(d.findings) for d in decisions)
    reference = {}
    for d in decisions:
        f = d.finding(CYCLE_RULE)
        reference[d.subject.id] = (int(f.measured * 100), f.outcome.value == "pass")
    ids = [o[0].person_id for o in objs]

    out["python_floor"] = time_calls(pm.python_rule, rows, rounds=rounds, reps=reps * 10)
    py = {pid: pm.python_rule(r)[:2] for pid, r in zip(ids, rows, strict=True)}
    out["python_floor"]["agreement"] = agreement(reference, py)

    if "openfisca" not in skip:
        print("per decision: OpenFisca …", file=sys.stderr)
        import numpy as np

        tbs = pm.openfisca_system()
        one = np.array(["T"])

        def openfisca(r: Any, trace: bool = False) -> Any:
            cols = pm.openfisca_columns(r)
            sim = pm.openfisca_simulation(tbs, cols, one, np.zeros(len(r), dtype=np.int64), trace=trace)
            return pm.openfisca_run(sim)

        reps_of = max(1, reps // 2)
        out["openfisca"] = time_calls(openfisca, rows, rounds=rounds, reps=reps_of)
        out["openfisca_traced"] = time_calls(lambda r: openfisca(r, True), rows, rounds=rounds, reps=reps_of)
        res = {pid: openfisca(r) for pid, r in zip(ids, rows, strict=True)}
        out["openfisca"]["agreement"] = agreement(reference, {k: (int(v[0][0]), bool(v[1][0])) for k, v in res.items()})

    if "zen" not in skip:
        print("per decision: ZEN …", file=sys.stderr)
        zen_engine = pm.zen_engine()
        evaluate = zen_engine.evaluate
        ctxs = [pm.zen_context(pm.zen_rows(r)) for r in rows]
        out["zen_engine_only"] = time_calls(lambda c: evaluate("cycle", c), ctxs, rounds=rounds, reps=reps * 2)
        out["zen"] = time_calls(lambda r: evaluate("cycle", pm.zen_context(pm.zen_rows(r))), rows,
                                rounds=rounds, reps=reps * 2)
        out["zen_traced"] = time_calls(lambda r: evaluate("cycle", pm.zen_context(pm.zen_rows(r)), {"trace": True}),
                                       rows, rounds=rounds, reps=reps * 2)
        res = {pid: evaluate("cycle", c)["result"] for pid, c in zip(ids, ctxs, strict=True)}
        out["zen"]["agreement"] = agreement(reference, {k: (int(v["credits"]), v["cycle"] == "pass")
                                                        for k, v in res.items()})
    return out


# -- batch --------------------------------------------------------------------------------------------


def batch(args: argparse.Namespace, summary: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    d = Path(summary["dir"])
    persons, records = str(d / "persons.csv"), str(d / "records.csv")
    n = summary["records"]
    out: dict[str, Any] = {"records": n, "persons": summary["persons"], "data": str(d)}
    me = [sys.executable, str(Path(__file__).resolve())]
    cli = [sys.executable, "-m", "creditrules", "adjudicate", "--region", REGION, "--as-of", pm.AS_OF.isoformat(),
           "--no-progress"]

    def cli_run(extra: list[str], cores: Cores, target: Path) -> dict[str, Any]:
        best: dict[str, Any] | None = None
        walls = []
        for _ in range(args.batch_rounds):
            t0 = time.perf_counter()
            proc = subprocess.Popen([*cli, *extra, "--persons", persons, "--records", records, "--out", str(target)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=child_env(),
                                    preexec_fn=_pinned(cores))
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            err = proc.stderr.read().decode() if proc.stderr else ""
            if proc.stderr:
                proc.stderr.close()
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"creditrules adjudicate failed: {err[-3000:]}")
            walls.append(wall)
            if best is None or wall < best["wall_s"]:
                best = {"wall_s": wall, "peak_rss": usage.ru_maxrss * 1024,
                        # ru_maxrss of the waited child only; pool workers are its own children
                        "records_per_s": n / wall, "persons_per_s": summary["persons"] / wall}
        assert best is not None
        best["runs"] = walls
        best["output_bytes"] = target.stat().st_size
        return best

    help_text = subprocess.run([*cli[:4], "--help"], capture_output=True, text=True, env=child_env()).stdout
    cli_workers = "--workers" in help_text
    out["cli_has_workers_option"] = cli_workers

    print(f"batch: creditrules CLI, 1 worker, {n:,} records …", file=sys.stderr)
    decisions = d / "decisions.jsonl"
    out["creditrules_cli_1"] = cli_run([], 0, decisions)
    grouped = "--grouped" in help_text
    if grouped:
        # The data is written grouped by person, so the streaming path applies: the
        # one to use on a province (docs/how-to/run-a-province.md).
        print("batch: creditrules CLI --grouped, 1 worker …", file=sys.stderr)
        out["creditrules_cli_grouped_1"] = cli_run(["--grouped"], 0, d / "decisions-grouped.jsonl")
        if args.workers >= 2 and "workers" not in skip:
            print("batch: creditrules CLI --grouped --workers 2 …", file=sys.stderr)
            g2 = cli_run(["--grouped", "--workers", "2"], ALL_CORES, d / "decisions-grouped-w2.jsonl")
            g2["speedup_vs_1"] = out["creditrules_cli_grouped_1"]["wall_s"] / g2["wall_s"]
            out["creditrules_cli_grouped_2"] = g2
        same = (d / "decisions-grouped.jsonl").read_bytes() == decisions.read_bytes()
        out["creditrules_cli_grouped_same_bytes"] = same

    if args.workers >= 2 and "workers" not in skip:
        if cli_workers:
            print("batch: creditrules CLI --workers 2 …", file=sys.stderr)
            best2 = cli_run(["--workers", "2"], ALL_CORES, d / "decisions-w2.jsonl")
            best2["note"] = "creditrules adjudicate --workers 2, both cores"
        else:
            print("batch: creditrules CLI, 2 shards on 2 cores …", file=sys.stderr)
            shards = ensure_shards(d, 2)
            best2 = None
            for _ in range(args.batch_rounds):
                cmds: list[tuple[list[str], Cores]] = [
                    ([*cli, "--persons", str(s / "persons.csv"), "--records", str(s / "records.csv"),
                      "--out", str(s / "decisions.jsonl")], core) for core, s in enumerate(shards)]
                wall, walls, rss = run_parallel(cmds)
                if best2 is None or wall < best2["wall_s"]:
                    best2 = {"wall_s": wall, "worker_wall_s": walls, "peak_rss": max(rss)}
            assert best2 is not None
            best2["records_per_s"] = n / best2["wall_s"]
            best2["note"] = ("the CLI has no --workers option: the benchmark shards the input by person and runs "
                             "two CLI processes, one per core")
        best2["speedup_vs_1"] = out["creditrules_cli_1"]["wall_s"] / best2["wall_s"]
        out["creditrules_cli_2"] = best2

    try:
        from creditrules import stream as _stream  # noqa: F401

        has_stream = hasattr(_stream, "run_batch") and hasattr(_stream, "grouped_people")
    except ImportError:
        has_stream = False
    if has_stream and "stream" not in skip:
        variants: list[tuple[str, list[str], Cores]] = [
            ("creditrules_stream_grouped_1", [], 0),
            ("creditrules_stream_in_memory_1", ["--c-in-memory"], 0),
        ]
        if args.workers >= 2 and "workers" not in skip:
            variants.append(("creditrules_stream_grouped_2", ["--c-workers", "2"], ALL_CORES))
        for key, extra, cores in variants:
            print(f"batch: {key} …", file=sys.stderr)
            runs = []
            for _ in range(args.batch_rounds):
                _, text = run_pinned([*me, "--child", "creditrules-stream", "--c-persons", persons,
                                      "--c-records", records, "--c-result", str(d / f"{key}.jsonl"), *extra], cores)
                runs.append(json.loads(text))
            st = min(runs, key=lambda r: r["total_s"])
            st["records_per_s"] = n / st["total_s"]
            out[key] = st
        if hasattr(_stream, "sort_records"):
            print("batch: creditrules sort_records on an interleaved copy …", file=sys.stderr)
            mixed = ensure_data(Path(args.data_dir), n, args.seed, order="interleaved")
            _, text = run_pinned([*me, "--child", "creditrules-sort", "--c-persons", persons,
                                  "--c-records", str(Path(mixed["dir"]) / "records.csv"),
                                  "--c-result", str(Path(mixed["dir"]) / "records-sorted.csv")], 0)
            st = json.loads(text)
            st["records_per_s"] = n / st["total_s"]
            out["creditrules_sort_records"] = st
        if "creditrules_stream_grouped_2" in out:
            out["creditrules_stream_grouped_2"]["speedup_vs_1"] = (
                out["creditrules_stream_grouped_1"]["total_s"] / out["creditrules_stream_grouped_2"]["total_s"])

    if "stages" not in skip:
        print("batch: creditrules stages in-process …", file=sys.stderr)
        _, text = run_pinned([*me, "--child", "creditrules-stages", "--c-persons", persons, "--c-records", records,
                              "--c-result", str(d / "decisions-stages.jsonl")], 0)
        st = json.loads(text)
        st["records_per_s"] = n / st["total_s"]
        out["creditrules_stages"] = st

    if "memory" not in skip:
        # Peak RSS at a quarter of the population: does memory grow with it?
        small = ensure_data(Path(args.data_dir), max(1000, n // 4), args.seed)
        sd = Path(small["dir"])
        proc = subprocess.Popen([*cli, "--persons", str(sd / "persons.csv"), "--records", str(sd / "records.csv"),
                                 "--out", str(sd / "decisions.jsonl")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=child_env(), preexec_fn=_pinned(0))
        _, _, usage = os.wait4(proc.pid, 0)
        scaling = {"records": [small["records"], n],
                   "cli_peak_rss": [usage.ru_maxrss * 1024, out["creditrules_cli_1"]["peak_rss"]]}
        if "creditrules_stream_grouped_1" in out:
            _, text = run_pinned([*me, "--child", "creditrules-stream", "--c-persons", str(sd / "persons.csv"),
                                  "--c-records", str(sd / "records.csv"),
                                  "--c-result", str(sd / "stream.jsonl")], 0)
            scaling["stream_grouped_peak_rss"] = [json.loads(text)["peak_rss"],
                                                  out["creditrules_stream_grouped_1"]["peak_rss"]]
        if "creditrules_cli_grouped_1" in out:
            proc = subprocess.Popen([*cli, "--grouped", "--persons", str(sd / "persons.csv"),
                                     "--records", str(sd / "records.csv"), "--out", str(sd / "decisions-grouped.jsonl")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env(),
                                    preexec_fn=_pinned(0))
            _, _, usage = os.wait4(proc.pid, 0)
            scaling["cli_grouped_peak_rss"] = [usage.ru_maxrss * 1024, out["creditrules_cli_grouped_1"]["peak_rss"]]
        out["creditrules_memory_scaling"] = scaling

    reference = read_cycle_findings([decisions])
    out["agreement"] = {}
    practice: dict[str, dict[str, bool]] = {}
    for peer in ("polars", "openfisca", "zen"):
        if peer in skip:
            continue
        print(f"batch: {peer} …", file=sys.stderr)
        result = d / f"{peer}-result.csv"
        runs = []
        for _ in range(args.batch_rounds):
            _, text = run_pinned([*me, "--child", peer, "--c-persons", persons, "--c-records", records,
                                  "--c-result", str(result)], 0)
            runs.append(json.loads(text))
        st = min(runs, key=lambda r: r["total_s"])
        st["records_per_s"] = n / st["total_s"]
        out[peer] = st
        cycle, practice[peer] = read_peer_result(result)
        out["agreement"][peer] = agreement(reference, cycle)
    if len(practice) > 1:
        names = sorted(practice)
        base = practice[names[0]]
        out["agreement"]["practice_share_among_peers"] = {
            "peers": names,
            "persons": len(base),
            "all_agree": sum(all(practice[p].get(k) == v for p in names) for k, v in base.items()),
            "passing": sum(base.values()),
        }
    return out


# -- report ------------------------------------------------------------------------------------------


def _who(ratio: float) -> str:
    if ratio >= 1:
        return f"creditrules {ratio:.1f}× faster"
    return f"peer {1 / ratio:.1f}× faster"


def report(res: dict[str, Any]) -> str:
    lines = []
    add = lines.append
    m = res["machine"]
    add(f"machine: {m['cpu_count']} cpu ({m['cpu_model']}), Python {m['python']}, "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v))
    for key in ("calibration_start", "calibration_end"):
        if key in res:
            c = res[key]
            add(f"{key.replace('_', ' ')}: loadavg {c['loadavg']}, parallel efficiency "
                f"{c['parallel_efficiency']:.2f} (1 core {c['alone_s']:.2f}s; all cores at once "
                f"{', '.join(f'{x:.2f}' for x in c['concurrent_s'])}s)")
    pd = res.get("per_decision")
    if pd:
        cr = pd["creditrules_adjudicate"]
        crj = pd["creditrules_adjudicate_json"]
        add("")
        add(f"PER DECISION (1 person, 20 records, Beihai chain, as of 2020-12-31; µs per call, best of "
            f"{pd['rounds']} rounds)")
        add(f"{'engine / call':<52}{'p50':>10}{'p90':>10}{'p99':>10}   ratio p50 (peer / creditrules)")
        rows = [("creditrules adjudicate (full trace)", cr, None),
                ("creditrules adjudicate + decision_json", crj, None)]
        for key, label in (("openfisca", "OpenFisca simulation (arrays → 3 variables)"),
                           ("openfisca_traced", "OpenFisca, trace on"),
                           ("zen", "ZEN evaluate(key) incl. building the context"),
                           ("zen_engine_only", "ZEN evaluate(key) on a prebuilt context"),
                           ("zen_traced", "ZEN, trace on"),
                           ("python_floor", "plain Python function (floor)")):
            if key in pd:
                rows.append((label, pd[key], pd[key]["p50"] / cr["p50"]))
        for label, st, ratio in rows:
            r = f"   {ratio:7.2f}  {_who(ratio)}" if ratio is not None else ""
            add(f"{label:<52}{st['p50']:>10.1f}{st['p90']:>10.1f}{st['p99']:>10.1f}{r}")
        add(f"decision JSON: {pd['decision_json_bytes']:,} bytes, {pd['findings_per_decision']:.0f} findings")
        goal = TARGETS["per_decision_p50_us"]
        verdict = "met" if cr["p50"] <= goal else f"NOT met, {cr['p50'] / goal:.1f}× over"
        add(f"target p50 ≤ {goal:.0f} µs: creditrules {cr['p50']:.0f} µs ({verdict})")
    b = res.get("batch")
    if b:
        add("")
        add(f"BATCH ({b['records']:,} records, {b['persons']:,} persons, CSV in, 1 core unless noted)")
        add(f"{'engine / path':<52}{'seconds':>9}{'records/s':>12}{'peak RSS':>10}"
            "   ratio (peer time / creditrules time)")
        c1 = b["creditrules_cli_1"]

        def row(label: str, secs: float, rate: float, rss: int, tail: str = "") -> None:
            add(f"{label:<52}{secs:>9.2f}{rate:>12,.0f}{rss / 2**20:>8.0f}MB{tail}")

        row("creditrules CLI → JSONL, full findings", c1["wall_s"], c1["records_per_s"], c1["peak_rss"])
        if "creditrules_cli_2" in b:
            c2 = b["creditrules_cli_2"]
            label = "creditrules CLI --workers 2" if b.get("cli_has_workers_option") else \
                "creditrules CLI ×2 shards (2 cores)"
            row(label, c2["wall_s"], c2["records_per_s"], c2["peak_rss"],
                f"   speed-up {c2['speedup_vs_1']:.2f}×")
        if "creditrules_cli_grouped_1" in b:
            g1 = b["creditrules_cli_grouped_1"]
            row("creditrules CLI --grouped (streamed)", g1["wall_s"], g1["records_per_s"], g1["peak_rss"],
                "   same bytes as the default" if b.get("creditrules_cli_grouped_same_bytes") else "   BYTES DIFFER")
        if "creditrules_cli_grouped_2" in b:
            g2 = b["creditrules_cli_grouped_2"]
            row("creditrules CLI --grouped --workers 2", g2["wall_s"], g2["records_per_s"], g2["peak_rss"],
                f"   speed-up {g2['speedup_vs_1']:.2f}× (target ≥ 1.8×)")
        for key, label in (("creditrules_stream_grouped_1", "creditrules stream, pre-grouped merge, 1 worker"),
                           ("creditrules_stream_in_memory_1", "creditrules stream, in-memory grouping, 1 worker"),
                           ("creditrules_stream_grouped_2", "creditrules stream, pre-grouped, 2 workers")):
            if key in b:
                st = b[key]
                tail = f"   speed-up {st['speedup_vs_1']:.2f}×" if "speedup_vs_1" in st else ""
                row(label, st["total_s"], st["records_per_s"], max(st["peak_rss"], st["peak_rss_workers"]), tail)
        if "creditrules_sort_records" in b:
            st = b["creditrules_sort_records"]
            row("creditrules sort-records (input not grouped)", st["total_s"], st["records_per_s"], st["peak_rss"],
                "   one-off, before a pre-grouped stream")
        if "creditrules_stages" in b:
            s = b["creditrules_stages"]
            add(f"  CLI stages in-process: read+structure {s['read_s']:.2f}s, adjudicate {s['adjudicate_s']:.2f}s, "
                f"decision_json {s['json_s']:.2f}s, write {s['write_s']:.2f}s; {s['output_bytes'] / 2**20:.0f} MB out "
                f"({s['output_bytes'] / max(1, s['persons']) / 1024:.0f} KB per decision)")
        for peer, label in (("openfisca", "OpenFisca vectorised (read+prepare+build+calc)"),
                            ("zen", "ZEN per person (read+prepare+evaluate loop)"),
                            ("polars", "polars read + aggregate (the floor)")):
            if peer in b:
                st = b[peer]
                ratio = st["total_s"] / c1["wall_s"]
                row(label, st["total_s"], st["records_per_s"], st["peak_rss"], f"   {ratio:7.3f}  {_who(ratio)}")
        if "polars" in b:
            best = b.get("creditrules_cli_grouped_1", c1)
            frac = b["polars"]["total_s"] / best["wall_s"]
            add(f"creditrules CLI (best 1-core path) runs at {frac:.1%} of the polars floor's speed (target ≥ 50 %); "
                f"target ≥ {TARGETS['batch_records_per_s']:,} records/s: "
                f"{'met' if best['records_per_s'] >= TARGETS['batch_records_per_s'] else 'NOT met'}")
        if "creditrules_memory_scaling" in b:
            ms = b["creditrules_memory_scaling"]
            add(f"peak RSS at {ms['records'][0]:,} → {ms['records'][1]:,} records: CLI "
                f"{ms['cli_peak_rss'][0] / 2**20:.0f} → {ms['cli_peak_rss'][1] / 2**20:.0f} MB"
                + (f"; stream pre-grouped {ms['stream_grouped_peak_rss'][0] / 2**20:.0f} → "
                   f"{ms['stream_grouped_peak_rss'][1] / 2**20:.0f} MB" if "stream_grouped_peak_rss" in ms else "")
                + (f"; CLI --grouped {ms['cli_grouped_peak_rss'][0] / 2**20:.0f} → "
                   f"{ms['cli_grouped_peak_rss'][1] / 2**20:.0f} MB" if "cli_grouped_peak_rss" in ms else ""))
        add("")
        add("AGREEMENT with creditrules' guangxi.cycle_credits finding (pass/fail; credits to 0.01)")
        for peer, a in b.get("agreement", {}).items():
            if peer == "practice_share_among_peers":
                add(f"  practice share ≥ 10 %, among {', '.join(a['peers'])}: {a['all_agree']:,}/{a['persons']:,} "
                    f"agree ({a['passing']:,} pass)")
                continue
            add(f"  {peer:<10} pass/fail {a['pass_fail_agree']:,}/{a['persons']:,} ({a['agree_pct']}%), "
                f"credits {a['credits_agree']:,}/{a['persons']:,}; creditrules pass {a['creditrules_pass']:,}, "
                f"peer pass {a['peer_pass']:,}")
    if pd:
        for key in ("python_floor", "openfisca", "zen"):
            if key in pd and "agreement" in pd[key]:
                a = pd[key]["agreement"]
                add(f"  per-decision sample, {key}: {a['pass_fail_agree']}/{a['persons']} pass/fail, "
                    f"{a['credits_agree']}/{a['persons']} credits")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=200_000, help="batch population size (default 200k)")
    ap.add_argument("--seed", type=int, default=20201231)
    ap.add_argument("--data-dir", default=str(HERE / "data"), help="generated data (default benchmarks/data)")
    ap.add_argument("--out", default=str(HERE / "results.json"), help="results file (default benchmarks/results.json)")
    ap.add_argument("--decision-people", type=int, default=100, help="20-record persons timed per decision")
    ap.add_argument("--rounds", type=int, default=5, help="timing rounds per decision measurement (best of)")
    ap.add_argument("--reps", type=int, default=4, help="passes over the persons per round")
    ap.add_argument("--batch-rounds", type=int, default=1, help="batch runs per engine (best of)")
    ap.add_argument("--workers", type=int, default=2, help="also run creditrules sharded over 2 cores (0 to skip)")
    ap.add_argument("--skip", default="", help="comma list: per-decision, batch, openfisca, zen, polars, workers, "
                                              "stream, stages, memory")
    ap.add_argument("--no-pin", action="store_true", help="do not pin to core 0")
    ap.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    ap.add_argument("--c-persons", help=argparse.SUPPRESS)
    ap.add_argument("--c-records", help=argparse.SUPPRESS)
    ap.add_argument("--c-result", help=argparse.SUPPRESS)
    ap.add_argument("--c-workers", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--c-in-memory", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        extra: dict[str, Any] = {}
        if args.child == "creditrules-stream":
            extra = {"workers": args.c_workers, "grouped": not args.c_in_memory}
        print(json.dumps(CHILDREN[args.child](args.c_persons, args.c_records, args.c_result, **extra)))
        return 0
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if not args.no_pin:
        pin(0)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "schema": "creditrules.bench/1",
        "machine": machine_info(),
        "calibration_start": calibrate(),
        "params": {k: v for k, v in vars(args).items() if not k.startswith("c_") and k != "child"},
        "targets": TARGETS,
        "pinned_to_core": None if args.no_pin else 0,
    }
    if "per-decision" not in skip:
        results["per_decision"] = per_decision(args, skip)
    if "batch" not in skip:
        summary = ensure_data(Path(args.data_dir), args.records, args.seed)
        results["data"] = summary
        results["batch"] = batch(args, summary, skip)
    results["calibration_end"] = calibrate()
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    text = report(results)
    print(text)
    # Paths inside the repository are written relative to it, so the file reads the same on any checkout.
    dumped = json.dumps(results, indent=2, ensure_ascii=False, default=str).replace(str(HERE.parent) + "/", "")
    Path(args.out).write_text(dumped + "\n")
    print(f"\nresults written to {args.out} ({results['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
