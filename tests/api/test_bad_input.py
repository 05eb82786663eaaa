"""Every bad input of SPEC §6 (and more): a clear 4xx problem naming field and rule, nothing written,
and the server still answers /healthz."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pytest

from .support import LiveServer, Tenant, assert_nothing_written, assert_problem, order

JSON_CT = "application/json"


def _event(**changes: Any) -> bytes:
    doc = order("E1")
    data = changes.pop("data", {})
    drop = changes.pop("drop", ())
    doc.update(changes)
    doc["data"].update(data)
    for key in drop:
        if key.startswith("data."):
            doc["data"].pop(key[5:])
        else:
            doc.pop(key)
    return json.dumps(doc).encode()


@dataclasses.dataclass
class Case:
    body: bytes
    status: int
    code: str
    field: str | None = None
    rule: str | None = None
    content_type: str | None = JSON_CT
    params: dict[str, str] = dataclasses.field(default_factory=dict)


GOOD = _event().decode()

CASES: dict[str, Case] = {
    "malformed JSON": Case(b'{"event_id": "E1", ', 400, "invalid-input", "body", "tai:json"),
    "empty body": Case(b"", 400, "invalid-input", "body", "tai:json"),
    "blank body": Case(b"  \n ", 400, "invalid-input", "body", "tai:json"),
    "empty array": Case(b"[]", 400, "invalid-input", "body", "tai:json"),
    "empty NDJSON": Case(b"\n\n", 400, "invalid-input", "body", "tai:json", "application/x-ndjson"),
    "duplicate keys": Case(
        GOOD.replace('"event_id": "E1"', '"event_id": "E1", "event_id": "E2"').encode(),
        400,
        "invalid-input",
        "body",
        "tai:json",
    ),
    "NaN": Case(GOOD.replace('"19.99"', "NaN").encode(), 400, "invalid-input", "body", "tai:json"),
    "Infinity": Case(GOOD.replace('"19.99"', "-Infinity").encode(), 400, "invalid-input", "body", "tai:json"),
    "not UTF-8": Case(GOOD.replace("amazon", "ama\xffzon").encode("latin-1"), 400, "invalid-input", "body"),
    "not UTF-8 NDJSON": Case(b'{"a": "\xff"}\n', 400, "invalid-input", "body", None, "application/x-ndjson"),
    "deep nesting": Case(b"[" * 100_000 + b"]" * 100_000, 400, "invalid-input", "body", "tai:json"),
    "amount not a number": Case(_event(data={"amount": "abc"}), 422, "validation-failed", "data.amount"),
    "amount negative": Case(_event(data={"amount": -1}), 422, "validation-failed", "data.amount"),
    "amount a boolean": Case(_event(data={"amount": True}), 422, "validation-failed", "data.amount"),
    "quantity a string": Case(_event(data={"quantity": "3"}), 422, "validation-failed", "data.quantity"),
    "quantity zero": Case(_event(data={"quantity": 0}), 422, "validation-failed", "data.quantity"),
    "quantity a decimal": Case(_event(data={"quantity": 1.5}), 422, "validation-failed", "data.quantity"),
    "status not allowed": Case(
        _event(data={"status": "lost"}), 422, "validation-failed", "data.status", "sh:in"
    ),
    "unknown data field": Case(
        _event(data={"colour": "red"}), 422, "validation-failed", "data.colour", "sh:closed"
    ),
    "unknown envelope field": Case(_event(extra=1), 422, "validation-failed", "extra"),
    "missing required field": Case(
        _event(drop=["data.channel"]), 422, "validation-failed", "data.channel", "sh:minCount"
    ),
    "missing event_id": Case(_event(drop=["event_id"]), 422, "validation-failed", "event_id"),
    "missing data": Case(_event(drop=["data"]), 422, "validation-failed", "data"),
    "data not an object": Case(
        json.dumps({**order("E1"), "data": [1]}).encode(), 422, "validation-failed", "data"
    ),
    "unknown transaction_type": Case(
        _event(transaction_type="teleport"),
        422,
        "validation-failed",
        "transaction_type",
        "tai:transactionType",
    ),
    "transaction_type not a string": Case(
        _event(transaction_type=7), 422, "validation-failed", "transaction_type"
    ),
    "naive timestamp": Case(_event(timestamp="2026-01-19T10:35:22"), 422, "validation-failed", "timestamp"),
    "impossible date": Case(_event(timestamp="2026-02-30T10:00:00Z"), 422, "validation-failed", "timestamp"),
    "timestamp a number": Case(_event(timestamp=1768818922), 422, "validation-failed", "timestamp"),
    "bad event_id": Case(_event(event_id="no spaces allowed"), 422, "validation-failed", "event_id"),
    "event_id too long": Case(_event(event_id="x" * 129), 422, "validation-failed", "event_id"),
    "a JSON scalar": Case(b"42", 422, "validation-failed"),
    "a JSON string": Case(b'"event"', 422, "validation-failed"),
    "text/plain": Case(GOOD.encode(), 415, "unsupported-media-type", content_type="text/plain"),
    "form": Case(
        b"event_id=E1", 415, "unsupported-media-type", content_type="application/x-www-form-urlencoded"
    ),
    "multipart": Case(
        GOOD.encode(), 415, "unsupported-media-type", content_type="multipart/form-data; boundary=x"
    ),
    "unknown query parameter": Case(
        GOOD.encode(), 400, "invalid-input", "atomc", "tai:queryParameter", params={"atomc": "true"}
    ),
    "atomic not a boolean": Case(GOOD.encode(), 400, "invalid-input", "atomic", params={"atomic": "yes"}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_a_problem_and_writes_nothing(name: str, tenant: Tenant, server: LiveServer) -> None:
    case = CASES[name]
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    resp = tenant.client.post("/v1/events", content=case.body, headers=headers, params=case.params)
    doc = assert_problem(resp, case.status, case.code, field=case.field, rule=case.rule)
    if case.status == 422:
        assert doc["errors"], doc
        for err in doc["errors"]:
            assert set(err) >= {"event_id", "field", "rule", "value", "message"}
    assert_nothing_written(tenant, server)


def test_every_violation_is_reported(tenant: Tenant, server: LiveServer) -> None:
    body = _event(timestamp="2026-01-19 10:35", data={"amount": "x", "status": "lost", "colour": 1})
    doc = assert_problem(
        tenant.client.post("/v1/events", content=body, headers={"Content-Type": JSON_CT}),
        422,
        "validation-failed",
    )
    fields = {e["field"] for e in doc["errors"]}
    assert {"timestamp", "data.amount", "data.status", "data.colour"} <= fields
    bad_amount = next(e for e in doc["errors"] if e["field"] == "data.amount")
    assert bad_amount["value"] == "x"
    assert bad_amount["event_id"] == "E1"
    assert_nothing_written(tenant, server)


def test_charset_parameter_and_missing_content_type_are_json(tenant: Tenant) -> None:
    resp = tenant.client.post(
        "/v1/events", content=GOOD, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert resp.status_code == 201, resp.text
    req = tenant.client.build_request("POST", "/v1/events", content=_event(event_id="E2"))
    req.headers.pop("Content-Type", None)
    assert "content-type" not in req.headers
    assert tenant.client.send(req).status_code == 201


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer nope", "Token abc", "Bearer tai_" + "x" * 43]
)
def test_missing_or_garbage_bearer_is_401(
    authorization: str | None, tenant: Tenant, server: LiveServer
) -> None:
    headers = {"Content-Type": JSON_CT}
    if authorization is not None:
        headers["Authorization"] = authorization
    resp = httpx.post(server.url + "/v1/events", content=GOOD, headers=headers)
    assert_problem(resp, 401, "unauthorized")
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert_nothing_written(tenant, server)


def test_wrong_method_and_unknown_route(anon: httpx.Client) -> None:
    assert_problem(anon.delete("/v1/events"), 405, "method-not-allowed")
    assert_problem(anon.get("/v1/nothing-here"), 404, "not-found")
