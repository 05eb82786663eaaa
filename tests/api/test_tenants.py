"""POST /v1/tenants: admin key only; credentials shown once; 409 when the customer exists."""

from __future__ import annotations

import httpx

from .support import ADMIN_KEY, LiveServer, Tenant, assert_problem, order

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def test_admin_creates_a_customer_and_the_key_works(server: LiveServer, anon: httpx.Client) -> None:
    resp = anon.post("/v1/tenants", json={"customer_id": "acme-tenant-test", "name": "ACME"}, headers=ADMIN)
    assert resp.status_code == 201
    doc = resp.json()
    assert doc["customer_id"] == "acme-tenant-test"
    assert doc["name"] == "ACME"
    assert doc["api_key"] and doc["api_secret"] and doc["api_key"] != doc["api_secret"]
    assert resp.headers["cache-control"] == "no-store"
    created = anon.post("/v1/events", json=order("T1"), headers={"Authorization": f"Bearer {doc['api_key']}"})
    assert created.status_code == 201, created.text
    assert created.json()["customer_id"] == "acme-tenant-test"


def test_existing_customer_is_409(anon: httpx.Client, tenant: Tenant) -> None:
    resp = anon.post("/v1/tenants", json={"customer_id": tenant.customer_id}, headers=ADMIN)
    assert_problem(resp, 409, "conflict")


def test_name_is_optional(anon: httpx.Client) -> None:
    resp = anon.post("/v1/tenants", json={"customer_id": "no-name-customer"}, headers=ADMIN)
    assert resp.status_code == 201
    assert resp.json()["name"] == "no-name-customer"


def test_missing_bearer_is_401_with_challenge(anon: httpx.Client) -> None:
    resp = anon.post("/v1/tenants", json={"customer_id": "x1"})
    assert_problem(resp, 401, "unauthorized")
    assert resp.headers["www-authenticate"].startswith("Bearer")


def test_garbage_bearer_is_401(anon: httpx.Client) -> None:
    for header in ("Bearer nonsense", "Basic YWRtaW46YWRtaW4=", "Bearer", "bearer x y", ADMIN_KEY):
        resp = anon.post("/v1/tenants", json={"customer_id": "x2"}, headers={"Authorization": header})
        assert_problem(resp, 401, "unauthorized")


def test_customer_key_is_403(tenant: Tenant) -> None:
    resp = tenant.client.post("/v1/tenants", json={"customer_id": "x3"})
    assert_problem(resp, 403, "forbidden")


def test_admin_key_reaches_nothing_else(anon: httpx.Client) -> None:
    for method, path in (
        ("POST", "/v1/events"),
        ("GET", "/v1/events/E1"),
        ("GET", "/v1/receipts/E1"),
        ("GET", "/v1/receipts/E1/canonical"),
        ("GET", "/v1/audit-trail"),
        ("GET", "/v1/ledger/checkpoint"),
        ("GET", "/v1/sparql?query=ASK%7B%7D"),
        ("POST", "/v1/imports"),
    ):
        resp = anon.request(method, path, headers=ADMIN, content=b"[]")
        assert_problem(resp, 403, "forbidden")


def test_bad_tenant_bodies_are_400(anon: httpx.Client) -> None:
    cases = [
        ({"customer_id": "has space"}, "customer_id"),
        ({"customer_id": 42}, "customer_id"),
        ({"customer_id": "ok-id", "extra": 1}, "extra"),
        ({"name": "no id"}, "customer_id"),
        ({"customer_id": "ok-id2", "name": 5}, "name"),
    ]
    for body, field in cases:
        resp = anon.post("/v1/tenants", json=body, headers=ADMIN)
        assert_problem(resp, 400, "invalid-input", field=field)
    resp = anon.post(
        "/v1/tenants", content=b"{not json", headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert_problem(resp, 400, "invalid-input", field="body", rule="tai:json")


def test_no_admin_key_configured_means_403(server: LiveServer) -> None:
    from tai_graph.api import create_app
    from tai_graph.config import Settings
    from tai_graph.engine import Engine

    from .conftest import start_uvicorn

    engine = Engine(Settings(data_dir=None))
    uv, thread, url = start_uvicorn(create_app(engine))
    try:
        resp = httpx.post(url + "/v1/tenants", json={"customer_id": "x"}, headers=ADMIN)
        assert_problem(resp, 403, "forbidden")
    finally:
        uv.should_exit = True
        thread.join(timeout=15)
        engine.close()
