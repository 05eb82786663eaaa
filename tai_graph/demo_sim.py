"""The simulation behind :mod:`tai_graph.demo`: customer #1's operations, day by day, as raw events.

Internal to the demo. Times are naive UTC ``datetime`` values with the local offset kept beside
them, so events can be written in US local time (daylight saving included) or with ``Z``. Money is
integer cents until it is written, then a decimal string or a JSON number, as real feeds do.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from tai_graph import demo_data as dd
from tai_graph.demo_data import Rates

Event = dict[str, Any]
_DAY = timedelta(days=1)


class Raw(NamedTuple):
    """One event before it has an id and a written timestamp."""

    utc: datetime  # naive UTC
    offset: int | None  # local offset in minutes; None renders as "Z"
    millis: bool
    ttype: str
    data: Event
    late: bool = False
    event_id: str | None = None


def _nth_sunday(year: int, month: int, n: int) -> datetime:
    first = date(year, month, 1)
    day = first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))
    return datetime(day.year, day.month, day.day)


def us_offset(std_hours: int, utc: datetime) -> int:
    """Offset in minutes of a US zone at a UTC instant (DST: 2nd Sunday of March to 1st of Nov)."""
    start = _nth_sunday(utc.year, 3, 2) + timedelta(hours=2 - std_hours)
    end = _nth_sunday(utc.year, 11, 1) + timedelta(hours=1 - std_hours)
    return (std_hours + (1 if start <= utc < end else 0)) * 60


def local(day: date, std_hours: int, hour: float) -> tuple[datetime, int]:
    """A local wall-clock moment of ``day`` in a US zone, as (naive UTC, offset minutes)."""
    wall = datetime(day.year, day.month, day.day) + timedelta(hours=hour)
    offset = us_offset(std_hours, wall - timedelta(hours=std_hours))
    return wall - timedelta(minutes=offset), offset


def month_count(start: datetime, end: datetime) -> float:
    """Calendar months in [start, end): whole months count 1, partial ones days / month length."""
    total, cursor = 0.0, start
    while cursor < end:
        nxt = datetime(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
        month_len = (nxt - datetime(cursor.year, cursor.month, 1)).days
        total += (min(nxt, end) - cursor) / _DAY / month_len
        cursor = nxt
    return total


def money(cents: int, as_number: bool) -> str | float:
    """A money amount as a feed writes it: ``"149.90"`` or the JSON number ``149.9``."""
    return cents / 100 if as_number else f"{cents // 100}.{cents % 100:02d}"


class Simulation:
    """Builds raw events day by day while tracking stock per (sku, warehouse)."""

    def __init__(self, rng: random.Random, scale: float) -> None:
        self.rng = rng
        self.scale = scale
        self.raw: list[Raw] = []
        skus = rng.sample(range(10000, 99999), dd.CATALOG_SIZE)
        skus[0] = 12345  # the plan's example SKU is the best seller
        self.skus = [f"SKU-{n}" for n in skus]
        popularity = [1 / (i + 1) ** 0.8 for i in range(len(self.skus))]
        self.sku_cum = _cumulative(popularity)
        raw_price = [rng.lognormvariate(0, 0.55) for _ in self.skus]
        # scale so the popularity-weighted unit price is the plan's, whatever the seed
        unit = dd.UNIT_PRICE / (
            sum(p * w for p, w in zip(raw_price, popularity, strict=True)) / self.sku_cum[-1]
        )
        self.price = {s: max(499, round(p * unit * 100)) for s, p in zip(self.skus, raw_price, strict=True)}
        self.home = {s: rng.sample([w for w, _ in dd.WAREHOUSES], rng.choice((1, 2, 3))) for s in self.skus}
        self.level = {(s, w): rng.randint(60, 900) for s in self.skus for w in self.home[s]}
        self.slots = {w: [k for k in self.level if k[1] == w] for w, _ in dd.WAREHOUSES}
        self.order_ids: set[str] = set()
        self.shopify_next = 5_830_112_004_000
        self.stockout_debt = 0.0  # stockout amount (cents) owed to the rate, carried day to day
        self.error_debt = 0.0

    def add(self, utc: datetime, offset: int | None, ttype: str, data: Event, millis: bool = False) -> None:
        self.raw.append(Raw(utc, offset, millis, ttype, data))

    def at_hq(self, day: date, hour: float) -> tuple[datetime, int]:
        return local(day, dd.HQ_OFFSET, hour + self.rng.random() / 60)

    def day(self, day: date, r: Rates, weekday: bool) -> None:
        orders = self.orders(day, r)
        self.errors(orders, r)
        for wh, std in dd.WAREHOUSES:
            self.counts(day, wh, std, r, weekday)
            self.adjust(day, wh, std, r, weekday)
            self.reorders(day, wh, std, r)
        self.entitlements(day, r, weekday)
        self.syncs(day, r)

    def orders(self, day: date, r: Rates) -> list[tuple[datetime, str]]:
        """The day's orders; returns (time, order_id) of each."""
        rng = self.rng
        mean = dd.ORDERS_PER_DAY * self.scale * dd.WEEKDAY_FACTOR[day.weekday()] * dd.season(day)
        n = max(0, round(rng.gauss(mean, 0.06 * mean + math.sqrt(mean))))
        made: list[tuple[datetime, int | None, Event, int]] = []
        for h in sorted(rng.choices(range(24), weights=dd.HOUR_WEIGHTS, k=n)):
            utc, off = local(day, dd.HQ_OFFSET, h + rng.random())
            amazon = rng.random() < dd.AMAZON_SHARE
            data: Event = {"order_id": self.order_id(amazon), "channel": "amazon" if amazon else "shopify"}
            if rng.random() < 0.92:
                sku = self.skus[rng.choices(range(len(self.skus)), cum_weights=self.sku_cum)[0]]
                qty = rng.choices(*zip(*dd.QUANTITY_WEIGHTS, strict=True))[0]
                cents = self.price[sku] * qty
                data["sku_id"], data["quantity"] = sku, qty
            else:  # a multi-line basket: the feed carries no single SKU
                cents = int(rng.lognormvariate(5.1, 0.45) * 100)
            if rng.random() < 0.002:
                cents = 0  # warranty replacement, shipped free
            data["amount"] = money(cents, amazon)
            if not amazon:
                data["currency"] = "USD"
            made.append((utc, None if amazon else off, data, cents))
        self.statuses(made, r)
        for utc, offset, data, _ in made:
            if data["status"] in ("fulfilled", "returned") and "sku_id" in data:
                key = (data["sku_id"], self.home[data["sku_id"]][0])
                self.level[key] = max(0, self.level[key] - data["quantity"])
            self.add(utc, offset, "order", data)
        return [(utc, data["order_id"]) for utc, _, data, _ in made]

    def statuses(self, made: list[tuple[datetime, int | None, Event, int]], r: Rates) -> None:
        """Order statuses; stockouts are paced by amount so their GMV share tracks the rate."""
        rng = self.rng
        self.stockout_debt += r.stockout * sum(m[3] for m in made) * min(2.0, max(0.3, rng.gauss(1, 0.3)))
        for i in rng.sample(range(len(made)), len(made)):
            cents, data = made[i][3], made[i][2]
            if 0 < cents <= 2 * self.stockout_debt:
                data["status"] = "stockout"
                self.stockout_debt -= cents
                continue
            x, data["status"] = rng.random(), "fulfilled"
            for name, limit in (("failed", r.failed), ("cancelled", r.cancelled), ("returned", r.returned)):
                if x < limit:
                    data["status"] = name
                    break
                x -= limit
        # keep the key order of a real feed: status before sku_id and quantity
        for _, _, data, _ in made:
            for key in ("sku_id", "quantity"):
                if key in data:
                    data[key] = data.pop(key)

    def order_id(self, amazon: bool) -> str:
        while True:
            if amazon:
                r = self.rng.randint
                oid = f"{r(111, 114)}-{r(0, 9_999_999):07d}-{r(0, 9_999_999):07d}"
            else:
                self.shopify_next += self.rng.randint(1, 40)
                oid = str(self.shopify_next)
            if oid not in self.order_ids:
                self.order_ids.add(oid)
                return oid

    def errors(self, orders: list[tuple[datetime, str]], r: Rates) -> None:
        """Order errors on random orders of the day, paced so their count tracks the rate."""
        rng = self.rng
        weights = _blend_weights(dd.ERROR_WEIGHTS_BASELINE, dd.ERROR_WEIGHTS_CURRENT, r.realtime)
        self.error_debt += r.error * len(orders)
        k = min(len(orders), max(0, round(self.error_debt + rng.uniform(-0.8, 0.8))))
        self.error_debt -= k
        for utc, oid in rng.sample(orders, k):
            data: Event = {"order_id": oid, "error_type": rng.choices(dd.ERROR_TYPES, weights)[0]}
            if rng.random() < 0.4:
                data["cost"] = money(rng.randint(15, 150) * 100 + rng.choice((0, 50)), False)
            self.add(utc + timedelta(hours=rng.uniform(0.5, 48)), None, "order_error", data)

    def counts(self, day: date, wh: str, std: int, r: Rates, weekday: bool) -> None:
        rng = self.rng
        for _ in range(round((14 if weekday else 4) * self.scale * rng.uniform(0.8, 1.2))):
            key = rng.choice(self.slots[wh])
            system = self.level[key]
            counted = system
            if rng.random() >= r.inventory_match:
                counted = max(0, system + rng.choice((-1, 1)) * rng.randint(1, 12))
                counted = counted if counted != system else system + 1
            utc, off = local(day, std, rng.uniform(6, 15))
            data: Event = {"sku_id": key[0], "warehouse": wh, "system_quantity": system}
            data["counted_quantity"] = counted
            self.add(utc, off, "inventory_count", data)
            if counted != system:
                self.stock(
                    utc + timedelta(minutes=rng.randint(20, 90)), off, key, counted, "cycle_count_correction"
                )

    def stock(self, utc: datetime, off: int | None, key: tuple[str, str], new: int, reason: str) -> None:
        data: Event = {"sku_id": key[0], "new_inventory": new, "previous_inventory": self.level[key]}
        data["reason"], data["warehouse"] = reason, key[1]
        self.level[key] = new
        self.add(utc, off, "sku_update", data)

    def adjust(self, day: date, wh: str, std: int, r: Rates, weekday: bool) -> None:
        rng = self.rng
        mean = r.adjustments_day / len(dd.WAREHOUSES) * self.scale * (1.0 if weekday else 0.25)
        for _ in range(_poisson(rng, mean)):
            key = rng.choice(self.slots[wh])
            utc, off = local(day, std, rng.uniform(8, 18))
            new = max(0, self.level[key] + rng.randint(-25, 40))
            self.stock(utc, off, key, new, rng.choice(dd.ADJUST_REASONS))

    def reorders(self, day: date, wh: str, std: int, r: Rates) -> None:
        reason = "automated_reorder" if r.realtime >= 0.5 else "purchase_order_received"
        for key in self.slots[wh]:
            if self.level[key] < 25:
                utc, off = local(day, std, self.rng.uniform(22, 23.9))
                self.stock(utc, off, key, self.level[key] + self.rng.randint(12, 48) * 10, reason)

    def entitlements(self, day: date, r: Rates, weekday: bool) -> None:
        rng = self.rng
        for _ in range(_poisson(rng, r.entitlements_day * self.scale * (1.0 if weekday else 0.3))):
            data: Event = {"account_id": f"acct-{rng.randint(1, dd.ACCOUNTS):04d}"}
            data["feature"] = rng.choice(dd.FEATURES)
            data["action"] = rng.choices(("grant", "update", "revoke"), (50, 30, 20))[0]
            if rng.random() < 0.7:
                data["tier"] = rng.choice(dd.TIERS)
            utc, off = self.at_hq(day, rng.uniform(8, 19))
            self.add(utc, off, "entitlement_change", data)

    def syncs(self, day: date, r: Rates) -> None:
        rng = self.rng
        realtime = rng.random() < r.realtime
        per_day = max(1, round((96 if realtime else 12) * self.scale))
        step = 86400 / per_day
        for source, target in dd.SYNC_PAIRS:
            for k in range(per_day):
                utc = datetime(day.year, day.month, day.day) + timedelta(seconds=(k + rng.random()) * step)
                if realtime:
                    tenths = round(rng.lognormvariate(math.log(41), 0.3) * 10)
                    if rng.random() < 0.01:
                        tenths = rng.randint(2000, 15000)
                else:
                    hours = rng.uniform(4, 6) if rng.random() > 0.03 else rng.uniform(8, 10)
                    tenths = round(hours * 3_600_000) * 10
                ms: Any = f"{tenths // 10}.{tenths % 10}"
                if source == "amazon":  # this connector writes JSON numbers
                    ms = tenths // 10 if tenths % 10 == 0 else tenths / 10
                data: Event = {"source": source, "target": target, "latency_ms": ms}
                self.add(utc.replace(microsecond=rng.randint(0, 999) * 1000), None, "sync", data, True)


def _cumulative(weights: Any) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _blend_weights(a: tuple[int, ...], b: tuple[int, ...], t: float) -> list[float]:
    return [x * (1 - t) + y * t for x, y in zip(a, b, strict=True)]


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; means here are small)."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _hours_value(hours: float, as_number: bool) -> str | float | int:
    """Hours as a timesheet export writes them: ``"1.5"``, ``"2"``, ``1.25`` or ``2``."""
    if as_number:
        return int(hours) if hours == int(hours) else hours
    return f"{hours:g}"


def people(gen: Simulation, start: datetime, end: datetime, r: Rates, *, reports: bool) -> None:
    """Work logs, manual reports and compliance violations of one phase, paced to its monthly rates.

    Hours follow the phase's target closely (a fixed workload, day-to-day jitter that evens out);
    report and violation counts are the monthly rate times the phase's calendar-month count.
    """
    rng = gen.rng
    days = [start.date() + timedelta(days=i) for i in range((end - start).days)]
    weekdays = [d for d in days if d.weekday() < 5]
    months = month_count(start, end)
    per_day = r.work_hours_month * months / max(1, len(weekdays))
    target = done = 0.0
    for day in weekdays:
        target += per_day
        hours = max(0.0, round((target - done + rng.uniform(-0.35, 0.35) * per_day) * 4) / 4)
        done += hours
        clock = rng.uniform(9, 10)
        while hours > 0:
            chunk = min(hours, rng.choice(dd.WORK_CHUNKS))
            hours -= chunk
            clock += chunk + rng.uniform(0, 0.4)
            person = rng.choice(dd.PERSONS)
            data: Event = {"activity": rng.choices(dd.ACTIVITIES, dd.ACTIVITY_WEIGHTS)[0]}
            data["hours"] = _hours_value(chunk, person == "p-03")
            if rng.random() > 0.08:
                data["person"] = person
            gen.add(*gen.at_hq(day, min(clock, 23.5)), "work_log", data)
    if reports:
        for i, day in enumerate(sorted(rng.choices(weekdays, k=round(r.reports_month * months)))):
            hours = rng.choice(dd.REPORT_HOURS)
            data = {"report_name": dd.REPORTS[i % len(dd.REPORTS)]}
            data["hours"] = hours if i % 3 == 2 else f"{hours:.1f}"
            gen.add(*gen.at_hq(day, rng.uniform(14, 18)), "manual_report", data)
    for day in sorted(rng.sample(days, min(len(days), round(r.violations_month * months)))):
        data = {"violation_type": rng.choice(dd.VIOLATION_TYPES)}
        data["severity"] = rng.choices(dd.SEVERITIES, dd.SEVERITY_WEIGHTS)[0]
        if rng.random() < 0.5:
            data["cost"] = rng.choice(dd.VIOLATION_COSTS)
        gen.add(*gen.at_hq(day, rng.uniform(9, 17)), "compliance_violation", data)


def edges(gen: Simulation, b1: datetime, c0: datetime, c1: datetime) -> None:
    """Orders exactly on the period edges, some written in local time, to pin half-open periods."""
    second = timedelta(seconds=1)
    for utc, offset in (
        (b1 - second, -300),
        (b1, None),
        (c0 - second, None),
        (c0, None),
        (c0, -300),
        (c1, -480),
    ):
        data: Event = {"order_id": gen.order_id(False), "channel": "shopify", "amount": "89.00"}
        data["currency"], data["status"] = "USD", "fulfilled"
        gen.add(utc, offset, "order", data)


def _render(raw: Raw, event_id: str) -> Event:
    if raw.offset is None:
        text = raw.utc.strftime("%Y-%m-%dT%H:%M:%S")
        text += (f".{raw.utc.microsecond // 1000:03d}" if raw.millis else "") + "Z"
    else:
        sign, minutes = ("-" if raw.offset < 0 else "+"), abs(raw.offset)
        local = raw.utc + timedelta(minutes=raw.offset)
        text = local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return {
        "event_id": event_id,
        "timestamp": text,
        "customer_id": dd.CUSTOMER_ID,
        "transaction_type": raw.ttype,
        "data": raw.data,
    }


def assign(raws: list[Raw]) -> tuple[list[Event], list[Event]]:
    """Stream order with ids ``evt_YYYYMMDD_NNNNN`` numbered per UTC day; the late batch goes last."""
    reserved = {r.event_id for r in raws if r.event_id}
    counters: Counter[date] = Counter()
    on_time: list[Event] = []
    late: list[Event] = []
    for raw in sorted(raws, key=lambda r: r.utc):
        event_id = raw.event_id
        while event_id is None or (event_id in reserved and raw.event_id is None):
            counters[raw.utc.date()] += 1
            event_id = f"evt_{raw.utc:%Y%m%d}_{counters[raw.utc.date()]:05d}"
        (late if raw.late else on_time).append(_render(raw, event_id))
    return on_time + late, late


def mark_late(raws: list[Raw], day: date) -> list[Raw]:
    """A warehouse scanner outage and an Amazon connector outage on ``day``, backfilled later."""

    def is_late(r: Raw) -> bool:
        if r.utc.date() != day:
            return False
        if r.ttype in ("inventory_count", "sku_update"):
            return bool(r.data.get("warehouse") == dd.LATE_WAREHOUSE)
        if r.ttype == "sync":
            return bool(r.data["source"] == "amazon")
        return r.ttype == "order" and r.data["channel"] == "amazon" and 14 <= r.utc.hour < 18

    return [r._replace(late=True) if is_late(r) else r for r in raws]
