"""Helpers shared by the API tests: tenants, events, problem assertions, "nothing written" checks."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tai_graph.engine import Engine

ADMIN_KEY = "admin-" + "k" * 40
MAX_BODY = 256 * 1024
PROBLEM_BASE = "https://w3id.org/tai-graph/problems/"
GRAPH_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
SPARQL_JSON = "application/sparql-results+json"


@dataclass
class LiveServer:
    """A running server: its base URL and the engine behind it."""

    url: str
    engine: Engine
    data_dir: Path

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").split(":")
        return host, int(port)


@dataclass
class Tenant:
    """A customer created through the API, with a client that sends its key."""

    customer_id: str
    api_key: str
    api_secret: str
    client: httpx.Client


_ids = itertools.count(1)


def new_tenant(server: LiveServer, prefix: str = "cust") -> Tenant:
    """Create a customer through ``POST /v1/tenants`` with the admin key."""
    customer_id = f"{prefix}_{next(_ids):04d}"
    resp = httpx.post(
        server.url + "/v1/tenants",
        json={"customer_id": customer_id, "name": f"Customer {customer_id}"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    client = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {doc['api_key']}"}, timeout=30
    )
    return Tenant(customer_id, doc["api_key"], doc["api_secret"], client)


# -- events -------------------------------------------------------------------------------------


def order(event_id: str, amount: Any = "19.99", **data: Any) -> dict[str, Any]:
    """A valid order event."""
    return {
        "event_id": event_id,
        "timestamp": data.pop("timestamp", "2026-01-19T10:35:22Z"),
        "transaction_type": "order",
        "data": {
            "order_id": f"O-{event_id}",
            "channel": "amazon",
            "amount": amount,
            "status": "fulfilled",
            **data,
        },
    }


def work_log(event_id: str, hours: Any = "1.5") -> dict[str, Any]:
    """A valid work_log event (timestamp with an offset)."""
    return {
        "event_id": event_id,
        "timestamp": "2026-01-20T08:00:00+02:00",
        "transaction_type": "work_log",
        "data": {"activity": "sku_reconciliation", "hours": hours},
    }


def ndjson(events: list[Any]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def post_json(client: httpx.Client, doc: Any, **params: str) -> httpx.Response:
    return client.post(
        "/v1/events", content=json.dumps(doc), headers={"Content-Type": "application/json"}, params=params
    )


# -- assertions ---------------------------------------------------------------------------------


def assert_problem(
    resp: httpx.Response, status: int, code: str, *, field: str | None = None, rule: str | None = None
) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code (and an error on field/rule)."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].split(";")[0] == "application/problem+json", resp.headers
    doc: dict[str, Any] = resp.json()
    assert doc["type"] == PROBLEM_BASE + code, doc
    assert doc["status"] == status
    assert doc["code"] == code
    assert isinstance(doc["title"], str) and doc["title"]
    assert isinstance(doc["detail"], str) and doc["detail"]
    if field is not None or rule is not None:
        found = [(e["field"], e["rule"]) for e in doc.get("errors", [])]
        assert any((field is None or f == field) and (rule is None or r == rule) for f, r in found), (
            f"no error on {field}/{rule}: {found}"
        )
    return doc


def triple_count(t: Tenant) -> int:
    """How many triples the tenant's graph holds (through the SPARQL endpoint)."""
    resp = t.client.get("/v1/sparql", params={"query": GRAPH_COUNT}, headers={"Accept": SPARQL_JSON})
    assert resp.status_code == 200, resp.text
    return int(resp.json()["results"]["bindings"][0]["n"]["value"])


def receipt_count(t: Tenant) -> int:
    """How many receipts the tenant's audit trail holds."""
    resp = t.client.get("/v1/audit-trail", params={"limit": "1000"})
    assert resp.status_code == 200, resp.text
    return int(resp.json()["count"])


def assert_nothing_written(t: Tenant, server: LiveServer) -> None:
    """A fresh tenant still has no receipt and no triple, and the server is alive."""
    assert receipt_count(t) == 0
    assert triple_count(t) == 0
    assert httpx.get(server.url + "/healthz").status_code == 200
