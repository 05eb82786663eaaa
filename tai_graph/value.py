"""Value and ROI math of SPEC §3: pure functions on ``Decimal``, no I/O, no clock.

Inputs are the engagement settings (:class:`Engagement`), the raw figures of the baseline and
current periods (:class:`PeriodFigures`) and optional customer-attested baseline figures
(:class:`AttestedFigures`). :func:`compute_value` turns them into a :class:`ValueReport`.

Conventions (docs/methodology.md explains them for a finance reader):

- Every division runs in :func:`tai_graph.periods.decimal_context` (28 significant digits);
  nothing is rounded to cents until it is displayed (:func:`display_money`, half-up).
- Rates are fractions (0.021 is 2.1 %). A rate whose denominator is zero is undefined (``None``);
  a metric that needs an undefined rate is worth 0 and the report says why in ``notes``.
- An attested figure replaces the measured baseline of a metric only when the baseline period
  recorded none of the events that metric counts; the metric's ``source`` is then ``"attested"``.
- Payback is ``None`` ("never") when the gross annual benefit is not positive.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any, Literal, TypeAlias

from tai_graph.errors import InvalidInput, InvalidSettings
from tai_graph.periods import Period, decimal_context, month_count

__all__ = [
    "METRICS",
    "AttestedFigures",
    "Difference",
    "Engagement",
    "MetricValue",
    "PeriodFigures",
    "ValueReport",
    "compute_value",
    "decimal_text",
    "display_money",
    "display_number",
    "display_percent",
    "reconcile",
    "summarize_benefit",
]

#: The five value metrics of SPEC §3, in report order.
METRICS = (
    "operational_efficiency",
    "error_reduction",
    "compliance_reduction",
    "revenue_protection",
    "operational_overhead",
)

Source: TypeAlias = Literal["measured", "attested"]

_ZERO = Decimal(0)
_TWELVE = Decimal(12)
_CURRENCY_RE = re.compile(r"[A-Z]{3}", re.ASCII)
_DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)


# -- parsing and validation helpers ----------------------------------------------------------


def _to_decimal(value: object, field: str, error: type[InvalidInput]) -> Decimal:
    """A finite Decimal from a Decimal, int, float (via its shortest text) or decimal string."""
    if isinstance(value, bool):
        raise error(f"{field}: expected a number, got a boolean", details=_why(field, "number", value))
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))  # 0.1 -> Decimal("0.1"), never the binary expansion
    elif isinstance(value, str) and _DECIMAL_RE.fullmatch(value):
        result = Decimal(value)
    else:
        raise error(f"{field}: expected a decimal number", details=_why(field, "number", value))
    if not result.is_finite():
        raise error(f"{field}: must be a finite number", details=_why(field, "finite", value))
    return result


def _why(field: str, rule: str, value: object) -> dict[str, object]:
    return {"field": field, "rule": rule, "value": value if not isinstance(value, Decimal) else str(value)}


def _check_non_negative(value: object, field: str, error: type[InvalidInput]) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise error(f"{field}: must be a finite Decimal", details=_why(field, "decimal", value))
    if value < 0:
        raise error(f"{field}: must be >= 0", details=_why(field, ">= 0", value))
    return value


def _from_mapping(
    data: Mapping[str, object], allowed: Iterable[str], what: str, error: type[InvalidInput]
) -> None:
    if not isinstance(data, Mapping):
        raise error(f"{what} must be a JSON object", details={"field": what, "rule": "object"})
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise error(
            f"{what}: unknown field(s) {', '.join(unknown)}",
            details={"field": unknown[0], "rule": "unknown-field", "value": unknown},
        )


# -- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Engagement:
    """The per-customer settings of SPEC §3.

    ``currency``: ISO 4217 code (three capital letters). ``cost_per_hour`` (currency per hour),
    ``cost_per_error`` (per order error), ``cost_per_violation`` (per compliance violation): >= 0.
    ``annual_contract_value`` (currency per year): > 0. Raises :class:`InvalidSettings` naming the
    field and the rule.
    """

    currency: str
    cost_per_hour: Decimal
    cost_per_error: Decimal
    cost_per_violation: Decimal
    annual_contract_value: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.currency, str) or not _CURRENCY_RE.fullmatch(self.currency):
            raise InvalidSettings(
                "currency: must be an ISO 4217 code of three capital letters (e.g. USD)",
                details=_why("currency", "iso-4217", self.currency),
            )
        for name in ("cost_per_hour", "cost_per_error", "cost_per_violation", "annual_contract_value"):
            _check_non_negative(getattr(self, name), name, InvalidSettings)
        if self.annual_contract_value == 0:
            raise InvalidSettings(
                "annual_contract_value: must be > 0 (ROI and payback divide by it)",
                details=_why("annual_contract_value", "> 0", self.annual_contract_value),
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Engagement:
        """Build from JSON: every field required; money as numbers or decimal strings."""
        names = [f.name for f in fields(cls)]
        _from_mapping(data, names, "engagement", InvalidSettings)
        missing = [n for n in names if n not in data]
        if missing:
            raise InvalidSettings(
                f"engagement: missing field(s) {', '.join(missing)}",
                details={"field": missing[0], "rule": "required", "value": missing},
            )
        money = {n: _to_decimal(data[n], n, InvalidSettings) for n in names if n != "currency"}
        currency = data["currency"]
        return cls(currency=currency if isinstance(currency, str) else repr(currency), **money)

    def to_dict(self) -> dict[str, str]:
        """JSON form: money as decimal strings."""
        return {
            "currency": self.currency,
            "cost_per_hour": decimal_text(self.cost_per_hour),
            "cost_per_error": decimal_text(self.cost_per_error),
            "cost_per_violation": decimal_text(self.cost_per_violation),
            "annual_contract_value": decimal_text(self.annual_contract_value),
        }


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """Raw totals of one period, as measured by the named queries.

    ``months``: the period's month count (> 0, see :func:`tai_graph.periods.month_count`).
    ``manual_hours``: sum of ``work_log`` hours. ``manual_report_hours``: sum of ``manual_report``
    hours. ``orders``, ``order_errors``, ``violations``: event counts. ``gmv``: sum of ``order``
    amounts, all statuses (currency). ``stockout_amount``: the part of ``gmv`` in orders with status
    ``stockout`` (currency, <= ``gmv``). ``period``: the period itself, when known (for reports).
    """

    months: Decimal
    manual_hours: Decimal = _ZERO
    manual_report_hours: Decimal = _ZERO
    orders: int = 0
    order_errors: int = 0
    violations: int = 0
    gmv: Decimal = _ZERO
    stockout_amount: Decimal = _ZERO
    period: Period | None = None

    def __post_init__(self) -> None:
        if _check_non_negative(self.months, "months", InvalidInput) == 0:
            raise InvalidInput("months: must be > 0", details=_why("months", "> 0", self.months))
        for name in ("manual_hours", "manual_report_hours", "gmv", "stockout_amount"):
            _check_non_negative(getattr(self, name), name, InvalidInput)
        for name in ("orders", "order_errors", "violations"):
            count = getattr(self, name)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise InvalidInput(f"{name}: must be a count >= 0", details=_why(name, "count", count))
        if self.stockout_amount > self.gmv:
            raise InvalidInput(
                "stockout_amount: cannot exceed gmv (stockout orders are part of GMV)",
                details=_why("stockout_amount", "<= gmv", self.stockout_amount),
            )

    @classmethod
    def for_period(
        cls,
        period: Period,
        *,
        manual_hours: Decimal = _ZERO,
        manual_report_hours: Decimal = _ZERO,
        orders: int = 0,
        order_errors: int = 0,
        violations: int = 0,
        gmv: Decimal = _ZERO,
        stockout_amount: Decimal = _ZERO,
    ) -> PeriodFigures:
        """Figures of ``period`` with ``months`` set to its month count."""
        return cls(
            months=month_count(period),
            manual_hours=manual_hours,
            manual_report_hours=manual_report_hours,
            orders=orders,
            order_errors=order_errors,
            violations=violations,
            gmv=gmv,
            stockout_amount=stockout_amount,
            period=period,
        )

    def to_dict(self) -> dict[str, str | int]:
        """JSON form (what a baseline freezes): amounts as decimal strings, counts as integers."""
        return {
            "months": decimal_text(self.months),
            "manual_hours": decimal_text(self.manual_hours),
            "manual_report_hours": decimal_text(self.manual_report_hours),
            "orders": self.orders,
            "order_errors": self.order_errors,
            "violations": self.violations,
            "gmv": decimal_text(self.gmv),
            "stockout_amount": decimal_text(self.stockout_amount),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], period: Period | None = None) -> PeriodFigures:
        """Rebuild figures written by :meth:`to_dict` (a frozen baseline's)."""
        return cls(
            months=Decimal(data["months"]),
            manual_hours=Decimal(data["manual_hours"]),
            manual_report_hours=Decimal(data["manual_report_hours"]),
            orders=int(data["orders"]),
            order_errors=int(data["order_errors"]),
            violations=int(data["violations"]),
            gmv=Decimal(data["gmv"]),
            stockout_amount=Decimal(data["stockout_amount"]),
            period=period,
        )


@dataclass(frozen=True, slots=True)
class AttestedFigures:
    """Baseline figures estimated and signed off by the customer (all optional).

    Per-month figures are per calendar month: ``manual_hours_per_month`` and
    ``manual_report_hours_per_month`` (hours), ``violations_per_month`` (count). Rates are fractions:
    ``error_rate`` (order errors per order, >= 0), ``stockout_miss_rate`` (share of GMV, 0..1).
    Each is used only where the baseline period has none of the events the metric counts.
    """

    manual_hours_per_month: Decimal | None = None
    error_rate: Decimal | None = None
    violations_per_month: Decimal | None = None
    stockout_miss_rate: Decimal | None = None
    manual_report_hours_per_month: Decimal | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                _check_non_negative(value, f"attested.{f.name}", InvalidInput)
        if self.stockout_miss_rate is not None and self.stockout_miss_rate > 1:
            raise InvalidInput(
                "attested.stockout_miss_rate: a share of GMV, must be <= 1 (0.035 is 3.5 %)",
                details=_why("attested.stockout_miss_rate", "<= 1", self.stockout_miss_rate),
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> AttestedFigures:
        """Build from JSON; absent or null fields are not attested."""
        names = [f.name for f in fields(cls)]
        _from_mapping(data, names, "attested", InvalidInput)
        values = {
            n: _to_decimal(data[n], f"attested.{n}", InvalidInput) for n in names if data.get(n) is not None
        }
        return cls(**values)

    def to_dict(self) -> dict[str, str]:
        """JSON form of the attested fields only, as decimal strings."""
        return {
            f.name: decimal_text(value) for f in fields(self) if (value := getattr(self, f.name)) is not None
        }


# -- the report ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricValue:
    """One value metric: baseline and current figure (per month, or a rate), value in currency.

    ``baseline``/``current`` are in ``unit`` (``hours/month``, ``violations/month`` or ``rate``);
    ``None`` when undefined. ``monthly`` is currency per month, ``annual`` = ``monthly`` * 12.
    Negative values mean the current period is worse than the baseline.
    """

    name: str
    unit: str
    baseline: Decimal | None
    current: Decimal | None
    monthly: Decimal
    annual: Decimal
    source: Source

    def to_dict(self) -> dict[str, str | None]:
        """JSON form: figures as decimal strings (``null`` when undefined)."""
        return {
            "baseline": None if self.baseline is None else decimal_text(self.baseline),
            "current": None if self.current is None else decimal_text(self.current),
            "monthly": decimal_text(self.monthly),
            "annual": decimal_text(self.annual),
            "source": self.source,
            "unit": self.unit,
        }


@dataclass(frozen=True, slots=True)
class ValueReport:
    """Value realisation of a current period against a baseline (SPEC §3, §6 ``GET /v1/value``).

    Money in ``currency``: ``gross_annual_benefit`` (sum of the metrics' ``annual``),
    ``net_annual_benefit`` = gross - ``annual_contract_value``. ``roi`` = net / ACV, a plain ratio
    (6.06 = 606 %). ``payback_months`` = ACV / (gross / 12), ``None`` when gross <= 0.
    """

    currency: str
    metrics: tuple[MetricValue, ...]
    gross_annual_benefit: Decimal
    annual_contract_value: Decimal
    net_annual_benefit: Decimal
    roi: Decimal
    payback_months: Decimal | None
    notes: tuple[str, ...] = ()
    baseline_id: str | None = None
    baseline_period: Period | None = None
    current_period: Period | None = None

    def metric(self, name: str) -> MetricValue:
        """The metric called ``name`` (one of :data:`METRICS`); KeyError otherwise."""
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict[str, object]:
        """The JSON answer of ``GET /v1/value``: money and rates as decimal strings, full precision."""

        def edges(p: Period | None) -> dict[str, str | None]:
            return {"from": p.from_text, "to": p.to_text} if p else {"from": None, "to": None}

        return {
            "baseline": {"id": self.baseline_id, **edges(self.baseline_period)},
            "current": edges(self.current_period),
            "currency": self.currency,
            "value_metrics": {m.name: m.to_dict() for m in self.metrics},
            "gross_annual_benefit": decimal_text(self.gross_annual_benefit),
            "annual_contract_value": decimal_text(self.annual_contract_value),
            "net_annual_benefit": decimal_text(self.net_annual_benefit),
            "roi": decimal_text(self.roi),
            "payback_months": None if self.payback_months is None else decimal_text(self.payback_months),
            "notes": list(self.notes),
        }


# -- the computation -------------------------------------------------------------------------


def _ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    return None if denominator == 0 else Decimal(numerator) / Decimal(denominator)


def _baseline_figure(
    name: str,
    measured: Decimal | None,
    counted_events: Decimal | int,
    attested: Decimal | None,
    notes: list[str],
    describe: str,
) -> tuple[Decimal | None, Source]:
    """The measured figure, or the attested one when the baseline recorded none of the events the
    metric counts (or its measured figure is undefined) and the customer attested a figure."""
    if (counted_events == 0 or measured is None) and attested is not None:
        notes.append(
            f"{name}: the baseline period has {describe}; the baseline uses the attested figure "
            f"{decimal_text(attested)}"
        )
        return attested, "attested"
    return measured, "measured"


def summarize_benefit(
    gross_annual_benefit: Decimal, annual_contract_value: Decimal
) -> tuple[Decimal, Decimal, Decimal | None]:
    """``(net, roi, payback_months)`` of a gross annual benefit against the ACV (both currency).

    net = gross - ACV; roi = net / ACV (a ratio); payback = ACV / (gross / 12) in months, computed
    as ACV * 12 / gross (same value, one division), ``None`` when gross <= 0.
    """
    with localcontext(decimal_context()):
        net = gross_annual_benefit - annual_contract_value
        roi = net / annual_contract_value
        payback = None
        if gross_annual_benefit > 0:
            payback = annual_contract_value * _TWELVE / gross_annual_benefit
        return net, roi, payback


def compute_value(
    baseline: PeriodFigures,
    current: PeriodFigures,
    engagement: Engagement,
    attested: AttestedFigures | None = None,
    *,
    baseline_id: str | None = None,
) -> ValueReport:
    """Compute the five value metrics, gross and net annual benefit, ROI and payback (SPEC §3).

    Per-month figures are period totals / the period's month count. Rates are event ratios of the
    period (order errors / orders; stockout amount / GMV). Each metric's baseline is measured,
    or attested where the baseline period has none of the events it counts. An undefined rate
    makes its metric worth 0, with a note. ``baseline_id`` is only carried into the report.
    """
    att = attested or AttestedFigures()
    notes: list[str] = []
    metrics: list[MetricValue] = []
    with localcontext(decimal_context()):

        def add(
            name: str, unit: str, base: Decimal | None, cur: Decimal | None, source: Source, value: Decimal
        ) -> None:
            metrics.append(MetricValue(name, unit, base, cur, value, value * _TWELVE, source))

        def per_month(
            name: str, total_b: Decimal | int, total_c: Decimal | int, claim: Decimal | None, what: str
        ) -> tuple[Decimal, Decimal, Source]:
            measured = Decimal(total_b) / baseline.months  # always defined: months > 0
            base, source = _baseline_figure(name, measured, total_b, claim, notes, what)
            return (measured if base is None else base), Decimal(total_c) / current.months, source

        # operational_efficiency: (baseline - current work_log hours/month) * cost_per_hour
        b, c, src = per_month(
            "operational_efficiency",
            baseline.manual_hours,
            current.manual_hours,
            att.manual_hours_per_month,
            "no work_log hours",
        )
        add("operational_efficiency", "hours/month", b, c, src, (b - c) * engagement.cost_per_hour)

        def per_rate(
            name: str,
            rate: Callable[[PeriodFigures], Decimal | None],
            evidence: Decimal | int,
            claim: Decimal | None,
            what: str,
            undefined: str,
            worth: Callable[[Decimal, Decimal], Decimal],
        ) -> None:
            """A rate metric: ``worth(baseline rate, current rate)``, 0 with a note when undefined."""
            rate_b, src = _baseline_figure(name, rate(baseline), evidence, claim, notes, what)
            rate_c = rate(current)
            value = _ZERO
            if rate_b is None:
                notes.append(f"{name}: baseline {undefined}; counted as 0")
            elif rate_c is None:
                notes.append(f"{name}: current {undefined}; counted as 0")
            else:
                value = worth(rate_b, rate_c)
            add(name, "rate", rate_b, rate_c, src, value)

        # error_reduction: (baseline - current error rate) * current orders/month * cost_per_error
        per_rate(
            "error_reduction",
            lambda f: _ratio(f.order_errors, f.orders),
            baseline.order_errors,
            att.error_rate,
            "no order_error events (or no orders)",
            "error rate undefined (no order events)",
            lambda b, c: (b - c) * (Decimal(current.orders) / current.months) * engagement.cost_per_error,
        )

        # compliance_reduction: (baseline - current violations/month) * cost_per_violation
        b, c, src = per_month(
            "compliance_reduction",
            baseline.violations,
            current.violations,
            att.violations_per_month,
            "no compliance_violation events",
        )
        add("compliance_reduction", "violations/month", b, c, src, (b - c) * engagement.cost_per_violation)

        # revenue_protection: (baseline - current stockout miss rate) * current GMV/month
        per_rate(
            "revenue_protection",
            lambda f: _ratio(f.stockout_amount, f.gmv),
            baseline.stockout_amount,
            att.stockout_miss_rate,
            "no stockout order amount (or no GMV)",
            "stockout miss rate undefined (no GMV)",
            lambda b, c: (b - c) * (current.gmv / current.months),
        )

        # operational_overhead: (baseline - current manual_report hours/month) * cost_per_hour
        b, c, src = per_month(
            "operational_overhead",
            baseline.manual_report_hours,
            current.manual_report_hours,
            att.manual_report_hours_per_month,
            "no manual_report hours",
        )
        add("operational_overhead", "hours/month", b, c, src, (b - c) * engagement.cost_per_hour)

        for m in metrics:
            if m.monthly < 0:
                notes.append(f"{m.name}: the current period is worse than the baseline; value is negative")
        gross = sum((m.annual for m in metrics), _ZERO)
    net, roi, payback = summarize_benefit(gross, engagement.annual_contract_value)
    if payback is None:
        notes.append("payback: never (the gross annual benefit is not positive)")
    return ValueReport(
        currency=engagement.currency,
        metrics=tuple(metrics),
        gross_annual_benefit=gross,
        annual_contract_value=engagement.annual_contract_value,
        net_annual_benefit=net,
        roi=roi,
        payback_months=payback,
        notes=tuple(notes),
        baseline_id=baseline_id,
        baseline_period=baseline.period,
        current_period=current.period,
    )


# -- text and display ------------------------------------------------------------------------


def decimal_text(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: ``5760``, ``0.035``, ``-12.5``."""
    if value == 0:
        return "0"
    return format(value.normalize(Context(prec=len(value.as_tuple().digits))), "f")


#: Minor-unit digits of ISO 4217 currencies that do not use 2.
_MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def _rounded(value: Decimal, places: int) -> Decimal:
    exponent = Decimal(1).scaleb(-places)
    digits = max(value.adjusted(), 0) + places + 2
    return value.quantize(exponent, rounding=ROUND_HALF_UP, context=Context(prec=max(digits, 28)))


def display_number(value: Decimal, places: int = 2) -> str:
    """``value`` rounded half-up to ``places`` decimals with thousands separators (``1,234.57``)."""
    rounded = _rounded(value, places)
    text = f"{abs(rounded):,.{places}f}"
    return f"-{text}" if rounded < 0 else text


def display_money(value: Decimal, currency: str) -> str:
    """An amount for people: rounded half-up to the currency's minor unit (2 places for most).

    ``$5,760.00`` for USD, ``€``/``£``/``¥`` for EUR/GBP/JPY, ``CHF 1,234.50`` for others; a
    negative amount gets a leading minus (``-$120.00``). Display only: never feed it back.
    """
    text = display_number(value, _MINOR_UNITS.get(currency, 2))
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{currency} {digits}"


def display_percent(ratio: Decimal, places: int = 1) -> str:
    """A ratio as a percentage for people, rounded half-up: ``0.035`` → ``3.5%``, ``6.06472`` →
    ``606.5%``."""
    return f"{display_number(ratio.scaleb(2), places)}%"


# -- reconciliation --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Difference:
    """An engine figure that disagrees with the customer's manual figure beyond the tolerance.

    ``absolute`` = engine - manual (in the figure's unit), ``relative`` = absolute / |manual|
    (a ratio). ``engine`` is ``None`` when the engine has no figure; ``absolute``/``relative`` are
    then ``None``, and ``relative`` is also ``None`` when manual is 0 (no finite relative size).
    """

    name: str
    engine: Decimal | None
    manual: Decimal
    absolute: Decimal | None
    relative: Decimal | None

    def to_dict(self) -> dict[str, str | None]:
        def text(d: Decimal | None) -> str | None:
            return None if d is None else decimal_text(d)

        return {
            "name": self.name,
            "engine": text(self.engine),
            "manual": text(self.manual),
            "absolute": text(self.absolute),
            "relative": text(self.relative),
        }


def reconcile(
    engine: Mapping[str, Decimal | None], manual: Mapping[str, Decimal], tolerance: Decimal
) -> list[Difference]:
    """Compare engine figures with the customer's manual figures, in ``manual``'s order.

    A figure agrees when |engine - manual| / |manual| <= ``tolerance`` (a ratio: 0.01 = 1 %); when
    manual is 0 only an engine 0 agrees. Figures only the engine has are not compared (the customer
    did not track them); a manual figure the engine lacks (absent or undefined) is a difference.
    """
    tol = _check_non_negative(tolerance, "tolerance", InvalidInput)
    out: list[Difference] = []
    with localcontext(decimal_context()):
        for name, m in manual.items():
            e = engine.get(name)
            if e is None:
                out.append(Difference(name, None, m, None, None))
                continue
            diff = e - m
            if m == 0:
                if diff != 0:
                    out.append(Difference(name, e, m, diff, None))
                continue
            rel = diff / abs(m)
            if abs(rel) > tol:
                out.append(Difference(name, e, m, diff, rel))
    return out
