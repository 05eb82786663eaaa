"""Reading request bodies and query strings strictly: size limit, media type, known parameters.

The body is streamed and counted while it arrives: a ``Content-Length`` over the limit is refused
before a byte is read, and a chunked body is cut off as soon as it passes the limit. Either way the
answer is 413 and nothing is parsed or written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from tai_graph import intake
from tai_graph.api.auth import EngineDep
from tai_graph.errors import InvalidInput, TooLarge
from tai_graph.intake import BadRecord
from tai_graph.model import JSON

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
    }
)


def media_type(request: Request) -> str:
    """The request's media type without parameters, lower case ('' when absent)."""
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"the request body is larger than this server accepts ({limit} bytes)",
        details={"field": "body", "rule": "max_body_bytes", "limit": limit},
    )


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, or :class:`TooLarge` as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise InvalidInput("Content-Length is not a number", details={"field": "Content-Length"})
        if int(declared) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def limited_body(request: Request, engine: EngineDep) -> bytes:
    """Dependency: the body, read under ``engine.settings.max_body_bytes``."""
    return await read_limited(request, engine.settings.max_body_bytes)


Body = Annotated[bytes, Depends(limited_body)]


def body_doc(*media_types: str) -> dict[str, Any]:
    """OpenAPI ``requestBody`` of a route that reads its raw body itself (``openapi_extra=``)."""
    return {"requestBody": {"required": True, "content": {mt: {} for mt in media_types}}}


def check_params(request: Request, allowed: Iterable[str]) -> dict[str, str]:
    """Query parameters as a dict; unknown or repeated ones are :class:`InvalidInput` naming them."""
    allowed = set(allowed)
    keys = [k for k, _ in request.query_params.multi_items()]
    unknown = sorted({k for k in keys if k not in allowed})
    if unknown:
        raise InvalidInput(
            f"unknown query parameter(s): {', '.join(unknown)}; this route takes "
            + (", ".join(sorted(allowed)) or "none"),
            details={"field": unknown[0], "rule": "tai:queryParameter", "value": unknown},
        )
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise InvalidInput(
            f"query parameter(s) given more than once: {', '.join(repeated)}",
            details={"field": repeated[0], "rule": "tai:queryParameter", "value": repeated},
        )
    return dict(request.query_params)


def params_of(*allowed: str) -> Any:
    """Dependency factory: the query parameters, checked against ``allowed`` before the body is read."""

    def dependency(request: Request) -> dict[str, str]:
        return check_params(request, allowed)

    return Depends(dependency)


def flag(params: dict[str, str], name: str, default: bool = False) -> bool:
    """A ``true``/``false`` query parameter."""
    text = params.get(name)
    if text is None:
        return default
    if text.lower() in {"true", "1"}:
        return True
    if text.lower() in {"false", "0"}:
        return False
    raise InvalidInput(
        f"{name} must be true or false", details={"field": name, "rule": "boolean", "value": text}
    )


def integer(params: dict[str, str], name: str, default: int) -> int:
    """A non-negative integer query parameter."""
    text = params.get(name)
    if text is None:
        return default
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput(
            f"{name} must be a non-negative integer",
            details={"field": name, "rule": "integer", "value": text},
        )
    return int(text)


def body_format(request: Request) -> intake.BodyFormat:
    """JSON or NDJSON by ``Content-Type`` (none means JSON); anything else is 415."""
    mt = media_type(request)
    if mt in NDJSON_TYPES:
        return "ndjson"
    if not mt or mt in JSON_TYPES or mt.endswith("+json"):
        return "json"
    raise HTTPException(
        415,
        f"Content-Type {mt!r} is not accepted here; send application/json (one event or an array) "
        "or application/x-ndjson (one event per line)",
    )


Format = Annotated[intake.BodyFormat, Depends(body_format)]


def parse_items(body: bytes, fmt: intake.BodyFormat) -> tuple[list[JSON | BadRecord], bool]:
    """The items of an events body and whether it was ONE JSON object (not a batch).

    Malformed JSON, duplicate keys, NaN, non-UTF-8 text, absurd nesting and empty bodies are all
    :class:`InvalidInput` naming ``body`` and the rule ``tai:json``.
    """
    if not body.strip():
        raise InvalidInput(
            "the body is empty; send one event, a JSON array or NDJSON",
            details={"field": "body", "rule": "tai:json"},
        )
    try:
        items = intake.parse_body(body, fmt)
        single = fmt == "json" and body.lstrip()[:1] != b"["
    except (UnicodeDecodeError, RecursionError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "nested too deeply"
        raise InvalidInput(f"the body is {reason}", details={"field": "body", "rule": "tai:json"}) from exc
    if not items:
        raise InvalidInput(
            "the body holds no events", details={"field": "body", "rule": "tai:json", "value": []}
        )
    return items, single


def json_object(body: bytes) -> dict[str, Any]:
    """A JSON object body (numbers become ``Decimal``, repeated keys refused)."""
    try:
        doc = intake.loads_strict(body) if body.strip() else None
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(
            f"the body is not valid JSON: {exc}", details={"field": "body", "rule": "tai:json"}
        ) from exc
    if not isinstance(doc, dict):
        raise InvalidInput("the body must be a JSON object", details={"field": "body", "rule": "tai:json"})
    return doc


def parse_object(body: bytes, allowed: set[str]) -> dict[str, Any]:
    """A small JSON object body (e.g. ``POST /v1/tenants``), with only ``allowed`` members."""
    doc = json_object(body)
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise InvalidInput(
            f"unknown field(s): {', '.join(unknown)}",
            details={"field": unknown[0], "rule": "sh:closed", "value": unknown},
        )
    return doc


__all__ = [
    "Body",
    "Format",
    "body_doc",
    "body_format",
    "check_params",
    "flag",
    "integer",
    "limited_body",
    "media_type",
    "params_of",
    "parse_items",
    "parse_object",
    "read_limited",
]
