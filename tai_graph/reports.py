"""Reports for people and for spreadsheets: the value report and the baseline report.

They render the documents the engine returns (:meth:`~tai_graph.engine.Engine.value` and
:meth:`~tai_graph.engine.Engine.baseline`) as Markdown, HTML, CSV or PDF; the CLI uses the
plain-text renderings :func:`render_kpi_table` and :func:`render_value_text`.

- Templates live in ``tai_graph/templates`` and load through the package, so they ship in the
  wheel; the wording every format shares (formulas, conventions, sign-off) is in
  ``_wording.j2``. Jinja runs with ``StrictUndefined`` (a missing figure is an error, never a
  blank cell) and autoescapes the ``.html`` templates.
- Figures arrive as decimal strings and are parsed to ``Decimal``. Money is shown with
  :func:`~tai_graph.value.display_money`, rates with :func:`~tai_graph.value.display_percent`:
  rounding happens here, for display only. CSV keeps the raw decimal strings, for machines.
- PDF (fpdf2) prints the plain-text rendering in a monospace core font, uncompressed so the
  figures can be found with plain tools; characters outside Latin-1 are spelled out (``€`` →
  ``EUR``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, localcontext
from functools import cache
from typing import Any, Literal, cast

import jinja2

from tai_graph import __version__
from tai_graph.metrics import FIGURE_SOURCES, KpiTable
from tai_graph.periods import decimal_context, month_count
from tai_graph.value import decimal_text, display_money, display_number, display_percent

__all__ = [
    "MEDIA_TYPES",
    "METHODOLOGY_DOC",
    "ReportFormat",
    "baseline_report",
    "render_kpi_table",
    "render_value_text",
    "text_table",
    "value_report",
]

ReportFormat = Literal["md", "html", "csv", "pdf"]

#: The media type each report format is served with.
MEDIA_TYPES: dict[str, str] = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}
#: Where the full methodology is written down (formulas, conventions, worked examples).
METHODOLOGY_DOC = "docs/methodology.md"

_LABELS = {
    "operational_efficiency": "Operational efficiency",
    "error_reduction": "Error reduction",
    "compliance_reduction": "Compliance reduction",
    "revenue_protection": "Revenue protection",
    "operational_overhead": "Operational overhead",
}
_FIGURE_UNITS = {
    "manual_hours": "hours",
    "manual_report_hours": "hours",
    "orders": "orders",
    "order_errors": "errors",
    "violations": "violations",
    "gmv": "order currency",
    "stockout_amount": "order currency",
}
_ATTESTED_UNITS = {
    "manual_hours_per_month": "hours/month",
    "error_rate": "rate",
    "violations_per_month": "violations/month",
    "stockout_miss_rate": "rate",
    "manual_report_hours_per_month": "hours/month",
}
_ENGAGEMENT_LABELS = (
    ("cost_per_hour", "Cost per hour"),
    ("cost_per_error", "Cost per error"),
    ("cost_per_violation", "Cost per violation"),
)
_PERIOD_PARAMS = frozenset({"from", "to"})
#: Spelled out in PDFs: the core fonts only know Latin-1.
_LATIN1 = str.maketrans(
    {
        "\u20ac": "EUR ",  # euro sign
        "\u2014": "-",  # em dash
        "\u2013": "-",  # en dash
        "\u2212": "-",  # minus sign
        "\u2192": "->",  # rightwards arrow
        "\u2264": "<=",
        "\u2265": ">=",
        "\u2026": "...",
        "\u2019": "'",
    }
)


# -- shared helpers -------------------------------------------------------------------------------


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tai_graph", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = _md_cell
    env.globals["text_table"] = text_table
    return env


def _render(template: str, view: Mapping[str, Any]) -> str:
    return _env().get_template(template).render(view)


def _md_cell(value: object) -> str:
    """A value that cannot break a Markdown table row nor open an HTML tag in a Markdown viewer."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return text.replace("\r", " ").replace("\n", " ")


def _latin1(text: str) -> str:
    """``text`` in the Latin-1 repertoire of the PDF core fonts (``€`` becomes ``EUR``)."""
    return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def text_table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A plain-text table with aligned columns; columns listed in ``right`` are right-aligned."""
    body = [list(r) for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = (
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in body)])


def _dec(text: object) -> Decimal:
    return Decimal(str(text))


def _short(value: Decimal, places: int = 4) -> str:
    """``value`` with its own decimals, but at most ``places`` of them (rounded half-up)."""
    exponent = Decimal(decimal_text(value)).as_tuple().exponent
    own = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return display_number(value, min(own, places))


def _figure(text: object, unit: str) -> str:
    """A baseline/current figure for people: a rate as a percentage, anything else as a number."""
    if text is None:
        return "undefined"
    return display_percent(_dec(text)) if unit == "rate" else display_number(_dec(text))


def _params_text(parameters: Mapping[str, Any]) -> str:
    """Parameters other than the period (which the report states), as ``name="value"``."""
    extra = [f'{k}="{v}"' for k, v in sorted(parameters.items()) if k not in _PERIOD_PARAMS]
    return ", ".join(extra) if extra else "-"


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if c is None else c for c in row] for row in rows)
    return out.getvalue().encode("utf-8")


def _pdf(text: str, title: str) -> bytes:
    """``text`` line by line in Courier on A4; long lines wrap."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.compress = False  # keeps the figures searchable with plain tools (grep, pdftotext)
    pdf.set_title(title)
    pdf.set_creator(f"TAI Graph {__version__}")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Courier", size=8)
    for line in _latin1(text).splitlines():
        pdf.multi_cell(0, 3.6, line or " ", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _format(fmt: str) -> ReportFormat:
    if fmt not in MEDIA_TYPES:
        raise ValueError(f"unknown report format {fmt!r}; formats: {', '.join(MEDIA_TYPES)}")
    return cast(ReportFormat, fmt)


# -- the value report -----------------------------------------------------------------------------


def _provenance_rows(provenance: Mapping[str, Any]) -> list[dict[str, Any]]:
    base = provenance.get("baseline", {})
    current = provenance.get("current", {})
    rows = []
    for figure in [f for f in FIGURE_SOURCES if f in base or f in current]:
        b, c = base.get(figure), current.get(figure)
        source = c or b
        rows.append(
            {
                "figure": figure,
                "query": f"{source['query']}.{source['column']}",
                "baseline_sha": b["text_sha256"][:12] if b else "-",
                "current_sha": c["text_sha256"][:12] if c else "-",
                "parameters": _params_text(source["parameters"]),
                "changed": bool(b and c and b["text_sha256"] != c["text_sha256"]),
            }
        )
    return rows


def _value_view(doc: Mapping[str, Any], customer: str, *, latin1: bool = False) -> dict[str, Any]:
    """Everything the value templates show, already formatted for display.

    ``latin1``: money as the PDF prints it (``EUR 5.00``, not ``€5.00``), so tables stay aligned.
    """
    currency = str(doc["currency"])

    def money(value: object) -> str:
        text = display_money(_dec(value), currency)
        return _latin1(text) if latin1 else text

    metrics = [
        {
            "name": name,
            "label": _LABELS.get(name, name),
            "unit": m["unit"],
            "baseline": _figure(m["baseline"], m["unit"]),
            "current": _figure(m["current"], m["unit"]),
            "monthly": money(m["monthly"]),
            "annual": money(m["annual"]),
            "source": m["source"],
        }
        for name, m in doc["value_metrics"].items()
    ]
    payback = doc["payback_months"]
    provenance = _provenance_rows(doc.get("provenance", {}))
    engagement = doc.get("engagement") or {}
    return {
        "customer": customer,
        "currency": currency,
        "baseline": {
            "id": doc["baseline"]["id"],
            "from": doc["baseline"]["from"],
            "to": doc["baseline"]["to"],
            "frozen_at": doc["baseline"].get("frozen_at") or "-",
        },
        "current": doc["current"],
        "metrics": metrics,
        "metrics_table": text_table(
            ("Metric", "Unit", "Baseline", "Current", "Monthly", "Annual", "Source"),
            [
                (m["label"], m["unit"], m["baseline"], m["current"], m["monthly"], m["annual"], m["source"])
                for m in metrics
            ],
            right=(2, 3, 4, 5),
        ),
        "gross": money(doc["gross_annual_benefit"]),
        "acv": money(doc["annual_contract_value"]),
        "net": money(doc["net_annual_benefit"]),
        "roi": display_percent(_dec(doc["roi"])),
        "roi_ratio": display_number(_dec(doc["roi"])),
        "payback": "never" if payback is None else f"{display_number(_dec(payback))} months",
        "notes": list(doc.get("notes", [])),
        "rates": [(label, money(engagement[k])) for k, label in _ENGAGEMENT_LABELS if k in engagement],
        "methodology_doc": METHODOLOGY_DOC,
        "provenance": provenance,
        "provenance_table": text_table(
            ("Figure", "Query.column", "Baseline SHA-256", "Current SHA-256", "Parameters"),
            [
                (p["figure"], p["query"], p["baseline_sha"], p["current_sha"], p["parameters"])
                for p in provenance
            ],
        ),
        "changed": [p["query"] for p in provenance if p["changed"]],
        "version": __version__,
    }


def _value_csv(doc: Mapping[str, Any]) -> bytes:
    currency = str(doc["currency"])
    rows: list[list[object]] = [
        [name, m["unit"], m["source"], m["baseline"], m["current"], m["monthly"], m["annual"], None, currency]
        for name, m in doc["value_metrics"].items()
    ]
    per_year = f"{currency}/year"
    for name, unit in (
        ("gross_annual_benefit", per_year),
        ("annual_contract_value", per_year),
        ("net_annual_benefit", per_year),
        ("roi", "ratio"),
        ("payback_months", "months"),
    ):
        rows.append([name, unit, None, None, None, None, None, doc[name], currency])
    header = ("name", "unit", "source", "baseline", "current", "monthly", "annual", "value", "currency")
    return _csv(header, rows)


def value_report(doc: Mapping[str, Any], fmt: str, *, customer: str) -> bytes:
    """The value report of a ``GET /v1/value`` document, for a finance reader.

    ``fmt`` is one of :data:`MEDIA_TYPES` (``md``, ``html``, ``csv``, ``pdf``); ``customer`` is the
    name shown in the header. Raises ``ValueError`` for an unknown format.
    """
    kind = _format(fmt)
    if kind == "csv":
        return _value_csv(doc)
    if kind == "pdf":
        view = _value_view(doc, customer, latin1=True)
        return _pdf(_render("value.txt", {**view, "full": True}), f"Value realisation report - {customer}")
    return _render(f"value.{kind}", _value_view(doc, customer)).encode("utf-8")


def render_value_text(value_doc: Mapping[str, Any]) -> str:
    """The value report as plain text for a terminal (``tai-graph value`` and ``demo``).

    Metrics, totals, rates and notes; the methodology, provenance and sign-off are in the full
    reports (:func:`value_report`).
    """
    return _render("value.txt", {**_value_view(value_doc, ""), "full": False})


# -- the baseline report --------------------------------------------------------------------------


def _baseline_view(doc: Mapping[str, Any], customer: str) -> dict[str, Any]:
    """Everything the baseline templates show, already formatted for display."""
    figures = doc["figures"]
    kpis = doc["kpis"]
    months = _dec(figures["months"])
    rows = []
    with localcontext(decimal_context()):
        for name, (query, column) in FIGURE_SOURCES.items():
            total = _dec(figures[name])
            rows.append(
                {
                    "name": name,
                    "total": display_number(
                        total, 0 if name in ("orders", "order_errors", "violations") else 2
                    ),
                    "per_month": display_number(total / months),
                    "unit": _FIGURE_UNITS.get(name, ""),
                    "source": f"{query}.{column}",
                    "sha": kpis.get(query, {}).get("text_sha256", "")[:12],
                }
            )
    rates = [
        (label, _figure(kpis[q]["value"], "rate"))
        for q, label in (("error_rate", "Error rate"), ("stockout_miss_rate", "Stockout miss rate"))
        if q in kpis
    ]
    kpi_rows = [
        {
            "name": name,
            "value": _kpi_text(k["value"], len(k.get("rows", []))),
            "rows": len(k.get("rows", [])),
            "parameters": _params_text(k["parameters"]),
            "sha": k["text_sha256"][:12],
        }
        for name, k in kpis.items()
    ]
    attested = [
        (name, value, _ATTESTED_UNITS.get(name, "")) for name, value in (doc.get("attested") or {}).items()
    ]
    return {
        "customer": customer,
        "id": doc["id"],
        "period": doc["period"],
        "months": _short(months),
        "frozen_at": doc["frozen_at"],
        "engine_version": doc.get("engine_version", ""),
        "figures": rows,
        "figures_table": text_table(
            ("Figure", "Total", "Per month", "Unit", "Query.column", "SHA-256"),
            [(r["name"], r["total"], r["per_month"], r["unit"], r["source"], r["sha"]) for r in rows],
            right=(1, 2),
        ),
        "rates": rates,
        "kpis": kpi_rows,
        "kpi_table": text_table(
            ("KPI", "Value", "Parameters", "SHA-256"),
            [(k["name"], k["value"], k["parameters"], k["sha"]) for k in kpi_rows],
            right=(1,),
        ),
        "attested": attested,
        "ledger": doc.get("ledger_head") or {},
        "key_id": doc.get("key_id", ""),
        "signature": doc.get("signature", ""),
        "ed25519_signature": doc.get("ed25519_signature", ""),
        "methodology_doc": METHODOLOGY_DOC,
        "version": __version__,
    }


def _baseline_csv(doc: Mapping[str, Any]) -> bytes:
    figures, kpis = doc["figures"], doc["kpis"]
    rows: list[list[object]] = [
        ["period", "from", doc["period"]["from"], None, "UTC", None, None, None],
        ["period", "to", doc["period"]["to"], None, "UTC", None, None, None],
        ["period", "months", figures["months"], None, "months", None, None, None],
    ]
    with localcontext(decimal_context()):
        for name, (query, column) in FIGURE_SOURCES.items():
            per_month = decimal_text(_dec(figures[name]) / _dec(figures["months"]))
            sha = kpis.get(query, {}).get("text_sha256")
            rows.append(
                ["figure", name, str(figures[name]), per_month, _FIGURE_UNITS[name], query, column, sha]
            )
    for name, k in kpis.items():
        rows.append(["kpi", name, k["value"], None, None, name, "value", k["text_sha256"]])
    for name, value in (doc.get("attested") or {}).items():
        rows.append(["attested", name, value, None, _ATTESTED_UNITS.get(name), None, None, None])
    header = ("kind", "name", "value", "per_month", "unit", "query", "column", "text_sha256")
    return _csv(header, rows)


def baseline_report(doc: Mapping[str, Any], fmt: str, *, customer: str) -> bytes:
    """The report of a frozen baseline (a ``GET /v1/baselines/{id}`` document).

    Period and month count, figures per month with their queries' hashes, every KPI value,
    attested figures, the ledger head and the signatures. ``fmt`` as for :func:`value_report`.
    """
    kind = _format(fmt)
    if kind == "csv":
        return _baseline_csv(doc)
    view = _baseline_view(doc, customer)
    if kind == "pdf":
        return _pdf(_render("baseline.txt", view), f"Baseline report - {customer}")
    return _render(f"baseline.{kind}", view).encode("utf-8")


# -- KPI table for the CLI ------------------------------------------------------------------------


def _kpi_text(value: object, rows: int) -> str:
    """A KPI value for the eye: at most 4 decimals; no value is ``undefined`` or a row count."""
    if value is None:
        return "undefined" if rows == 1 else f"({rows} rows)"
    return _short(_dec(value))


def render_kpi_table(table: KpiTable) -> str:
    """Every KPI of a period as an aligned plain-text table (``tai-graph kpis``, ``demo``).

    Values are rounded to at most 4 decimals for the eye (the JSON keeps them exact); ``ALERT``
    marks a KPI that meets its query's alert threshold.
    """
    months = _short(month_count(table.period))
    rows = [
        (r.name, _kpi_text(r.value, len(r.rows)), "ALERT" if r.alerts else "", r.text_sha256[:12])
        for r in table.results
    ]
    head = f"KPIs for [{table.period.from_text}, {table.period.to_text})  (month count {months})"
    return head + "\n" + text_table(("KPI", "Value", "Alert", "Query SHA-256"), rows, right=(1,))
