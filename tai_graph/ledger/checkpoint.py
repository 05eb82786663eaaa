"""Signed ledger heads (checkpoints).

A checkpoint states "customer C's ledger reached receipt N, whose signed bytes hash to H", signed
with the service key. Chain verification alone cannot notice receipts cut from the end of a set;
a checkpoint can: the set must contain receipt N and it must hash to H.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tai_graph.errors import LedgerError
from tai_graph.ledger.canonical import canonical_bytes, signed_bytes
from tai_graph.ledger.keys import ServiceKey, verify_ed25519
from tai_graph.ledger.receipts import GENESIS_HASH, receipt_hash
from tai_graph.ledger.verify import Problem
from tai_graph.model import format_utc

__all__ = ["CHECKPOINT_FIELDS", "checkpoint_problem", "make_checkpoint", "verify_checkpoint"]

CHECKPOINT_FIELDS = (
    "customer_id",
    "head_sequence",
    "head_hash",
    "key_id",
    "checkpoint_timestamp",
    "ed25519_signature",
)
_EMPTY = "a checkpoint of an empty ledger (head_sequence 0) must carry the genesis hash"


def make_checkpoint(
    customer_id: str, head_sequence: int, head_hash: str, key: ServiceKey, now: datetime
) -> dict[str, Any]:
    """A signed statement of the ledger head; ``ed25519_signature`` covers the JCS bytes of the rest.

    An empty ledger has head 0 and the genesis hash. Raises
    :class:`~tai_graph.errors.LedgerError` for a negative sequence, a malformed hash or a naive time.
    """
    if type(head_sequence) is not int or head_sequence < 0:
        raise LedgerError(f"head_sequence must be an integer >= 0, got {head_sequence!r}")
    if len(head_hash) != 64 or head_hash.strip("0123456789abcdef"):
        raise LedgerError(f"head_hash must be 64 lowercase hex digits, got {head_hash!r}")
    if now.utcoffset() is None:
        raise LedgerError("checkpoint time must be timezone-aware")
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "head_sequence": head_sequence,
        "head_hash": head_hash,
        "key_id": key.key_id,
        "checkpoint_timestamp": format_utc(now.astimezone(UTC)),
    }
    body["ed25519_signature"] = key.sign(canonical_bytes(body))
    return body


def verify_checkpoint(cp: Mapping[str, Any], public_keys: Mapping[str, Ed25519PublicKey]) -> bool:
    """True when ``cp`` has every field and its signature verifies with a key of the keyring."""
    if not all(name in cp for name in CHECKPOINT_FIELDS):
        return False
    key = public_keys.get(cp["key_id"]) if isinstance(cp["key_id"], str) else None
    signature = cp["ed25519_signature"]
    if key is None or not isinstance(signature, str):
        return False
    try:
        data = canonical_bytes({k: v for k, v in cp.items() if k != "ed25519_signature"})
    except LedgerError:
        return False
    return verify_ed25519(key, data, signature)


def checkpoint_problem(cp: Mapping[str, Any], receipts: Iterable[Mapping[str, Any]]) -> Problem | None:
    """How a receipt set contradicts a (verified) checkpoint, or None when it is consistent.

    The receipt at ``head_sequence`` must be in the set, belong to the checkpoint's customer and
    hash to ``head_hash``; a set that stops before it has lost its last receipts (``missing``).
    A set that starts after the checkpoint's head is not contradicted by it.
    """
    head, head_hash, customer = cp["head_sequence"], cp["head_hash"], cp["customer_id"]
    if head == 0:
        return None if head_hash == GENESIS_HASH else Problem(0, None, "broken-chain", _EMPTY)
    lowest = highest = None
    for position, receipt in enumerate(receipts):
        seq = receipt.get("sequence")
        if type(seq) is not int:
            continue
        lowest = seq if lowest is None else min(lowest, seq)
        highest = seq if highest is None else max(highest, seq)
        if seq == head:
            return _compare(receipt, position, cp)
    if lowest is not None and lowest > head:
        return None
    after = f"after receipt {highest}" if highest is not None else "(the set is empty)"
    msg = f"receipts up to {head} are missing {after}: the checkpoint of {cp['checkpoint_timestamp']} "
    msg += f"says customer {customer}'s ledger reached receipt {head}"
    return Problem(head, None, "missing", msg, None)


def _compare(receipt: Mapping[str, Any], position: int, cp: Mapping[str, Any]) -> Problem | None:
    seq, eid = cp["head_sequence"], receipt.get("event_id")
    eid = eid if isinstance(eid, str) else None
    if receipt.get("customer_id") != cp["customer_id"]:
        owner = receipt.get("customer_id")
        msg = f"receipt {seq} belongs to {owner!r}, the checkpoint to {cp['customer_id']!r}"
        return Problem(seq, eid, "broken-chain", msg, position)
    try:
        actual = receipt_hash(signed_bytes(receipt))
    except LedgerError as exc:
        return Problem(seq, eid, "malformed", f"receipt {seq} is malformed: {exc.message}", position)
    if actual != cp["head_hash"]:
        msg = f"receipt {seq} does not match the head hash signed at {cp['checkpoint_timestamp']}"
        return Problem(seq, eid, "altered", msg, position)
    return None
