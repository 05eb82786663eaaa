"""Operations routes: liveness, Prometheus metrics, public keys, and creating customers (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from tai_graph.api.auth import Admin, EngineDep
from tai_graph.api.bodies import Body, body_doc, check_params, parse_object
from tai_graph.api.metrics import Metrics
from tai_graph.api.problems import ApiJSONResponse
from tai_graph.errors import InvalidInput

router = APIRouter()


@router.get("/healthz", tags=["system"])
def healthz(engine: EngineDep) -> ApiJSONResponse:
    """Liveness: ``{"status": "ok", "store": "ok"}`` when the store answers (503 problem otherwise)."""
    engine.ping()
    return ApiJSONResponse({"status": "ok", "store": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/metrics", tags=["system"])
def metrics(request: Request) -> Response:
    """Prometheus text exposition of this app's metrics."""
    registry: Metrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/keys", tags=["ledger"])
def keys(request: Request, engine: EngineDep) -> ApiJSONResponse:
    """Public Ed25519 verification keys: a JWKS (``keys``) and the same keys as PEM (``pem``).

    No credentials needed: anyone may verify a receipt's ``ed25519_signature``.
    """
    check_params(request, ())
    return ApiJSONResponse(engine.public_keys())


@router.post(
    "/v1/tenants",
    status_code=201,
    dependencies=[Admin],
    tags=["tenants"],
    openapi_extra=body_doc("application/json"),
)
def create_tenant(request: Request, engine: EngineDep, body: Body) -> ApiJSONResponse:
    """Create a customer (admin key only). Its ``api_key`` and ``api_secret`` are shown this once.

    Body: ``{"customer_id": "...", "name": "..."}`` (``name`` optional). 409 when it exists.
    """
    check_params(request, ())
    doc: dict[str, Any] = parse_object(body, {"customer_id", "name"})
    name = doc.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidInput(
            "name must be a string", details={"field": "name", "rule": "sh:datatype", "value": name}
        )
    if "customer_id" not in doc:
        raise InvalidInput("customer_id is required", details={"field": "customer_id", "rule": "sh:minCount"})
    creds = engine.create_tenant(doc["customer_id"], name)
    return ApiJSONResponse(
        {
            "customer_id": creds.customer_id,
            "name": name or creds.customer_id,
            "api_key": creds.api_key,
            "api_secret": creds.api_secret,
        },
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )
