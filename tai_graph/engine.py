"""The Engine: the one object the API and the CLI call.

It owns the store, the type registry, the signing key, the tenants and the write path; it is built
from :class:`~tai_graph.config.Settings` and passed explicitly (no globals).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tai_graph import __version__, mapping
from tai_graph.config import Settings
from tai_graph.documents import DocumentStore
from tai_graph.errors import InvalidInput, NotFound, TooLarge, Unavailable
from tai_graph.imports import ImportReport, run_import
from tai_graph.ingest import Ingestor
from tai_graph.intake import BadRecord
from tai_graph.ledger import (
    ServiceKey,
    make_checkpoint,
    receipt_hash,
    retention_until,
    verify_receipts,
)
from tai_graph.model import JSON, IngestResult, SignedReceipt
from tai_graph.schema import TypeRegistry
from tai_graph.sparql import QueryAnswer, SparqlService
from tai_graph.store import OxigraphStore, QueryScope
from tai_graph.tenants import Credentials, TenantRegistry


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Receipts of one page of the audit trail, in chain order, with the page's verification."""

    receipts: list[dict[str, JSON]]
    next_after: int | None
    verification: dict[str, JSON]


def _parse_bound(text: str, *, end: bool) -> datetime:
    """A date (whole day; an end date includes its day) or an RFC 3339 date-time with zone."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"{'date_to' if end else 'date_from'} must be YYYY-MM-DD or an RFC 3339 date-time",
            details={"field": "date_to" if end else "date_from", "rule": "format", "value": text},
        ) from exc
    if value.tzinfo is None:
        raise InvalidInput(
            "date-times need a zone (Z or ±hh:mm)",
            details={"field": "date_to" if end else "date_from", "rule": "timezone", "value": text},
        )
    return value.astimezone(UTC)


class Engine:
    """Everything TAI Graph does, for one data dir (or in memory)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        data = settings.data_dir
        self.store = OxigraphStore(data / "store" if data else None)
        self.docs = DocumentStore(data / "docs" if data else None)
        self.key = (
            ServiceKey.load_or_create(data / "keys" / "ed25519.pem") if data else ServiceKey.ephemeral()
        )
        self.registry = TypeRegistry.load(settings.shapes_dir, settings.ontology_dir)
        self.tenants = TenantRegistry(self.docs)
        self.ingestor = Ingestor(
            self.store,
            self.registry,
            self.key,
            {"version": __version__, "hostname": settings.hostname, "region": settings.region},
            flush=settings.durability == "flush",
        )
        self.sparql_service = SparqlService(
            self.store,
            timeout_s=settings.query_timeout_s,
            result_limit=settings.query_result_limit,
            max_concurrent=settings.max_concurrent_queries,
        )

    def close(self) -> None:
        self.store.close()

    def ping(self) -> None:
        """Liveness: :class:`Unavailable` unless the store answers a trivial query."""
        try:
            self.store.execute("ASK {}", QueryScope(()))
        except Exception as exc:
            raise Unavailable(f"the store does not answer: {exc}") from exc

    # -- tenants --------------------------------------------------------------------------
    def create_tenant(self, customer_id: str, name: str | None = None) -> Credentials:
        return self.tenants.create(customer_id, name)

    def scope(self, customer_id: str) -> QueryScope:
        """The only graphs a customer's queries can see."""
        return QueryScope((mapping.graph_iri(customer_id),))

    # -- events ---------------------------------------------------------------------------
    def ingest(
        self, customer_id: str, items: Sequence[JSON | BadRecord], *, atomic: bool = False
    ) -> IngestResult:
        """Validate and store events; receipts for the stored ones."""
        if len(items) > self.settings.max_batch_events:
            raise TooLarge(
                f"a batch holds at most {self.settings.max_batch_events} events; got {len(items)}",
                details={"field": "body", "rule": "max_batch_events"},
            )
        tenant = self.tenants.get(customer_id)
        return self.ingestor.ingest(customer_id, tenant.api_secret, items, atomic=atomic)

    def import_events(
        self, customer_id: str, items: Iterable[JSON | BadRecord], *, batch_size: int = 1000
    ) -> ImportReport:
        """Bulk historical import, batch by batch, ending in the data-quality report."""
        return run_import(
            items, lambda batch: self.ingest(customer_id, batch), self.registry, batch_size=batch_size
        )

    def receipt(self, customer_id: str, event_id: str) -> SignedReceipt:
        receipt = self.ingestor.stored_receipt(customer_id, event_id)
        if receipt is None:
            raise NotFound(f"no event {event_id!r} for this customer")
        return receipt

    def event(self, customer_id: str, event_id: str) -> dict[str, JSON]:
        """The stored event as it was receipted, with its receipt's place in the ledger."""
        receipt = self.receipt(customer_id, event_id)
        body = receipt.body
        return {
            "event_id": body["event_id"],
            "timestamp": body["timestamp"],
            "customer_id": body["customer_id"],
            "transaction_type": body["transaction_type"],
            "data": body["data"],
            "iri": mapping.event_iri(customer_id, event_id),
            "receipt": {
                "sequence": body["sequence"],
                "verification_timestamp": body["verification_timestamp"],
                "retained_until": _text(
                    retention_until(_ts(str(body["verification_timestamp"])), self.settings.retention_years)
                ),
            },
        }

    # -- ledger ---------------------------------------------------------------------------
    def receipt_by_sequence(self, customer_id: str, sequence: int) -> SignedReceipt | None:
        return self.ingestor.receipt_at(customer_id, mapping.receipt_iri(customer_id, sequence))

    def audit_trail(
        self,
        customer_id: str,
        date_from: str | None = None,
        date_to: str | None = None,
        *,
        after: int = 0,
        limit: int = 100,
    ) -> AuditPage:
        """Receipts whose verification timestamp is in ``[date_from, date_to)``, in chain order."""
        if not 1 <= limit <= 1000:
            raise InvalidInput(
                "limit must be 1-1000", details={"field": "limit", "rule": "range", "value": limit}
            )
        head = self.ingestor.head(customer_id)
        lo = self._first_at_or_after(customer_id, _parse_bound(date_from, end=False)) if date_from else 1
        hi = (
            self._first_at_or_after(customer_id, _parse_bound(date_to, end=True))
            if date_to
            else head.sequence + 1
        )
        start = max(lo, after + 1)
        stop = min(hi, start + limit)
        page = [self.receipt_by_sequence(customer_id, s) for s in range(start, stop)]
        receipts = [r for r in page if r is not None]
        anchor = None
        if start > 1:
            prev = self.receipt_by_sequence(customer_id, start - 1)
            anchor = None if prev is None else receipt_hash(prev.signed_bytes)
        report = verify_receipts(
            [r.body for r in receipts],
            secret=self.tenants.get(customer_id).api_secret,
            public_keys={self.key.key_id: self.key.public_key()},
            expect_start=start,
            anchor_hash=anchor,
        )
        return AuditPage(
            [r.body for r in receipts],
            stop - 1 if stop < hi else None,
            report.to_dict(),
        )

    def _first_at_or_after(self, customer_id: str, when: datetime) -> int:
        head = self.ingestor.head(customer_id).sequence

        class _Seq:
            def __len__(self) -> int:
                return head

            def __getitem__(inner, i: int) -> datetime:  # noqa: N805
                r = self.receipt_by_sequence(customer_id, i + 1)
                return _ts(str(r.body["verification_timestamp"])) if r else datetime.max.replace(tzinfo=UTC)

        return bisect.bisect_left(_Seq(), when) + 1  # type: ignore[call-overload]

    def checkpoint(self, customer_id: str) -> dict[str, JSON]:
        head = self.ingestor.head(customer_id)
        return make_checkpoint(customer_id, head.sequence, head.hash, self.key, datetime.now(UTC))

    def public_keys(self) -> dict[str, Any]:
        return {"keys": [self.key.public_jwk()], "pem": {self.key.key_id: self.key.public_pem()}}

    # -- queries --------------------------------------------------------------------------
    def sparql(
        self, customer_id: str, query: str, *, accept: str | None = None, format_param: str | None = None
    ) -> QueryAnswer:
        """Run an analyst's read-only query over the customer's graph only."""
        return self.sparql_service.run(
            query, scope=self.scope(customer_id), accept=accept, format_param=format_param
        )


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _text(ts: datetime) -> str:
    from tai_graph.model import format_utc

    return format_utc(ts)
