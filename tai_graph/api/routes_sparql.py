"""``GET, POST /v1/sparql``: the SPARQL 1.1 Protocol query operation, read-only.

Accepted: ``GET ?query=…``, ``POST`` ``application/x-www-form-urlencoded`` with ``query=…``, and
``POST`` ``application/sparql-query`` with the query as the body. Results follow ``Accept`` (or a
``format``/``output``/``results`` parameter, as SPARQLWrapper and dashboards send).

The dataset is always the caller's own graph: ``default-graph-uri`` and ``named-graph-uri`` are
refused (400) rather than silently ignored, and ``FROM``/``GRAPH`` in the query text cannot reach
past the caller's graph (the engine scopes every query). ``update=``, ``application/sparql-update``
and update operations are refused (400): the endpoint never writes.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from tai_graph.api.auth import Customer, EngineDep
from tai_graph.api.bodies import Body, body_doc, media_type
from tai_graph.api.metrics import Metrics, MetricsDep
from tai_graph.engine import Engine
from tai_graph.errors import ForbiddenQuery, InvalidQuery, TaiGraphError
from tai_graph.tenants import Tenant

router = APIRouter(tags=["sparql"])

FORMAT_PARAMS = ("format", "output", "results")
UPDATE_PARAMS = ("update", "using-graph-uri", "using-named-graph-uri")
DATASET_PARAMS = ("default-graph-uri", "named-graph-uri")


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidQuery(
            f"the {what} is not UTF-8 text", details={"field": what, "rule": "tai:utf8"}
        ) from exc


def protocol_request(request: Request, body: bytes) -> tuple[str, str | None]:
    """The query text and the requested format of a SPARQL Protocol request, or the 4xx why not."""
    pairs = list(request.query_params.multi_items())
    direct: str | None = None
    if request.method == "POST":
        mt = media_type(request)
        if mt == "application/x-www-form-urlencoded":
            pairs += parse_qsl(_text(body, "body"), keep_blank_values=True)
        elif mt == "application/sparql-query":
            direct = _text(body, "body")
        elif mt == "application/sparql-update":
            raise ForbiddenQuery(
                "this endpoint is read-only: SPARQL Update is refused",
                details={"field": "Content-Type", "rule": "read-only", "value": mt},
            )
        else:
            raise HTTPException(
                415,
                f"Content-Type {mt!r} is not a SPARQL query request; send "
                "application/x-www-form-urlencoded (query=…) or application/sparql-query",
            )
    names = {k for k, _ in pairs}
    for name in UPDATE_PARAMS:
        if name in names:
            raise ForbiddenQuery(
                f"this endpoint is read-only: '{name}' is refused",
                details={"field": name, "rule": "read-only"},
            )
    for name in DATASET_PARAMS:
        if name in names:
            raise ForbiddenQuery(
                f"'{name}' is not supported: the dataset is always your own graph",
                details={"field": name, "rule": "dataset", "value": [v for k, v in pairs if k == name]},
            )
    queries = [v for k, v in pairs if k == "query"]
    if direct is not None:
        queries.append(direct)
    if len(queries) != 1:
        why = "no query given (query=…)" if not queries else "more than one query given"
        raise InvalidQuery(
            why, details={"field": "query", "rule": "sh:maxCount" if queries else "sh:minCount"}
        )
    return queries[0], _format(pairs)


def _format(pairs: list[tuple[str, str]]) -> str | None:
    """The first of ``format``/``output``/``results`` given exactly once (repeats defer to Accept)."""
    for name in FORMAT_PARAMS:
        values = {v for k, v in pairs if k == name}
        if len(values) == 1:
            return values.pop()
        if values:
            return None
    return None


def _run(request: Request, tenant: Tenant, engine: Engine, metrics: Metrics, body: bytes) -> Response:
    try:
        query, fmt = protocol_request(request, body)
        answer = engine.sparql(
            tenant.customer_id, query, accept=request.headers.get("accept"), format_param=fmt
        )
    except TaiGraphError as exc:
        metrics.sparql.labels(outcome=exc.code).inc()
        raise
    except HTTPException:
        metrics.sparql.labels(outcome="unsupported-media-type").inc()
        raise
    metrics.sparql.labels(outcome="ok").inc()
    return Response(answer.body, media_type=answer.media_type, headers={"Vary": "Accept"})


@router.get("/v1/sparql")
def sparql_get(
    request: Request, tenant: Customer, engine: EngineDep, metrics: MetricsDep, body: Body
) -> Response:
    """Run a read-only SPARQL query (``?query=…``) over the caller's graph.

    SELECT/ASK answer JSON, XML, CSV or TSV; CONSTRUCT/DESCRIBE Turtle, N-Triples or RDF/XML.
    ``SERVICE``, ``LOAD`` and updates are refused (400) and never executed.
    """
    return _run(request, tenant, engine, metrics, body)


@router.post(
    "/v1/sparql", openapi_extra=body_doc("application/x-www-form-urlencoded", "application/sparql-query")
)
def sparql_post(
    request: Request, tenant: Customer, engine: EngineDep, metrics: MetricsDep, body: Body
) -> Response:
    """Run a read-only SPARQL query sent as a form (``query=…``) or as ``application/sparql-query``."""
    return _run(request, tenant, engine, metrics, body)
