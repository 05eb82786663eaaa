"""Receipts, their exact signed bytes, the audit trail and the checkpoint — verified with shell tools
(curl | openssl) and with nothing but the public keys of GET /v1/keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .support import LiveServer, Tenant, assert_problem, order, post_json, work_log

CURL = "/usr/bin/curl"


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signed_part(receipt: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in receipt.items() if k not in ("signature", "ed25519_signature")}


def test_receipt_and_canonical_bytes(tenant: Tenant) -> None:
    created = post_json(tenant.client, order("E1")).json()
    receipt = tenant.client.get("/v1/receipts/E1")
    assert receipt.status_code == 200
    assert receipt.json() == created
    canonical = tenant.client.get("/v1/receipts/E1/canonical")
    assert canonical.status_code == 200
    assert canonical.headers["content-type"] == "application/json"
    raw = canonical.content
    assert not raw.endswith(b"\n")
    assert int(canonical.headers["content-length"]) == len(raw)
    assert raw == rfc8785.dumps(_signed_part(created))
    expected = hmac.new(tenant.api_secret.encode(), raw, hashlib.sha256).hexdigest()
    assert created["signature"] == expected


def _openssl_hmac(data_cmd: list[str] | None, data: bytes | None, secret: str, env: dict[str, str]) -> str:
    if data_cmd is not None:
        script = f'{" ".join(data_cmd)} | openssl dgst -sha256 -hmac "$API_SECRET"'
        out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, check=True, timeout=30)
    else:
        out = subprocess.run(
            ["openssl", "dgst", "-sha256", "-hmac", secret],
            input=data,
            capture_output=True,
            check=True,
            timeout=30,
        )
    return out.stdout.decode().strip().split()[-1]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_curl_pipe_openssl_prints_the_signature(server: LiveServer, tenant: Tenant) -> None:
    receipt = post_json(tenant.client, work_log("evt_20260119_00234")).json()
    env = {
        **os.environ,
        "API_KEY": tenant.api_key,
        "API_SECRET": tenant.api_secret,
        "URL": server.url,
        "ID": "evt_20260119_00234",
    }
    if os.path.exists(CURL):
        cmd = [CURL, "-s", "-H", '"Authorization: Bearer $API_KEY"', '"$URL/v1/receipts/$ID/canonical"']
        digest = _openssl_hmac(cmd, None, tenant.api_secret, env)
    else:  # no curl on this machine: fetch with httpx, still hash with the real openssl
        raw = tenant.client.get("/v1/receipts/evt_20260119_00234/canonical").content
        digest = _openssl_hmac(None, raw, tenant.api_secret, env)
    assert digest == receipt["signature"]


def test_ed25519_verifies_with_only_the_public_keys(anon: httpx.Client, tenant: Tenant) -> None:
    post_json(tenant.client, [order("E1"), order("E2"), work_log("W1")])
    keys = anon.get("/v1/keys")  # no credentials
    assert keys.status_code == 200
    jwks = {k["kid"]: k for k in keys.json()["keys"]}
    trail = tenant.client.get("/v1/audit-trail").json()
    assert trail["count"] == 3
    previous = "0" * 64
    for receipt in trail["receipts"]:
        jwk = jwks[receipt["key_id"]]
        assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
        public = Ed25519PublicKey.from_public_bytes(_b64url(jwk["x"]))
        raw = anon.get(
            f"/v1/receipts/{receipt['event_id']}/canonical",
            headers={"Authorization": f"Bearer {tenant.api_key}"},
        ).content
        public.verify(base64.b64decode(receipt["ed25519_signature"]), raw)  # raises if wrong
        assert receipt["previous_hash"] == previous
        previous = hashlib.sha256(raw).hexdigest()


def test_audit_trail_pages_and_verifies(tenant: Tenant) -> None:
    post_json(tenant.client, [order(f"E{i}") for i in range(5)])
    first = tenant.client.get("/v1/audit-trail", params={"limit": "2"}).json()
    assert [r["sequence"] for r in first["receipts"]] == [1, 2]
    assert first["next_after"] == 2
    assert first["verification"]["ok"] is True
    second = tenant.client.get(first["next"]).json()
    assert [r["sequence"] for r in second["receipts"]] == [3, 4]
    assert second["verification"]["ok"] is True
    last = tenant.client.get(second["next"]).json()
    assert [r["sequence"] for r in last["receipts"]] == [5]
    assert last["next_after"] is None and last["next"] is None


def test_audit_trail_date_range(tenant: Tenant) -> None:
    post_json(tenant.client, order("E1"))
    today = datetime.now(UTC).date()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    inside = tenant.client.get(
        "/v1/audit-trail", params={"date_from": str(today), "date_to": str(today)}
    ).json()
    assert inside["count"] == 1
    before = tenant.client.get("/v1/audit-trail", params={"date_to": str(yesterday)}).json()
    assert before["count"] == 0
    after = tenant.client.get("/v1/audit-trail", params={"date_from": str(tomorrow)}).json()
    assert after["count"] == 0


def test_audit_trail_accepts_the_plans_json_body(server: LiveServer, tenant: Tenant) -> None:
    post_json(tenant.client, order("E1"))
    today = str(datetime.now(UTC).date())
    body = json.dumps({"date_from": today, "date_to": today})
    if os.path.exists(CURL):  # exactly the plan's command: curl -X GET … -d '{…}'
        out = subprocess.run(
            [
                CURL,
                "-s",
                "-X",
                "GET",
                server.url + "/v1/audit-trail",
                "-H",
                f"Authorization: Bearer {tenant.api_key}",
                "-d",
                body,
            ],
            capture_output=True,
            check=True,
            timeout=30,
        )
        doc = json.loads(out.stdout)
    else:
        doc = tenant.client.request("GET", "/v1/audit-trail", content=body).json()
    assert doc["count"] == 1
    assert doc["date_from"] == today


def test_audit_trail_bad_parameters(tenant: Tenant) -> None:
    for params, field in (
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_to": "2026-01-19T10:00:00"}, "date_to"),
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"after": "-1"}, "after"),
        ({"from": "2026-01-01"}, "from"),
    ):
        assert_problem(tenant.client.get("/v1/audit-trail", params=params), 400, "invalid-input", field=field)
    resp = tenant.client.request("GET", "/v1/audit-trail", content=b'{"date_fro": "2026-01-01"}')
    assert_problem(resp, 400, "invalid-input", field="date_fro")


def test_checkpoint_is_the_signed_head(anon: httpx.Client, tenant: Tenant) -> None:
    empty = tenant.client.get("/v1/ledger/checkpoint")
    assert empty.status_code == 200
    assert empty.json()["head_sequence"] == 0
    post_json(tenant.client, [order("E1"), order("E2")])
    doc = tenant.client.get("/v1/ledger/checkpoint").json()
    assert doc["customer_id"] == tenant.customer_id
    assert doc["head_sequence"] == 2
    raw = tenant.client.get("/v1/receipts/E2/canonical").content
    assert doc["head_hash"] == hashlib.sha256(raw).hexdigest()
    jwk = {k["kid"]: k for k in anon.get("/v1/keys").json()["keys"]}[doc["key_id"]]
    signed = rfc8785.dumps({k: v for k, v in doc.items() if k != "ed25519_signature"})
    Ed25519PublicKey.from_public_bytes(_b64url(jwk["x"])).verify(
        base64.b64decode(doc["ed25519_signature"]), signed
    )


def test_unknown_receipt_is_404(tenant: Tenant) -> None:
    assert_problem(tenant.client.get("/v1/receipts/nope"), 404, "not-found")
    assert_problem(tenant.client.get("/v1/receipts/nope/canonical"), 404, "not-found")
