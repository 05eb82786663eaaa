"""Metrics routes: named queries, KPIs, alerts, engagement, baselines, value, reconciliation, reports.

Each route parses its input, makes one engine call for the caller's customer (always the owner of
the Bearer key; no route takes a customer id) and writes the answer. Errors are raised, never
answered here: :mod:`tai_graph.api.problems` turns them into RFC 9457 problems.

Answers that come in several formats follow ``format=`` (a name such as ``csv`` or a media type)
first, then ``Accept`` (q-values honoured; no ``Accept`` or ``*/*`` gives the first format).
Nothing acceptable is a 406 ``not-acceptable`` problem listing what is available.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from tai_graph import reports
from tai_graph.api.auth import Customer, EngineDep
from tai_graph.api.bodies import Body, body_doc, check_params, json_object, media_type, params_of
from tai_graph.api.problems import ApiJSONResponse
from tai_graph.errors import InvalidInput, NotAcceptable
from tai_graph.mediatypes import parse_accept, quality
from tai_graph.periods import parse_period
from tai_graph.tenants import Tenant

router = APIRouter(tags=["metrics"])

NoParams = Annotated[dict[str, str], params_of()]
PeriodParams = Annotated[dict[str, str], params_of("from", "to")]
TableParams = Annotated[dict[str, str], params_of("from", "to", "format")]
ValueParams = Annotated[dict[str, str], params_of("baseline", "from", "to")]
BaselineReportParams = Annotated[dict[str, str], params_of("baseline", "format")]
ValueReportParams = Annotated[dict[str, str], params_of("baseline", "from", "to", "format")]

#: the query parameter that picks the answer's format; never passed on to a named query
FORMAT_PARAM = "format"
RECONCILE_FIELDS = frozenset({"from", "to", "manual", "tolerance"})
DEFAULT_TOLERANCE = "0.01"


# -- content negotiation --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """A format a route can answer in: its ``format=`` names and its media types."""

    name: str
    media_types: tuple[str, ...]
    aliases: tuple[str, ...] = ()


JSON = Offer("json", ("application/json",))
CSV = Offer("csv", ("text/csv",))
MARKDOWN = Offer("md", ("text/markdown", "text/x-markdown"), ("markdown",))
HTML = Offer("html", ("text/html",))
PDF = Offer("pdf", ("application/pdf",))
TABLE_OFFERS = (JSON, CSV)
REPORT_OFFERS = (MARKDOWN, HTML, CSV, PDF)


def negotiate(request: Request, fmt: str | None, offers: Sequence[Offer]) -> Offer:
    """The offer ``format=`` names, else the best for ``Accept``; :class:`NotAcceptable` if none.

    A blank ``format=`` counts as absent. Without ``Accept`` (or with ``*/*``) the first offer wins;
    otherwise the highest q-value, then the most specific range, then the order of ``offers``.
    """
    available = [f"{o.name} ({o.media_types[0]})" for o in offers]
    if fmt is not None and fmt.strip():
        wanted = fmt.strip().lower()
        for offer in offers:
            if wanted == offer.name or wanted in offer.aliases or wanted in offer.media_types:
                return offer
        raise NotAcceptable(
            f"format={fmt!r} is not available here; formats: {', '.join(available)}",
            details={"field": FORMAT_PARAM, "rule": "format", "value": fmt, "available": available},
        )
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return offers[0]
    ranges = parse_accept(accept)
    best: tuple[float, int, int] | None = None
    chosen: Offer | None = None
    for rank, offer in enumerate(offers):
        for media in offer.media_types:
            q, specificity = quality(media, ranges)
            key = (q, specificity, -rank)
            if q > 0 and (best is None or key > best):
                best, chosen = key, offer
    if chosen is None:
        raise NotAcceptable(
            f"nothing here matches Accept: {accept}; formats: {', '.join(available)}",
            details={"field": "Accept", "rule": "format", "value": accept, "available": available},
        )
    return chosen


# -- small helpers --------------------------------------------------------------------------------


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={"Vary": "Accept"})


def _json_object(request: Request, body: bytes) -> dict[str, Any]:
    """A JSON object body (numbers become ``Decimal``); members are judged by the engine."""
    mt = media_type(request)
    if mt and mt != "application/json" and not mt.endswith("+json"):
        raise HTTPException(415, f"Content-Type {mt!r} is not accepted here; send application/json")
    return json_object(body)


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise InvalidInput(f"parameter {name!r} is required", details={"parameter": name, "rule": "required"})
    return value


def _number(value: object, field: str) -> str:
    """A JSON number or numeric string as decimal text; :class:`InvalidInput` naming ``field``."""
    ok = isinstance(value, Decimal | int) and not isinstance(value, bool)
    if isinstance(value, str):
        try:
            ok = Decimal(value).is_finite()
        except ArithmeticError:
            ok = False
    if not ok or (isinstance(value, Decimal) and not value.is_finite()):
        raise InvalidInput(
            f"{field} must be a number", details={"field": field, "rule": "number", "value": value}
        )
    return str(value)


def _customer(tenant: Tenant) -> str:
    """How a report names the customer."""
    if tenant.name and tenant.name != tenant.customer_id:
        return f"{tenant.name} ({tenant.customer_id})"
    return tenant.customer_id


def _report(body: bytes, offer: Offer, stem: str) -> Response:
    headers = {"Vary": "Accept", "Content-Disposition": f'inline; filename="{stem}.{offer.name}"'}
    return Response(body, media_type=reports.MEDIA_TYPES[offer.name], headers=headers)


# -- named queries and KPIs -----------------------------------------------------------------------


@router.get("/v1/queries")
def list_queries(tenant: Customer, engine: EngineDep, params: NoParams) -> ApiJSONResponse:
    """Every named query: name, title, description, unit, value column, columns, typed parameters
    with defaults, frequency, alert threshold and ``text_sha256``."""
    return ApiJSONResponse({"queries": [q.to_dict() for q in engine.queries]})


@router.get("/v1/queries/{name}")
def run_query(name: str, request: Request, tenant: Customer, engine: EngineDep) -> Response:
    """Run a named query over ``[from, to)`` with its own parameters (``?channel=amazon``).

    JSON: the rows with their provenance (``text_sha256``, parameters as bound) and the period.
    CSV (``Accept: text/csv`` or ``format=csv``): a header row of the columns, decimals as text.
    An unknown or mistyped parameter is a 400 naming it.
    """
    params = check_params(request, request.query_params.keys())
    offer = negotiate(request, params.pop(FORMAT_PARAM, None), TABLE_OFFERS)
    result = engine.run_query(tenant.customer_id, name, params)
    doc = result.to_dict()
    if offer is CSV:
        rows = doc["rows"]
        assert isinstance(rows, list)
        return _csv(result.columns, ([row.get(c) for c in result.columns] for row in rows))
    doc["period"] = {"from": result.parameters["from"], "to": result.parameters["to"]}
    return ApiJSONResponse(doc, headers={"Vary": "Accept"})


@router.get("/v1/queries/{name}/text")
def query_text(name: str, request: Request, tenant: Customer, engine: EngineDep) -> Response:
    """The query file exactly as loaded; its SHA-256 is the ``text_sha256`` of every answer.

    With ``from``/``to`` (and the query's own parameters): the query as bound for that period,
    the exact SPARQL the figure came from, to run as it is on ``/v1/sparql``.
    """
    query = engine.queries.get(name)
    params = check_params(request, request.query_params.keys())
    if not params:
        return Response(
            query.text.encode("utf-8"),
            media_type="application/sparql-query",
            headers={"ETag": f'"{query.text_sha256}"'},
        )
    body = engine.bound_query(name, params).text.encode("utf-8")
    return Response(
        body,
        media_type="application/sparql-query",
        headers={"ETag": f'"{hashlib.sha256(body).hexdigest()}"', "TAI-Query-Text-SHA256": query.text_sha256},
    )


@router.get("/v1/kpis")
def kpis(request: Request, tenant: Customer, engine: EngineDep, params: TableParams) -> Response:
    """Every KPI over ``[from, to)`` with default parameters, and the alerts they raise.

    CSV: one row per KPI (``name, title, unit, value, text_sha256``).
    """
    offer = negotiate(request, params.get(FORMAT_PARAM), TABLE_OFFERS)
    table = engine.kpis(tenant.customer_id, params.get("from"), params.get("to"))
    if offer is CSV:
        rows = []
        for r in table.results:
            query = engine.queries.get(r.name)
            rows.append((r.name, query.title, query.unit, r.to_dict()["value"], r.text_sha256))
        return _csv(("name", "title", "unit", "value", "text_sha256"), rows)
    return ApiJSONResponse(
        {**table.to_dict(), "alerts": engine.metrics.alerts_of(table)}, headers={"Vary": "Accept"}
    )


@router.get("/v1/alerts")
def alerts(tenant: Customer, engine: EngineDep, params: PeriodParams) -> ApiJSONResponse:
    """The KPIs over ``[from, to)`` that meet the alert threshold of their query."""
    found = engine.alerts(tenant.customer_id, params.get("from"), params.get("to"))
    period = parse_period(params["from"], params["to"])  # valid: the engine accepted it
    return ApiJSONResponse({"period": period.to_dict(), "alerts": found})


# -- engagement and baselines ---------------------------------------------------------------------


@router.put("/v1/engagement", openapi_extra=body_doc("application/json"))
def put_engagement(
    request: Request, tenant: Customer, engine: EngineDep, params: NoParams, body: Body
) -> ApiJSONResponse:
    """Set the engagement: ``currency``, ``cost_per_hour``, ``cost_per_error``,
    ``cost_per_violation``, ``annual_contract_value`` (all required; amounts as numbers or decimal
    strings). Answers the stored settings."""
    settings = engine.set_engagement(tenant.customer_id, _json_object(request, body))
    return ApiJSONResponse(settings.to_dict())


@router.get("/v1/engagement")
def get_engagement(tenant: Customer, engine: EngineDep, params: NoParams) -> ApiJSONResponse:
    """The engagement settings; 404 until they are set."""
    return ApiJSONResponse(engine.engagement(tenant.customer_id).to_dict())


@router.post("/v1/baselines", status_code=201, openapi_extra=body_doc("application/json"))
def freeze_baseline(
    request: Request, tenant: Customer, engine: EngineDep, params: NoParams, body: Body
) -> ApiJSONResponse:
    """Freeze ``{"from", "to", "attested"?}`` into a signed baseline; 201 with ``Location``."""
    doc = engine.freeze_baseline(tenant.customer_id, _json_object(request, body))
    return ApiJSONResponse(doc, status_code=201, headers={"Location": f"/v1/baselines/{doc['id']}"})


@router.get("/v1/baselines")
def list_baselines(tenant: Customer, engine: EngineDep, params: NoParams) -> ApiJSONResponse:
    """The ids of the caller's baselines."""
    return ApiJSONResponse({"baselines": engine.baselines(tenant.customer_id)})


@router.get("/v1/baselines/{baseline_id}")
def get_baseline(baseline_id: str, tenant: Customer, engine: EngineDep, params: NoParams) -> ApiJSONResponse:
    """A frozen baseline, after checking its signatures (an altered one is a ``ledger-error``)."""
    return ApiJSONResponse(engine.baseline(tenant.customer_id, baseline_id))


# -- value and reconciliation ---------------------------------------------------------------------


@router.get("/v1/value")
def value(tenant: Customer, engine: EngineDep, params: ValueParams) -> ApiJSONResponse:
    """Value realised over ``[from, to)`` against ``baseline`` (SPEC §6 shape, plus provenance)."""
    return ApiJSONResponse(
        engine.value(tenant.customer_id, params.get("baseline"), params.get("from"), params.get("to"))
    )


@router.post("/v1/reconciliation", openapi_extra=body_doc("application/json"))
def reconciliation(
    request: Request, tenant: Customer, engine: EngineDep, params: NoParams, body: Body
) -> ApiJSONResponse:
    """Compare the KPIs of ``[from, to)`` with the customer's figures.

    Body: ``{"from", "to", "manual": {kpi: number}, "tolerance": "0.01"}`` (tolerance is a ratio,
    default 1 %). Answers the figures that differ by more than the tolerance.
    """
    doc = _json_object(request, body)
    unknown = sorted(set(doc) - RECONCILE_FIELDS)
    if unknown:
        raise InvalidInput(
            f"unknown field(s): {', '.join(unknown)}; this body takes from, to, manual and tolerance",
            details={"field": unknown[0], "rule": "sh:closed", "value": unknown},
        )
    manual = doc.get("manual")
    if not isinstance(manual, dict):
        rule = "required" if manual is None else "object"
        raise InvalidInput(
            "manual must be an object of KPI name -> number", details={"field": "manual", "rule": rule}
        )
    figures = {name: _number(v, f"manual.{name}") for name, v in manual.items()}
    tolerance = _number(doc.get("tolerance", DEFAULT_TOLERANCE), "tolerance")
    return ApiJSONResponse(
        engine.reconcile(tenant.customer_id, doc.get("from"), doc.get("to"), figures, tolerance)
    )


# -- reports --------------------------------------------------------------------------------------


@router.get("/v1/reports/baseline")
def baseline_report(
    request: Request, tenant: Customer, engine: EngineDep, params: BaselineReportParams
) -> Response:
    """The baseline report as Markdown, HTML, CSV or PDF (``format=md|html|csv|pdf`` or Accept)."""
    offer = negotiate(request, params.get(FORMAT_PARAM), REPORT_OFFERS)
    doc = engine.baseline(tenant.customer_id, _required(params, "baseline"))
    body = reports.baseline_report(doc, offer.name, customer=_customer(tenant))
    return _report(body, offer, f"baseline-{doc['id']}")


@router.get("/v1/reports/value")
def value_report(
    request: Request, tenant: Customer, engine: EngineDep, params: ValueReportParams
) -> Response:
    """The value report as Markdown, HTML, CSV or PDF (``format=md|html|csv|pdf`` or Accept)."""
    offer = negotiate(request, params.get(FORMAT_PARAM), REPORT_OFFERS)
    doc = engine.value(tenant.customer_id, params.get("baseline"), params.get("from"), params.get("to"))
    body = reports.value_report(doc, offer.name, customer=_customer(tenant))
    return _report(body, offer, f"value-{doc['baseline']['id']}")
