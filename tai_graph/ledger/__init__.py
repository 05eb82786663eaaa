"""The receipt ledger: canonical JSON, signing keys, chained receipts, verification, checkpoints.

Pure library code: no store, no HTTP, no clock (times are passed in). SPEC §5 is its contract.
"""

from __future__ import annotations

from tai_graph.ledger.canonical import SIGNATURE_FIELDS, canonical_bytes, signed_bytes, signed_view
from tai_graph.ledger.checkpoint import (
    CHECKPOINT_FIELDS,
    checkpoint_problem,
    make_checkpoint,
    verify_checkpoint,
)
from tai_graph.ledger.keys import (
    ServiceKey,
    hmac_hex,
    hmac_matches,
    key_id_for,
    load_public_keys,
    public_jwks,
    verify_ed25519,
)
from tai_graph.ledger.receipts import (
    DEFAULT_RETENTION_YEARS,
    GENESIS_HASH,
    RECEIPT_FIELDS,
    SYSTEM_METADATA_FIELDS,
    build_receipt,
    receipt_from_parts,
    receipt_hash,
    retention_until,
)
from tai_graph.ledger.verify import (
    Problem,
    ProblemKind,
    VerificationReport,
    read_receipts,
    verify_receipts,
)

__all__ = [
    "CHECKPOINT_FIELDS",
    "DEFAULT_RETENTION_YEARS",
    "GENESIS_HASH",
    "RECEIPT_FIELDS",
    "SIGNATURE_FIELDS",
    "SYSTEM_METADATA_FIELDS",
    "Problem",
    "ProblemKind",
    "ServiceKey",
    "VerificationReport",
    "build_receipt",
    "canonical_bytes",
    "checkpoint_problem",
    "hmac_hex",
    "hmac_matches",
    "key_id_for",
    "load_public_keys",
    "make_checkpoint",
    "public_jwks",
    "read_receipts",
    "receipt_from_parts",
    "receipt_hash",
    "retention_until",
    "signed_bytes",
    "signed_view",
    "verify_checkpoint",
    "verify_ed25519",
    "verify_receipts",
]
