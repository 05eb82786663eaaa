"""Ledger routes: receipts, their exact signed bytes, the audit trail and the signed checkpoint."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter
from starlette.responses import Response

from tai_graph.api.auth import Customer, EngineDep
from tai_graph.api.bodies import Body, integer, params_of, parse_object
from tai_graph.api.problems import ApiJSONResponse
from tai_graph.api.routes_events import NoParams, checked_event_id
from tai_graph.errors import InvalidInput

router = APIRouter(tags=["ledger"])

AUDIT_FIELDS = ("date_from", "date_to", "after", "limit")
AuditParams = Annotated[dict[str, str], params_of(*AUDIT_FIELDS)]


@router.get("/v1/receipts/{event_id}")
def get_receipt(tenant: Customer, engine: EngineDep, event_id: str, params: NoParams) -> ApiJSONResponse:
    """The event's receipt: its fields, ``sequence``, ``previous_hash``, ``signature`` (HMAC-SHA256
    hex with the customer's API secret) and ``ed25519_signature`` (base64, see ``GET /v1/keys``)."""
    return ApiJSONResponse(engine.receipt(tenant.customer_id, checked_event_id(event_id)).body)


@router.get("/v1/receipts/{event_id}/canonical")
def get_canonical(tenant: Customer, engine: EngineDep, event_id: str, params: NoParams) -> Response:
    """The exact signed bytes (RFC 8785 JSON), nothing added, not even a newline::

    curl -s -H "Authorization: Bearer $API_KEY" $URL/v1/receipts/$ID/canonical \\
      | openssl dgst -sha256 -hmac "$API_SECRET"
    """
    receipt = engine.receipt(tenant.customer_id, checked_event_id(event_id))
    return Response(receipt.signed_bytes, media_type="application/json")


def _body_fields(body: bytes) -> dict[str, str]:
    """``date_from``… from a GET body (the plan's ``curl -d '{"date_from": …}'``): JSON or a form."""
    if not body.strip():
        return {}
    if body.lstrip()[:1] == b"{":
        doc: dict[str, Any] = parse_object(body, set(AUDIT_FIELDS))
        return {k: str(v) for k, v in doc.items() if v is not None}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            "the body must be a JSON object or a form", details={"field": "body", "rule": "tai:json"}
        ) from exc
    unknown = sorted({k for k, _ in pairs} - set(AUDIT_FIELDS))
    if unknown:
        raise InvalidInput(
            f"unknown field(s): {', '.join(unknown)}",
            details={"field": unknown[0], "rule": "tai:queryParameter", "value": unknown},
        )
    return dict(pairs)


@router.get("/v1/audit-trail")
def audit_trail(tenant: Customer, engine: EngineDep, params: AuditParams, body: Body) -> ApiJSONResponse:
    """Receipts in chain order whose ``verification_timestamp`` is in ``[date_from, date_to)``.

    ``date_from``/``date_to`` are dates (a ``date_to`` day is included) or RFC 3339 date-times; a
    page holds ``limit`` (1-1000, default 100) receipts after sequence ``after``; ``next`` links the
    next page. ``verification`` checks this page's signatures and its link to the previous receipt.
    The same fields may come as a JSON body, as in ``curl -X GET … -d '{"date_from": "…"}'``.
    """
    given = _body_fields(body)
    for key, value in params.items():
        if key in given and given[key] != value:
            raise InvalidInput(
                f"{key} is given in the query and the body with different values",
                details={"field": key, "rule": "tai:queryParameter", "value": [value, given[key]]},
            )
        given[key] = value
    after = integer(given, "after", 0)
    limit = integer(given, "limit", 100)
    page = engine.audit_trail(
        tenant.customer_id, given.get("date_from"), given.get("date_to"), after=after, limit=limit
    )
    link = None
    if page.next_after is not None:
        query = {k: v for k, v in given.items() if k in ("date_from", "date_to")}
        link = "/v1/audit-trail?" + urlencode({**query, "after": page.next_after, "limit": limit})
    return ApiJSONResponse(
        {
            "customer_id": tenant.customer_id,
            "date_from": given.get("date_from"),
            "date_to": given.get("date_to"),
            "count": len(page.receipts),
            "receipts": page.receipts,
            "next_after": page.next_after,
            "next": link,
            "verification": page.verification,
        }
    )


@router.get("/v1/ledger/checkpoint")
def checkpoint(tenant: Customer, engine: EngineDep, params: NoParams) -> ApiJSONResponse:
    """The signed head of the caller's ledger (sequence and hash of the newest receipt)."""
    return ApiJSONResponse(engine.checkpoint(tenant.customer_id))
