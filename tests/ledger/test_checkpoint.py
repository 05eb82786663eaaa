"""Signed ledger heads, and what they catch that the chain alone cannot: a cut-off tail."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tai_graph.errors import LedgerError
from tai_graph.ledger.canonical import canonical_bytes, signed_bytes
from tai_graph.ledger.checkpoint import (
    CHECKPOINT_FIELDS,
    checkpoint_problem,
    make_checkpoint,
    verify_checkpoint,
)
from tai_graph.ledger.keys import ServiceKey, load_public_keys, public_jwks
from tai_graph.ledger.receipts import GENESIS_HASH, build_receipt, receipt_hash
from tai_graph.ledger.verify import verify_receipts
from tai_graph.model import Event

KEY = ServiceKey.ephemeral()
KEYS = load_public_keys(public_jwks([KEY]))
NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def chain(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    previous = GENESIS_HASH
    for seq in range(1, n + 1):
        event = Event(f"E{seq}", NOW + timedelta(seconds=seq), "acme", "sync", {"source": "a", "target": "b"})
        receipt = build_receipt(
            event,
            sequence=seq,
            previous_hash=previous,
            key=KEY,
            secret="s",
            system_metadata={"version": "1", "hostname": "h", "region": "r"},
            verification_timestamp=NOW,
        )
        previous = receipt_hash(receipt.signed_bytes)
        out.append(copy.deepcopy(receipt.body))
    return out


RECEIPTS = chain(6)


def head_checkpoint(receipts: list[dict[str, Any]]) -> dict[str, Any]:
    report = verify_receipts(receipts, public_keys=KEYS)
    assert report.head_sequence is not None and report.head_hash is not None
    return make_checkpoint("acme", report.head_sequence, report.head_hash, KEY, NOW)


def test_checkpoint_fields_and_signature() -> None:
    cp = head_checkpoint(RECEIPTS)
    assert tuple(cp) == CHECKPOINT_FIELDS
    assert cp["head_sequence"] == 6
    assert cp["head_hash"] == receipt_hash(signed_bytes(RECEIPTS[-1]))
    assert cp["key_id"] == KEY.key_id
    assert cp["checkpoint_timestamp"] == "2026-02-01T12:00:00Z"
    unsigned = {k: v for k, v in cp.items() if k != "ed25519_signature"}
    KEY.public_key().verify(base64.b64decode(cp["ed25519_signature"]), canonical_bytes(unsigned))
    assert verify_checkpoint(cp, KEYS)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda cp: cp.update(head_sequence=5),
        lambda cp: cp.update(head_hash="f" * 64),
        lambda cp: cp.update(customer_id="other"),
        lambda cp: cp.update(ed25519_signature=KEY.sign(b"something else")),
        lambda cp: cp.update(ed25519_signature=None),
        lambda cp: cp.update(key_id="ed25519:0000000000000000"),
        lambda cp: cp.pop("checkpoint_timestamp"),
        lambda cp: cp.update(extra=1.5),
    ],
)
def test_tampered_checkpoints_do_not_verify(tamper: Any) -> None:
    cp = head_checkpoint(RECEIPTS)
    tamper(cp)
    assert not verify_checkpoint(cp, KEYS)


def test_other_keys_do_not_verify_a_checkpoint() -> None:
    cp = head_checkpoint(RECEIPTS)
    assert not verify_checkpoint(cp, load_public_keys(public_jwks([ServiceKey.ephemeral()])))


def test_consistent_set() -> None:
    cp = head_checkpoint(RECEIPTS[:4])
    assert checkpoint_problem(cp, RECEIPTS[:4]) is None
    assert checkpoint_problem(cp, RECEIPTS) is None  # receipts made after the checkpoint are fine
    assert checkpoint_problem(cp, RECEIPTS[4:]) is None  # a later slice is not contradicted


def test_cut_off_tail_passes_the_chain_but_not_the_checkpoint() -> None:
    cp = head_checkpoint(RECEIPTS)
    truncated = RECEIPTS[:4]
    assert verify_receipts(truncated, public_keys=KEYS).ok  # the chain alone cannot tell
    problem = checkpoint_problem(cp, truncated)
    assert problem is not None
    assert (problem.sequence, problem.kind) == (6, "missing")
    assert "after receipt 4" in problem.message
    empty = checkpoint_problem(cp, [])
    assert empty is not None and empty.kind == "missing"


def test_altered_head_is_caught_even_without_signature_checks() -> None:
    cp = head_checkpoint(RECEIPTS)
    receipts = copy.deepcopy(RECEIPTS)
    receipts[-1]["data"]["target"] = "elsewhere"
    assert verify_receipts(receipts).ok  # chain-only: nothing after the head to contradict it
    problem = checkpoint_problem(cp, receipts)
    assert problem is not None
    assert (problem.sequence, problem.event_id, problem.kind) == (6, "E6", "altered")


def test_head_of_another_customer_or_malformed() -> None:
    cp = head_checkpoint(RECEIPTS)
    receipts = copy.deepcopy(RECEIPTS)
    receipts[-1]["customer_id"] = "other"
    problem = checkpoint_problem(cp, receipts)
    assert problem is not None and problem.kind == "broken-chain"
    receipts[-1]["customer_id"] = "acme"
    receipts[-1]["data"]["latency_ms"] = 1.5
    problem = checkpoint_problem(cp, receipts)
    assert problem is not None and problem.kind == "malformed"


def test_empty_ledger_checkpoint() -> None:
    cp = make_checkpoint("acme", 0, GENESIS_HASH, KEY, NOW)
    assert verify_checkpoint(cp, KEYS)
    assert checkpoint_problem(cp, RECEIPTS) is None
    bad = make_checkpoint("acme", 0, "1" * 64, KEY, NOW)
    problem = checkpoint_problem(bad, [])
    assert problem is not None and "genesis" in problem.message


def test_refuses_bad_arguments() -> None:
    with pytest.raises(LedgerError, match="head_sequence"):
        make_checkpoint("acme", -1, GENESIS_HASH, KEY, NOW)
    with pytest.raises(LedgerError, match="head_hash"):
        make_checkpoint("acme", 1, "XYZ", KEY, NOW)
    with pytest.raises(LedgerError, match="head_hash"):
        make_checkpoint("acme", 1, "0" * 63 + "g", KEY, NOW)
    with pytest.raises(LedgerError, match="timezone-aware"):
        make_checkpoint("acme", 1, GENESIS_HASH, KEY, datetime(2026, 1, 1))
