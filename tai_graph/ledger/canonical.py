"""RFC 8785 (JCS) canonical JSON: the exact bytes that receipts and checkpoints sign.

Receipts carry decimals as strings (``"19.99"``), so the canonical form never depends on float
formatting: floats and ``Decimal`` are refused. Integers must fit the I-JSON range (±(2**53 - 1)).

The output is the ``rfc8785`` package's. For the common case (plain ``dict``/``list``/``str``/
``int``, keys below U+D800) the standard library's C JSON encoder produces the same bytes about
five times faster; the test-suite proves the two paths equal on the RFC vectors and on random
documents. Anything else goes through ``rfc8785`` itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import rfc8785

from tai_graph.errors import LedgerError

__all__ = ["SIGNATURE_FIELDS", "canonical_bytes", "signed_bytes", "signed_view"]

#: Receipt fields that are not part of the signed bytes (they are the signatures).
SIGNATURE_FIELDS = frozenset({"signature", "ed25519_signature"})

_INT_MAX = 2**53 - 1
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False, check_circular=False
)


def canonical_bytes(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises :class:`~tai_graph.errors.LedgerError` for values JCS cannot carry faithfully here:
    floats and decimals (write them as decimal strings), integers outside ±(2**53 - 1), non-string
    object keys, lone surrogates, and any non-JSON type.
    """
    try:
        if _check(obj):
            return _ENCODER.encode(obj).encode("utf-8")
        return bytes(rfc8785.dumps(obj))
    except _Refused as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in reversed(exc.path))
        raise LedgerError(f"canonical JSON: {exc.reason} at ${where}") from None
    except UnicodeEncodeError as exc:
        raise LedgerError("canonical JSON: a string contains a lone surrogate (not valid UTF-8)") from exc
    except rfc8785.CanonicalizationError as exc:
        raise LedgerError(f"canonical JSON: {exc}") from exc
    except RecursionError as exc:
        raise LedgerError("canonical JSON: value nested too deeply") from exc


def signed_view(receipt_body: Mapping[str, Any]) -> dict[str, Any]:
    """The receipt without ``signature`` and ``ed25519_signature``: what the signatures cover."""
    return {k: v for k, v in receipt_body.items() if k not in SIGNATURE_FIELDS}


def signed_bytes(receipt_body: Mapping[str, Any]) -> bytes:
    """The exact bytes a receipt's signatures and its chain hash are computed over."""
    return canonical_bytes(signed_view(receipt_body))


class _Refused(Exception):
    """A value receipts cannot carry; ``path`` collects the location innermost first."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str | int] = []


def _check(obj: Any) -> bool:
    """Refuse what receipts must not contain; True when the fast encoder is provably exact.

    Kept free of per-node allocations: it runs on every receipt built and verified.
    """
    kind = type(obj)
    if kind is str or kind is bool or obj is None:
        return True
    if kind is int:
        if -_INT_MAX <= obj <= _INT_MAX:
            return True
        raise _Refused(f"integer {obj} is outside ±(2**53 - 1); write it as a string")
    if kind is dict:
        fast = True
        for key, value in obj.items():
            try:
                if type(key) is not str:
                    if not isinstance(key, str):
                        raise _Refused(f"object key {key!r} is not a string")
                    fast = False
                elif not key.isascii() and max(key) >= "\ud800":
                    fast = False  # UTF-16 code-unit order can differ from code-point order
                if not _check(value):
                    fast = False
            except _Refused as exc:
                exc.path.append(str(key))
                raise
        return fast
    if kind is list:
        fast = True
        for i, value in enumerate(obj):
            try:
                if not _check(value):
                    fast = False
            except _Refused as exc:
                exc.path.append(i)
                raise
        return fast
    return _check_unusual(obj)


def _check_unusual(obj: Any) -> bool:
    """Subclasses and non-JSON types: refused, or left to ``rfc8785`` (returns False)."""
    if isinstance(obj, float | Decimal):
        raise _Refused(f'number {obj!r} is not an integer; receipts carry decimals as strings ("19.99")')
    if isinstance(obj, bool | str):
        return False
    if isinstance(obj, int):
        _check(int(obj))
        return False
    if isinstance(obj, dict):
        _check(dict(obj))
        return False
    if isinstance(obj, list | tuple):
        _check(list(obj))
        return False
    raise _Refused(f"{type(obj).__name__} is not a JSON value")
