"""Errors become RFC 9457 ``application/problem+json`` responses here, and only here.

Every error answer of the API has one shape::

    {"type": "https://w3id.org/tai-graph/problems/<code>", "title": "...", "status": 422,
     "detail": "...", "instance": "/v1/events", "code": "<code>",
     "errors": [{"event_id": ..., "field": ..., "rule": ..., "value": ..., "message": ...}]}

``code`` is the stable machine-readable identifier of :mod:`tai_graph.errors` (``type`` ends with
it); ``errors`` is present when the problem can be pinned on fields (``index`` is added for a
batch item); other members of the error's ``details`` (``limit``, ``available``, ``summary`` and
``results`` of a failed atomic batch …) are RFC 9457 extension members. Statuses come from ONE table,
:data:`STATUS`, looked up along the exception's class hierarchy (most specific class first), so a
new subclass of a mapped error needs no new code here.

Choices worth knowing:

* ``QueryTimeout`` is **504**: the query ran past its limit; retrying the same query will not help.
* ``Unavailable`` is **503** with ``Retry-After``: the engine is busy; retrying soon will.
* ``Unauthorized`` is **401** with ``WWW-Authenticate: Bearer``.
* Routing and protocol problems that only HTTP knows (unknown route, wrong method, unsupported
  media type) use the status' own name as code: ``not-found``, ``method-not-allowed``,
  ``unsupported-media-type``; FastAPI's request validation becomes ``invalid-input`` (400).
* Anything else is a bug: a 500 ``error`` problem whose detail reveals nothing; the log has it.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from tai_graph import errors
from tai_graph.model import Violation

PROBLEM_BASE = "https://w3id.org/tai-graph/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_S = "1"

log = logging.getLogger("tai_graph.api")

#: The one mapping from the exception tree to HTTP statuses.
STATUS: dict[type[errors.TaiGraphError], int] = {
    errors.TaiGraphError: 500,
    errors.InvalidInput: 400,
    errors.ValidationFailed: 422,
    errors.ForbiddenQuery: 400,
    errors.NotAcceptable: 406,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.TooLarge: 413,
    errors.QueryTimeout: 504,
    errors.Unavailable: 503,
    errors.LedgerError: 500,
}


def status_for(exc: errors.TaiGraphError) -> int:
    """The HTTP status of an error: the entry of its nearest class in :data:`STATUS`."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500  # unreachable: TaiGraphError is in the table


def _jsonable(value: Any) -> Any:
    """A deep copy with only JSON types (used for the small problem documents)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Violation):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _json_default(value: Any) -> Any:
    """What ``json`` cannot write itself: decimals as decimal strings, violations as objects."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Violation):
        return value.to_dict()
    return str(value)


class ApiJSONResponse(JSONResponse):
    """JSON with decimals written as decimal strings (never floats)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, default=_json_default, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


class ProblemResponse(ApiJSONResponse):
    """An RFC 9457 problem document."""

    media_type = PROBLEM_MEDIA_TYPE


def error_entry(
    *,
    field: str,
    rule: str,
    message: str,
    value: Any = None,
    event_id: str | None = None,
    index: int | None = None,
) -> dict[str, Any]:
    """One item of a problem's ``errors`` list."""
    entry: dict[str, Any] = {
        "event_id": event_id,
        "field": field,
        "rule": rule,
        "value": value,
        "message": message,
    }
    if index is not None:
        entry["index"] = index
    return entry


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    error_list: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> ProblemResponse:
    """Build the problem response; every error of the API goes through here."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": code.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    if error_list:
        body["errors"] = error_list
    for key, value in (extensions or {}).items():
        body.setdefault(key, value)
    return ProblemResponse(body, status_code=status, headers=headers)


def _errors_of(exc: errors.TaiGraphError) -> list[dict[str, Any]]:
    details = exc.details
    violations = details.get("violations")
    if isinstance(violations, list):
        return [_jsonable(v) for v in violations]
    if isinstance(details.get("errors"), list):
        return [_jsonable(v) for v in details["errors"]]
    if "field" in details or "rule" in details:
        default_field = "query" if isinstance(exc, errors.InvalidQuery) else "request"
        return [
            error_entry(
                field=str(details.get("field", details.get("parameter", default_field))),
                rule=str(details.get("rule", "")),
                value=_jsonable(details.get("value")),
                message=exc.message,
                event_id=details.get("event_id"),
            )
        ]
    return []


_DETAIL_KEYS = {"violations", "errors", "field", "rule", "value", "event_id"}


def from_error(exc: errors.TaiGraphError, instance: str | None) -> ProblemResponse:
    """The problem for one of our own errors."""
    status = status_for(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="tai-graph"'
    if status == 503:
        headers["Retry-After"] = RETRY_AFTER_S
    if status >= 500:
        log.warning("%s: %s", exc.code, exc.message)
    extra = {k: _jsonable(v) for k, v in exc.details.items() if k not in _DETAIL_KEYS}
    return problem(
        status,
        exc.code,
        exc.message,
        instance=instance,
        error_list=_errors_of(exc),
        headers=headers,
        extensions=extra,
    )


def _instance(request: Request) -> str:
    return request.url.path


async def _on_tai_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.TaiGraphError)
    return from_error(exc, _instance(request))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    code = HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).description
    if status == 404 and exc.detail == HTTPStatus(404).phrase:
        detail = f"no route {request.method} {request.url.path}"
    if status == 405 and exc.detail == HTTPStatus(405).phrase:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem(status, code, detail, instance=_instance(request), headers=dict(exc.headers or {}))


async def _on_request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    found = [
        error_entry(
            field=".".join(str(p) for p in err.get("loc", ())[1:]) or "request",
            rule=str(err.get("type", "invalid")),
            value=_jsonable(err.get("input")),
            message=str(err.get("msg", "invalid")),
        )
        for err in exc.errors()
    ]
    return problem(
        400,
        errors.InvalidInput.code,
        "the request is not valid",
        instance=_instance(request),
        error_list=found,
    )


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    detail = "the server could not complete the request; the operator's log has the cause"
    return problem(500, errors.TaiGraphError.code, detail, instance=_instance(request))


def install(app: FastAPI) -> None:
    """Register the handlers: our error tree, HTTP routing errors, request validation, the rest."""
    app.add_exception_handler(errors.TaiGraphError, _on_tai_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(Exception, _on_unexpected)


__all__ = [
    "PROBLEM_BASE",
    "PROBLEM_MEDIA_TYPE",
    "STATUS",
    "ApiJSONResponse",
    "ProblemResponse",
    "error_entry",
    "from_error",
    "install",
    "problem",
    "status_for",
]
