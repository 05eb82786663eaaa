"""/healthz, /metrics, /v1/keys and the OpenAPI document."""

from __future__ import annotations

import httpx

from .support import Tenant, order, post_json


def test_healthz_needs_no_key(anon: httpx.Client) -> None:
    resp = anon.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "store": "ok"}


def test_keys_need_no_key(anon: httpx.Client) -> None:
    doc = anon.get("/v1/keys").json()
    assert doc["keys"][0]["kty"] == "OKP"
    assert doc["pem"][doc["keys"][0]["kid"]].startswith("-----BEGIN PUBLIC KEY-----")


def test_metrics_count_routes_events_and_queries(anon: httpx.Client, tenant: Tenant) -> None:
    post_json(tenant.client, order("E1"))
    post_json(tenant.client, [order("E2"), order("E3", amount="x")])
    tenant.client.get("/v1/receipts/E1")
    tenant.client.get("/v1/sparql", params={"query": "ASK {}"})
    tenant.client.get(
        "/v1/sparql", params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}
    )
    anon.get("/no/such/route/E1")
    resp = anon.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert 'tai_http_requests_total{method="POST",route="/v1/events",status="201"}' in text
    assert 'route="/v1/receipts/{event_id}",status="200"' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "tai_http_request_duration_seconds_bucket{" in text
    assert 'tai_events_ingested_total{status="created"}' in text
    assert 'tai_events_ingested_total{status="invalid"}' in text
    assert 'tai_sparql_queries_total{outcome="ok"}' in text
    assert 'tai_sparql_queries_total{outcome="forbidden-query"}' in text
    assert tenant.customer_id not in text and "E1" not in text.replace("route=", "")


def test_openapi_lists_the_routes(anon: httpx.Client) -> None:
    doc = anon.get("/openapi.json").json()
    for path in (
        "/v1/tenants",
        "/v1/events",
        "/v1/events/{event_id}",
        "/v1/imports",
        "/v1/receipts/{event_id}",
        "/v1/receipts/{event_id}/canonical",
        "/v1/audit-trail",
        "/v1/ledger/checkpoint",
        "/v1/keys",
        "/v1/sparql",
        "/healthz",
        "/metrics",
    ):
        assert path in doc["paths"], path


def test_openapi_documents_the_raw_bodies(anon: httpx.Client) -> None:
    paths = anon.get("/openapi.json").json()["paths"]
    assert set(paths["/v1/events"]["post"]["requestBody"]["content"]) == {
        "application/json",
        "application/x-ndjson",
    }
    assert "application/sparql-query" in paths["/v1/sparql"]["post"]["requestBody"]["content"]
