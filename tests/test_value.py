from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tai_graph.errors import InvalidInput, InvalidSettings
from tai_graph.periods import parse_period
from tai_graph.value import (
    METRICS,
    AttestedFigures,
    Difference,
    Engagement,
    PeriodFigures,
    compute_value,
    decimal_text,
    display_money,
    display_number,
    display_percent,
    reconcile,
    summarize_benefit,
)

D = Decimal
ONE_MONTH = D(1)


def engagement(**overrides: str) -> Engagement:
    settings = {
        "currency": "USD",
        "cost_per_hour": "60",
        "cost_per_error": "100",
        "cost_per_violation": "5000",
        "annual_contract_value": "50000",
    }
    return Engagement.from_dict({**settings, **overrides})


# -- the plan's worked examples, to the cent ---------------------------------------------------


def test_operational_efficiency_plan_example() -> None:
    # Baseline 120 manual hours in a month, current 24, $60/hour -> $5,760/month, $69,120/year.
    report = compute_value(
        PeriodFigures(ONE_MONTH, manual_hours=D(120)),
        PeriodFigures(ONE_MONTH, manual_hours=D(24)),
        engagement(),
    )
    m = report.metric("operational_efficiency")
    assert (m.baseline, m.current, m.source, m.unit) == (D(120), D(24), "measured", "hours/month")
    assert m.monthly == D("5760")
    assert m.annual == D("69120")
    assert display_money(m.monthly, "USD") == "$5,760.00"
    assert display_money(m.annual, "USD") == "$69,120.00"


def test_revenue_protection_plan_example() -> None:
    # GMV $500,000/month, stockout misses 3.5% -> 0.5% -> $15,000/month, $180,000/year.
    report = compute_value(
        PeriodFigures(ONE_MONTH, gmv=D(500_000), stockout_amount=D(17_500)),
        PeriodFigures(ONE_MONTH, gmv=D(500_000), stockout_amount=D(2_500)),
        engagement(),
    )
    m = report.metric("revenue_protection")
    assert (m.baseline, m.current, m.unit) == (D("0.035"), D("0.005"), "rate")
    assert (m.monthly, m.annual) == (D(15_000), D(180_000))


def test_compliance_plan_example() -> None:
    # 2 violations/month -> 0.1/month at $5,000 each -> $9,500/month, $114,000/year.
    # 0.1/month is measured as 1 violation over a 10-month current period (Mar-Dec 2026).
    current = PeriodFigures.for_period(parse_period("2026-03-01", "2027-01-01"), violations=1)
    assert current.months == 10
    report = compute_value(PeriodFigures(ONE_MONTH, violations=2), current, engagement())
    m = report.metric("compliance_reduction")
    assert (m.baseline, m.current) == (D(2), D("0.1"))
    assert (m.monthly, m.annual) == (D(9_500), D(114_000))


def test_error_reduction_plan_example() -> None:
    # 189 errors in 9,000 orders (2.1%) -> 12 in 4,000 (0.3%); 4,000 orders/month at $100/error:
    # 0.018 x 4,000 = 72 errors avoided a month -> $7,200/month, $86,400/year.
    report = compute_value(
        PeriodFigures(ONE_MONTH, orders=9_000, order_errors=189),
        PeriodFigures(ONE_MONTH, orders=4_000, order_errors=12),
        engagement(),
    )
    m = report.metric("error_reduction")
    assert (m.baseline, m.current) == (D("0.021"), D("0.003"))
    assert (m.monthly, m.annual) == (D(7_200), D(86_400))


def test_operational_overhead_plan_example() -> None:
    # 10 reports x 4 hours = 40 hours/month -> 8 hours (80% automated) at $50/hour -> $1,600/month.
    report = compute_value(
        PeriodFigures(ONE_MONTH, manual_report_hours=D(40)),
        PeriodFigures(ONE_MONTH, manual_report_hours=D(8)),
        engagement(cost_per_hour="50"),
    )
    m = report.metric("operational_overhead")
    assert (m.monthly, m.annual) == (D(1_600), D(19_200))


def test_roi_and_payback_plan_example() -> None:
    # Gross $353,236 against an ACV of $50,000: net $303,236, ROI 6.06472 (606%), payback 1.70 months.
    net, roi, payback = summarize_benefit(D(353_236), D(50_000))
    assert net == D(303_236)
    assert roi == D("6.06472")
    assert payback == D(600_000) / D(353_236)
    assert payback is not None and display_number(payback) == "1.70"
    assert display_percent(roi, 0) == "606%"
    assert display_percent(roi) == "606.5%"


def test_roi_of_the_plan_components() -> None:
    # The plan's Year 1 lines: $74,256 + $93,600 + $185,380 = $353,236.
    gross = D(74_256) + D(93_600) + D(185_380)
    assert gross == D(353_236)
    assert summarize_benefit(gross, D(50_000))[1] == D("6.06472")


def full_report() -> tuple[PeriodFigures, PeriodFigures]:
    baseline = PeriodFigures.for_period(
        parse_period("2026-01-01", "2026-02-01"),
        manual_hours=D(120),
        manual_report_hours=D(40),
        orders=9_000,
        order_errors=189,
        violations=2,
        gmv=D(500_000),
        stockout_amount=D(17_500),
    )
    current = PeriodFigures.for_period(
        parse_period("2026-03-01", "2027-01-01"),  # 10 calendar months
        manual_hours=D(240),
        manual_report_hours=D(80),
        orders=40_000,
        order_errors=120,
        violations=1,
        gmv=D(5_000_000),
        stockout_amount=D(25_000),
    )
    return baseline, current


def test_full_report_gross_net_roi_payback() -> None:
    baseline, current = full_report()
    report = compute_value(baseline, current, engagement(), baseline_id="bl-1")
    monthly = {m.name: m.monthly for m in report.metrics}
    assert monthly == {
        "operational_efficiency": D(5_760),
        "error_reduction": D(7_200),
        "compliance_reduction": D(9_500),
        "revenue_protection": D(15_000),
        "operational_overhead": D(1_920),
    }
    assert report.gross_annual_benefit == D(472_560)  # 39,380 x 12
    assert report.net_annual_benefit == D(422_560)
    assert report.roi == D("8.4512")
    assert report.payback_months == D(600_000) / D(472_560)
    assert report.payback_months is not None and display_number(report.payback_months) == "1.27"
    assert report.notes == ()


def test_to_dict_has_the_spec_shape_with_decimal_strings() -> None:
    baseline, current = full_report()
    out = compute_value(baseline, current, engagement(), baseline_id="bl-1").to_dict()
    assert list(out) == [
        "baseline",
        "current",
        "currency",
        "value_metrics",
        "gross_annual_benefit",
        "annual_contract_value",
        "net_annual_benefit",
        "roi",
        "payback_months",
        "notes",
    ]
    assert out["baseline"] == {"id": "bl-1", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}
    assert out["current"] == {"from": "2026-03-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}
    metrics = out["value_metrics"]
    assert isinstance(metrics, dict)
    assert list(metrics) == list(METRICS)
    assert metrics["operational_efficiency"] == {
        "baseline": "120",
        "current": "24",
        "monthly": "5760",
        "annual": "69120",
        "source": "measured",
        "unit": "hours/month",
    }
    assert metrics["revenue_protection"]["baseline"] == "0.035"
    assert metrics["error_reduction"]["current"] == "0.003"
    assert out["gross_annual_benefit"] == "472560"
    assert out["annual_contract_value"] == "50000"
    assert out["net_annual_benefit"] == "422560"
    assert out["roi"] == "8.4512"
    assert out["payback_months"] == "1.269680040629761300152361605"  # 600000 / 472560, 28 digits
    assert json.loads(json.dumps(out)) == out  # plain JSON: no Decimal, no float


# -- partial months ------------------------------------------------------------------------------


def test_per_month_figures_use_calendar_month_counts() -> None:
    # Jan 15 - Feb 15 2026 is 17/31 + 14/28 months; 31 hours over it is 31 / that per month.
    period = parse_period("2026-01-15", "2026-02-15")
    figures = PeriodFigures.for_period(period, manual_hours=D(31))
    report = compute_value(figures, PeriodFigures(ONE_MONTH), engagement())
    m = report.metric("operational_efficiency")
    assert m.baseline is not None
    assert abs(m.baseline - D(31) * 62 / 65) < D("1e-25")  # 31 / (65/62)
    assert display_money(m.monthly, "USD") == "$1,774.15"


# -- attested figures ----------------------------------------------------------------------------


def test_attested_figures_fill_in_where_the_baseline_has_no_events() -> None:
    attested = AttestedFigures.from_dict(
        {
            "manual_hours_per_month": "120",
            "error_rate": "0.021",
            "violations_per_month": 2,
            "stockout_miss_rate": "0.035",
            "manual_report_hours_per_month": "40",
        }
    )
    current = PeriodFigures(
        ONE_MONTH,
        manual_hours=D(24),
        manual_report_hours=D(8),
        orders=4_000,
        order_errors=12,
        gmv=D(500_000),
        stockout_amount=D(2_500),
    )
    report = compute_value(PeriodFigures(ONE_MONTH), current, engagement(), attested)
    assert {m.name: m.source for m in report.metrics} == dict.fromkeys(METRICS, "attested")
    assert {m.name: m.monthly for m in report.metrics} == {
        "operational_efficiency": D(5_760),
        "error_reduction": D(7_200),
        "compliance_reduction": D(10_000),
        "revenue_protection": D(15_000),
        "operational_overhead": D(1_920),
    }
    assert len(report.notes) == 5
    assert all("attested" in note for note in report.notes)


def test_measured_baseline_wins_over_attested() -> None:
    attested = AttestedFigures(manual_hours_per_month=D(500), stockout_miss_rate=D("0.5"))
    report = compute_value(
        PeriodFigures(ONE_MONTH, manual_hours=D(120), gmv=D(100), stockout_amount=D(10)),
        PeriodFigures(ONE_MONTH, manual_hours=D(24), gmv=D(100)),
        engagement(),
        attested,
    )
    assert report.metric("operational_efficiency").source == "measured"
    assert report.metric("operational_efficiency").baseline == 120
    assert report.metric("revenue_protection").source == "measured"
    assert report.metric("revenue_protection").baseline == D("0.1")


def test_attested_error_rate_when_the_baseline_has_no_orders() -> None:
    report = compute_value(
        PeriodFigures(ONE_MONTH, order_errors=3),  # errors logged, no orders: rate undefined
        PeriodFigures(ONE_MONTH, orders=1_000, order_errors=1),
        engagement(),
        AttestedFigures(error_rate=D("0.011")),
    )
    m = report.metric("error_reduction")
    assert (m.source, m.baseline, m.monthly) == ("attested", D("0.011"), D(1_000))


def test_attested_figures_refuse_bad_input() -> None:
    with pytest.raises(InvalidInput) as exc:
        AttestedFigures.from_dict({"hours": 3})
    assert exc.value.details["rule"] == "unknown-field"
    with pytest.raises(InvalidInput) as exc:
        AttestedFigures.from_dict({"stockout_miss_rate": "3.5"})
    assert exc.value.details["field"] == "attested.stockout_miss_rate"
    with pytest.raises(InvalidInput):
        AttestedFigures.from_dict({"error_rate": -0.01})
    assert AttestedFigures.from_dict({"error_rate": None}) == AttestedFigures()
    assert AttestedFigures.from_dict({"error_rate": 0.021}).to_dict() == {"error_rate": "0.021"}


# -- undefined rates, negative values, no payback ------------------------------------------------


def test_undefined_rates_are_worth_zero_with_a_note() -> None:
    report = compute_value(
        PeriodFigures(ONE_MONTH),
        PeriodFigures(ONE_MONTH, orders=10, order_errors=1, gmv=D(10)),
        engagement(),
    )
    errors, revenue = report.metric("error_reduction"), report.metric("revenue_protection")
    assert (errors.baseline, errors.current, errors.monthly) == (None, D("0.1"), D(0))
    assert (revenue.baseline, revenue.current, revenue.monthly) == (None, D(0), D(0))
    assert any("baseline error rate undefined" in n for n in report.notes)
    assert any("baseline stockout miss rate undefined" in n for n in report.notes)
    assert report.to_dict()["value_metrics"]["error_reduction"]["baseline"] is None  # type: ignore[index]

    report = compute_value(
        PeriodFigures(ONE_MONTH, orders=10, order_errors=1), PeriodFigures(ONE_MONTH), engagement()
    )
    assert report.metric("error_reduction").current is None
    assert report.metric("error_reduction").monthly == 0
    assert any("current error rate undefined" in n for n in report.notes)


def test_no_benefit_means_no_payback() -> None:
    report = compute_value(PeriodFigures(ONE_MONTH), PeriodFigures(ONE_MONTH), engagement())
    assert report.gross_annual_benefit == 0
    assert report.net_annual_benefit == D(-50_000)
    assert report.roi == -1
    assert report.payback_months is None
    assert report.to_dict()["payback_months"] is None
    assert any("payback: never" in n for n in report.notes)


def test_a_worse_current_period_gives_a_negative_value() -> None:
    report = compute_value(
        PeriodFigures(ONE_MONTH, manual_hours=D(10)),
        PeriodFigures(ONE_MONTH, manual_hours=D(12)),
        engagement(),
    )
    assert report.metric("operational_efficiency").monthly == D(-120)
    assert report.gross_annual_benefit == D(-1_440)
    assert report.payback_months is None
    assert any("worse than the baseline" in n for n in report.notes)
    assert display_money(D(-120), "USD") == "-$120.00"


@given(
    st.decimals(min_value=0, max_value=10_000, places=2),
    st.decimals(min_value=0, max_value=10_000, places=2),
    st.integers(min_value=1, max_value=36),
)
def test_per_month_figures_do_not_depend_on_period_length(hours: D, current: D, months: int) -> None:
    one = compute_value(
        PeriodFigures(ONE_MONTH, manual_hours=hours),
        PeriodFigures(ONE_MONTH, manual_hours=current),
        engagement(),
    )
    many = compute_value(
        PeriodFigures(D(months), manual_hours=hours * months),
        PeriodFigures(D(months), manual_hours=current * months),
        engagement(),
    )
    assert one.gross_annual_benefit == many.gross_annual_benefit
    m = many.metric("operational_efficiency")
    assert m.annual == m.monthly * 12


# -- inputs --------------------------------------------------------------------------------------


def test_engagement_accepts_numbers_and_decimal_strings() -> None:
    e = Engagement.from_dict(
        {
            "currency": "EUR",
            "cost_per_hour": 60,
            "cost_per_error": 0.1,
            "cost_per_violation": "5000.00",
            "annual_contract_value": D("50000"),
        }
    )
    assert e.cost_per_error == D("0.1")  # not 0.1000000000000000055511151231257827…
    assert e.to_dict() == {
        "currency": "EUR",
        "cost_per_hour": "60",
        "cost_per_error": "0.1",
        "cost_per_violation": "5000",
        "annual_contract_value": "50000",
    }


@pytest.mark.parametrize(
    ("override", "field", "rule"),
    [
        ({"currency": "usd"}, "currency", "iso-4217"),
        ({"currency": "US"}, "currency", "iso-4217"),
        ({"currency": 840}, "currency", "iso-4217"),
        ({"cost_per_hour": "-1"}, "cost_per_hour", ">= 0"),
        ({"cost_per_error": "NaN"}, "cost_per_error", "number"),
        ({"cost_per_error": float("inf")}, "cost_per_error", "finite"),
        ({"cost_per_error": "1_000"}, "cost_per_error", "number"),
        ({"cost_per_error": " 5"}, "cost_per_error", "number"),
        ({"cost_per_violation": True}, "cost_per_violation", "number"),
        ({"cost_per_violation": [1]}, "cost_per_violation", "number"),
        ({"annual_contract_value": 0}, "annual_contract_value", "> 0"),
        ({"discount": "5"}, "discount", "unknown-field"),
    ],
)
def test_engagement_rules(override: dict[str, object], field: str, rule: str) -> None:
    settings: dict[str, object] = {
        "currency": "USD",
        "cost_per_hour": "60",
        "cost_per_error": "100",
        "cost_per_violation": "5000",
        "annual_contract_value": "50000",
        **override,
    }
    with pytest.raises(InvalidSettings) as exc:
        Engagement.from_dict(settings)
    assert exc.value.details["field"] == field
    assert exc.value.details["rule"] == rule


def test_engagement_requires_every_field() -> None:
    with pytest.raises(InvalidSettings) as exc:
        Engagement.from_dict({"currency": "USD"})
    assert exc.value.details["rule"] == "required"
    assert exc.value.details["field"] == "cost_per_hour"


def test_period_figures_rules() -> None:
    with pytest.raises(InvalidInput):
        PeriodFigures(D(0))
    with pytest.raises(InvalidInput):
        PeriodFigures(ONE_MONTH, orders=-1)
    with pytest.raises(InvalidInput):
        PeriodFigures(ONE_MONTH, gmv=D(10), stockout_amount=D(11))
    with pytest.raises(InvalidInput):
        PeriodFigures(ONE_MONTH, manual_hours=1.5)  # type: ignore[arg-type]


# -- display -------------------------------------------------------------------------------------


def test_display_rounds_half_up() -> None:
    assert display_money(D("0.125"), "USD") == "$0.13"  # half-even would give 0.12
    assert display_money(D("-1234.565"), "USD") == "-$1,234.57"
    assert display_money(D("1234567.891"), "GBP") == "£1,234,567.89"
    assert display_money(D("1234.5"), "JPY") == "¥1,235"
    assert display_money(D("1.2345"), "KWD") == "KWD 1.235"
    assert display_money(D("1234.5"), "CHF") == "CHF 1,234.50"
    assert display_money(D("-0.001"), "USD") == "$0.00"
    assert display_percent(D("0.035")) == "3.5%"
    assert display_percent(D("0.0045")) == "0.5%"
    assert display_number(D("1E+30"), 2) == "1,000,000,000,000,000,000,000,000,000,000.00"


def test_decimal_text() -> None:
    assert decimal_text(D("15000.000")) == "15000"
    assert decimal_text(D("1E+3")) == "1000"
    assert decimal_text(D("-0.0")) == "0"
    assert decimal_text(D("0.0350")) == "0.035"
    assert decimal_text(D("1E-30")) == "0." + "0" * 29 + "1"


# -- reconciliation and alerts -------------------------------------------------------------------


def test_reconcile_lists_differences_beyond_the_tolerance() -> None:
    engine = {"manual_hours": D("121"), "orders": D("9000"), "error_rate": D("0.025"), "gmv": None}
    manual = {
        "manual_hours": D("120"),  # 0.83 % off: within 1 %
        "orders": D("9000"),
        "error_rate": D("0.021"),  # 19 % off
        "gmv": D("500000"),  # the engine has no figure
        "violations": D("0"),  # engine lacks it
    }
    diffs = reconcile(engine, manual, D("0.01"))
    assert [d.name for d in diffs] == ["error_rate", "gmv", "violations"]
    err = diffs[0]
    assert (err.engine, err.manual, err.absolute) == (D("0.025"), D("0.021"), D("0.004"))
    assert err.relative == D("0.004") / D("0.021")
    assert diffs[1] == Difference("gmv", None, D("500000"), None, None)
    assert err.to_dict()["absolute"] == "0.004"


def test_reconcile_zero_manual_figures_and_boundaries() -> None:
    assert reconcile({"v": D(0)}, {"v": D(0)}, D(0)) == []
    assert reconcile({"v": D(1)}, {"v": D(0)}, D(1)) == [Difference("v", D(1), D(0), D(1), None)]
    assert reconcile({"v": D(101)}, {"v": D(100)}, D("0.01")) == []  # exactly at tolerance
    assert reconcile({"v": D(-99)}, {"v": D(-100)}, D("0.01")) == []
    with pytest.raises(InvalidInput):
        reconcile({}, {}, D("-0.1"))
