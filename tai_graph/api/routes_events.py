"""Ingest routes: ``POST /v1/events``, ``GET /v1/events/{event_id}``, ``POST /v1/imports``.

Status conventions of ``POST /v1/events``:

* one JSON object: created → 201 with its receipt (``Location: /v1/events/{id}``); the same event
  again → 200 with the ORIGINAL receipt; same id, other content → 409 problem; invalid → 422
  problem with one ``errors`` item (field, rule, value) per violation.
* a JSON array or NDJSON (even of one line): 200 with per-item results (``IngestResult``): each
  item says created, duplicate, conflict or invalid. 200, not 207: the body is the multi-status.
* ``atomic=true`` batch with any failing item: 422 (any invalid) or 409 (only conflicts) problem
  listing the failing items; nothing is written.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter

from tai_graph.api.auth import Customer, EngineDep
from tai_graph.api.bodies import Body, Format, body_doc, flag, integer, params_of, parse_items
from tai_graph.api.metrics import MetricsDep
from tai_graph.api.problems import ApiJSONResponse, error_entry
from tai_graph.errors import Conflict, InvalidInput, NotFound, ValidationFailed
from tai_graph.model import EventOutcome, IngestResult

router = APIRouter(tags=["events"])

EVENT_BODY_TYPES = ("application/json", "application/x-ndjson")
EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

Params = Annotated[dict[str, str], params_of("atomic")]
ImportParams = Annotated[dict[str, str], params_of("batch_size")]
NoParams = Annotated[dict[str, str], params_of()]


def checked_event_id(event_id: str) -> str:
    """An event id from a path; one that cannot exist is simply not found."""
    if not EVENT_ID.fullmatch(event_id):
        raise NotFound(f"no event {event_id!r} for this customer (event ids are 1-128 of A-Za-z0-9._:-)")
    return event_id


def _failures(outcome: EventOutcome) -> list[dict[str, Any]]:
    if outcome.violations:
        return [v.to_dict() for v in outcome.violations]
    return [
        error_entry(
            field="event_id",
            rule="tai:uniqueEventId",
            value=outcome.event_id,
            message=outcome.message or "event_id already used with other content",
            event_id=outcome.event_id,
            index=outcome.index,
        )
    ]


def _single(result: IngestResult) -> ApiJSONResponse:
    outcome = result.outcomes[0]
    if outcome.status == "invalid":
        raise ValidationFailed(
            f"event {outcome.event_id or '(no event_id)'} is not valid; nothing was written",
            details={"violations": _failures(outcome)},
        )
    if outcome.status == "conflict":
        raise Conflict(
            outcome.message or "event_id already stored with other content; nothing was written",
            details={"errors": _failures(outcome), "event_id": outcome.event_id},
        )
    assert outcome.receipt is not None
    if outcome.status == "created":
        return ApiJSONResponse(
            outcome.receipt.body, status_code=201, headers={"Location": f"/v1/events/{outcome.event_id}"}
        )
    return ApiJSONResponse(outcome.receipt.body, status_code=200)


def _atomic_failure(result: IngestResult) -> None:
    failed = [o for o in result.outcomes if o.status in ("invalid", "conflict")]
    if not failed:
        return
    found = [e for o in failed for e in _failures(o)]
    detail = f"atomic batch: {len(failed)} of {len(result.outcomes)} items failed; nothing was written"
    extra = {"summary": result.to_dict()["summary"], "results": result.to_dict()["results"]}
    if any(o.status == "invalid" for o in failed):
        raise ValidationFailed(detail, details={"violations": found, **extra})
    raise Conflict(detail, details={"errors": found, **extra})


@router.post("/v1/events", status_code=201, openapi_extra=body_doc(*EVENT_BODY_TYPES))
def post_events(
    tenant: Customer, engine: EngineDep, metrics: MetricsDep, params: Params, fmt: Format, body: Body
) -> ApiJSONResponse:
    """Ingest one event (JSON object), a JSON array, or NDJSON (``application/x-ndjson``).

    Query: ``atomic=true`` makes a batch all-or-nothing. See the module docstring for statuses.
    """
    atomic = flag(params, "atomic")
    items, single = parse_items(body, fmt)
    result = engine.ingest(tenant.customer_id, items, atomic=atomic)
    metrics.count_events(o.status for o in result.outcomes)
    if single:
        return _single(result)
    if atomic:
        _atomic_failure(result)
    return ApiJSONResponse(result.to_dict(), status_code=200)


@router.get("/v1/events/{event_id}")
def get_event(tenant: Customer, engine: EngineDep, event_id: str, params: NoParams) -> ApiJSONResponse:
    """The stored event as receipted (decimals as strings), with its place in the ledger."""
    return ApiJSONResponse(engine.event(tenant.customer_id, checked_event_id(event_id)))


@router.post("/v1/imports", tags=["imports"], openapi_extra=body_doc(*EVENT_BODY_TYPES))
def post_import(
    tenant: Customer, engine: EngineDep, metrics: MetricsDep, params: ImportParams, fmt: Format, body: Body
) -> ApiJSONResponse:
    """Bulk historical import of a JSON array or NDJSON; answers the data-quality report.

    Each batch of ``batch_size`` events (default 1000) commits on its own.
    """
    batch_size = integer(params, "batch_size", 1000)
    if not 1 <= batch_size <= engine.settings.max_batch_events:
        raise InvalidInput(
            f"batch_size must be 1-{engine.settings.max_batch_events}",
            details={"field": "batch_size", "rule": "range", "value": batch_size},
        )
    items, _ = parse_items(body, fmt)
    report = engine.import_events(tenant.customer_id, items, batch_size=batch_size)
    for status, n in (
        ("created", report.imported),
        ("duplicate", report.duplicates),
        ("conflict", report.conflicts),
        ("invalid", report.rejected),
    ):
        metrics.events.labels(status=status).inc(n)
    return ApiJSONResponse(report.to_dict())


__all__ = ["NoParams", "checked_event_id", "router"]
