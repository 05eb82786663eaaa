"""Receipts exactly as SPEC §5 defines them, checked with independent tools (openssl, a bare JWK)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tai_graph.errors import InvalidSettings, LedgerError
from tai_graph.ledger.canonical import canonical_bytes, signed_view
from tai_graph.ledger.keys import ServiceKey, load_public_keys, verify_ed25519
from tai_graph.ledger.receipts import (
    GENESIS_HASH,
    RECEIPT_FIELDS,
    build_receipt,
    receipt_from_parts,
    receipt_hash,
    retention_until,
)
from tai_graph.model import Event, SignedReceipt

OPENSSL = "/usr/bin/openssl"
SECRET = "tai_secret_0123456789"
META = {"version": "1.2.0", "hostname": "tai-prod-instance-1", "region": "us-central1"}
WHEN = datetime(2026, 1, 19, 10, 35, 22, 500000, tzinfo=UTC)
FIXED_KEY = ServiceKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def plan_event(**changes: Any) -> Event:
    """The receipt example of the customer plan."""
    fields: dict[str, Any] = {
        "event_id": "evt_20260119_00234",
        "timestamp": datetime(2026, 1, 19, 10, 35, 22, tzinfo=UTC),
        "customer_id": "customer_001",
        "transaction_type": "sku_update",
        "data": {
            "sku_id": "SKU-12345",
            "new_inventory": 487,
            "previous_inventory": 502,
            "reason": "automated_reorder",
        },
    }
    fields.update(changes)
    return Event(**fields)


def make(event: Event | None = None, **changes: Any) -> SignedReceipt:
    args: dict[str, Any] = {
        "sequence": 1,
        "previous_hash": GENESIS_HASH,
        "key": FIXED_KEY,
        "secret": SECRET,
        "system_metadata": META,
        "verification_timestamp": WHEN,
    }
    args.update(changes)
    return build_receipt(event or plan_event(), **args)


GOLDEN_SIGNED_BYTES = (
    b'{"customer_id":"customer_001","data":{"new_inventory":487,"previous_inventory":502,'
    b'"reason":"automated_reorder","sku_id":"SKU-12345"},"event_id":"evt_20260119_00234",'
    b'"key_id":"' + FIXED_KEY.key_id.encode() + b'","previous_hash":"' + b"0" * 64 + b'",'
    b'"sequence":1,"system_metadata":{"hostname":"tai-prod-instance-1","region":"us-central1",'
    b'"version":"1.2.0"},"timestamp":"2026-01-19T10:35:22Z","transaction_type":"sku_update",'
    b'"verification_timestamp":"2026-01-19T10:35:22.5Z"}'
)


def test_receipt_has_exactly_the_spec_fields_in_order() -> None:
    body = make().body
    assert tuple(body) == RECEIPT_FIELDS
    assert body["timestamp"] == "2026-01-19T10:35:22Z"
    assert body["verification_timestamp"] == "2026-01-19T10:35:22.5Z"
    assert body["system_metadata"] == META
    assert body["sequence"] == 1 and body["previous_hash"] == GENESIS_HASH
    assert body["key_id"] == FIXED_KEY.key_id


def test_signed_bytes_are_pinned_and_are_the_jcs_of_the_unsigned_view() -> None:
    receipt = make()
    assert receipt.signed_bytes == GOLDEN_SIGNED_BYTES
    assert receipt.signed_bytes == canonical_bytes(signed_view(receipt.body))
    assert receipt_hash(receipt.signed_bytes) == hashlib.sha256(GOLDEN_SIGNED_BYTES).hexdigest()


def test_openssl_hmac_over_the_signed_bytes_prints_the_signature(tmp_path: Path) -> None:
    receipt = make()
    canonical = tmp_path / "canonical.json"
    canonical.write_bytes(receipt.signed_bytes)
    from_stdin = subprocess.run(
        [OPENSSL, "dgst", "-sha256", "-hmac", SECRET],
        input=receipt.signed_bytes,
        capture_output=True,
        check=True,
    ).stdout.decode()
    from_file = subprocess.run(
        [OPENSSL, "dgst", "-sha256", "-hmac", SECRET, str(canonical)], capture_output=True, check=True
    ).stdout.decode()
    assert from_stdin.strip().rsplit("= ", 1)[1] == receipt.body["signature"]
    assert from_file.strip().rsplit("= ", 1)[1] == receipt.body["signature"]


def test_ed25519_signature_verifies_with_nothing_but_the_public_jwk() -> None:
    receipt = make()
    published = json.dumps({"keys": [FIXED_KEY.public_jwk()]})  # what an auditor downloads
    jwk = json.loads(published)["keys"][0]
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    bare = Ed25519PublicKey.from_public_bytes(raw)  # no ServiceKey, no private material
    bare.verify(base64.b64decode(receipt.body["ed25519_signature"]), receipt.signed_bytes)
    ring = load_public_keys(published)
    assert verify_ed25519(
        ring[receipt.body["key_id"]], receipt.signed_bytes, receipt.body["ed25519_signature"]
    )
    assert not verify_ed25519(bare, receipt.signed_bytes + b" ", receipt.body["ed25519_signature"])


def test_chain_links_by_hash_of_signed_bytes() -> None:
    first = make()
    second = make(plan_event(event_id="E2"), sequence=2, previous_hash=receipt_hash(first.signed_bytes))
    assert second.body["previous_hash"] == hashlib.sha256(first.signed_bytes).hexdigest()
    assert second.sequence == 2 and second.event_id == "E2"


def test_times_are_written_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    receipt = make(
        plan_event(timestamp=datetime(2026, 1, 19, 12, 35, 22, tzinfo=plus_two)),
        verification_timestamp=datetime(2026, 1, 19, 12, 0, tzinfo=plus_two),
    )
    assert receipt.body["timestamp"] == "2026-01-19T10:35:22Z"
    assert receipt.body["verification_timestamp"] == "2026-01-19T10:00:00Z"


def test_decimal_strings_are_kept_verbatim() -> None:
    event = plan_event(transaction_type="order", data={"amount": "19.990", "quantity": 2})
    assert b'"amount":"19.990"' in make(event).signed_bytes


def test_the_body_does_not_share_the_events_data() -> None:
    event = plan_event()
    receipt = make(event)
    event.data["reason"] = "changed later"
    assert receipt.body["data"]["reason"] == "automated_reorder"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sequence": 0}, "sequence"),
        ({"sequence": True}, "sequence"),
        ({"previous_hash": "0" * 63}, "previous_hash"),
        ({"previous_hash": "A" * 64}, "previous_hash"),
        ({"system_metadata": {"version": "1"}}, "system_metadata"),
        ({"system_metadata": {**META, "extra": "x"}}, "system_metadata"),
        ({"verification_timestamp": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_arguments_that_would_make_a_bad_receipt_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        make(**changes)


def test_floats_and_naive_times_in_events_are_refused() -> None:
    with pytest.raises(LedgerError, match="decimals as strings"):
        make(plan_event(data={"amount": 19.99}))
    with pytest.raises(LedgerError, match="timezone-aware"):
        make(plan_event(timestamp=datetime(2026, 1, 19)))


def test_receipt_from_parts_rebuilds_the_stored_receipt() -> None:
    receipt = make()
    rebuilt = receipt_from_parts(
        receipt.signed_bytes, receipt.body["signature"], receipt.body["ed25519_signature"]
    )
    assert rebuilt == receipt
    assert tuple(rebuilt.body) == RECEIPT_FIELDS
    with pytest.raises(LedgerError, match="not canonical"):
        receipt_from_parts(b'{"b":1, "a":2}', "", "")
    with pytest.raises(LedgerError, match="not JSON"):
        receipt_from_parts(b"{", "", "")


def test_retention_until() -> None:
    assert retention_until(WHEN) == WHEN.replace(year=2033)
    assert retention_until(WHEN, 1) == WHEN.replace(year=2027)
    leap = datetime(2024, 2, 29, 23, 59, tzinfo=UTC)
    assert retention_until(leap, 7) == datetime(2031, 3, 1, 23, 59, tzinfo=UTC)
    assert retention_until(leap, 4) == leap.replace(year=2028)
    with pytest.raises(InvalidSettings):
        retention_until(WHEN, -1)


def test_the_package_reexports_every_public_name_of_its_modules() -> None:
    import importlib

    import tai_graph.ledger as ledger

    for name in ("canonical", "keys", "receipts", "verify", "checkpoint"):
        module = importlib.import_module(f"tai_graph.ledger.{name}")
        assert set(module.__all__) <= set(ledger.__all__), name
        for public in module.__all__:
            assert getattr(ledger, public) is getattr(module, public)
    assert sorted(ledger.__all__) == sorted(set(ledger.__all__))
    assert all(hasattr(ledger, n) for n in ledger.__all__)
