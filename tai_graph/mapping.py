"""Normalised events -> RDF: deterministic IRIs and N-Triples text.

Pure and deterministic: the same event always gives the same lines, so ingest can build one
``INSERT DATA { GRAPH <g> { ... } }`` per batch by string formatting (no rdflib on the hot path).
IRIs follow docs/design.md ("Namespaces and IRIs"); the event's predicates and datatypes come
from its :class:`~tai_graph.schema.EventType`.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime

from tai_graph.model import Event
from tai_graph.schema import TAI, XSD, XSD_DATETIME, XSD_DECIMAL, XSD_INTEGER, EventType

__all__ = [
    "TAI",
    "event_iri",
    "event_triples",
    "graph_iri",
    "iri",
    "lit_string",
    "lit_typed",
    "receipt_iri",
    "rollup_iri",
    "slice_key",
]

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_DATE = XSD + "date"
_CUSTOMER_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_EVENT_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_HASH_RE = re.compile(r"[A-Za-z0-9]{1,128}")
_BUCKET_RE = re.compile(r"\d{4}-\d{2}(?:-\d{2}(?:T\d{2})?)?", re.ASCII)
_BUCKET_FORMATS = {7: "%Y-%m", 10: "%Y-%m-%d", 13: "%Y-%m-%dT%H"}
_IRI_BAD = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\x7f]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ESCAPES = {i: f"\\u{i:04X}" for i in [*range(0x20), 0x7F]} | {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}

_P_TYPE = f"<{RDF_TYPE}>"
_P_EVENT_ID = f"<{TAI}eventId>"
_P_TIMESTAMP = f"<{TAI}timestamp>"
_P_HOUR_SLICE = f"<{TAI}hourSlice>"
_DT_SUFFIX = {
    "decimal": f"^^<{XSD_DECIMAL}>",
    "integer": f"^^<{XSD_INTEGER}>",
    "datetime": f"^^<{XSD_DATETIME}>",
}


def _check(kind: str, value: str, pattern: re.Pattern[str]) -> str:
    if pattern.fullmatch(value) is None:
        raise ValueError(f"invalid {kind} for an IRI: {value!r}")
    return value


@functools.lru_cache(maxsize=4096)  # called several times per event with a handful of customers
def graph_iri(customer_id: str) -> str:
    """``urn:tai:{customer_id}``: the named graph holding everything of a customer."""
    return "urn:tai:" + _check("customer id", customer_id, _CUSTOMER_RE)


def event_iri(customer_id: str, event_id: str) -> str:
    """``urn:tai:{customer_id}:event:{event_id}``; raises ``ValueError`` on ids outside their pattern."""
    return f"{graph_iri(customer_id)}:event:{_check('event id', event_id, _EVENT_RE)}"


def receipt_iri(customer_id: str, sequence: int) -> str:
    """``urn:tai:{customer_id}:receipt:{sequence}`` (sequence 1, 2, 3 ...)."""
    if type(sequence) is not int or sequence < 1:
        raise ValueError(f"invalid receipt sequence: {sequence!r}")
    return f"{graph_iri(customer_id)}:receipt:{sequence}"


def rollup_iri(customer_id: str, transaction_type: str, bucket: str, dims_hash: str) -> str:
    """``urn:tai:{customer_id}:rollup:{transaction_type}:{bucket}:{dims_hash}``.

    ``bucket`` is a UTC month (``2026-03``, monthly cells), day (``2026-03-03``, daily cells) or hour
    (``2026-03-03T05``, hourly cells).
    """
    try:
        datetime.strptime(_check("bucket", bucket, _BUCKET_RE), _BUCKET_FORMATS[len(bucket)])
    except ValueError:
        raise ValueError(f"invalid bucket {bucket!r}: not a UTC month, day or hour") from None
    kind = _check("transaction type", transaction_type, _TYPE_RE)
    return f"{graph_iri(customer_id)}:rollup:{kind}:{bucket}:{_check('dims hash', dims_hash, _HASH_RE)}"


def slice_key(transaction_type: str, bucket: str) -> str:
    """``"order 2026-03-03"``: the index key of one event type's month, day or hour (``tai:slice``
    on rollup cells, ``tai:hourSlice`` on events). A named query reads a period's cells by looking
    these keys up, which costs the same however long the history is."""
    return f"{transaction_type} {bucket}"


def iri(value: str) -> str:
    """``<value>`` as an N-Triples/SPARQL IRI term; raises ``ValueError`` on characters IRIs forbid."""
    if _IRI_BAD.search(value) is not None:
        raise ValueError(f"not writable as an IRI: {value!r}")
    return f"<{value}>"


def _escape(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    if _CONTROL.search(text) is None:
        # only quotes and backslashes (a canonical receipt is full of quotes): two C-level replaces
        # give what ``translate`` gives, many times faster; backslashes first, so the backslashes
        # added before quotes are not doubled
        return text.replace("\\", "\\\\").replace('"', '\\"')
    return text.translate(_ESCAPES)


def lit_string(text: str) -> str:
    """``"text"``: an ``xsd:string`` literal, with ``\\ " \\n \\r`` and other control characters escaped
    (canonical N-Triples; also valid inside SPARQL Update)."""
    return f'"{_escape(text)}"'


def lit_typed(lexical: str, datatype: str) -> str:
    """``"lexical"^^<datatype>``: a typed literal."""
    return f'"{_escape(lexical)}"^^{iri(datatype)}'


def event_triples(event: Event, etype: EventType) -> list[str]:
    """N-Triples lines (``s p o .``, no graph term) of one validated event.

    ``rdf:type`` the type's class, ``tai:eventId``, ``tai:timestamp`` (UTC ``Z``),
    ``tai:hourSlice`` (:func:`slice_key` of its UTC hour) and one triple per data field: decimals as written in ``event.data``
    (``xsd:decimal``), integers ``xsd:integer``, strings plain literals. Receipt triples are the
    ingest's. Raises ``ValueError`` if the event does not belong to ``etype`` or has a field it
    does not declare.
    """
    if event.transaction_type != etype.name:
        raise ValueError(f"event {event.event_id!r} is a {event.transaction_type}, not a {etype.name}")
    when = event.timestamp
    if when.utcoffset() is None:
        raise ValueError(f"event {event.event_id!r} has a naive timestamp")
    s = f"<{event_iri(event.customer_id, event.event_id)}> "
    stamp = (when if when.tzinfo is UTC else when.astimezone(UTC)).isoformat()[:-6]  # cut "+00:00"
    if when.microsecond:
        stamp = stamp.rstrip("0")  # as model.format_utc: microseconds only as far as needed
    stamp += "Z"
    lines = [
        f"{s}{_P_TYPE} <{etype.class_iri}> .",
        f'{s}{_P_EVENT_ID} "{event.event_id}" .',
        f'{s}{_P_TIMESTAMP} "{stamp}"^^<{XSD_DATETIME}> .',
        f'{s}{_P_HOUR_SLICE} "{etype.name} {stamp[:13]}" .',
    ]
    fields = etype.fields
    for name, value in event.data.items():
        spec = fields.get(name)
        if spec is None:
            raise ValueError(f"{etype.name} has no field {name!r}")
        if spec.kind == "string":
            lines.append(f'{s}<{spec.predicate}> "{_escape(value)}" .')
        elif type(value) is int:
            lines.append(f'{s}<{spec.predicate}> "{value}"{_DT_SUFFIX[spec.kind]} .')
        else:
            lines.append(f'{s}<{spec.predicate}> "{_escape(value)}"{_DT_SUFFIX[spec.kind]} .')
    return lines
