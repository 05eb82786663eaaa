"""A customer's key never reaches another customer's data, through any route."""

from __future__ import annotations

import json

import pytest

from .support import SPARQL_JSON, Tenant, assert_problem, ndjson, order, post_json, receipt_count

TAI = "https://w3id.org/tai-graph/ns#"
MARK = "secret-channel-A"


@pytest.fixture
def victim(tenant: Tenant) -> Tenant:
    resp = post_json(tenant.client, [order("E1", channel=MARK), order("E2", channel=MARK)])
    assert resp.json()["summary"]["created"] == 2
    return tenant


def _queries(victim: Tenant) -> list[str]:
    g = f"urn:tai:{victim.customer_id}"
    return [
        "SELECT * WHERE { ?s ?p ?o }",
        f"SELECT * FROM <{g}> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{g}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }",
        f"SELECT * WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}",
        f"SELECT * FROM <{g}> FROM NAMED <{g}>"
        f" WHERE {{ {{ ?s ?p ?o }} UNION {{ GRAPH ?g {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ <{g}:event:E1> ?p ?o }}",
        f"ASK {{ GRAPH <{g}> {{ ?s <{TAI}channel> ?c }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}",
        f"DESCRIBE <{g}:event:E1>",
        "SELECT ?g WHERE { GRAPH ?g { } }",
    ]


def _leaks(victim: Tenant, body: bytes) -> bool:
    text = body.decode("utf-8", "replace")
    return MARK in text or f"urn:tai:{victim.customer_id}" in text or "<boolean>true" in text


def test_the_victim_sees_its_own_data(victim: Tenant) -> None:
    g = f"urn:tai:{victim.customer_id}"
    resp = victim.client.get(
        "/v1/sparql",
        params={"query": f"SELECT ?c WHERE {{ GRAPH <{g}> {{ ?e <{TAI}channel> ?c }} }}"},
        headers={"Accept": SPARQL_JSON},
    )
    assert resp.status_code == 200
    assert {b["c"]["value"] for b in resp.json()["results"]["bindings"]} == {MARK}
    ask = victim.client.get(
        "/v1/sparql", params={"query": _queries(victim)[7]}, headers={"Accept": SPARQL_JSON}
    )
    assert ask.json()["boolean"] is True


def test_sparql_cannot_reach_another_customer(victim: Tenant, other: Tenant) -> None:
    for query in _queries(victim):
        for accept in (SPARQL_JSON, "text/turtle, application/sparql-results+xml;q=0.9"):
            resp = other.client.get("/v1/sparql", params={"query": query}, headers={"Accept": accept})
            assert resp.status_code in (200, 400, 406), (query, resp.text)
            assert not _leaks(victim, resp.content), (query, resp.text)
            if resp.status_code == 200 and accept == SPARQL_JSON and query.startswith("ASK"):
                assert resp.json()["boolean"] is False
        posted = other.client.post(
            "/v1/sparql", content=query, headers={"Content-Type": "application/sparql-query"}
        )
        assert not _leaks(victim, posted.content), (query, posted.text)


def test_dataset_parameters_are_refused(victim: Tenant, other: Tenant) -> None:
    g = f"urn:tai:{victim.customer_id}"
    for name in ("default-graph-uri", "named-graph-uri"):
        resp = other.client.get("/v1/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }", name: g})
        assert_problem(resp, 400, "forbidden-query", field=name, rule="dataset")
        resp = other.client.post("/v1/sparql", data={"query": "SELECT * WHERE { ?s ?p ?o }", name: g})
        assert_problem(resp, 400, "forbidden-query", field=name)


def test_events_receipts_and_ledger_are_per_customer(victim: Tenant, other: Tenant) -> None:
    for path in ("/v1/events/E1", "/v1/receipts/E1", "/v1/receipts/E1/canonical"):
        resp = other.client.get(path)
        assert_problem(resp, 404, "not-found")
        assert MARK not in resp.text
    trail = other.client.get("/v1/audit-trail").json()
    assert trail["count"] == 0 and trail["customer_id"] == other.customer_id
    checkpoint = other.client.get("/v1/ledger/checkpoint").json()
    assert checkpoint["head_sequence"] == 0 and checkpoint["customer_id"] == other.customer_id


def test_same_event_id_is_a_different_event_for_another_customer(victim: Tenant, other: Tenant) -> None:
    resp = post_json(other.client, order("E1", amount="1.00"))
    assert resp.status_code == 201
    assert resp.json()["customer_id"] == other.customer_id
    assert resp.json()["sequence"] == 1
    assert victim.client.get("/v1/events/E1").json()["data"]["amount"] == "19.99"
    assert receipt_count(victim) == 2


def test_writing_into_another_customer_is_refused(victim: Tenant, other: Tenant) -> None:
    foreign = {**order("E9"), "customer_id": victim.customer_id}
    assert_problem(post_json(other.client, foreign), 422, "validation-failed", field="customer_id")
    report = other.client.post(
        "/v1/imports", content=ndjson([foreign]), headers={"Content-Type": "application/x-ndjson"}
    ).json()
    assert report["imported"] == 0 and report["rejected"] == 1
    assert receipt_count(victim) == 2
    assert receipt_count(other) == 0
    assert other.client.get("/v1/events/E9").status_code == 404
    assert json.dumps(report).count(MARK) == 0
