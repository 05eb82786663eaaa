"""Building signed, hash-chained receipts (SPEC §5).

A receipt is the event envelope plus ``system_metadata``, its place in the customer's chain
(``sequence``, ``previous_hash``), the signing ``key_id`` and ``verification_timestamp``. Its
signed bytes are the JCS form of all of that; ``signature`` (HMAC with the customer's secret) and
``ed25519_signature`` (service key) are computed over those bytes, and the next receipt's
``previous_hash`` is their SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from tai_graph.errors import InvalidSettings, LedgerError
from tai_graph.ledger.canonical import canonical_bytes
from tai_graph.ledger.keys import ServiceKey, hmac_hex
from tai_graph.model import Event, SignedReceipt, format_utc

__all__ = [
    "DEFAULT_RETENTION_YEARS",
    "GENESIS_HASH",
    "RECEIPT_FIELDS",
    "SYSTEM_METADATA_FIELDS",
    "build_receipt",
    "receipt_from_parts",
    "receipt_hash",
    "retention_until",
]

#: ``previous_hash`` of a customer's first receipt.
GENESIS_HASH = "0" * 64
#: Receipts are kept at least this many years unless the settings say otherwise.
DEFAULT_RETENTION_YEARS = 7
#: Receipt fields in the order receipts are presented (signed bytes are key-sorted by JCS).
RECEIPT_FIELDS = (
    "event_id",
    "timestamp",
    "customer_id",
    "transaction_type",
    "data",
    "system_metadata",
    "sequence",
    "previous_hash",
    "key_id",
    "verification_timestamp",
    "signature",
    "ed25519_signature",
)
SYSTEM_METADATA_FIELDS = ("version", "hostname", "region")

_META_KEYS = frozenset(SYSTEM_METADATA_FIELDS)
_HASH = re.compile(r"[0-9a-f]{64}")


def receipt_hash(signed_bytes: bytes) -> str:
    """Lowercase hex SHA-256 of a receipt's signed bytes: the next receipt's ``previous_hash``."""
    return hashlib.sha256(signed_bytes).hexdigest()


def build_receipt(
    event: Event,
    *,
    sequence: int,
    previous_hash: str,
    key: ServiceKey,
    secret: str,
    system_metadata: Mapping[str, str],
    verification_timestamp: datetime,
) -> SignedReceipt:
    """Sign ``event`` as receipt number ``sequence`` of its customer's chain.

    ``previous_hash`` is :func:`receipt_hash` of the previous receipt's signed bytes, or
    :data:`GENESIS_HASH` for ``sequence`` 1. ``system_metadata`` holds exactly ``version``,
    ``hostname`` and ``region``. Times must be timezone-aware; they are written in UTC.
    Raises :class:`~tai_graph.errors.LedgerError` when an argument would make a receipt that does
    not verify (bad sequence or hash, float values in ``event.data``, naive times).
    """
    if type(sequence) is not int or sequence < 1:
        raise LedgerError(f"receipt sequence must be an integer >= 1, got {sequence!r}")
    if not (isinstance(previous_hash, str) and _HASH.fullmatch(previous_hash)):
        raise LedgerError(f"previous_hash must be 64 lowercase hex digits, got {previous_hash!r}")
    if system_metadata.keys() != _META_KEYS:
        raise LedgerError(f"system_metadata must have exactly {', '.join(SYSTEM_METADATA_FIELDS)}")
    body: dict[str, object] = {
        "event_id": event.event_id,
        "timestamp": _utc_text(event.timestamp, "event timestamp"),
        "customer_id": event.customer_id,
        "transaction_type": event.transaction_type,
        "data": dict(event.data),
        "system_metadata": {name: system_metadata[name] for name in SYSTEM_METADATA_FIELDS},
        "sequence": sequence,
        "previous_hash": previous_hash,
        "key_id": key.key_id,
        "verification_timestamp": _utc_text(verification_timestamp, "verification_timestamp"),
    }
    signed = canonical_bytes(body)
    body["signature"] = hmac_hex(secret, signed)
    body["ed25519_signature"] = key.sign(signed)
    return SignedReceipt(body=body, signed_bytes=signed)


def receipt_from_parts(signed_bytes: bytes, signature: str, ed25519_signature: str) -> SignedReceipt:
    """Rebuild a stored receipt from its exact signed bytes and its two signatures.

    The body lists fields in :data:`RECEIPT_FIELDS` order. Raises
    :class:`~tai_graph.errors.LedgerError` when ``signed_bytes`` is not canonical receipt JSON.
    """
    try:
        parsed = json.loads(signed_bytes)
    except ValueError as exc:
        raise LedgerError(f"stored receipt is not JSON ({exc})") from exc
    if not isinstance(parsed, dict) or canonical_bytes(parsed) != signed_bytes:
        raise LedgerError("stored receipt bytes are not canonical receipt JSON")
    body = {name: parsed[name] for name in RECEIPT_FIELDS if name in parsed}
    body.update(parsed)
    body["signature"] = signature
    body["ed25519_signature"] = ed25519_signature
    return SignedReceipt(body=body, signed_bytes=signed_bytes)


def retention_until(verification_timestamp: datetime, years: int = DEFAULT_RETENTION_YEARS) -> datetime:
    """The earliest moment a receipt made at ``verification_timestamp`` may be deleted.

    Exactly ``years`` calendar years later; a receipt of 29 February is kept until 1 March (never
    less than the full period). Raises :class:`~tai_graph.errors.InvalidSettings` for years < 0.
    """
    if type(years) is not int or years < 0:
        raise InvalidSettings(f"retention years must be a whole number >= 0, got {years!r}")
    try:
        return verification_timestamp.replace(year=verification_timestamp.year + years)
    except ValueError:  # 29 February into a non-leap year
        shifted = verification_timestamp.replace(day=1, month=3)
        return shifted.replace(year=verification_timestamp.year + years)


def _utc_text(ts: datetime, what: str) -> str:
    offset = ts.utcoffset()
    if offset is None:
        raise LedgerError(f"{what} must be timezone-aware, got naive {ts.isoformat()}")
    return format_utc(ts.astimezone(UTC) if offset else ts)
