"""The Engine: the one object the API and the CLI call.

It owns the store, the type registry, the signing key, the tenants and the write path; it is built
from :class:`~tai_graph.config.Settings` and passed explicitly (no globals).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
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
from tai_graph.metrics import FIGURE_SOURCES, KpiTable, Metrics
from tai_graph.model import JSON, IngestResult, SignedReceipt, format_utc
from tai_graph.periods import Period, parse_period
from tai_graph.queries import BoundQuery, QueryRegistry, QueryResult
from tai_graph.schema import TypeRegistry
from tai_graph.sparql import QueryAnswer, SparqlService
from tai_graph.store import GraphStore, QueryScope, open_store
from tai_graph.tenants import Credentials, TenantRegistry
from tai_graph.value import Engagement


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


def _period(from_text: str | None, to_text: str | None) -> Period:
    if not from_text or not to_text:
        missing = "from" if not from_text else "to"
        raise InvalidInput(
            f"parameter {missing!r} is required (RFC 3339 date-time with zone, or YYYY-MM-DD)",
            details={"parameter": missing, "rule": "required"},
        )
    return parse_period(from_text, to_text)


def _provenance(table: KpiTable) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for figure, (query, column) in FIGURE_SOURCES.items():
        r = table.get(query)
        out[figure] = {
            "query": query,
            "column": column,
            "text_sha256": r.text_sha256,
            "parameters": r.parameters,
        }
    return out


#: The layout ingest writes and the named queries read (docs/design.md): 2 = monthly, daily and
#: hourly rollup cells keyed by ``tai:slice``, events keyed by ``tai:hourSlice``. A data dir records it
#: when it is first used; one written with another layout is refused, not answered wrongly.
DATA_MODEL = 2


class Engine:
    """Everything TAI Graph does, for one data dir (or in memory)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        data = settings.data_dir
        self.store: GraphStore = open_store(settings)
        self.docs = DocumentStore(data / "docs" if data else None)
        self.key = (
            ServiceKey.load_or_create(data / "keys" / "ed25519.pem") if data else ServiceKey.ephemeral()
        )
        self.registry = TypeRegistry.load(settings.shapes_dir, settings.ontology_dir)
        self.tenants = TenantRegistry(self.docs)
        self._check_data_model()
        self.ingestor = Ingestor(
            self.store,
            self.registry,
            self.key,
            {"version": __version__, "hostname": settings.hostname, "region": settings.region},
            flush=settings.durability == "flush",
        )
        self.event_types = self.registry.names
        self.queries = QueryRegistry.load(settings.query_dirs, event_types=self.event_types)
        self.metrics = Metrics(self.store, self.queries, self.docs, self.key, self.event_types)
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

    def _check_data_model(self) -> None:
        marker = self.docs.get("system", "data-model")
        found = marker.get("version") if isinstance(marker, dict) else None
        if found is None and not self.tenants.all():  # a new data dir: this layout from now on
            self.docs.put("system", "data-model", {"version": DATA_MODEL})
        elif found != DATA_MODEL:
            self.store.close()
            raise Unavailable(
                f"this data dir holds data written by TAI Graph data model {found or 1}; this version"
                f" reads data model {DATA_MODEL} (rollup cells keyed by tai:slice). Import the events"
                " into a new data dir with `tai-graph import`",
                details={
                    "data_dir": str(self.settings.data_dir),
                    "found": found or 1,
                    "expected": DATA_MODEL,
                },
            )

    def optimize_store(self) -> None:
        """Compact the store (see :meth:`GraphStore.optimize`); worth it after a large import."""
        self.store.optimize()

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
                "retained_until": format_utc(
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
        """The first sequence receipted at or after ``when`` (verification timestamps never go
        backwards along the chain, so a binary search finds it in ~log2(n) lookups)."""

        def stamp(sequence: int) -> datetime:
            r = self.receipt_by_sequence(customer_id, sequence)
            return _ts(str(r.body["verification_timestamp"])) if r else datetime.max.replace(tzinfo=UTC)

        head = self.ingestor.head(customer_id).sequence
        return bisect.bisect_left(range(1, head + 1), when, key=stamp) + 1

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

    # -- metrics: KPIs, engagement, baselines, value ----------------------------------------
    def run_query(self, customer_id: str, name: str, params: dict[str, str]) -> QueryResult:
        """Run one named query; ``params`` must hold ``from`` and ``to``."""
        period = _period(params.get("from"), params.get("to"))
        return self.metrics.run_query(self.scope(customer_id), name, period, params)

    def bound_query(self, name: str, params: dict[str, str]) -> BoundQuery:
        """One named query bound as :meth:`run_query` binds it (``params`` hold ``from``/``to``): the
        text that reproduces its figure on the SPARQL endpoint."""
        return self.metrics.bind_query(name, _period(params.get("from"), params.get("to")), params)

    def kpis(self, customer_id: str, from_text: str | None, to_text: str | None) -> KpiTable:
        """Every named KPI over ``[from, to)``."""
        return self.metrics.kpis(self.scope(customer_id), _period(from_text, to_text))

    def alerts(self, customer_id: str, from_text: str | None, to_text: str | None) -> list[dict[str, Any]]:
        return self.metrics.alerts(self.scope(customer_id), _period(from_text, to_text))

    def engagement(self, customer_id: str) -> Engagement:
        return self.metrics.engagement(customer_id)

    def set_engagement(self, customer_id: str, settings: dict[str, Any]) -> Engagement:
        return self.metrics.set_engagement(customer_id, settings)

    def freeze_baseline(self, customer_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``{"from", "to", "attested"?}`` -> the signed, frozen baseline."""
        unknown = sorted(set(body) - {"from", "to", "attested"})
        if unknown:
            raise InvalidInput(
                f"unknown field {unknown[0]!r}; a baseline takes from, to and attested",
                details={"field": unknown[0], "rule": "closed"},
            )
        attested = body.get("attested") or {}
        if not isinstance(attested, dict):
            raise InvalidInput("attested must be an object", details={"field": "attested", "rule": "type"})
        period = _period(body.get("from"), body.get("to"))
        return self.metrics.freeze_baseline(
            customer_id,
            self.tenants.get(customer_id).api_secret,
            self.scope(customer_id),
            period,
            attested,
            self.checkpoint(customer_id),
        )

    def baseline(self, customer_id: str, baseline_id: str) -> dict[str, Any]:
        return self.metrics.baseline(customer_id, baseline_id, self.tenants.get(customer_id).api_secret)

    def baselines(self, customer_id: str) -> list[str]:
        """The ids of the customer's frozen baselines, sorted."""
        return self.metrics.baselines(customer_id)

    def value(
        self, customer_id: str, baseline_id: str | None, from_text: str | None, to_text: str | None
    ) -> dict[str, Any]:
        """The ``GET /v1/value`` answer, with provenance for every figure."""
        if not baseline_id:
            raise InvalidInput(
                "parameter 'baseline' is required", details={"parameter": "baseline", "rule": "required"}
            )
        outcome = self.metrics.value(
            customer_id,
            self.tenants.get(customer_id).api_secret,
            self.scope(customer_id),
            baseline_id,
            _period(from_text, to_text),
        )
        base = outcome.baseline
        doc = outcome.report.to_dict()
        doc["provenance"] = {
            "baseline": {
                figure: {
                    "query": q,
                    "column": c,
                    "text_sha256": base["kpis"][q]["text_sha256"],
                    "parameters": base["kpis"][q]["parameters"],
                }
                for figure, (q, c) in FIGURE_SOURCES.items()
            },
            "current": _provenance(outcome.current),
        }
        baseline_ref = doc["baseline"]
        assert isinstance(baseline_ref, dict)
        baseline_ref["frozen_at"] = base["frozen_at"]
        doc["engagement"] = outcome.engagement.to_dict()  # the rates the value used
        return doc

    def reconcile(
        self,
        customer_id: str,
        from_text: str | None,
        to_text: str | None,
        manual: dict[str, Any],
        tolerance: str,
    ) -> dict[str, Any]:
        """Engine KPIs against the customer's own figures; differences beyond ``tolerance``."""
        try:
            tol = Decimal(str(tolerance))
        except ArithmeticError as exc:
            raise InvalidInput("tolerance must be a number", details={"field": "tolerance"}) from exc
        table = self.kpis(customer_id, from_text, to_text)
        return {
            "period": table.period.to_dict(),
            "tolerance": str(tol),
            "differences": self.metrics.reconcile(table, manual, tol),
        }


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
