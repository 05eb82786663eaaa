"""Reports: templates shipped in the package, escaping, display rounding, every format, CLI text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from importlib import resources
from typing import Any

import jinja2
import pytest

from tai_graph import reports
from tai_graph.config import Settings
from tai_graph.engine import Engine
from tai_graph.metrics import KpiTable
from tai_graph.periods import parse_period
from tai_graph.queries import QueryResult
from tai_graph.value import Engagement, PeriodFigures, compute_value

D = Decimal
JAN = parse_period("2026-01-01", "2026-02-01")
MAR = parse_period("2026-03-01", "2026-04-01")
TEMPLATES = {f"{kind}.{ext}" for kind in ("value", "baseline") for ext in ("md", "html", "txt")} | {
    "_wording.j2"
}


def value_doc(currency: str = "USD", **current: Any) -> dict[str, Any]:
    """A ``GET /v1/value`` document for the plan's efficiency and revenue examples."""
    baseline = PeriodFigures.for_period(
        JAN, manual_hours=D(120), orders=20, gmv=D(500000), stockout_amount=D(17500)
    )
    figures = {"manual_hours": D(24), "orders": 20, "gmv": D(500000), "stockout_amount": D(2500), **current}
    engagement = Engagement(currency, D(60), D(100), D(5000), D(50000))
    report = compute_value(baseline, PeriodFigures.for_period(MAR, **figures), engagement, baseline_id="bl_t")
    doc = report.to_dict()
    doc["engagement"] = engagement.to_dict()
    return doc


@pytest.fixture(scope="module")
def baseline_doc() -> Iterator[dict[str, Any]]:
    """A real frozen baseline from an in-memory engine."""
    engine = Engine(Settings())
    engine.create_tenant("acme")
    work = [
        {
            "event_id": f"W{i}",
            "timestamp": f"2026-01-{10 + i}T10:00:00Z",
            "transaction_type": "work_log",
            "data": {"activity": "sku_reconciliation", "hours": "24"},
        }
        for i in range(5)
    ]
    assert engine.ingest("acme", work).count("created") == 5
    yield engine.freeze_baseline(
        "acme", {"from": "2026-01-01", "to": "2026-02-01", "attested": {"error_rate": "0.021"}}
    )
    engine.close()


# -- templates ------------------------------------------------------------------------------------


def test_templates_ship_inside_the_package() -> None:
    folder = resources.files("tai_graph").joinpath("templates")
    assert {p.name for p in folder.iterdir()} >= TEMPLATES
    env = reports._env()
    assert isinstance(env.loader, jinja2.PackageLoader)
    assert env.undefined is jinja2.StrictUndefined


def test_a_missing_figure_is_an_error_not_a_blank() -> None:
    with pytest.raises(jinja2.UndefinedError):
        reports._env().get_template("value.md").render({"customer": "x"})


def test_html_is_escaped_and_markdown_cannot_break_a_table() -> None:
    doc = value_doc()
    html = reports.value_report(doc, "html", customer='<script>alert("x")</script> & Co').decode()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; Co" in html
    md = reports.value_report(doc, "md", customer="A|B <i>").decode()
    assert "| Customer | A\\|B &lt;i> |" in md


# -- the value report -----------------------------------------------------------------------------


def test_value_report_markdown_for_a_finance_reader() -> None:
    md = reports.value_report(value_doc(), "md", customer="Acme").decode()
    for text in (
        "| Operational efficiency | hours/month | 120.00 | 24.00 | $5,760.00 | $69,120.00 | measured |",
        "| Revenue protection | rate | 3.5% | 0.5% | $15,000.00 | $180,000.00 | measured |",
        "| Gross annual benefit | **$249,120.00** |",
        "| ROI | **398.2%** (3.98\u00d7) |",
        "Cost per hour $60.00",
        "(baseline \u2212 current work_log hours per month) \u00d7 cost_per_hour",
        "[docs/methodology.md](docs/methodology.md)",
        "Customer sponsor: ____",
        "Finance lead: ____",
        "CSM (TAI): ____",
    ):
        assert text in md, text


def test_money_is_rounded_for_display_only() -> None:
    doc = value_doc(manual_hours=D("119.99791666"))  # saves 0.00208334 h * $60 = $0.1250004 a month
    monthly = D(doc["value_metrics"]["operational_efficiency"]["monthly"])
    assert monthly == D("0.1250004")
    assert "$0.13" in reports.value_report(doc, "md", customer="Acme").decode()
    rows = {
        r["name"]: r
        for r in csv.DictReader(io.StringIO(reports.value_report(doc, "csv", customer="x").decode()))
    }
    assert rows["operational_efficiency"]["monthly"] == "0.1250004"
    assert D(rows["gross_annual_benefit"]["value"]) == D(doc["gross_annual_benefit"])


def test_value_csv_is_machine_readable() -> None:
    doc = value_doc()
    rows = list(csv.DictReader(io.StringIO(reports.value_report(doc, "csv", customer="x").decode())))
    assert list(rows[0]) == [
        "name",
        "unit",
        "source",
        "baseline",
        "current",
        "monthly",
        "annual",
        "value",
        "currency",
    ]
    assert [r["name"] for r in rows][:5] == list(doc["value_metrics"])
    eff = rows[0]
    assert (eff["baseline"], eff["current"], eff["monthly"], eff["annual"]) == ("120", "24", "5760", "69120")
    err = rows[1]
    assert err["baseline"] == "0" and err["current"] == "0"  # rates of 0 errors over 20 orders
    assert {r["name"]: r["value"] for r in rows[5:]} == {
        "gross_annual_benefit": "249120",
        "annual_contract_value": "50000",
        "net_annual_benefit": "199120",
        "roi": "3.9824",
        "payback_months": doc["payback_months"],
    }


def test_undefined_rates_negative_values_and_never() -> None:
    doc = value_doc(manual_hours=D(130), gmv=D(0), stockout_amount=D(0), orders=0)
    assert doc["payback_months"] is None
    text = reports.render_value_text(doc)
    assert "-$600.00" in text  # 10 more hours a month than the baseline, at $60
    assert "undefined" in text and "Payback:                never" in text
    assert "operational_efficiency: the current period is worse than the baseline" in text
    for fmt in ("md", "html"):
        assert "never" in reports.value_report(doc, fmt, customer="x").decode()
    last = reports.value_report(doc, "csv", customer="x").decode().splitlines()[-1]
    assert last == "payback_months,months,,,,,,,USD"


def test_value_text_for_the_cli_is_compact() -> None:
    text = reports.render_value_text(value_doc())
    assert text.startswith("VALUE REALISATION REPORT\n")
    assert "Gross annual benefit:   $249,120.00" in text
    assert "Payback:                2.41 months" in text
    assert "Rates used:" in text
    assert "METHODOLOGY" not in text and "SIGN-OFF" not in text


def test_provenance_flags_a_query_that_changed_since_the_freeze() -> None:
    doc = value_doc()
    source = {"query": "manual_hours", "column": "value", "parameters": {"from": "x", "activity": ""}}
    doc["provenance"] = {
        "baseline": {"manual_hours": {**source, "text_sha256": "a" * 64}},
        "current": {"manual_hours": {**source, "text_sha256": "b" * 64}},
    }
    md = reports.value_report(doc, "md", customer="x").decode()
    assert '| manual_hours | `manual_hours.value` | `aaaaaaaaaaaa` | `bbbbbbbbbbbb` | activity="" |' in md
    assert "`manual_hours.value` changed since the baseline was frozen" in md


def test_value_pdf_spells_out_the_euro() -> None:
    pdf = reports.value_report(value_doc("EUR"), "pdf", customer="Société Générale €")
    assert pdf.startswith(b"%PDF-")
    assert b"EUR 249,120.00" in pdf and b"EUR 5,760.00" in pdf
    assert "Soci\xe9t\xe9 G\xe9n\xe9rale EUR".encode("latin-1") in pdf
    for section in (b"METHODOLOGY", b"PROVENANCE", b"SIGN-OFF", b"Customer sponsor"):
        assert section in pdf


def test_other_currencies_use_their_minor_unit() -> None:
    md = reports.value_report(value_doc("JPY"), "md", customer="x").decode()
    assert "¥5,760 " in md or "¥5,760 |" in md
    assert "CHF 5,760.00" in reports.value_report(value_doc("CHF"), "md", customer="x").decode()


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="docx"):
        reports.value_report(value_doc(), "docx", customer="x")


# -- the baseline report --------------------------------------------------------------------------


def test_baseline_report_every_format(baseline_doc: dict[str, Any]) -> None:
    md = reports.baseline_report(baseline_doc, "md", customer="Acme").decode()
    sha = baseline_doc["kpis"]["manual_hours"]["text_sha256"][:12]
    for text in (
        baseline_doc["id"],
        "(month count 1)",
        f"| manual_hours | 120.00 | 120.00 | hours | `manual_hours.value` | `{sha}` |",
        "| error_rate | 0.021 | rate |",
        f"| Ledger head sequence | {baseline_doc['ledger_head']['head_sequence']} |",
        baseline_doc["signature"],
        baseline_doc["key_id"],
        "Finance lead: ____",
    ):
        assert text in md, text
    html = reports.baseline_report(baseline_doc, "html", customer="Acme").decode()
    assert baseline_doc["ed25519_signature"] in html
    rows = list(
        csv.DictReader(io.StringIO(reports.baseline_report(baseline_doc, "csv", customer="x").decode()))
    )
    by = {(r["kind"], r["name"]): r for r in rows}
    assert by[("period", "months")]["value"] == "1"
    assert by[("figure", "manual_hours")]["per_month"] == "120"
    assert (
        by[("figure", "manual_hours")]["text_sha256"] == baseline_doc["kpis"]["manual_hours"]["text_sha256"]
    )
    assert by[("attested", "error_rate")]["value"] == "0.021"
    assert by[("kpi", "receipt_coverage")]["value"] == "1"
    pdf = reports.baseline_report(baseline_doc, "pdf", customer="Acme")
    assert pdf.startswith(b"%PDF-") and baseline_doc["id"].encode() in pdf and b"120.00" in pdf


# -- the KPI table for the CLI --------------------------------------------------------------------


def _result(name: str, value: str | None, rows: int = 1, alert: bool = False) -> QueryResult:
    cells: list[dict[str, Any]] = [{"value": None if value is None else D(value)} for _ in range(rows)]
    return QueryResult(
        name=name,
        text_sha256="f" * 64,
        parameters={},
        columns=["value"],
        rows=cells,
        value=None if value is None or rows != 1 else D(value),
        alerts=cells[:1] if alert else [],
    )


def test_kpi_table_is_aligned_and_marks_alerts() -> None:
    table = KpiTable(
        parse_period("2026-01-15", "2026-02-15"),
        [
            _result("manual_hours", "1234.5"),
            _result("error_rate", "0.052631578947368421", alert=True),
            _result("sync_latency", None),
            _result("errors_by_type", None, rows=3),
        ],
    )
    text = reports.render_kpi_table(table)
    lines = text.splitlines()
    assert lines[0] == "KPIs for [2026-01-15T00:00:00Z, 2026-02-15T00:00:00Z)  (month count 1.0484)"
    assert lines[1].split() == ["KPI", "Value", "Alert", "Query", "SHA-256"]
    assert "1,234.5" in lines[3] and "0.0526" in lines[4] and "ALERT" in lines[4]
    assert "undefined" in lines[5] and "(3 rows)" in lines[6]
    gaps = [i for i, c in enumerate(lines[2]) if c == " "]  # between the columns' dashes
    for line in lines[1:]:
        assert all(line[i] == " " for i in gaps if i < len(line)), line
    assert len({line.index("ffffffffffff") for line in lines[3:]}) == 1


def test_text_table_right_aligns_numbers() -> None:
    out = reports.text_table(("a", "n"), [("x", "1"), ("yy", "100")], right=(1,))
    assert out.splitlines() == ["a     n", "--  ---", "x     1", "yy  100"]
