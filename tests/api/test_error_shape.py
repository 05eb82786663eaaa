"""ONE error shape (RFC 9457 problem+json) for every error the API can answer — pinned here."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .support import ADMIN_KEY, PROBLEM_BASE, LiveServer, Tenant, order, post_json

CORE = {"type", "title", "status", "detail", "code"}
OPTIONAL = {"instance", "errors", "results", "summary", "limit", "available"}
ERROR_KEYS = {"event_id", "field", "rule", "value", "message"}


def _all_errors(server: LiveServer, t: Tenant) -> list[httpx.Response]:
    c = t.client
    post_json(c, order("E1"))
    anon = httpx.Client(base_url=server.url)
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    json_ct = {"Content-Type": "application/json"}
    out = [
        anon.get("/v1/audit-trail"),  # 401
        anon.get("/v1/events/E1", headers={"Authorization": "Bearer wrong"}),  # 401
        c.post("/v1/tenants", json={"customer_id": "zz"}),  # 403
        anon.get("/v1/events/E1", headers=admin),  # 403
        anon.post("/v1/tenants", json={"customer_id": t.customer_id}, headers=admin),  # 409
        c.get("/v1/events/missing"),  # 404
        c.get("/v1/receipts/missing/canonical"),  # 404
        anon.get("/nowhere"),  # 404 routing
        anon.put("/v1/events"),  # 405
        c.post("/v1/events", content=b"{", headers=json_ct),  # 400
        c.post("/v1/events", content=b"x", headers={"Content-Type": "text/csv"}),  # 415
        c.post("/v1/events", content=json.dumps(order("E2", amount="x")), headers=json_ct),  # 422
        post_json(c, order("E1", amount="2")),  # 409
        post_json(c, [order("E3"), {"event_id": "E4"}], atomic="true"),  # 422 atomic
        c.post("/v1/events", content=b" " * 300_000, headers=json_ct),  # 413
        c.get("/v1/audit-trail", params={"limit": "0"}),  # 400
        c.get("/v1/audit-trail", params={"date_from": "soon"}),  # 400
        c.get(
            "/v1/sparql", params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}
        ),
        c.get("/v1/sparql", params={"query": "not sparql"}),  # 400
        c.get("/v1/sparql", params={"query": "ASK {}"}, headers={"Accept": "image/png"}),  # 406
        c.post("/v1/sparql", data={"update": "CLEAR ALL"}),  # 400
        c.get("/v1/events/E1", params={"x": "1"}),  # 400 unknown parameter
    ]
    anon.close()
    return out


def test_every_error_has_the_one_shape(server: LiveServer, tenant: Tenant) -> None:
    responses = _all_errors(server, tenant)
    seen: set[int] = set()
    for resp in responses:
        where = f"{resp.request.method} {resp.request.url}: {resp.text[:300]}"
        assert resp.status_code >= 400, where
        seen.add(resp.status_code)
        assert resp.headers["content-type"] == "application/problem+json", where
        doc: dict[str, Any] = resp.json()
        assert CORE <= set(doc) <= CORE | OPTIONAL, where
        assert doc["status"] == resp.status_code, where
        assert doc["type"] == PROBLEM_BASE + doc["code"], where
        assert doc["code"] and doc["code"] == doc["code"].lower() and " " not in doc["code"], where
        assert doc["title"] == doc["code"].replace("-", " ").capitalize(), where
        assert isinstance(doc["detail"], str) and doc["detail"], where
        assert doc["instance"] == resp.request.url.path, where
        for err in doc.get("errors", []):
            assert ERROR_KEYS <= set(err) <= ERROR_KEYS | {"index"}, where
            assert isinstance(err["field"], str) and isinstance(err["rule"], str), where
        on_events = resp.request.url.path == "/v1/events"
        if resp.status_code in (413, 422) or (on_events and resp.status_code == 400):
            assert doc.get("errors"), where
        if resp.status_code == 401:
            assert resp.headers["www-authenticate"].startswith("Bearer"), where
    assert seen == {400, 401, 403, 404, 405, 406, 409, 413, 415, 422}


def test_an_unexpected_error_is_a_500_problem_without_internals(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(server.engine, "public_keys", broken)
    resp = httpx.get(server.url + "/v1/keys")
    assert resp.status_code == 500
    assert resp.headers["content-type"] == "application/problem+json"
    doc = resp.json()
    assert set(doc) == CORE | {"instance"}
    assert doc["type"] == PROBLEM_BASE + "error"
    assert "secret" not in resp.text and "passwd" not in resp.text
    monkeypatch.undo()
    assert httpx.get(server.url + "/healthz").status_code == 200
