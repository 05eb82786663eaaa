"""Constants behind the customer #1 demo dataset (:mod:`tai_graph.demo`).

The numbers follow the customer plan (``shared/seed/000_…``): an e-commerce seller on Amazon and
Shopify with three US warehouses, ~$500K GMV a month, 120 manual hours a month before go-live and
24 after, 2.1 % → 0.3 % order errors, 3.5 % → 0.5 % stockout misses, 2 → ~0 compliance violations
a month, 10 manual reports of ~4 hours → 2, 91 % → 97 % inventory accuracy and 4-6 h → ~50 ms sync
latency. Rates are plain floats: they only steer the random generator, never money math.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta

CUSTOMER_ID = "customer_001"

#: The engagement settings of SPEC §3, as the customer would PUT them.
ENGAGEMENT: dict[str, str] = {
    "currency": "USD",
    "cost_per_hour": "60",
    "cost_per_error": "100",
    "cost_per_violation": "5000",
    "annual_contract_value": "50000",
}

#: The customer's signed baseline estimate for reporting effort (10 reports x 4 h a month).
ATTESTED: dict[str, str] = {"manual_report_hours_per_month": "40"}

#: The plan's receipt example, reproduced verbatim when its day falls inside the dataset.
PLAN_EVENT_ID = "evt_20260119_00234"
PLAN_EVENT_DATA: dict[str, object] = {
    "sku_id": "SKU-12345",
    "new_inventory": 487,
    "previous_inventory": 502,
    "reason": "automated_reorder",
}

#: Warehouses and the standard (winter) UTC offset of their local time, in hours.
WAREHOUSES: tuple[tuple[str, int], ...] = (("WH-NJ-01", -5), ("WH-TX-01", -6), ("WH-NV-01", -8))
HQ_OFFSET = -5  # the ops team and the Shopify store run on US Eastern time
LATE_WAREHOUSE = "WH-TX-01"  # its scanner outage is backfilled at the end of the stream

CATALOG_SIZE = 360
ORDERS_PER_DAY = 128.0
UNIT_PRICE = 90.0  # popularity-weighted mean price of one unit, USD: ~$127 per order, ~$515K a month
AMAZON_SHARE = 0.6
WEEKDAY_FACTOR = (1.06, 1.03, 1.0, 0.98, 0.96, 0.95, 1.02)  # Monday … Sunday
#: Relative order volume by local (Eastern) hour of day.
HOUR_WEIGHTS = (
    *(2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8),
    *(9, 9, 8, 8, 8, 8, 9, 10, 10, 9, 6, 4),
)
QUANTITY_WEIGHTS = ((1, 75), (2, 18), (3, 5), (4, 1), (6, 1))

ERROR_TYPES = ("entitlement_violation", "inventory_mismatch", "duplicate_order", "wrong_sku", "other")
ERROR_WEIGHTS_BASELINE = (52, 20, 12, 10, 6)
ERROR_WEIGHTS_CURRENT = (30, 25, 5, 25, 15)

ACTIVITIES = ("sku_reconciliation", "compliance_check", "error_investigation", "entitlement_management")
ACTIVITY_WEIGHTS = (45, 30, 15, 10)
PERSONS = ("p-01", "p-02", "p-03")
WORK_CHUNKS = (0.5, 0.75, 1.0, 1.0, 1.25, 1.5, 1.5, 2.0, 2.5)

REPORTS = (
    "weekly_inventory_reconciliation",
    "channel_sales_summary",
    "stockout_incident_report",
    "amazon_fee_reconciliation",
    "monthly_gmv_close",
    "entitlement_audit_export",
    "compliance_checklist",
)
REPORT_HOURS = (2.5, 3.0, 3.5, 4.0, 4.0, 4.5, 5.0, 5.5)

VIOLATION_TYPES = (
    "marketplace_price_parity",
    "restricted_product_listing",
    "late_shipment_sla",
    "sales_tax_collection",
    "customer_data_retention",
    "hazmat_labeling",
)
SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_WEIGHTS = (30, 40, 25, 5)
VIOLATION_COSTS = ("1500.00", "2500.00", "5000.00", "5000.00", "7500.00", "12000.00")

FEATURES = (
    "wholesale_pricing",
    "net30_terms",
    "bulk_discount",
    "dropship_api",
    "early_access",
    "priority_support",
)
TIERS = ("bronze", "silver", "gold", "platinum")
ACCOUNTS = 280

ADJUST_REASONS = ("manual_adjustment", "damage_writeoff", "receiving_correction", "oversell_fix")
SYNC_PAIRS = (("shopify", "wms"), ("amazon", "wms"), ("wms", "shopify"), ("wms", "amazon"))


@dataclass(frozen=True, slots=True)
class Rates:
    """Operating rates of one phase; the integration gap blends baseline into current."""

    stockout: float  # share of orders (≈ share of GMV) that miss for lack of stock
    failed: float
    cancelled: float
    returned: float
    error: float  # order_error events per order
    work_hours_month: float
    reports_month: float
    violations_month: float
    inventory_match: float
    adjustments_day: float  # manual sku_update adjustments per weekday
    entitlements_day: float
    realtime: float  # 0: batch sync every 2 h, 4-6 h behind; 1: streaming, ~50 ms


BASELINE = Rates(0.035, 0.009, 0.022, 0.038, 0.021, 120.0, 10.0, 2.0, 0.91, 24.0, 9.0, 0.0)
CURRENT = Rates(0.005, 0.003, 0.020, 0.036, 0.003, 24.0, 2.0, 0.1, 0.97, 5.0, 9.0, 1.0)


def blend(a: Rates, b: Rates, t: float) -> Rates:
    """Rates a share ``t`` (0…1) of the way from ``a`` to ``b``."""
    values = [getattr(a, f.name) * (1 - t) + getattr(b, f.name) * t for f in fields(Rates)]
    return Rates(*values)


def season(day: date) -> float:
    """Order-volume factor of a calendar day: Black Friday to Cyber Monday, December, January."""
    nov1 = date(day.year, 11, 1)
    thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
    since = (day - thanksgiving).days
    if 1 <= since <= 4:
        return (2.3, 1.5, 1.4, 2.1)[since - 1]
    if day.month == 12:
        return {24: 0.75, 25: 0.5, 26: 0.9, 31: 0.8}.get(day.day, 1.08 if day.day < 21 else 1.0)
    if day.month == 1:
        return 0.6 if day.day == 1 else 0.97
    return 1.0
