"""Query limits through HTTP: too many rows → 413, past the time limit → 504, no free slot → 503
with Retry-After (a server of its own with tight limits)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tai_graph.api import create_app
from tai_graph.config import Settings
from tai_graph.engine import Engine

from .conftest import start_uvicorn
from .support import ADMIN_KEY, LiveServer, Tenant, assert_problem, new_tenant

VALUES = " ".join(str(i) for i in range(300))
#: 27 million rows to count: seconds of work, far past the 0.3 s limit
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(f"VALUES ?{v} {{ {VALUES} }}" for v in "abc") + " }"


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("tight"),
        admin_key=ADMIN_KEY,
        query_timeout_s=0.3,
        query_result_limit=10,
        max_concurrent_queries=1,
    )
    engine = Engine(settings)
    uv, thread, url = start_uvicorn(create_app(engine))
    try:
        yield LiveServer(url, engine, settings.data_dir)  # type: ignore[arg-type]
    finally:
        uv.should_exit = True
        thread.join(timeout=30)
        engine.close()


@pytest.fixture
def customer(tight: LiveServer) -> Iterator[Tenant]:
    t = new_tenant(tight)
    yield t
    t.client.close()


def test_too_many_rows_is_413(customer: Tenant) -> None:
    query = "SELECT ?a WHERE { VALUES ?a { " + " ".join(str(i) for i in range(20)) + " } }"
    resp = customer.client.get("/v1/sparql", params={"query": query})
    assert_problem(resp, 413, "too-large")


def test_timeout_is_504_and_a_busy_endpoint_is_503(customer: Tenant, tight: LiveServer) -> None:
    slow = customer.client.get("/v1/sparql", params={"query": SLOW})
    doc = assert_problem(slow, 504, "query-timeout")
    assert doc["limit_s"] == 0.3
    # the timed-out evaluation still holds the only slot for a while: the next query must wait
    busy = customer.client.get("/v1/sparql", params={"query": "ASK {}"})
    assert_problem(busy, 503, "unavailable")
    assert busy.headers["retry-after"].isdigit()
    assert httpx.get(tight.url + "/healthz").status_code == 200
