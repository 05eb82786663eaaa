"""A realistic, seeded demo dataset for customer #1 (the plan's e-commerce seller), as event JSON.

``generate()`` simulates ~90 days of baseline history, a two-week integration gap and four weeks
after go-live: Amazon and Shopify orders, order errors, warehouse cycle counts and stock updates,
entitlement changes, compliance violations, the ops team's work logs and manual reports, and
channel-to-WMS syncs. Every event is an exact SPEC §2 envelope. The data is what real feeds look
like: decimals as strings or JSON numbers, ``Z`` or US local offsets (with daylight saving),
a backfilled batch that arrives late, and a side list of bad records tagged with why they are bad.

Everything is a pure function of the arguments (``random.Random(seed)``, no clock, no globals), and
``expected`` holds the per-period figures recomputed from the events in ``Decimal``, so tests can
check the engine's KPIs to the cent.
"""

from __future__ import annotations

import copy
import json
import os
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tai_graph import demo_data as dd
from tai_graph import demo_sim as sim
from tai_graph.errors import InvalidInput

__all__ = ["DemoDataset", "dataset_summary", "expected_figures", "generate", "write_ndjson"]

Event = dict[str, Any]
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DemoDataset:
    """The generated dataset.

    ``events`` are the good events in stream order (the late batch last, also in ``late_events``).
    ``bad_records[i]`` is bad for the reason ``bad_reasons[i]``. Periods are half-open RFC 3339 UTC
    ``(from, to)`` pairs. ``expected`` maps ``"baseline"`` and ``"current"`` to
    :func:`expected_figures` of ``events``.
    """

    customer_id: str
    seed: int
    events: list[Event]
    bad_records: list[Event]
    bad_reasons: list[str]
    late_events: list[Event]
    engagement: dict[str, str]
    baseline_period: tuple[str, str]
    current_period: tuple[str, str]
    go_live: str
    attested: dict[str, str]
    expected: dict[str, dict[str, Any]]


def _bad_records(rng: random.Random, events: list[Event], baseline_end: str) -> tuple[list[Event], list[str]]:
    """The noise of a real feed, each record paired with the reason it is bad."""
    pool = [e for e in events if e["timestamp"] < baseline_end[:10]]
    by_type = {
        t: [e for e in pool if e["transaction_type"] == t] for t in ("order", "work_log", "inventory_count")
    }
    records: list[Event] = []
    reasons: list[str] = []

    def bad(reason: str, ttype: str, change: Any) -> None:
        candidates = by_type[ttype] or [e for e in events if e["transaction_type"] == ttype]
        if not candidates:  # a tiny dataset may lack the type
            return
        event = copy.deepcopy(rng.choice(candidates))
        if reason not in ("duplicate_resend", "conflicting_resend"):
            event["event_id"] = f"{event['event_id'][:13]}9{len(records):04d}"
        change(event, event["data"])
        records.append(event)
        reasons.append(reason)

    bad("missing_field:data.amount", "order", lambda e, d: d.pop("amount"))
    bad("missing_field:timestamp", "order", lambda e, d: e.pop("timestamp"))
    bad("missing_field:data.warehouse", "inventory_count", lambda e, d: d.pop("warehouse"))
    bad("negative_amount", "order", lambda e, d: d.update(amount="-25.00"))
    bad("non_numeric_amount", "order", lambda e, d: d.update(amount="N/A"))
    bad("unknown_status", "order", lambda e, d: d.update(status="shipped"))
    bad("naive_timestamp", "order", lambda e, d: e.update(timestamp=e["timestamp"][:19]))
    bad("unknown_field:data.coupon_code", "order", lambda e, d: d.update(coupon_code="BFCM25"))
    bad("unknown_transaction_type", "order", lambda e, d: e.update(transaction_type="refund"))
    bad("invalid_event_id", "order", lambda e, d: e.update(event_id=e["event_id"].replace("_", " ", 1) + "#"))
    bad("quantity_below_minimum", "order", lambda e, d: d.update(sku_id="SKU-12345", quantity=0))
    bad("hours_out_of_range", "work_log", lambda e, d: d.update(hours="26"))
    bad("negative_quantity", "inventory_count", lambda e, d: d.update(counted_quantity=-3))
    bad("duplicate_resend", "order", lambda e, d: None)
    bad("conflicting_resend", "order", lambda e, d: d.update(amount=_conflicting(d["amount"])))
    return records, reasons


def _conflicting(amount: Any) -> str:
    return str(Decimal(str(amount)) + Decimal("10.00"))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def expected_figures(events: list[Event], start: str, end: str) -> dict[str, Any]:
    """The figures of the events whose timestamp (as a UTC instant) is in ``[start, end)``.

    Sums are exact ``Decimal``; ratios (``error_rate``, ``stockout_miss_rate``,
    ``inventory_accuracy``, ``avg_sync_latency_ms``) are Decimal divisions at the default
    28-digit context, ``None`` when the denominator is zero.
    """
    lo, hi = _utc(start), _utc(end)
    inside = [e for e in events if lo <= _utc(e["timestamp"]) < hi]
    of = {t: [e["data"] for e in inside if e["transaction_type"] == t] for t in _TYPES}
    orders, counts, syncs = of["order"], of["inventory_count"], of["sync"]
    gmv = sum((_dec(o["amount"]) for o in orders), Decimal(0))
    stockout = sum((_dec(o["amount"]) for o in orders if o["status"] == "stockout"), Decimal(0))
    matched = sum(1 for c in counts if c["counted_quantity"] == c["system_quantity"])
    latency = sum((_dec(s["latency_ms"]) for s in syncs), Decimal(0))

    def ratio(a: Decimal | int, b: Decimal | int) -> Decimal | None:
        return Decimal(a) / Decimal(b) if b else None

    return {
        "events": len(inside),
        "events_by_type": {t: len(of[t]) for t in _TYPES},
        "manual_hours": sum((_dec(w["hours"]) for w in of["work_log"]), Decimal(0)),
        "manual_report_hours": sum((_dec(m["hours"]) for m in of["manual_report"]), Decimal(0)),
        "manual_reports": len(of["manual_report"]),
        "orders": len(orders),
        "orders_by_status": dict(sorted(Counter(o["status"] for o in orders).items())),
        "order_errors": len(of["order_error"]),
        "errors_by_type": dict(sorted(Counter(e["error_type"] for e in of["order_error"]).items())),
        "error_rate": ratio(len(of["order_error"]), len(orders)),
        "compliance_violations": len(of["compliance_violation"]),
        "gmv": gmv,
        "stockout_amount": stockout,
        "stockout_miss_rate": ratio(stockout, gmv),
        "inventory_counts": len(counts),
        "inventory_matched": matched,
        "inventory_accuracy": ratio(matched, len(counts)),
        "syncs": len(syncs),
        "sync_latency_ms_total": latency,
        "avg_sync_latency_ms": ratio(latency, len(syncs)),
    }


_TYPES = (
    "order",
    "order_error",
    "sku_update",
    "inventory_count",
    "entitlement_change",
    "compliance_violation",
    "work_log",
    "manual_report",
    "sync",
)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(
    seed: int = 7,
    *,
    baseline_start: date = date(2025, 10, 7),
    baseline_days: int = 90,
    gap_days: int = 14,
    current_days: int = 28,
    scale: float = 1.0,
    attested_reports: bool = False,
) -> DemoDataset:
    """Generate customer #1's dataset; a pure function of its arguments.

    Baseline is ``[baseline_start, +baseline_days)``, then an integration gap of ``gap_days``
    whose events belong to neither period, then go-live and the current period of
    ``current_days`` (all at UTC midnight). With the defaults: baseline 2025-10-07 … 2026-01-05,
    go-live 2026-01-19 (the day of the plan's receipt example, which is in the data), current
    2026-01-19 … 2026-02-16, ~44,000 events. ``scale`` multiplies the machine-made volume (orders,
    stock, syncs, entitlements); the people-made events keep the plan's monthly numbers.
    ``attested_reports=True`` leaves out the baseline's manual_report events, so the baseline
    needs the attested ``manual_report_hours_per_month`` figure.

    Raises :class:`~tai_graph.errors.InvalidInput` for a non-positive length or scale.
    """
    if min(baseline_days, current_days) < 1 or gap_days < 0 or not 0 < scale <= 50:
        raise InvalidInput(
            "demo: baseline_days and current_days must be >= 1, gap_days >= 0, 0 < scale <= 50"
        )
    rng = random.Random(seed)
    b0 = datetime(baseline_start.year, baseline_start.month, baseline_start.day)
    b1 = b0 + baseline_days * _DAY
    c0 = b1 + gap_days * _DAY
    c1 = c0 + current_days * _DAY
    gen = sim.Simulation(rng, scale)
    for i in range((c1 - b0).days):
        day = b0.date() + timedelta(days=i)
        if day < b1.date():
            rates = dd.BASELINE
        elif day < c0.date():
            rates = dd.blend(dd.BASELINE, dd.CURRENT, ((day - b1.date()).days + 0.5) / gap_days)
        else:
            rates = dd.CURRENT
        gen.day(day, rates, day.weekday() < 5)
    phases = [(b0, b1, dd.BASELINE), (b1, c0, dd.blend(dd.BASELINE, dd.CURRENT, 0.5)), (c0, c1, dd.CURRENT)]
    for n, (start, end, rates) in enumerate(phases):
        if end > start:
            sim.people(gen, start, end, rates, reports=n > 0 or not attested_reports)
    sim.edges(gen, b1, c0, c1)
    plan_moment = datetime(2026, 1, 19, 10, 35, 22)
    if b0 <= plan_moment < c1:
        gen.raw.append(
            sim.Raw(plan_moment, None, False, "sku_update", dict(dd.PLAN_EVENT_DATA), False, dd.PLAN_EVENT_ID)
        )
    raws = sim.mark_late(
        gen.raw, (b0 + rng.randint(baseline_days // 3, 2 * baseline_days // 3) * _DAY).date()
    )
    events, late = sim.assign(raws)
    baseline, current = (_iso(b0), _iso(b1)), (_iso(c0), _iso(c1))
    bad, reasons = _bad_records(rng, events, baseline[1])
    return DemoDataset(
        customer_id=dd.CUSTOMER_ID,
        seed=seed,
        events=events,
        bad_records=bad,
        bad_reasons=reasons,
        late_events=late,
        engagement=dict(dd.ENGAGEMENT),
        baseline_period=baseline,
        current_period=current,
        go_live=_iso(c0),
        attested=dict(dd.ATTESTED),
        expected={
            "baseline": expected_figures(events, *baseline),
            "current": expected_figures(events, *current),
        },
    )


def write_ndjson(events: list[Event], path: str | os.PathLike[str]) -> int:
    """Write events as NDJSON (one compact JSON object per line, UTF-8); returns the count."""
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for event in events:
            out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    return len(events)


def dataset_summary(ds: DemoDataset) -> str:
    """A short human summary: events per type in each phase, bad and late records, key figures."""
    edges = [ds.baseline_period[0], ds.baseline_period[1], ds.current_period[0], ds.current_period[1]]
    cuts = [_utc(t) for t in edges]
    phases = ("before", "baseline", "gap", "current", "after")
    table: dict[str, Counter[str]] = {t: Counter() for t in _TYPES}
    for e in ds.events:
        moment = _utc(e["timestamp"])
        table[e["transaction_type"]][phases[sum(1 for c in cuts if moment >= c)]] += 1
    shown = [p for p in phases if any(table[t][p] for t in _TYPES)]
    lines = [
        f"{ds.customer_id} demo (seed {ds.seed}): {len(ds.events)} events, "
        f"{len(ds.late_events)} arriving late, {len(ds.bad_records)} bad records",
        f"baseline {ds.baseline_period[0]} to {ds.baseline_period[1]}, go-live {ds.go_live}, "
        f"current {ds.current_period[0]} to {ds.current_period[1]}",
        f"{'type':<22}" + "".join(f"{p:>10}" for p in shown),
    ]
    lines += [f"{t:<22}" + "".join(f"{table[t][p]:>10}" for p in shown) for t in _TYPES]
    for name in ("baseline", "current"):
        x = ds.expected[name]
        lines.append(
            f"{name}: {x['orders']} orders, GMV {x['gmv']}, {x['order_errors']} errors, "
            f"{x['manual_hours']} manual h, {x['compliance_violations']} violations"
        )
    return "\n".join(lines)
