"""The customer #1 demo dataset: deterministic, SPEC §2-shaped, and close to the plan's numbers."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tai_graph import demo
from tai_graph.errors import InvalidInput

# ---- a small, independent checker for SPEC §2 / §2.1 --------------------------------------

_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_NUMERIC = re.compile(r"-?\d+(\.\d+)?")
_ENVELOPE = {"event_id", "timestamp", "customer_id", "transaction_type", "data"}
_STATUSES = {"fulfilled", "failed", "stockout", "cancelled", "returned"}
_ERROR_TYPES = {"duplicate_order", "wrong_sku", "inventory_mismatch", "entitlement_violation", "other"}

# field -> (kind, required); kinds: str, dec (>= 0), int (>= 0), pos_int (>= 1), hours, enum set
_FIELDS: dict[str, dict[str, tuple[Any, bool]]] = {
    "order": {
        "order_id": ("str", True),
        "channel": ("str", True),
        "amount": ("dec", True),
        "currency": ("ccy", False),
        "status": (_STATUSES, True),
        "sku_id": ("str", False),
        "quantity": ("pos_int", False),
    },
    "order_error": {"order_id": ("str", True), "error_type": (_ERROR_TYPES, True), "cost": ("dec", False)},
    "sku_update": {
        "sku_id": ("str", True),
        "new_inventory": ("int", True),
        "previous_inventory": ("int", True),
        "reason": ("str", True),
        "warehouse": ("str", False),
        "channel": ("str", False),
    },
    "inventory_count": {
        "sku_id": ("str", True),
        "warehouse": ("str", True),
        "system_quantity": ("int", True),
        "counted_quantity": ("int", True),
        "channel": ("str", False),
    },
    "entitlement_change": {
        "account_id": ("str", True),
        "feature": ("str", True),
        "action": ({"grant", "revoke", "update"}, True),
        "tier": ("str", False),
    },
    "compliance_violation": {
        "violation_type": ("str", True),
        "severity": ({"low", "medium", "high", "critical"}, True),
        "cost": ("dec", False),
    },
    "work_log": {"activity": ("str", True), "hours": ("hours", True), "person": ("str", False)},
    "manual_report": {"report_name": ("str", True), "hours": ("pos_dec", True)},
    "sync": {"source": ("str", True), "target": ("str", True), "latency_ms": ("dec", True)},
}


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str) and _NUMERIC.fullmatch(value):
        return Decimal(value)
    return None


def _field_ok(kind: Any, value: Any) -> bool:
    if isinstance(kind, set):
        return value in kind
    if kind == "str":
        return isinstance(value, str) and value != ""
    if kind == "ccy":
        return isinstance(value, str) and re.fullmatch(r"[A-Z]{3}", value) is not None
    if kind in ("int", "pos_int"):
        return type(value) is int and value >= (1 if kind == "pos_int" else 0)
    number = _decimal(value)
    if number is None:
        return False
    if kind == "dec":
        return number >= 0
    if kind == "pos_dec":
        return number > 0
    return Decimal(0) < number <= 24  # hours


def spec_errors(event: dict[str, Any]) -> list[str]:
    """What is wrong with an event under SPEC §2 (empty: nothing)."""
    errors = [f"unknown field {k}" for k in event if k not in _ENVELOPE]
    event_id = event.get("event_id")
    if not isinstance(event_id, str) or not _ID.fullmatch(event_id):
        errors.append("event_id")
    timestamp = event.get("timestamp")
    if not isinstance(timestamp, str) or not _TS.fullmatch(timestamp):
        errors.append("timestamp")
    if event.get("customer_id", "customer_001") != "customer_001":
        errors.append("customer_id")
    fields = _FIELDS.get(event.get("transaction_type", ""))
    data = event.get("data")
    if fields is None or not isinstance(data, dict):
        return [*errors, "transaction_type or data"]
    errors += [f"unknown field data.{k}" for k in data if k not in fields]
    for name, (kind, required) in fields.items():
        if name not in data:
            if required:
                errors.append(f"missing data.{name}")
        elif not _field_ok(kind, data[name]):
            errors.append(f"data.{name}={data[name]!r}")
    return errors


# ---- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def ds() -> demo.DemoDataset:
    return demo.generate()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _months(start: str, end: str) -> Decimal:
    """Calendar months in [start, end) per SPEC §3 (whole UTC days only, as in the demo)."""
    lo, hi, total = _utc(start), _utc(end), Decimal(0)
    day = lo
    while day < hi:
        nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        total += Decimal(1) / Decimal((nxt - day.replace(day=1)).days)
        day += timedelta(days=1)
    return total


def _recompute(events: list[dict[str, Any]], start: str, end: str) -> dict[str, Any]:
    lo, hi = _utc(start), _utc(end)
    by: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        if lo <= _utc(e["timestamp"]) < hi:
            by.setdefault(e["transaction_type"], []).append(e["data"])

    def total(kind: str, key: str, where: Any = None) -> Decimal:
        return sum((Decimal(str(d[key])) for d in by.get(kind, []) if where is None or where(d)), Decimal(0))

    counts = by.get("inventory_count", [])
    return {
        "manual_hours": total("work_log", "hours"),
        "manual_report_hours": total("manual_report", "hours"),
        "orders": len(by.get("order", [])),
        "order_errors": len(by.get("order_error", [])),
        "compliance_violations": len(by.get("compliance_violation", [])),
        "gmv": total("order", "amount"),
        "stockout_amount": total("order", "amount", lambda d: d["status"] == "stockout"),
        "inventory_counts": len(counts),
        "inventory_matched": sum(1 for c in counts if c["counted_quantity"] == c["system_quantity"]),
        "syncs": len(by.get("sync", [])),
        "sync_latency_ms_total": total("sync", "latency_ms"),
    }


# ---- determinism ---------------------------------------------------------------------------


def test_same_seed_same_dataset(ds: demo.DemoDataset) -> None:
    again = demo.generate(7)
    assert json.dumps(again.events) == json.dumps(ds.events)
    assert again.bad_records == ds.bad_records and again.bad_reasons == ds.bad_reasons
    assert again.expected == ds.expected


def test_other_seed_other_dataset(ds: demo.DemoDataset) -> None:
    other = demo.generate(8)
    assert json.dumps(other.events) != json.dumps(ds.events)
    assert other.baseline_period == ds.baseline_period


def test_generation_is_fast_and_sized() -> None:
    started = time.perf_counter()
    ds = demo.generate()
    assert time.perf_counter() - started < 5.0
    assert 40_000 <= len(ds.events) <= 60_000
    assert len(demo.generate(scale=0.1).events) < len(ds.events) / 5


@pytest.mark.parametrize(
    "kwargs", [{"scale": 0}, {"baseline_days": 0}, {"current_days": 0}, {"gap_days": -1}]
)
def test_bad_arguments_raise(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        demo.generate(**kwargs)


# ---- shape ---------------------------------------------------------------------------------


def test_every_good_event_obeys_the_spec(ds: demo.DemoDataset) -> None:
    broken = [(e["event_id"], errs) for e in ds.events if (errs := spec_errors(e))]
    assert broken == []
    assert {e["customer_id"] for e in ds.events} == {"customer_001"}
    assert {e["transaction_type"] for e in ds.events} == set(_FIELDS)


def test_event_ids_are_unique_and_plan_like(ds: demo.DemoDataset) -> None:
    ids = [e["event_id"] for e in ds.events]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"evt_\d{8}_\d{5}", i) for i in ids)
    plan = next(e for e in ds.events if e["event_id"] == "evt_20260119_00234")
    assert plan["timestamp"] == "2026-01-19T10:35:22Z"
    assert plan["data"] == {
        "sku_id": "SKU-12345",
        "new_inventory": 487,
        "previous_inventory": 502,
        "reason": "automated_reorder",
    }


def test_feeds_mix_number_formats_and_zones(ds: demo.DemoDataset) -> None:
    amounts = [e["data"]["amount"] for e in ds.events if e["transaction_type"] == "order"]
    assert {type(a) for a in amounts} == {str, float}
    zones = Counter("Z" if e["timestamp"].endswith("Z") else e["timestamp"][-6:] for e in ds.events)
    assert {"Z", "-04:00", "-05:00", "-06:00", "-07:00", "-08:00"} <= set(zones)
    # US daylight saving: Eastern is -04:00 in October, -05:00 in December
    eastern = {
        e["timestamp"][:7]: e["timestamp"][-6:]
        for e in ds.events
        if e["timestamp"][-6:] in ("-04:00", "-05:00")
    }
    assert eastern["2025-10"] == "-04:00" and eastern["2025-12"] == "-05:00"
    assert any("person" not in e["data"] for e in ds.events if e["transaction_type"] == "work_log")


def test_bad_records_are_bad_except_resends(ds: demo.DemoDataset) -> None:
    assert len(ds.bad_records) == len(ds.bad_reasons) == len(set(ds.bad_reasons))
    wanted = {
        "negative_amount",
        "unknown_status",
        "naive_timestamp",
        "non_numeric_amount",
        "duplicate_resend",
    }
    assert wanted | {"conflicting_resend"} <= set(ds.bad_reasons)
    assert any(r.startswith("missing_field:") for r in ds.bad_reasons)
    assert any(r.startswith("unknown_field:") for r in ds.bad_reasons)
    good = {e["event_id"]: e for e in ds.events}
    for record, reason in zip(ds.bad_records, ds.bad_reasons, strict=True):
        if reason == "duplicate_resend":
            assert record == good[record["event_id"]] and spec_errors(record) == []
        elif reason == "conflicting_resend":
            original = good[record["event_id"]]
            assert record != original and spec_errors(record) == []
            assert Decimal(str(record["data"]["amount"])) != Decimal(str(original["data"]["amount"]))
        else:
            assert spec_errors(record), reason
            assert record.get("event_id") not in good


def test_late_events_come_last_and_belong_to_the_baseline(ds: demo.DemoDataset) -> None:
    late = ds.late_events
    assert len(late) >= 20 and ds.events[-len(late) :] == late
    lo, hi = (_utc(t) for t in ds.baseline_period)
    assert all(lo <= _utc(e["timestamp"]) < hi for e in late)
    assert {"order", "sync", "inventory_count"} <= {e["transaction_type"] for e in late}
    on_time = ds.events[: -len(late)]
    assert _utc(late[0]["timestamp"]) < _utc(on_time[-1]["timestamp"])


# ---- periods and figures -------------------------------------------------------------------


def test_periods_and_settings(ds: demo.DemoDataset) -> None:
    assert ds.baseline_period == ("2025-10-07T00:00:00Z", "2026-01-05T00:00:00Z")
    assert ds.current_period == ("2026-01-19T00:00:00Z", "2026-02-16T00:00:00Z")
    assert ds.go_live == ds.current_period[0]
    assert _utc(ds.current_period[0]) - _utc(ds.baseline_period[1]) == timedelta(days=14)
    assert ds.engagement == {
        "currency": "USD",
        "cost_per_hour": "60",
        "cost_per_error": "100",
        "cost_per_violation": "5000",
        "annual_contract_value": "50000",
    }
    assert ds.attested == {"manual_report_hours_per_month": "40"}


def test_edges_are_half_open_and_timezone_aware(ds: demo.DemoDataset) -> None:
    stamps = {e["timestamp"] for e in ds.events}
    assert {"2026-01-04T18:59:59-05:00", "2026-01-05T00:00:00Z", "2026-01-18T19:00:00-05:00"} <= stamps
    gap = (_utc(ds.baseline_period[1]), _utc(ds.current_period[0]))
    # both spellings of go-live instant fall in the current period, the baseline end in the gap
    assert _utc("2026-01-18T19:00:00-05:00") == _utc(ds.current_period[0])
    assert gap[0] <= _utc("2026-01-05T00:00:00Z") < gap[1]
    in_gap = [e for e in ds.events if gap[0] <= _utc(e["timestamp"]) < gap[1]]
    assert len(in_gap) > 1000  # the integration gap has events that belong to neither period


@pytest.mark.parametrize("period", ["baseline", "current"])
def test_expected_matches_a_recomputation(ds: demo.DemoDataset, period: str) -> None:
    start, end = ds.baseline_period if period == "baseline" else ds.current_period
    mine = _recompute(ds.events, start, end)
    theirs = ds.expected[period]
    assert {k: theirs[k] for k in mine} == mine
    assert theirs["error_rate"] == Decimal(mine["order_errors"]) / mine["orders"]
    assert theirs["stockout_miss_rate"] == mine["stockout_amount"] / mine["gmv"]
    assert theirs["inventory_accuracy"] == Decimal(mine["inventory_matched"]) / mine["inventory_counts"]
    assert theirs["avg_sync_latency_ms"] == mine["sync_latency_ms_total"] / mine["syncs"]
    assert all(not isinstance(v, float) for v in theirs.values())


def _near(value: Decimal, target: str, tolerance: str) -> bool:
    return abs(value - Decimal(target)) <= Decimal(tolerance)


@pytest.mark.parametrize("seed", [7, 1, 2])
def test_figures_land_near_the_plan(seed: int) -> None:
    ds = demo.generate(seed)
    for name, period, plan in (
        ("baseline", ds.baseline_period, ("120", "0.035", "0.021", "2", "0.91", "40")),
        ("current", ds.current_period, ("24", "0.005", "0.003", "0.1", "0.97", "8")),
    ):
        x, months = ds.expected[name], _months(*period)
        hours, stockout, errors, violations, accuracy, reports = plan
        assert _near(x["manual_hours"] / months, hours, str(Decimal(hours) * Decimal("0.15"))), name
        assert _near(x["stockout_miss_rate"], stockout, "0.006"), name
        assert _near(x["error_rate"], errors, "0.003" if name == "baseline" else "0.0015"), name
        assert _near(x["gmv"] / months, "500000", "75000"), name
        assert 3300 <= x["orders"] / months <= 4600, name
        assert _near(x["compliance_violations"] / months, violations, "1.0"), name
        assert _near(x["inventory_accuracy"], accuracy, "0.015"), name
        assert _near(x["manual_report_hours"] / months, reports, str(Decimal(reports) * Decimal("0.4"))), name
    hours_in_ms = Decimal(3_600_000)
    assert 4 * hours_in_ms <= ds.expected["baseline"]["avg_sync_latency_ms"] <= 6 * hours_in_ms
    assert 30 <= ds.expected["current"]["avg_sync_latency_ms"] <= 80


def test_attested_reports_leave_the_baseline_without_report_events() -> None:
    ds = demo.generate(attested_reports=True)
    assert ds.expected["baseline"]["manual_reports"] == 0
    assert ds.expected["baseline"]["manual_report_hours"] == 0
    assert ds.expected["current"]["manual_reports"] > 0
    assert ds.attested["manual_report_hours_per_month"] == "40"


# ---- output --------------------------------------------------------------------------------


def test_write_ndjson_round_trips(ds: demo.DemoDataset, tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    assert demo.write_ndjson(ds.events, path) == len(ds.events)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(ds.events)
    assert [json.loads(line) for line in lines[:500]] == ds.events[:500]
    parsed = [json.loads(line, parse_float=Decimal) for line in lines]
    assert demo.expected_figures(parsed, *ds.baseline_period)["gmv"] == ds.expected["baseline"]["gmv"]


def test_summary_names_counts_per_type_and_period(ds: demo.DemoDataset) -> None:
    text = demo.dataset_summary(ds)
    assert "customer_001" in text and "baseline" in text and "current" in text
    order_line = next(line for line in text.splitlines() if line.startswith("order "))
    assert str(ds.expected["baseline"]["orders"]) in order_line.split()
    assert str(ds.expected["current"]["orders"]) in order_line.split()
