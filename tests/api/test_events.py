"""POST /v1/events (single, array, NDJSON, atomic, duplicate, conflict), GET /v1/events/{id}, imports."""

from __future__ import annotations

import json

from .support import (
    LiveServer,
    Tenant,
    assert_nothing_written,
    assert_problem,
    ndjson,
    order,
    post_json,
    receipt_count,
    work_log,
)

NDJSON = {"Content-Type": "application/x-ndjson"}


def test_single_event_is_201_with_its_receipt(tenant: Tenant) -> None:
    resp = post_json(tenant.client, order("E1"))
    assert resp.status_code == 201, resp.text
    assert resp.headers["location"] == "/v1/events/E1"
    receipt = resp.json()
    assert receipt["event_id"] == "E1"
    assert receipt["customer_id"] == tenant.customer_id
    assert receipt["transaction_type"] == "order"
    assert receipt["data"]["amount"] == "19.99"
    assert receipt["sequence"] == 1
    assert receipt["previous_hash"] == "0" * 64
    assert receipt["system_metadata"]["hostname"] == "api-test"
    for key in ("key_id", "verification_timestamp", "signature", "ed25519_signature"):
        assert receipt[key]


def test_decimal_number_is_kept_exactly(tenant: Tenant) -> None:
    resp = tenant.client.post(
        "/v1/events",
        content=json.dumps(order("E1", amount=0)).replace('"amount": 0', '"amount": 1234567.10').encode(),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["data"]["amount"] in ("1234567.10", "1234567.1")


def test_same_event_again_returns_the_original_receipt(tenant: Tenant) -> None:
    first = post_json(tenant.client, order("E1"))
    again = post_json(tenant.client, order("E1"))
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert receipt_count(tenant) == 1


def test_same_id_other_content_is_409_and_writes_nothing(tenant: Tenant) -> None:
    post_json(tenant.client, order("E1"))
    resp = post_json(tenant.client, order("E1", amount="20.00"))
    assert_problem(resp, 409, "conflict", field="event_id")
    assert receipt_count(tenant) == 1
    assert tenant.client.get("/v1/events/E1").json()["data"]["amount"] == "19.99"


def test_customer_id_in_the_envelope_must_be_the_keys(tenant: Tenant, other: Tenant) -> None:
    ok = post_json(tenant.client, {**order("E1"), "customer_id": tenant.customer_id})
    assert ok.status_code == 201, ok.text
    resp = post_json(tenant.client, {**order("E2"), "customer_id": other.customer_id})
    assert_problem(resp, 422, "validation-failed", field="customer_id", rule="tai:customerId")
    assert receipt_count(tenant) == 1
    assert receipt_count(other) == 0


def test_json_array_is_judged_per_item(tenant: Tenant) -> None:
    bad = order("E2", amount="-1")
    resp = post_json(tenant.client, [order("E1"), bad, work_log("W1")])
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["atomic"] is False
    assert doc["summary"]["created"] == 2
    assert doc["summary"]["invalid"] == 1
    statuses = [r["status"] for r in doc["results"]]
    assert statuses == ["created", "invalid", "created"]
    assert doc["results"][1]["errors"][0]["field"] == "data.amount"
    assert doc["results"][0]["receipt"]["sequence"] == 1
    assert doc["results"][2]["receipt"]["sequence"] == 2
    assert receipt_count(tenant) == 2


def test_ndjson_batch_with_a_broken_line(tenant: Tenant) -> None:
    body = ndjson([order("E1")]) + b"{broken\n\n" + ndjson([order("E2")])
    resp = tenant.client.post("/v1/events", content=body, headers=NDJSON)
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["status"] for r in results] == ["created", "invalid", "created"]
    assert results[1]["errors"][0]["rule"] == "tai:json"
    assert receipt_count(tenant) == 2


def test_one_line_ndjson_is_a_batch(tenant: Tenant) -> None:
    resp = tenant.client.post("/v1/events", content=ndjson([order("E1")]), headers=NDJSON)
    assert resp.status_code == 200
    assert resp.json()["results"][0]["status"] == "created"


def test_batch_duplicates_and_conflicts(tenant: Tenant) -> None:
    post_json(tenant.client, order("E1"))
    resp = post_json(tenant.client, [order("E1"), order("E1", amount="5"), order("E3"), order("E3")])
    assert resp.status_code == 200
    assert [r["status"] for r in resp.json()["results"]] == ["duplicate", "conflict", "created", "duplicate"]
    assert receipt_count(tenant) == 2


def test_atomic_batch_with_an_invalid_item_writes_nothing(tenant: Tenant, server: LiveServer) -> None:
    resp = post_json(tenant.client, [order("E1"), order("E2", amount="abc"), work_log("W1")], atomic="true")
    doc = assert_problem(resp, 422, "validation-failed", field="data.amount")
    assert all(e["index"] == 1 for e in doc["errors"])
    assert [r["status"] for r in doc["results"]] == ["rejected", "invalid", "rejected"]
    assert_nothing_written(tenant, server)


def test_atomic_batch_with_a_conflict_is_409(tenant: Tenant) -> None:
    post_json(tenant.client, order("E1"))
    resp = post_json(tenant.client, [order("E2"), order("E1", amount="1")], atomic="true")
    doc = assert_problem(resp, 409, "conflict", field="event_id")
    assert doc["errors"][0]["event_id"] == "E1"
    assert receipt_count(tenant) == 1


def test_atomic_batch_that_is_fine(tenant: Tenant) -> None:
    resp = tenant.client.post(
        "/v1/events", content=ndjson([order("E1"), work_log("W1")]), headers=NDJSON, params={"atomic": "true"}
    )
    assert resp.status_code == 200
    assert resp.json()["atomic"] is True
    assert resp.json()["summary"]["created"] == 2


def test_get_event(tenant: Tenant) -> None:
    post_json(tenant.client, work_log("W1", hours=2.25))
    resp = tenant.client.get("/v1/events/W1")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["event_id"] == "W1"
    assert doc["timestamp"] == "2026-01-20T06:00:00Z"  # stored in UTC
    assert doc["data"] == {"activity": "sku_reconciliation", "hours": "2.25"}
    assert doc["receipt"]["sequence"] == 1


def test_unknown_event_is_404(tenant: Tenant) -> None:
    assert_problem(tenant.client.get("/v1/events/nope"), 404, "not-found")
    assert_problem(tenant.client.get("/v1/events/bad%20id%3E"), 404, "not-found")
    post_json(tenant.client, order("E1"))
    for path in (
        "/v1/events/E1%0A",
        "/v1/receipts/E1%0A",
        "/v1/receipts/E1%0A/canonical",
        "/v1/events/" + "x" * 129,
    ):
        assert_problem(tenant.client.get(path), 404, "not-found")


def test_import_reports_data_quality(tenant: Tenant) -> None:
    post_json(tenant.client, order("E1"))
    events = [
        order("E1"),
        order("E1", amount="3"),
        order("E2"),
        order("E3", currency="USD"),
        {"event_id": "X"},
    ]
    resp = tenant.client.post("/v1/imports", content=ndjson(events) + b"nope\n", headers=NDJSON)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["records_read"] == 6
    assert report["imported"] == 2
    assert report["duplicates"] == 1
    assert report["conflicts"] == 1
    assert report["rejected"] == 2
    assert report["rejected_by_rule"]["tai:json"] == 1
    assert "order.currency" in report["missing_optional_share"]
    assert receipt_count(tenant) == 3


def test_import_as_json_array_with_batch_size(tenant: Tenant) -> None:
    events = [order(f"E{i}") for i in range(7)]
    resp = tenant.client.post("/v1/imports", json=events, params={"batch_size": "3"})
    assert resp.status_code == 200
    assert resp.json()["imported"] == 7
    assert receipt_count(tenant) == 7


def test_import_bad_params(tenant: Tenant, server: LiveServer) -> None:
    resp = tenant.client.post("/v1/imports", json=[order("E1")], params={"batch_size": "0"})
    assert_problem(resp, 400, "invalid-input", field="batch_size")
    resp = tenant.client.post("/v1/imports", json=[order("E1")], params={"batchsize": "5"})
    assert_problem(resp, 400, "invalid-input", field="batchsize", rule="tai:queryParameter")
    assert_nothing_written(tenant, server)
