"""Ingest throughput and latency of the real write path: validation, receipts, rollups, on-disk store.

    .venv/bin/python benchmarks/ingest_bench.py                 # 100,000 events, batches of 1,000
    .venv/bin/python benchmarks/ingest_bench.py --quick         # 10,000 events (CI smoke)
    .venv/bin/python benchmarks/ingest_bench.py --events 50000 --batch 500 --skip-pyshacl

Prints figures, asserts nothing. Everything runs on on-disk stores in a temporary data dir that is
removed at the end. Sections:

1. library  ``Engine.ingest`` of N events (the realistic mix of ``tai_graph.demo``, re-numbered to
   N unique ids, parsed the way the HTTP API parses them: decimals as ``Decimal``) in batches;
   events/s and p50/p99 batch latency; then single-event ``Engine.ingest`` latency.
2. http     a real ``tai-graph serve`` subprocess on 127.0.0.1 (free port, its own data dir) per
   run: N events through ``POST /v1/events`` as JSON arrays with 1 and with 2 client connections;
   then one event per request on a keep-alive connection, p50/p99 in ms. The client runs on the
   same machine and shares its cores. The script stops every server it started (by pid), also on
   error or Ctrl-C.
3. pyshacl  the naive pipeline: ``shacl_reference.validate_with_pyshacl`` over an rdflib graph, in
   batches and one event at a time, on a sample (printed) and extrapolated to N; over a
   pyoxigraph-backed rdflib graph (``oxrdflib``) when that plugin is installed, else skipped.
4. stages   where a batch's time goes, from the ingest path's own stage timer
   (``Ingestor.stage_seconds``) plus the HTTP body parse and response rendering measured
   in-process; each stage's ceiling is the events/s the pipeline could not exceed if that stage
   were all it did.

The load average is printed with every figure: other processes on the machine change them.
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib.util
import io
import json
import logging
import math
import os
import platform
import pstats
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tai_graph import demo  # noqa: E402
from tai_graph.api.bodies import parse_items  # noqa: E402
from tai_graph.api.problems import ApiJSONResponse  # noqa: E402
from tai_graph.config import Settings  # noqa: E402
from tai_graph.engine import Engine  # noqa: E402
from tai_graph.intake import loads  # noqa: E402
from tai_graph.shacl_reference import validate_with_pyshacl  # noqa: E402

STAGES = (
    "parse",
    "validate",
    "lock_wait",
    "dedupe",
    "sign",
    "map",
    "rollups",
    "sparql_text",
    "store_update",
    "flush",
    "render",
)
STAGE_NOTES = {
    "parse": "HTTP body -> items (intake, Decimal)",
    "validate": "compiled SHACL checks on JSON",
    "lock_wait": "waiting for the writer lock",
    "dedupe": "event_id lookups in the store",
    "sign": "JCS bytes, HMAC, Ed25519, chain hash",
    "map": "event + receipt N-Triples",
    "rollups": "daily cube cells",
    "sparql_text": "assemble the one SPARQL Update",
    "store_update": "Oxigraph update (one transaction)",
    "flush": "store flush (durability=flush only)",
    "render": "result -> JSON response bytes",
}
HTTP_TIMEOUT_S = 120.0
SERVER_START_TIMEOUT_S = 60.0


# -- small helpers ----------------------------------------------------------------------------------
def load_avg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def say(text: str = "") -> None:
    print(text, flush=True)


class Figures:
    """Every figure of the run, for the table and the final JSON line."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def put(self, section: str, **values: Any) -> None:
        self.data.setdefault(section, {}).update(values)


# -- workload --------------------------------------------------------------------------------------
class Workload:
    """N re-numbered demo events as HTTP batch bodies, plus single events for latency runs."""

    def __init__(self, events: int, batch: int, singles: int, seed: int) -> None:
        dataset = demo.generate(seed)
        self.customer_id = dataset.customer_id
        mix = dataset.events
        self.mix_size = len(mix)

        def renumbered(prefix: str, count: int, offset: int) -> list[dict[str, Any]]:
            return [{**mix[(offset + i) % len(mix)], "event_id": f"{prefix}-{i:07d}"} for i in range(count)]

        self.events = renumbered("bench", events, 0)
        self.batch = batch
        # request bodies exactly as a client sends them (floats as JSON numbers, strings as strings)
        self.bodies = [
            json.dumps(self.events[s : s + batch], separators=(",", ":")).encode()
            for s in range(0, events, batch)
        ]
        self.single_lib = [loads(json.dumps(e)) for e in renumbered("lib-single", singles, events)]
        self.single_http = [
            json.dumps(e, separators=(",", ":")).encode() for e in renumbered("http-single", singles, events)
        ]

    def parsed(self, start: int, stop: int) -> list[Any]:
        """Events ``[start, stop)`` parsed as the API parses them (for pyshacl)."""
        return [loads(json.dumps(e)) for e in self.events[start:stop]]


# -- 1. library ------------------------------------------------------------------------------------
def run_library(work: Workload, data_dir: Path, figures: Figures, profile: bool) -> list[dict[str, float]]:
    """Batches then single events through ``Engine.ingest``; per-batch stage seconds."""
    say("== 1. library: Engine.ingest on an on-disk store ==")
    engine = Engine(Settings(data_dir=data_dir, hostname="bench"))
    try:
        engine.create_tenant(work.customer_id)
        ingestor = engine.ingestor
        per_batch: list[dict[str, float]] = []
        latencies: list[float] = []
        created = 0
        load_before = load_avg()
        profiler = cProfile.Profile() if profile else None
        for body in work.bodies:
            t0 = time.perf_counter()
            items, _ = parse_items(body, "json")
            t1 = time.perf_counter()
            stages: dict[str, float] = {}
            ingestor.stage_seconds = stages
            if profiler is not None:
                profiler.enable()
            t2 = time.perf_counter()
            result = engine.ingest(work.customer_id, items)
            t3 = time.perf_counter()
            if profiler is not None:
                profiler.disable()
            ingestor.stage_seconds = None
            ApiJSONResponse(result.to_dict(), status_code=200)  # renders the body, as the API does
            t4 = time.perf_counter()
            created += result.count("created")
            latencies.append(t3 - t2)
            stages.update(parse=t1 - t0, render=t4 - t3, total_ingest=t3 - t2)
            per_batch.append(stages)
        seconds = sum(latencies)
        rate = created / seconds
        load_after = load_avg()
        say(
            f"batches: {created:,} created of {len(work.events):,} in {len(latencies)} batches of "
            f"{work.batch}: {rate:,.0f} events/s; batch latency p50 {ms(percentile(latencies, 50))} ms, "
            f"p99 {ms(percentile(latencies, 99))} ms, max {ms(max(latencies))} ms   [load {load_after}]"
        )
        tenth = max(1, len(latencies) // 10)
        first, last = latencies[:tenth], latencies[-tenth:]
        say(
            f"  first 10% of batches {ms(sum(first) / len(first))} ms mean, last 10% "
            f"{ms(sum(last) / len(last))} ms mean (the store grows)"
        )
        figures.put(
            "library_batch",
            events=len(work.events),
            created=created,
            batch=work.batch,
            events_per_s=round(rate),
            p50_ms=round(percentile(latencies, 50) * 1000, 2),
            p99_ms=round(percentile(latencies, 99) * 1000, 2),
            first_tenth_mean_ms=round(sum(first) / len(first) * 1000, 2),
            last_tenth_mean_ms=round(sum(last) / len(last) * 1000, 2),
            load_before=load_before,
            load_after=load_after,
        )
        if profiler is not None:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
            say("cProfile of the library batches (top 25 by own time):")
            say(out.getvalue())

        single: list[float] = []
        ok = 0
        for event in work.single_lib:
            t0 = time.perf_counter()
            result = engine.ingest(work.customer_id, [event])
            single.append(time.perf_counter() - t0)
            ok += result.count("created")
        load_now = load_avg()
        say(
            f"single events: {ok:,} of {len(single):,} created: p50 {ms(percentile(single, 50))} ms, "
            f"p99 {ms(percentile(single, 99))} ms, max {ms(max(single))} ms "
            f"({len(single) / sum(single):,.0f} events/s)   [load {load_now}]"
        )
        figures.put(
            "library_single",
            requests=len(single),
            created=ok,
            p50_ms=round(percentile(single, 50) * 1000, 3),
            p99_ms=round(percentile(single, 99) * 1000, 3),
            load=load_now,
        )
        return per_batch
    finally:
        engine.close()


# -- 2. HTTP ---------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_command() -> list[str]:
    script = Path(sys.executable).with_name("tai-graph")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from tai_graph.cli import main; main()"]


@contextlib.contextmanager
def tai_server(data_dir: Path, log_path: Path) -> Iterator[tuple[str, str]]:
    """A ``tai-graph serve`` subprocess on 127.0.0.1; yields (base URL, admin key); always stopped."""
    import httpx

    port = free_port()
    admin_key = secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAI_")}  # defaults, like the library run
    env["TAI_ADMIN_KEY"] = admin_key
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH")) if p
    )  # this tree's code
    cmd = [
        *server_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT))
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            with httpx.Client(timeout=5.0) as client:
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError(f"the server exited ({proc.returncode}); see {log_path}")
                    try:
                        if client.get(f"{url}/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"the server did not answer /healthz in {SERVER_START_TIMEOUT_S} s"
                        )
                    time.sleep(0.1)
            yield url, admin_key
        finally:
            stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process we started (by its pid), then SIGKILL if it does not go."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


def new_customer(url: str, admin_key: str, customer_id: str) -> str:
    import httpx

    answer = httpx.post(
        f"{url}/v1/tenants",
        json={"customer_id": customer_id},
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=30.0,
    )
    answer.raise_for_status()
    key: str = answer.json()["api_key"]
    return key


_CREATED = re.compile(rb'"created":(\d+)')


def post_batches(
    url: str, api_key: str, bodies: list[bytes], connections: int, budget_s: float
) -> dict[str, Any]:
    """All bodies through ``POST /v1/events`` over ``connections`` keep-alive connections."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    lock = threading.Lock()
    next_index = iter(range(len(bodies)))
    latencies: list[float] = []
    created = [0]
    errors: list[str] = []
    deadline = time.monotonic() + budget_s

    def worker() -> None:
        with httpx.Client(headers=headers, timeout=HTTP_TIMEOUT_S) as client:
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None or time.monotonic() > deadline or errors:
                    return
                t0 = time.perf_counter()
                try:
                    answer = client.post(f"{url}/v1/events", content=bodies[index])
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(f"batch {index}: {exc!r}")
                    return
                elapsed = time.perf_counter() - t0
                found = _CREATED.search(answer.content[:400])
                with lock:
                    latencies.append(elapsed)
                    if answer.status_code != 200 or found is None:
                        errors.append(f"batch {index}: HTTP {answer.status_code} {answer.text[:300]}")
                    else:
                        created[0] += int(found.group(1))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"wall": wall, "latencies": latencies, "created": created[0], "errors": errors}


def post_singles(url: str, api_key: str, bodies: list[bytes], budget_s: float) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    latencies: list[float] = []
    created = 0
    errors: list[str] = []
    deadline = time.monotonic() + budget_s
    with httpx.Client(headers=headers, timeout=HTTP_TIMEOUT_S) as client:
        for index, body in enumerate(bodies):
            if time.monotonic() > deadline:
                errors.append(f"time budget of {budget_s:.0f} s spent after {index} requests")
                break
            t0 = time.perf_counter()
            answer = client.post(f"{url}/v1/events", content=body)
            latencies.append(time.perf_counter() - t0)
            if answer.status_code == 201:
                created += 1
            elif len(errors) < 5:
                errors.append(f"event {index}: HTTP {answer.status_code} {answer.text[:200]}")
    return {"latencies": latencies, "created": created, "errors": errors}


def http_floor(url: str, requests: int) -> list[float]:
    """Latencies of ``GET /healthz`` (one trivial store query) on a keep-alive connection."""
    import httpx

    latencies: list[float] = []
    with httpx.Client(timeout=HTTP_TIMEOUT_S) as client:
        for _ in range(requests):
            t0 = time.perf_counter()
            client.get(f"{url}/healthz").raise_for_status()
            latencies.append(time.perf_counter() - t0)
    return latencies


def run_http(work: Workload, tmp: Path, figures: Figures, connection_counts: list[int]) -> None:
    say("\n== 2. HTTP: tai-graph serve subprocess on 127.0.0.1, httpx client ==")
    budget = max(300.0, len(work.events) / 100)  # never below 100 events/s
    for n, connections in enumerate(connection_counts):
        data_dir = tmp / f"http-{connections}"
        with tai_server(data_dir, tmp / f"server-{connections}.log") as (url, admin_key):
            api_key = new_customer(url, admin_key, work.customer_id)
            load_before = load_avg()
            run = post_batches(url, api_key, work.bodies, connections, budget)
            load_after = load_avg()
            lat = run["latencies"]
            rate = run["created"] / run["wall"]
            say(
                f"batches, {connections} connection(s): {run['created']:,} created in {len(lat)} requests "
                f"of {work.batch}: {rate:,.0f} events/s; request latency p50 {ms(percentile(lat, 50))} ms, "
                f"p99 {ms(percentile(lat, 99))} ms   [load {load_after}]"
            )
            for error in run["errors"][:5]:
                say(f"  ERROR {error}")
            figures.put(
                f"http_batch_{connections}conn",
                events=len(work.events),
                created=run["created"],
                requests=len(lat),
                batch=work.batch,
                events_per_s=round(rate),
                p50_ms=round(percentile(lat, 50) * 1000, 2),
                p99_ms=round(percentile(lat, 99) * 1000, 2),
                errors=len(run["errors"]),
                load_before=load_before,
                load_after=load_after,
            )
            if n == 0:  # single events on the first server, whose store now holds the batches
                single = post_singles(url, api_key, work.single_http, budget)
                lat = single["latencies"]
                load_now = load_avg()
                say(
                    f"single events, 1 keep-alive connection: {single['created']:,} of {len(lat):,} created: "
                    f"p50 {ms(percentile(lat, 50))} ms, p99 {ms(percentile(lat, 99))} ms, "
                    f"max {ms(max(lat))} ms ({len(lat) / sum(lat):,.0f} requests/s)   [load {load_now}]"
                )
                for error in single["errors"][:5]:
                    say(f"  ERROR {error}")
                floor = http_floor(url, min(500, len(work.single_http)))
                say(
                    f"  for scale, GET /healthz on the same kind of connection: p50 "
                    f"{ms(percentile(floor, 50))} ms, p99 {ms(percentile(floor, 99))} ms"
                )
                figures.put(
                    "http_single",
                    requests=len(lat),
                    created=single["created"],
                    p50_ms=round(percentile(lat, 50) * 1000, 3),
                    p99_ms=round(percentile(lat, 99) * 1000, 3),
                    errors=len(single["errors"]),
                    healthz_p50_ms=round(percentile(floor, 50) * 1000, 3),
                    healthz_p99_ms=round(percentile(floor, 99) * 1000, 3),
                    load=load_now,
                )
        shutil.rmtree(data_dir, ignore_errors=True)


# -- 3. pyshacl ------------------------------------------------------------------------------------
def run_pyshacl(work: Workload, figures: Figures, batches: int, singles: int) -> None:
    say("\n== 3. naive pipeline: pyshacl over an rdflib graph (validation only, no store) ==")
    logging.getLogger("rdflib").setLevel(logging.ERROR)
    engine = Engine(Settings())
    registry = engine.registry
    size = work.batch
    total = len(work.events)

    def timed(label: str, key: str, run: Callable[[], int], count: int) -> None:
        t0 = time.perf_counter()
        violations = run()
        seconds = time.perf_counter() - t0
        rate = count / seconds
        load_now = load_avg()
        say(
            f"{label}: {rate:,.1f} events/s on a sample of {count:,} events ({seconds:,.1f} s, "
            f"{violations} violations); {total:,} events would take ~{total / rate / 60:,.1f} min   "
            f"[load {load_now}]"
        )
        figures.put(
            key, sample_events=count, events_per_s=round(rate, 1), seconds=round(seconds, 2), load=load_now
        )

    sample = work.parsed(0, min(total, batches * size))

    def in_batches() -> int:
        return sum(
            len(validate_with_pyshacl(sample[s : s + size], registry, work.customer_id))
            for s in range(0, len(sample), size)
        )

    timed(f"pyshacl, batches of {size}", "pyshacl_batch", in_batches, len(sample))
    one_by_one = sample[:singles]

    def single() -> int:
        return sum(len(validate_with_pyshacl([raw], registry, work.customer_id)) for raw in one_by_one)

    timed("pyshacl, one event at a time", "pyshacl_single", single, len(one_by_one))

    if importlib.util.find_spec("oxrdflib") is None:
        say("pyshacl over a pyoxigraph-backed rdflib graph: skipped (the oxrdflib plugin is not installed)")
        figures.put("pyshacl_oxigraph_batch", skipped="oxrdflib not installed")
        engine.close()
        return
    from pyshacl import validate
    from rdflib import RDF, Graph

    from tai_graph.shacl_reference import SH, validation_graph

    def oxigraph_batches() -> int:
        """As ``validate_with_pyshacl``, with the data graph copied into an oxrdflib store."""
        found = 0
        shapes = registry.shapes_graph
        for s in range(0, len(sample), size):
            graph = Graph(store="Oxigraph")
            graph += validation_graph(sample[s : s + size], registry)
            _, report, _ = validate(
                graph, shacl_graph=shapes, ont_graph=shapes, inference="none", advanced=False
            )
            found += len(set(report.subjects(RDF.type, SH.ValidationResult)))
        return found

    try:
        timed(
            f"pyshacl on an oxrdflib graph, batches of {size}",
            "pyshacl_oxigraph_batch",
            oxigraph_batches,
            len(sample),
        )
    except Exception as exc:  # an optional plugin: report, do not abort the run
        say(f"pyshacl over a pyoxigraph-backed rdflib graph: failed ({exc!r})")
        figures.put("pyshacl_oxigraph_batch", skipped=f"failed: {exc!r}")
    engine.close()


# -- 4. stages -------------------------------------------------------------------------------------
def report_stages(per_batch: list[dict[str, float]], batch: int, figures: Figures) -> None:
    say(f"\n== 4. where a batch of {batch} goes (library run, mean per batch) ==")
    n = len(per_batch)
    means = {s: sum(b.get(s, 0.0) for b in per_batch) / n for s in STAGES}
    total = sum(means.values())
    say(f"{'stage':<14}{'ms/batch':>10}{'share':>8}{'ceiling ev/s':>14}  what")
    for stage in STAGES:
        m = means[stage]
        if m == 0.0 and stage == "flush":
            continue
        ceiling = f"{batch / m:,.0f}" if m > 0 else "-"
        say(f"{stage:<14}{m * 1000:>10.1f}{m / total:>8.0%}{ceiling:>14}  {STAGE_NOTES[stage]}")
    say(f"{'sum':<14}{total * 1000:>10.1f}{'':>8}{batch / total:>14,.0f}  (one core, no overlap)")
    tenth = max(1, n // 10)
    upd_first = sum(b.get("store_update", 0.0) for b in per_batch[:tenth]) / tenth
    upd_last = sum(b.get("store_update", 0.0) for b in per_batch[-tenth:]) / tenth
    say(f"store_update: first 10% of batches {ms(upd_first)} ms, last 10% {ms(upd_last)} ms")
    python_side = total - means["store_update"] - means["lock_wait"]
    say(
        f"the store write releases the GIL: with perfect overlap of the Python stages "
        f"({python_side * 1000:.0f} ms) and the store write ({means['store_update'] * 1000:.0f} ms) on two "
        f"cores the ceiling is ~{batch / max(python_side, means['store_update']):,.0f} events/s"
    )
    figures.put(
        "stages_ms_per_batch",
        **{s: round(means[s] * 1000, 2) for s in STAGES},
        sum=round(total * 1000, 2),
        store_update_first_tenth=round(upd_first * 1000, 2),
        store_update_last_tenth=round(upd_last * 1000, 2),
    )


# -- summary ---------------------------------------------------------------------------------------
def summary(figures: Figures) -> None:
    d = figures.data
    say("\n== summary ==")
    rows: list[tuple[str, str, str]] = []

    def row(label: str, key: str, field: str, unit: str) -> None:
        section = d.get(key)
        if section and field in section:
            load = section.get("load_after") or section.get("load") or ""
            rows.append((label, f"{section[field]:,} {unit}", load))

    row("library, batches: throughput", "library_batch", "events_per_s", "events/s")
    row("library, batches: p50 latency", "library_batch", "p50_ms", "ms")
    row("library, batches: p99 latency", "library_batch", "p99_ms", "ms")
    row("library, single event: p50", "library_single", "p50_ms", "ms")
    row("library, single event: p99", "library_single", "p99_ms", "ms")
    for key in sorted(k for k in d if k.startswith("http_batch_")):
        conns = key.removeprefix("http_batch_").removesuffix("conn")
        row(f"HTTP batches, {conns} conn: throughput", key, "events_per_s", "events/s")
        row(f"HTTP batches, {conns} conn: p99 latency", key, "p99_ms", "ms")
    row("HTTP single event: p50", "http_single", "p50_ms", "ms")
    row("HTTP single event: p99", "http_single", "p99_ms", "ms")
    row("pyshacl, batches", "pyshacl_batch", "events_per_s", "events/s")
    row("pyshacl, one at a time", "pyshacl_single", "events_per_s", "events/s")
    row("pyshacl on oxrdflib, batches", "pyshacl_oxigraph_batch", "events_per_s", "events/s")
    width = max(len(r[0]) for r in rows) if rows else 10
    say(f"{'figure':<{width}}  {'value':>18}  load avg (1 5 15 min)")
    for label, value, load in rows:
        say(f"{label:<{width}}  {value:>18}  {load}")
    http1 = d.get("http_batch_1conn", {}).get("events_per_s")
    single = d.get("http_single", {}).get("p99_ms")
    if http1 is not None:
        say(
            f"target >= 10,000 events/s through HTTP batches: {'met' if http1 >= 10_000 else 'NOT met'} ({http1:,})"
        )
    if single is not None:
        say(f"target single-event POST p99 <= 20 ms: {'met' if single <= 20 else 'NOT met'} ({single} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=None, help="events per batch run (default 100,000)")
    parser.add_argument("--batch", type=int, default=1000, help="events per batch (default 1,000)")
    parser.add_argument("--singles", type=int, default=None, help="single-event requests (default 2,000)")
    parser.add_argument(
        "--quick", action="store_true", help="10,000 events, 300 singles, small pyshacl sample"
    )
    parser.add_argument("--seed", type=int, default=7, help="demo dataset seed")
    parser.add_argument(
        "--pyshacl-batches", type=int, default=None, help="pyshacl sample, in batches (default 2)"
    )
    parser.add_argument(
        "--pyshacl-singles", type=int, default=None, help="pyshacl one-at-a-time sample (default 40)"
    )
    parser.add_argument("--connections", default="1,2", help="HTTP client connections to try (default 1,2)")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-pyshacl", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the library batches")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args()
    events = args.events or (10_000 if args.quick else 100_000)
    singles = args.singles or (300 if args.quick else 2_000)
    pyshacl_batches = args.pyshacl_batches or (1 if args.quick else 2)
    pyshacl_singles = args.pyshacl_singles or (10 if args.quick else 40)
    if events < 1 or not 1 <= args.batch <= 50_000 or singles < 1:
        parser.error("--events and --singles must be >= 1, --batch 1-50,000")
    connection_counts = [int(c) for c in args.connections.split(",") if c.strip()]

    started = time.perf_counter()
    figures = Figures()
    import pyoxigraph

    say(
        f"TAI Graph ingest benchmark: Python {platform.python_version()}, pyoxigraph {pyoxigraph.__version__}, "
        f"{os.cpu_count()} cores, {events:,} events in batches of {args.batch:,}, {singles:,} singles   "
        f"[load {load_avg()}]"
    )
    work = Workload(events, args.batch, singles, args.seed)
    say(
        f"workload: the demo mix ({work.mix_size:,} distinct events, seed {args.seed}) re-numbered to {events:,} ids\n"
    )
    figures.put(
        "run",
        events=events,
        batch=args.batch,
        singles=singles,
        cores=os.cpu_count(),
        python=platform.python_version(),
        pyoxigraph=pyoxigraph.__version__,
        load_start=load_avg(),
    )
    tmp = Path(tempfile.mkdtemp(prefix="tai-ingest-bench-"))
    try:
        per_batch = run_library(work, tmp / "library", figures, args.profile)
        shutil.rmtree(tmp / "library", ignore_errors=True)
        if not args.skip_http:
            run_http(work, tmp, figures, connection_counts)
        if not args.skip_pyshacl:
            run_pyshacl(work, figures, pyshacl_batches, pyshacl_singles)
        report_stages(per_batch, args.batch, figures)
        summary(figures)
    finally:
        if args.keep:
            say(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    figures.put("run", seconds=round(time.perf_counter() - started, 1), load_end=load_avg())
    print(json.dumps({"benchmark": "ingest", **figures.data}, separators=(",", ":")))


if __name__ == "__main__":
    main()
