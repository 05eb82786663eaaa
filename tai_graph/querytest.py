"""Data-driven tests for named queries: fixture events in, expected KPI rows out, no Python needed.

A test case is a JSON file ``<tests dir>/<query name>/<case>.json`` (see ``docs/queries.md``)::

    {
      "description": "an event exactly at 'from' counts, one exactly at 'to' does not",
      "parameters": {"from": "2026-01-05T01:00:00-05:00", "to": "2026-01-08T00:00:00Z"},
      "events": [ {"event_id": "W1", "timestamp": "…", "transaction_type": "work_log", "data": {…}} ],
      "expect": {"value": "7.5", "entries": "3"}
    }

``events`` is one batch; ``batches`` (a list of batches, ingested in order) replaces it to test late
events. ``expect`` is the single expected row (columns not named are not checked) or a list of
rows, compared in order and in number. Numbers compare as exact decimals (``"0.25"`` equals
``0.250``); a number written ``"~0.3333"`` matches a result that rounds (half-even) to it at that
many digits, for rates such as 1/3. ``null`` expects an unbound cell; datetimes compare as
instants.

:func:`run_query_tests` loads each case's events into a fresh engine (``make_engine`` is injected:
the CLI passes ``lambda: Engine(Settings())``) and runs the query; given a ``reference`` registry
(``benchmarks/raw_queries``: the same KPIs over raw events only), it also checks the named query
returns exactly what the reference query returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from tai_graph.errors import InvalidInput, TaiGraphError
from tai_graph.model import IngestResult, format_utc
from tai_graph.periods import parse_instant, parse_period
from tai_graph.queries import QueryRegistry, QueryResult, Value, bind, run
from tai_graph.store.base import GraphStore, QueryScope

__all__ = ["CaseEngine", "CaseResult", "case_dirs", "format_results", "run_query_tests"]

_CASE_KEYS = frozenset({"description", "customer_id", "parameters", "events", "batches", "expect"})
DEFAULT_CUSTOMER = "querytest"


class CaseEngine(Protocol):
    """What the runner needs from an engine (:class:`tai_graph.engine.Engine` has it)."""

    store: GraphStore

    @property
    def event_types(self) -> Sequence[str]:
        """The engine's event type names (what ``"*"`` in a slice list stands for)."""

    def create_tenant(self, customer_id: str, /) -> object: ...

    def ingest(self, customer_id: str, items: Sequence[Any], *, atomic: bool = False) -> IngestResult: ...

    def scope(self, customer_id: str) -> QueryScope: ...


@dataclass(slots=True)
class CaseResult:
    """Outcome of one test case. ``failures`` is empty when it passed."""

    query: str
    case: str
    path: Path
    description: str = ""
    failures: list[str] = field(default_factory=list)
    result: QueryResult | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        head = f"{'PASS' if self.passed else 'FAIL'} {self.query}/{self.case}"
        return "\n".join([head, *(f"    {f}" for f in self.failures)])


def _case_files(test_dirs: Iterable[Path], names: Collection[str] | None) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for folder in test_dirs:
        if not folder.is_dir():
            continue
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            if names is None or sub.name in names:
                out += [(sub.name, f) for f in sorted(sub.glob("*.json"))]
    return out


def run_query_tests(
    registry: QueryRegistry,
    test_dirs: Sequence[Path],
    make_engine: Callable[[], CaseEngine],
    *,
    reference: QueryRegistry | None = None,
    names: Collection[str] | None = None,
) -> list[CaseResult]:
    """Run every case under ``test_dirs`` (``<dir>/<query name>/*.json``), each on a fresh engine.

    ``names`` limits the run to those queries. A case whose file is malformed, whose query does
    not exist, whose events are refused, or whose engine fails, fails with a message saying so;
    nothing is raised.
    """
    results: list[CaseResult] = []
    for name, path in _case_files(test_dirs, names):
        case = CaseResult(query=name, case=path.stem, path=path)
        try:
            _run_case(case, registry, make_engine, reference)
        except TaiGraphError as exc:
            case.failures.append(f"{type(exc).__name__}: {exc.message}")
        except Exception as exc:  # an engine bug fails this case, not the whole run
            case.failures.append(f"internal error: {type(exc).__name__}: {exc}")
        results.append(case)
    return results


def case_dirs(query_dirs: Sequence[Path]) -> list[Path]:
    """Where the cases of these query folders live: ``tests/`` inside each one."""
    return [Path(d) / "tests" for d in query_dirs]


def _load_case(path: Path) -> dict[str, Any]:
    try:
        spec = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read the case file: {exc}") from None
    if not isinstance(spec, dict):
        raise InvalidInput("a case file holds one JSON object")
    unknown = sorted(set(spec) - _CASE_KEYS)
    if unknown:
        raise InvalidInput(f"unknown key(s) {unknown}; a case has {sorted(_CASE_KEYS)}")
    if "expect" not in spec or not isinstance(spec.get("parameters"), dict):
        raise InvalidInput("a case needs 'parameters' (with 'from' and 'to') and 'expect'")
    if ("events" in spec) == ("batches" in spec):
        raise InvalidInput("a case has either 'events' (one batch) or 'batches' (several), not both")
    batches = spec["batches"] if "batches" in spec else [spec["events"]]
    if not isinstance(batches, list) or not all(
        isinstance(b, list) and all(isinstance(e, dict) for e in b) for b in batches
    ):
        raise InvalidInput("'events' is a list of event objects; 'batches' a list of such lists")
    spec["batches"] = batches
    return spec


def _run_case(
    case: CaseResult,
    registry: QueryRegistry,
    make_engine: Callable[[], CaseEngine],
    reference: QueryRegistry | None,
) -> None:
    spec = _load_case(case.path)
    case.description = str(spec.get("description", ""))
    query = registry.get(case.query)
    params = {str(k): str(v) for k, v in spec["parameters"].items()}
    if "from" not in params or "to" not in params:
        raise InvalidInput("'parameters' must give 'from' and 'to'")
    period = parse_period(params["from"], params["to"])
    customer = str(spec.get("customer_id", DEFAULT_CUSTOMER))
    engine = make_engine()
    try:
        bound = bind(query, params, period, event_types=engine.event_types)
        engine.create_tenant(customer)
        for number, batch in enumerate(spec["batches"], start=1):
            events = [{**e, "customer_id": e.get("customer_id", customer)} for e in batch]
            outcome = engine.ingest(customer, events, atomic=True)
            refused = [o for o in outcome.outcomes if o.status not in ("created", "duplicate")]
            for o in refused:
                why = "; ".join(
                    v.message if v.field in v.message else f"{v.field}: {v.message}" for v in o.violations
                )
                why = why or o.message or o.status
                case.failures.append(f"batch {number}: event {o.event_id!r} refused ({why})")
        if case.failures:
            return
        scope = engine.scope(customer)
        case.result = run(engine.store, scope, bound)
        case.failures += _compare(spec["expect"], case.result)
        if reference is not None and query.name in reference:
            want = run(
                engine.store,
                scope,
                bind(reference.get(query.name), params, period, event_types=engine.event_types),
            )
            if (want.columns, want.rows) != (case.result.columns, case.result.rows):
                case.failures.append(
                    f"differs from the raw-events reference {want.name} ({reference.get(query.name).path}):"
                    f" {_show(case.result.rows)} != {_show(want.rows)}"
                )
    finally:
        close = getattr(engine, "close", None)
        if callable(close):
            close()


def _compare(expect: Any, result: QueryResult) -> list[str]:
    rows: list[Any] = [expect] if isinstance(expect, dict) else expect
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return ["'expect' must be an object (one row) or a list of objects (all rows)"]
    failures: list[str] = []
    if len(rows) != len(result.rows):
        failures.append(f"expected {len(rows)} row(s), got {len(result.rows)}: {_show(result.rows)}")
        return failures
    for i, (wanted, got) in enumerate(zip(rows, result.rows, strict=True)):
        for column, expected in wanted.items():
            if column not in result.columns:
                failures.append(f"row {i + 1}: no column {column!r} (columns: {result.columns})")
            elif not _matches(expected, got.get(column)):
                shown = format(expected, "f") if isinstance(expected, Decimal) else json.dumps(expected)
                failures.append(f"row {i + 1}: {column} expected {shown}, got {_show_value(got.get(column))}")
    return failures


def _matches(expected: Any, got: Value) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    if isinstance(got, bool):
        return expected is got or str(expected).lower() == str(got).lower()
    if isinstance(got, Decimal):
        text = str(expected).strip()
        approximate = text.startswith("~")
        try:
            want = Decimal(text[1:] if approximate else text)
        except InvalidOperation:
            return False
        exponent = want.as_tuple().exponent
        if approximate and isinstance(exponent, int) and got.is_finite():
            got = got.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)
        return got == want
    if isinstance(got, datetime):
        try:
            return parse_instant(str(expected), parameter="expect") == got
        except InvalidInput:
            return False
    if isinstance(got, date):
        return str(expected) == got.isoformat()
    return isinstance(expected, str) and expected == got


def _show_value(value: Value) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return "null" if value is None else str(value)


def _show(rows: list[dict[str, Value]]) -> str:
    return json.dumps([{k: _show_value(v) for k, v in r.items()} for r in rows])


def format_results(results: Sequence[CaseResult]) -> str:
    """Human-readable report: failing cases in full, then a one-line summary."""
    lines = [str(r) for r in results if not r.passed]
    failed = sum(1 for r in results if not r.passed)
    lines.append(f"{len(results) - failed} passed, {failed} failed ({len(results)} cases)")
    return "\n".join(lines)
