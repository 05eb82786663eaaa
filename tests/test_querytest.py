"""The data-driven query cases (queries/tests/<name>/*.json) and the runner itself."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from query_support import ROOT, DirectEngine, engine_factories

from tai_graph.queries import QueryRegistry
from tai_graph.querytest import CaseResult, format_results, run_query_tests

QUERIES = ROOT / "queries"
ENGINES = engine_factories()


@pytest.fixture(scope="module")
def registry() -> QueryRegistry:
    return QueryRegistry.load([QUERIES])


@pytest.fixture(scope="module")
def reference() -> QueryRegistry:
    return QueryRegistry.load([ROOT / "benchmarks" / "raw_queries"])


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_shipped_case_passes_and_matches_the_raw_reference(
    registry: QueryRegistry, reference: QueryRegistry, engine: str
) -> None:
    results = run_query_tests(registry, [QUERIES / "tests"], ENGINES[engine], reference=reference)
    assert {r.query for r in results} == set(registry.names)
    assert all(r.passed for r in results), format_results(results)


def _case(tmp_path: Path, name: str, case: str, change: Callable[[dict[str, Any]], None]) -> Path:
    spec = json.loads((QUERIES / "tests" / name / f"{case}.json").read_text())
    change(spec)
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{case}.json").write_text(json.dumps(spec))
    return tmp_path


def _run(registry: QueryRegistry, tests: Path) -> list[CaseResult]:
    return run_query_tests(registry, [tests], DirectEngine)


def test_a_wrong_expectation_fails(tmp_path: Path, registry: QueryRegistry) -> None:
    tests = _case(tmp_path, "manual_hours", "period_edges", lambda s: s["expect"].update(value="31"))
    [result] = _run(registry, tests)
    assert not result.passed
    assert result.failures == ['row 1: value expected "31", got 30']
    assert "FAIL manual_hours/period_edges" in format_results([result])


def test_row_count_and_unknown_column_fail(tmp_path: Path, registry: QueryRegistry) -> None:
    tests = _case(tmp_path, "errors_by_type", "period_edges", lambda s: s["expect"].pop())
    tests = _case(tmp_path, "orders", "period_edges", lambda s: s["expect"].update(revenue="1"))
    by_query = {r.query: r for r in _run(registry, tests)}
    assert by_query["errors_by_type"].failures[0].startswith("expected 4 row(s), got 5")
    assert "no column 'revenue'" in by_query["orders"].failures[0]


def test_numbers_compare_exactly_unless_marked_approximate(tmp_path: Path, registry: QueryRegistry) -> None:
    # stockout rate of period_edges is 56.85 / 317.75 = 0.17891424075531077891…
    for expected, passes in [
        ("~0.1789", True),
        ("0.1789", False),
        ("~0.1788", False),
        ("~0.178914240755", True),
    ]:
        tests = _case(
            tmp_path, "stockout_miss_rate", "period_edges", lambda s, e=expected: s["expect"].update(value=e)
        )
        [result] = _run(registry, tests)
        assert result.passed is passes, (expected, result.failures)


def test_null_expects_an_unbound_value(tmp_path: Path, registry: QueryRegistry) -> None:
    tests = _case(tmp_path, "error_rate", "empty", lambda s: s["expect"].update(value="0"))
    [result] = _run(registry, tests)
    assert result.failures == ['row 1: value expected "0", got null']


def test_malformed_cases_fail_without_raising(tmp_path: Path, registry: QueryRegistry) -> None:
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "typo.json").write_text('{"parameters": {}, "expect": {}, "event": []}')
    (tmp_path / "orders" / "broken.json").write_text("{")
    (tmp_path / "orders" / "period.json").write_text(
        '{"parameters": {"from": "2026-01-02T00:00:00", "to": "2026-01-03"}, "events": [], "expect": {}}'
    )
    (tmp_path / "no_such_query").mkdir()
    shutil.copy(QUERIES / "tests" / "orders" / "empty.json", tmp_path / "no_such_query" / "empty.json")
    results = {f"{r.query}/{r.case}": r for r in _run(registry, tmp_path)}
    assert "unknown key(s) ['event']" in results["orders/typo"].failures[0]
    assert "cannot read the case file" in results["orders/broken"].failures[0]
    assert "zone" in results["orders/period"].failures[0]
    assert "no named query 'no_such_query'" in results["no_such_query/empty"].failures[0]
    assert not any(r.passed for r in results.values())


def test_names_limit_the_run(registry: QueryRegistry) -> None:
    results = run_query_tests(registry, [QUERIES / "tests"], DirectEngine, names={"orders"})
    assert {r.query for r in results} == {"orders"} and all(r.passed for r in results)


@pytest.mark.skipif("engine" not in ENGINES, reason="the real Engine is not available")
def test_a_refused_fixture_event_fails_the_case(tmp_path: Path, registry: QueryRegistry) -> None:
    def negative_amount(spec: dict[str, Any]) -> None:
        spec["events"][0]["data"]["amount"] = "-1"

    tests = _case(tmp_path, "orders", "empty", negative_amount)
    [result] = run_query_tests(registry, [tests], ENGINES["engine"])
    assert not result.passed and result.result is None
    assert result.failures[0] == "batch 1: event 'E0' refused (data.amount must be >= 0, got \"-1\")"


def test_a_reference_that_disagrees_fails_the_case(tmp_path: Path, registry: QueryRegistry) -> None:
    raw = (ROOT / "benchmarks" / "raw_queries" / "orders.rq").read_text()
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "orders.rq").write_text(raw.replace("?ts < ?to", "?ts <= ?to"))
    reference = QueryRegistry.load([tmp_path / "raw"])
    results = run_query_tests(
        registry, [QUERIES / "tests"], DirectEngine, reference=reference, names={"orders"}
    )
    failed = {r.case for r in results if not r.passed}
    assert failed == {
        "period_edges",
        "cut_hours",
        "whole_days",
        "whole_months",
        "one_day",
        "late_events",
        "channel",
    }
    assert all(
        "differs from the raw-events reference orders" in r.failures[0] for r in results if not r.passed
    )
