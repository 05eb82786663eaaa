"""Plain value types shared by the core: events, violations, receipts, ingest outcomes.

Money and quantities are ``Decimal``; times are timezone-aware UTC ``datetime``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

#: JSON value as produced by ``json.loads(..., parse_float=Decimal)``.
JSON = Any

Status = Literal["created", "duplicate", "conflict", "invalid", "rejected"]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule of one event.

    ``field`` is the JSON field (``data.amount``, ``timestamp``), ``rule`` the SHACL constraint
    component (``sh:minInclusive``) or envelope rule (``tai:json``), ``value`` the offending value.
    """

    event_id: str | None
    field: str
    rule: str
    message: str
    value: JSON = None
    index: int | None = None  # position in the submitted batch, when there was one

    def to_dict(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "event_id": self.event_id,
            "field": self.field,
            "rule": self.rule,
            "message": self.message,
            "value": _jsonable(self.value),
        }
        if self.index is not None:
            out["index"] = self.index
        return out


def _jsonable(value: JSON) -> JSON:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Event:
    """A validated, normalised event.

    ``timestamp`` is UTC. ``data`` holds JSON-ready values with decimals as decimal strings
    (``"19.99"``) and integers as ``int``, exactly as they appear in the receipt.
    """

    event_id: str
    timestamp: datetime
    customer_id: str
    transaction_type: str
    data: dict[str, JSON]

    @property
    def timestamp_text(self) -> str:
        return format_utc(self.timestamp)


def format_utc(ts: datetime) -> str:
    """RFC 3339 text in UTC with ``Z``; microseconds only when present."""
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond:
        text += f".{ts.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass(frozen=True, slots=True)
class SignedReceipt:
    """A receipt as stored: its JSON body (with signatures) and its exact signed bytes."""

    body: dict[str, JSON]
    signed_bytes: bytes

    @property
    def event_id(self) -> str:
        return str(self.body["event_id"])

    @property
    def sequence(self) -> int:
        return int(self.body["sequence"])


@dataclass(slots=True)
class EventOutcome:
    """What happened to one submitted event."""

    index: int
    event_id: str | None
    status: Status
    receipt: SignedReceipt | None = None
    violations: list[Violation] = field(default_factory=list)
    message: str | None = None

    def to_dict(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {"index": self.index, "event_id": self.event_id, "status": self.status}
        if self.receipt is not None:
            out["receipt"] = self.receipt.body
        if self.violations:
            out["errors"] = [v.to_dict() for v in self.violations]
        if self.message:
            out["message"] = self.message
        return out


@dataclass(slots=True)
class IngestResult:
    """Per-event outcomes of one ingest call, in submission order."""

    outcomes: list[EventOutcome]
    atomic: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def accepted(self) -> int:
        return self.count("created") + self.count("duplicate")

    def to_dict(self) -> dict[str, JSON]:
        return {
            "atomic": self.atomic,
            "summary": {
                s: self.count(s) for s in ("created", "duplicate", "conflict", "invalid", "rejected")
            },
            "results": [o.to_dict() for o in self.outcomes],
        }
