"""Turning request bodies and files into event items: one object, a JSON array, or NDJSON.

Numbers are parsed as ``Decimal`` (never float), so ``19.99`` stays exactly ``19.99``. A line of
NDJSON that is not JSON becomes a :class:`BadRecord` naming the line, and the other lines go on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from tai_graph.errors import InvalidInput
from tai_graph.model import JSON, Violation

BodyFormat = Literal["json", "ndjson"]


@dataclass(frozen=True, slots=True)
class BadRecord:
    """An item that could not even be read as JSON."""

    line: int
    message: str

    def violation(self, index: int) -> Violation:
        return Violation(None, "body", "tai:json", f"line {self.line}: {self.message}", None, index)


def _reject_constant(name: str) -> JSON:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(text: str | bytes) -> JSON:
    """``json.loads`` with exact decimals and no NaN/Infinity."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


def _dupe_safe_pairs(pairs: list[tuple[str, JSON]]) -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_strict(text: str | bytes) -> JSON:
    """Like :func:`loads`, and a repeated key in an object is an error (it would hide data)."""
    return json.loads(
        text, parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_dupe_safe_pairs
    )


def parse_body(body: bytes, fmt: BodyFormat) -> list[JSON | BadRecord]:
    """Items of a request body. A JSON body that is not JSON at all raises :class:`InvalidInput`."""
    if fmt == "ndjson":
        return list(iter_ndjson(body.decode("utf-8", errors="strict").splitlines()))
    try:
        doc = loads_strict(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"body is not valid JSON: {exc}", details={"field": "body", "rule": "tai:json"}
        ) from exc
    if isinstance(doc, list):
        return list(doc)
    return [doc]


def iter_ndjson(lines: Iterable[str]) -> Iterator[JSON | BadRecord]:
    """One item per non-blank line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield loads_strict(line)
        except ValueError as exc:
            yield BadRecord(number, str(exc))


def detect_format(content_type: str | None, body: bytes) -> BodyFormat:
    """NDJSON by media type (``application/x-ndjson``, ``application/jsonl``…), else JSON."""
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-seq",
    }:
        return "ndjson"
    return "json"
