"""KPIs, engagement settings, signed baselines and value realisation for one customer.

Every KPI answer carries its provenance: the query's name, the SHA-256 of its text and the
parameters it was bound with, so any figure can be reproduced from the query file and the data.
A baseline is frozen once, signed like a receipt (HMAC with the customer's secret, Ed25519 with
the service key) and never changes; it is verified every time it is read.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tai_graph import __version__
from tai_graph.documents import DocumentStore
from tai_graph.errors import InvalidInput, LedgerError, NotFound
from tai_graph.ledger import ServiceKey, canonical_bytes, hmac_hex, hmac_matches, verify_ed25519
from tai_graph.model import format_utc
from tai_graph.periods import Period, month_count, parse_period
from tai_graph.queries import BoundQuery, NamedQuery, QueryRegistry, QueryResult, bind, run
from tai_graph.store.base import GraphStore, QueryScope
from tai_graph.value import (
    AttestedFigures,
    Engagement,
    PeriodFigures,
    ValueReport,
    compute_value,
    decimal_text,
    reconcile,
)

#: the KPI each value-metric input comes from: figure -> (query, column)
FIGURE_SOURCES: dict[str, tuple[str, str]] = {
    "manual_hours": ("manual_hours", "value"),
    "manual_report_hours": ("manual_reports", "value"),
    "orders": ("orders", "value"),
    "gmv": ("orders", "gmv"),
    "order_errors": ("error_rate", "errors"),
    "violations": ("compliance_violations", "value"),
    "stockout_amount": ("stockout_miss_rate", "stockout_amount"),
}
_COUNTS = {"orders", "order_errors", "violations"}
_SIGNATURES = ("signature", "ed25519_signature")


@dataclass(frozen=True, slots=True)
class KpiTable:
    """Every named KPI of one period, in registry order."""

    period: Period
    results: list[QueryResult]

    def get(self, name: str) -> QueryResult:
        for r in self.results:
            if r.name == name:
                return r
        raise NotFound(f"no KPI {name!r}")

    def figures(self) -> PeriodFigures:
        """The value-metric inputs (SPEC §3) taken from the KPI results."""
        values: dict[str, Any] = {}
        for figure, (query, column) in FIGURE_SOURCES.items():
            rows = self.get(query).rows
            raw = rows[0].get(column) if len(rows) == 1 else None
            number = raw if isinstance(raw, Decimal) else Decimal(0)
            values[figure] = int(number) if figure in _COUNTS else number
        return PeriodFigures.for_period(self.period, **values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "months": decimal_text(month_count(self.period)),
            "kpis": {r.name: r.to_dict() for r in self.results},
        }


@dataclass(frozen=True, slots=True)
class ValueOutcome:
    """A value computation with what it was computed from: the current KPIs, the frozen baseline
    document and the engagement settings (rates) it used."""

    report: ValueReport
    current: KpiTable
    baseline: dict[str, Any]
    engagement: Engagement


class Metrics:
    """The metrics side of the engine, per customer."""

    def __init__(
        self,
        store: GraphStore,
        queries: QueryRegistry,
        docs: DocumentStore,
        key: ServiceKey,
        event_types: Sequence[str],
    ) -> None:
        self.store = store
        self.queries = queries
        self.docs = docs
        self.key = key
        self.event_types = tuple(event_types)  # what "*" in a query's slice list stands for

    # -- KPIs -----------------------------------------------------------------------------
    def run_query(
        self, scope: QueryScope, name: str, period: Period, params: Mapping[str, str] | None = None
    ) -> QueryResult:
        """One named query over ``period`` with typed, safely bound parameters."""
        return run(self.store, scope, self.bind_query(name, period, params))

    def bind_query(self, name: str, period: Period, params: Mapping[str, str] | None = None) -> BoundQuery:
        """One named query bound for ``period``: the exact SPARQL a KPI runs, slice keys included."""
        return self._bind(self.queries.get(name), params or {}, period)

    def kpis(self, scope: QueryScope, period: Period) -> KpiTable:
        """Every registered KPI over ``period`` with default parameters."""
        return KpiTable(period, [run(self.store, scope, self._bind(q, {}, period)) for q in self.queries])

    def _bind(self, query: NamedQuery, params: Mapping[str, str], period: Period) -> BoundQuery:
        return bind(query, params, period, event_types=self.event_types)

    def alerts(self, scope: QueryScope, period: Period) -> list[dict[str, Any]]:
        """KPIs whose value breaches the alert threshold in their query's metadata."""
        return self.alerts_of(self.kpis(scope, period))

    def alerts_of(self, table: KpiTable) -> list[dict[str, Any]]:
        """The KPIs of an already computed ``table`` that meet their query's alert threshold."""
        out: list[dict[str, Any]] = []
        for result in table.results:
            alert = self.queries.get(result.name).alert
            if alert is not None and result.alerts:
                out.append({"query": result.name, "alert": str(alert), "rows": result.to_dict()["alerts"]})
        return out

    # -- engagement -----------------------------------------------------------------------
    def engagement(self, customer_id: str) -> Engagement:
        doc = self.docs.get("engagements", customer_id)
        if doc is None:
            raise NotFound("no engagement settings yet: PUT /v1/engagement first")
        return Engagement.from_dict(doc)

    def set_engagement(self, customer_id: str, settings: Mapping[str, Any]) -> Engagement:
        engagement = Engagement.from_dict(settings)
        self.docs.put("engagements", customer_id, engagement.to_dict())
        return engagement

    # -- baselines ------------------------------------------------------------------------
    def freeze_baseline(
        self,
        customer_id: str,
        secret: str,
        scope: QueryScope,
        period: Period,
        attested: Mapping[str, Any] | None,
        ledger_head: dict[str, Any],
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Freeze ``period``'s KPIs into a signed, write-once snapshot and return it."""
        attested_figures = AttestedFigures.from_dict(attested or {})
        table = self.kpis(scope, period)
        frozen_at = (now or datetime.now(UTC)).astimezone(UTC)
        doc: dict[str, Any] = {
            "id": f"bl_{frozen_at:%Y%m%d}_{secrets.token_hex(4)}",
            "customer_id": customer_id,
            "period": period.to_dict(),
            "frozen_at": format_utc(frozen_at),
            "figures": table.figures().to_dict(),
            "attested": attested_figures.to_dict(),
            "kpis": {
                r.name: {
                    "value": r.to_dict()["value"],
                    "rows": r.to_dict()["rows"],
                    "parameters": r.parameters,
                    "text_sha256": r.text_sha256,
                }
                for r in table.results
            },
            "ledger_head": ledger_head,
            "engine_version": __version__,
            "key_id": self.key.key_id,
        }
        signed = canonical_bytes(doc)
        doc["signature"] = hmac_hex(secret, signed)
        doc["ed25519_signature"] = self.key.sign(signed)
        self.docs.put(f"baselines/{customer_id}", doc["id"], doc, write_once=True)
        return doc

    def baseline(self, customer_id: str, baseline_id: str, secret: str) -> dict[str, Any]:
        """A stored baseline, after checking both of its signatures."""
        try:
            doc = self.docs.get(f"baselines/{customer_id}", baseline_id)
        except ValueError:
            doc = None
        if doc is None:
            raise NotFound(f"no baseline {baseline_id!r}")
        signed = canonical_bytes({k: v for k, v in doc.items() if k not in _SIGNATURES})
        if not hmac_matches(secret, signed, doc.get("signature")) or not verify_ed25519(
            self.key.public_key(), signed, str(doc.get("ed25519_signature"))
        ):
            raise LedgerError(f"baseline {baseline_id!r} fails its signature check: it was altered")
        return dict(doc)

    def baselines(self, customer_id: str) -> list[str]:
        return self.docs.names(f"baselines/{customer_id}")

    # -- value ----------------------------------------------------------------------------
    def value(
        self, customer_id: str, secret: str, scope: QueryScope, baseline_id: str, period: Period
    ) -> ValueOutcome:
        """Value realised in ``period`` against a frozen baseline (SPEC §3)."""
        base = self.baseline(customer_id, baseline_id, secret)
        base_period = parse_period(base["period"]["from"], base["period"]["to"])
        baseline_figures = PeriodFigures.from_dict(base["figures"], base_period)
        current = self.kpis(scope, period)
        engagement = self.engagement(customer_id)
        report = compute_value(
            baseline_figures,
            current.figures(),
            engagement,
            AttestedFigures.from_dict(base.get("attested") or {}),
            baseline_id=baseline_id,
        )
        return ValueOutcome(report, current, base, engagement)

    def reconcile(
        self, table: KpiTable, manual: Mapping[str, Any], tolerance: Decimal
    ) -> list[dict[str, str | None]]:
        """Engine KPI values against the customer's own figures (KPI name -> number)."""
        engine_values = {r.name: r.value for r in table.results if r.value is not None}
        try:
            manual_values = {k: Decimal(str(v)) for k, v in manual.items()}
        except ArithmeticError as exc:
            raise InvalidInput("manual figures must be numbers", details={"field": "manual"}) from exc
        unknown = sorted(set(manual_values) - {r.name for r in table.results})
        if unknown:
            raise InvalidInput(
                f"no KPI named {unknown[0]!r}", details={"field": f"manual.{unknown[0]}", "rule": "known-kpi"}
            )
        return [d.to_dict() for d in reconcile(engine_values, manual_values, tolerance)]


__all__ = ["FIGURE_SOURCES", "KpiTable", "Metrics", "ValueOutcome"]
