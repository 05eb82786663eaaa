"""KPI query latency on the on-disk store: named KPIs (rollups + edge days) against raw SPARQL.

    .venv/bin/python benchmarks/kpi_bench.py [--sizes 100000,1000000 | --quick] [--reps 20]
        [--raw-reps N] [--data-dir benchmarks/out/kpi-{n}] [--batch-size 5000] [--no-raw]

For every size N: one tenant with N realistic events (``tai_graph.demo``) at a fixed density of
``--per-day`` events per day (default 3,000), so a bigger N means a longer history ending on the
same day (2026-04-04): 100k events are the 34 days around the measured month, 1M are ~11 months
(2025-05-05 on). The month measured holds about the same events at every size; only the history
before it grows. Loaded through the real ingest pipeline (validation, receipts, rollups) into an
on-disk store under ``--data-dir``; the store is kept, and a later run with the same dataset
finds it and measures queries only.

Then, for three one-month periods, (a) a whole UTC month (monthly cells), (b) the month at
UTC-05:00 (daily cells + hourly cells for the edge hours) and (c) edges that cut an hour (cells + the raw
events of the cut hour), it times every named KPI
(``Engine.kpis``, ``--reps`` runs after one warm-up run) and the raw-events reference queries of
``benchmarks/raw_queries`` (``--raw-reps`` runs), p50/p95 of the total and per KPI, and checks
that both give identical rows for every KPI (a mismatch is a bug and is printed loudly). Finally
it compares the all-KPI time for the same month across sizes ("flat as history grows").

Prints plain tables, then one line ``KPI_BENCH_JSON {...}`` with every figure, and the machine
load average. No assertions: this is run by hand, not in CI.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402

from tai_graph import intake  # noqa: E402
from tai_graph.config import Settings  # noqa: E402
from tai_graph.demo import generate  # noqa: E402
from tai_graph.engine import Engine  # noqa: E402
from tai_graph.metrics import KpiTable  # noqa: E402
from tai_graph.periods import parse_period  # noqa: E402
from tai_graph.queries import NamedQuery, QueryRegistry, QueryResult, bind, run  # noqa: E402

CUSTOMER = "customer_001"  # tai_graph.demo_data.CUSTOMER_ID: the events carry it
TARGET_MS = 100.0
#: Every history ends here (exclusive); it starts max(MIN_DAYS, N / per_day) days earlier.
HISTORY_END = date(2026, 4, 4)
MIN_DAYS = 34  # 2026-03-01 .. 2026-04-03: both measured periods
PERIODS = {
    "month": ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),  # one whole month: monthly cells
    "local": ("2026-03-01T00:00:00-05:00", "2026-04-01T00:00:00-05:00"),  # days + hours, no event
    "edges": ("2026-03-03T05:30:00Z", "2026-04-03T17:00:00Z"),  # + a cut hour: cells and raw events
}
MANIFEST = "kpi-bench-dataset.json"
#: Bumped when what ingest writes changes, so an older store is not measured as this one.
DATA_MODEL = "slices-v2: monthly + daily + hourly cells keyed by tai:slice, events keyed by tai:hourSlice"
LOAD_CHUNK = 50_000  # events per import_events call (progress line); batches inside are --batch-size


# -- dataset ------------------------------------------------------------------------------------


def history(n: int, per_day: int) -> dict[str, Any]:
    """The demo's arguments for ``n`` events at ``per_day``: the whole history after go-live.

    The demo's volume differs before and after go-live (after it, ~1.8x the events per day at the
    same scale), so a history with both phases would put more events in the measured month the
    longer the history is. With go-live on the first day (one baseline day, no gap; the late
    backfill lands on that day) the density is the same over the whole history, and a bigger N
    only adds history before the measured month.
    """
    days = max(MIN_DAYS, math.ceil(n / per_day))
    return {
        "baseline_start": HISTORY_END - timedelta(days=days),
        "baseline_days": 1,
        "gap_days": 0,
        "current_days": days - 1,
    }


def _events(n: int, seed: int, hist: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
    """Exactly ``n`` demo events over the history ``hist``, and the demo scale used.

    The volume of the demo is linear in ``scale`` (machine-made events; people-made ones are a
    few hundred): a pilot at scale 1 gives the events per unit of scale, the real run asks for
    2 % more, and a seeded uniform sample brings it to exactly ``n`` (the type mix, the time
    spread, the late backfill at the end of the stream are kept). Event ids are the demo's
    ``evt_<day>_<n>``, unique over the whole history, so nothing needs re-numbering.
    """
    pilot = len(generate(seed, scale=1.0, **hist).events)
    scale = min(50.0, n * 1.02 / pilot)
    while True:
        events = generate(seed, scale=scale, **hist).events
        if len(events) >= n or scale >= 50.0:
            break
        scale = min(50.0, scale * 1.05)
    if len(events) > n:
        keep = sorted(random.Random(seed).sample(range(len(events)), n))
        events = [events[i] for i in keep]
    # as a client sends them: JSON text, parsed the way the API and `tai-graph import` parse it
    # (exact decimals), not the generator's Python floats
    return [intake.loads(json.dumps(e, default=str)) for e in events], scale


def _dataset_key(n: int, seed: int, hist: dict[str, Any]) -> dict[str, Any]:
    return {
        "events": n,
        "seed": seed,
        "generator": "tai_graph.demo.generate",
        "history": {k: str(v) for k, v in hist.items()},
        "model": DATA_MODEL,
    }


def ensure_dataset(
    data_dir: Path, n: int, seed: int, per_day: int, batch_size: int, optimize: bool
) -> dict[str, Any]:
    """Load ``n`` events into the store of ``data_dir`` unless it already holds them, then compact
    it as ``tai-graph import`` does after a large import (unless ``optimize`` is false)."""
    manifest_path = data_dir / MANIFEST
    hist = history(n, per_day)
    key = _dataset_key(n, seed, hist)
    days = (HISTORY_END - hist["baseline_start"]).days
    print(
        f"  history {hist['baseline_start']} .. {HISTORY_END} ({days} days, ~{n / days:,.0f} events/day,"
        f" go-live {HISTORY_END - timedelta(days=hist['current_days'])})"
    )
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    engine = Engine(Settings(data_dir=data_dir))
    try:
        held = engine.ingestor.head(CUSTOMER).sequence
        if manifest and manifest.get("dataset") == key and manifest.get("complete") and held >= n:
            print(f"  store already holds {held:,} events ({data_dir}); skipping the load")
            return {**manifest["load"], "skipped": True}
        if held and (not manifest or manifest.get("dataset") != key):
            raise SystemExit(
                f"{data_dir} holds {held:,} events of another dataset ({manifest and manifest.get('dataset')});"
                " give another --data-dir or delete it"
            )
        t0 = time.perf_counter()
        events, scale = _events(n, seed, hist)
        gen_s = time.perf_counter() - t0
        print(f"  generated {len(events):,} events (demo scale {scale:.3f}) in {gen_s:.1f} s")
        if held:
            print(
                f"  resuming an interrupted load: {held:,} events already stored (re-sent ones are duplicates)"
            )
        try:
            engine.tenants.get(CUSTOMER)
        except Exception:
            engine.create_tenant(CUSTOMER, "KPI benchmark")
        manifest_path.write_text(json.dumps({"dataset": key, "complete": False}))
        totals = {"imported": 0, "duplicates": 0, "conflicts": 0, "rejected": 0}
        rejected_by_rule: dict[str, int] = {}
        t0 = time.perf_counter()
        for start in range(0, len(events), LOAD_CHUNK):
            report = engine.import_events(CUSTOMER, events[start : start + LOAD_CHUNK], batch_size=batch_size)
            for k in totals:
                totals[k] += getattr(report, k)
            for rule, c in report.rejected_by_rule.items():
                rejected_by_rule[rule] = rejected_by_rule.get(rule, 0) + c
            done = start + min(LOAD_CHUNK, len(events) - start)
            elapsed = time.perf_counter() - t0
            print(
                f"    {done:>9,} / {len(events):,}  {done / elapsed:>8,.0f} events/s  {elapsed:>7.1f} s",
                flush=True,
            )
        load_s = time.perf_counter() - t0
        engine.store.flush()
        load = {
            **totals,
            "rejected_by_rule": rejected_by_rule,
            "demo_scale": round(scale, 4),
            "history_days": days,
            "events_per_day": round(n / days),
            "batch_size": batch_size,
            "seconds": round(load_s, 1),
            "events_per_s": round(len(events) / load_s),
            "skipped": False,
        }
        print(
            f"  loaded {totals['imported']:,} events in {load_s:.1f} s = {load['events_per_s']:,} events/s "
            f"(batch {batch_size}; duplicates {totals['duplicates']}, rejected {totals['rejected']})"
        )
        if totals["rejected"] or totals["conflicts"]:
            print(
                f"  !!! {totals['rejected']} REJECTED / {totals['conflicts']} CONFLICTING events: {rejected_by_rule}"
            )
        del events
        gc.collect()
        if optimize:
            t0 = time.perf_counter()
            engine.optimize_store()
            load["optimize_s"] = round(time.perf_counter() - t0, 1)
            print(f"  optimized the store in {load['optimize_s']} s (as `tai-graph import` does)")
        manifest_path.write_text(json.dumps({"dataset": key, "complete": True, "load": load}, indent=2))
        return load
    finally:
        engine.close()


# -- timing ---------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p95 of fewer than 20 runs is the slowest run)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def stats(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"p50": round(pct(ms, 50), 2), "p95": round(pct(ms, 95), 2), "n": len(ms)}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def measure_period(
    engine: Engine, raw: QueryRegistry | None, frm: str, to: str, reps: int, raw_reps: int
) -> dict[str, Any]:
    store, scope = engine.store, engine.scope(CUSTOMER)
    period = parse_period(frm, to)
    names = engine.queries.names

    def all_kpis() -> KpiTable:
        return engine.kpis(CUSTOMER, frm, to)

    def one(query: NamedQuery) -> QueryResult:  # what Engine.kpis does for each query
        return run(store, scope, bind(query, {}, period, event_types=engine.event_types))

    # named KPIs: one warm-up run (kept as "first"), then `reps` runs of Engine.kpis, each
    # followed by one timed run of every query alone (per-KPI figures)
    first_s, table = timed(all_kpis)
    totals: list[float] = []
    per: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(reps):
        totals.append(timed(all_kpis)[0])
        for q in engine.queries:
            per[q.name].append(timed(partial(one, q))[0])
    out: dict[str, Any] = {
        "from": frm,
        "to": to,
        "events_in_period": _events_in(table),
        "named": {
            "first_ms": round(first_s * 1000, 2),
            "total": stats(totals),
            "per_kpi": {n: stats(v) for n, v in per.items()},
        },
    }
    if raw is None:
        return out

    # raw reference: one answer-checking run (kept as "first"), then `raw_reps` timed runs
    missing = [n for n in names if n not in raw]
    raw_names = [n for n in names if n in raw]
    raw_first: dict[str, float] = {}
    mismatches: list[dict[str, Any]] = []
    for n in raw_names:
        raw_first[n], result = timed(partial(one, raw.get(n)))
        if result.columns != table.get(n).columns or result.rows != table.get(n).rows:
            mismatches.append(
                {"kpi": n, "named": table.get(n).to_dict()["rows"], "raw": result.to_dict()["rows"]}
            )
    raw_totals: list[float] = []
    raw_per: dict[str, list[float]] = {n: [] for n in raw_names}
    for _ in range(raw_reps):
        total = 0.0
        for n in raw_names:
            s = timed(partial(one, raw.get(n)))[0]
            raw_per[n].append(s)
            total += s
        raw_totals.append(total)
    out["raw"] = {
        "first_ms": round(sum(raw_first.values()) * 1000, 2),
        "total": stats(raw_totals),
        "per_kpi": {n: stats(v) for n, v in raw_per.items()},
        "missing": missing,
    }
    out["answers_identical"] = not mismatches and not missing
    out["mismatches"] = mismatches
    return out


def store_facts(engine: Engine) -> dict[str, Any]:
    """What the query cost depends on: rollup cells over the whole history, events in a cut hour."""
    scope = engine.scope(CUSTOMER)
    prefix = "PREFIX tai: <https://w3id.org/tai-graph/ns#>\n"
    cells: dict[str, dict[str, int]] = {}
    for kind in ("MonthlyRollup", "DailyRollup", "HourlyRollup"):
        cells[kind] = {
            str(r["t"].value).rsplit("#", 1)[-1]: int(r["n"].value)
            for r in engine.store.select(
                prefix
                + f"SELECT ?t (COUNT(?r) AS ?n) WHERE {{ ?r a tai:{kind} ; tai:eventType ?t }} GROUP BY ?t",
                scope,
            )
        }
    hour = "2026-03-03T05"  # the cut hour of the "edges" period
    rows = engine.store.select(
        prefix
        + "SELECT (COUNT(?e) AS ?n) WHERE { VALUES ?k { "
        + " ".join(f'"{t} {hour}"' for t in engine.event_types)
        + " } ?e tai:hourSlice ?k }",
        scope,
    )
    return {
        "events": engine.ingestor.head(CUSTOMER).sequence,
        "monthly_cells": sum(cells["MonthlyRollup"].values()),
        "daily_cells": sum(cells["DailyRollup"].values()),
        "hourly_cells": sum(cells["HourlyRollup"].values()),
        "daily_cells_by_type": dict(sorted(cells["DailyRollup"].items())),
        "events_in_cut_hour": {hour: int(rows[0]["n"].value)},
    }


def _events_in(table: Any) -> int | None:
    try:
        rows = table.get("receipt_coverage").rows
        return int(rows[0]["events"])
    except Exception:
        return None


# -- output ---------------------------------------------------------------------------------------


def _fmt(s: dict[str, float] | None) -> str:
    return f"{s['p50']:>9.1f} {s['p95']:>9.1f}" if s else f"{'-':>9} {'-':>9}"


def _ratio(a: float, b: float) -> str:
    if not b:
        return ""
    r = a / b
    return f"{r:.0f}x" if r >= 10 else f"{r:.1f}x" if r >= 1 else f"{r:.2f}x"


def print_size(n: int, result: dict[str, Any]) -> None:
    f = result["store"]
    print(
        f"  store: {f['events']:,} events; {f['monthly_cells']:,} monthly, {f['daily_cells']:,} daily and"
        f" {f['hourly_cells']:,} hourly"
        f" rollup cells over the history (daily: {', '.join(f'{k} {v:,}' for k, v in f['daily_cells_by_type'].items())});"
        f" events in the cut hour: {', '.join(f'{k} {v:,}' for k, v in f['events_in_cut_hour'].items())}"
    )
    for pname, r in result["periods"].items():
        named, raw = r["named"], r.get("raw")
        print(
            f"\n  {pname}: [{r['from']}, {r['to']})  {r['events_in_period'] or 0:,} events in the period;"
            f" named x{named['total']['n']}"
            + (f", raw x{raw['total']['n']}" if raw else "")
            + (
                " (p95 of fewer than 20 runs = the slowest run)"
                if min(named["total"]["n"], raw["total"]["n"] if raw else 99) < 20
                else ""
            )
        )
        print(f"  {'KPI':<24}{'named p50':>10}{'p95':>10}  {'raw p50':>9}{'p95':>10}  {'raw/named':>9}")
        for name, s in named["per_kpi"].items():
            rs = raw["per_kpi"].get(name) if raw else None
            ratio = _ratio(rs["p50"], s["p50"]) if rs else ""
            print(f"  {name:<24}{_fmt(s)}  {_fmt(rs)}  {ratio:>9}")
        t, rt = named["total"], raw["total"] if raw else None
        ratio = _ratio(rt["p50"], t["p50"]) if rt else ""
        print(f"  {'ALL KPIs (total)':<24}{_fmt(t)}  {_fmt(rt)}  {ratio:>9}")
        verdict = "meets" if t["p95"] <= TARGET_MS else "MISSES"
        print(
            f"  first run: named {named['first_ms']:.1f} ms"
            + (f", raw {raw['first_ms']:.1f} ms" if raw else "")
            + f"; target all KPIs <= {TARGET_MS:.0f} ms: {verdict} (p95 {t['p95']:.1f} ms)"
        )
        if raw:
            if r["answers_identical"]:
                print(f"  answers: named == raw for all {len(named['per_kpi'])} KPIs")
            else:
                print("  " + "!" * 78)
                print(f"  !!! ANSWER MISMATCH (named vs raw) — a bug. missing raw queries: {raw['missing']}")
                for m in r["mismatches"]:
                    print(f"  !!! {m['kpi']}:\n  !!!   named {m['named']}\n  !!!   raw   {m['raw']}")
                print("  " + "!" * 78)


def print_flat(results: dict[int, dict[str, Any]]) -> dict[str, Any]:
    sizes = sorted(results)
    flat: dict[str, Any] = {}
    if len(sizes) < 2:
        return flat
    print("\nFlat as history grows: all KPIs, same period, p50 (p95) ms")
    head = "".join(f"{n:>22,}" for n in sizes)
    print(f"  {'period / path':<16}{head}{'ratio last/first':>20}")
    for pname in PERIODS:
        for path in ("named", "raw"):
            cells = [results[n]["periods"][pname].get(path) for n in sizes]
            if any(c is None for c in cells):
                continue
            totals = [c["total"] for c in cells]
            ratio = totals[-1]["p50"] / totals[0]["p50"] if totals[0]["p50"] else float("nan")
            flat[f"{pname}.{path}"] = {str(n): t for n, t in zip(sizes, totals, strict=True)} | {
                "ratio_p50": round(ratio, 2)
            }
            row = "".join(f"{t['p50']:>12.1f} ({t['p95']:>7.1f})" for t in totals)
            print(f"  {pname + ' ' + path:<16}{row}{ratio:>19.1f}x")
    events = {n: results[n]["periods"]["month"]["events_in_period"] for n in sizes}
    print("  events in the month: " + ", ".join(f"{events[n] or 0:,} at {n:,}" for n in sizes))
    return flat


def _git() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except Exception:
        return None


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated event counts")
    parser.add_argument("--quick", action="store_true", help="20,000 events only")
    parser.add_argument(
        "--data-dir",
        default=str(ROOT / "benchmarks/out/kpi-{n}"),
        help="data dir per size; '{n}' is replaced by the size (default benchmarks/out/kpi-{n})",
    )
    parser.add_argument("--reps", type=int, default=20, help="timed runs of the named KPIs (default 20)")
    parser.add_argument(
        "--raw-reps",
        type=int,
        default=None,
        help="timed runs of the raw queries (default: 20 up to 50k events, 10 at 100k, 3 at 1M)",
    )
    parser.add_argument("--no-raw", action="store_true", help="skip the raw reference queries")
    parser.add_argument(
        "--no-optimize", action="store_true", help="measure the store as loaded, without compacting it"
    )
    parser.add_argument("--batch-size", type=int, default=5000, help="events per ingest batch when loading")
    parser.add_argument(
        "--per-day",
        type=int,
        default=3000,
        help="events per day: history length = max(34 days, N / per-day) (default 3000)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    sizes = [20_000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if len(sizes) > 1 and "{n}" not in args.data_dir:
        parser.error("--data-dir needs '{n}' when several sizes are measured")
    load_start = os.getloadavg()
    print(
        f"KPI benchmark: sizes {', '.join(f'{n:,}' for n in sizes)}; pyoxigraph {ox.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, git {_git()}; "
        f"load average {' '.join(f'{x:.2f}' for x in load_start)}"
    )
    raw = None if args.no_raw else QueryRegistry.load([ROOT / "benchmarks/raw_queries"])

    results: dict[int, dict[str, Any]] = {}
    for n in sizes:
        data_dir = Path(args.data_dir.replace("{n}", str(n)))
        data_dir.mkdir(parents=True, exist_ok=True)
        print(f"\n== {n:,} events, {data_dir}")
        load = ensure_dataset(data_dir, n, args.seed, args.per_day, args.batch_size, not args.no_optimize)
        raw_reps = args.raw_reps if args.raw_reps is not None else max(3, min(args.reps, 1_000_000 // n))
        engine = Engine(Settings(data_dir=data_dir))
        try:
            facts = store_facts(engine)
            periods = {
                pname: measure_period(engine, raw, frm, to, args.reps, raw_reps)
                for pname, (frm, to) in PERIODS.items()
            }
        finally:
            engine.close()
        results[n] = {
            "load": load,
            "store": facts,
            "loadavg": [round(x, 2) for x in os.getloadavg()],
            "periods": periods,
        }
        print_size(n, results[n])

    flat = print_flat(results)
    print("\nSummary: all KPIs, p50 / p95 ms (target <= 100 ms at p95), named == raw?")
    bad = 0
    for n, r in results.items():
        for pname, p in r["periods"].items():
            t = p["named"]["total"]
            same = p.get("answers_identical")
            bad += same is False
            answers = "not checked" if same is None else "identical" if same else "MISMATCH"
            verdict = "meets" if t["p95"] <= TARGET_MS else "misses"
            print(f"  {n:>9,} {pname:<6} {t['p50']:>9.1f} / {t['p95']:>9.1f}  {verdict:<7} answers {answers}")
    if bad:
        print(f"!!! {bad} period(s) with named/raw ANSWER MISMATCHES: see the tables above")
    load_end = os.getloadavg()
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in load_end)} ({os.cpu_count()} CPUs)")
    doc = {
        "bench": "kpi",
        "git": _git(),
        "pyoxigraph": ox.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in load_end],
        "target_ms": TARGET_MS,
        "history_end": str(HISTORY_END),
        "per_day": args.per_day,
        "reps": args.reps,
        "sizes": {str(n): r for n, r in results.items()},
        "flat": flat,
    }
    print("KPI_BENCH_JSON " + json.dumps(doc, separators=(",", ":"), default=str))


if __name__ == "__main__":
    main()
