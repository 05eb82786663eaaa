"""Fast validation of JSON events against the shapes, with pyshacl's verdicts.

:class:`Validator` compiles each event shape into checks run on the JSON directly (no RDF), and
reports the same ``(field, rule)`` set as pyshacl over the *validation mapping* of the event
(docs/design.md, "Validation"; proven by ``tests/test_shacl_equivalence.py``). The mapping of one
JSON value to an RDF term is :func:`to_term`; :mod:`tai_graph.shacl_reference` uses it too.

Rules beyond SHACL core semantics, decided here:

- ``null`` means absent: on a required field it is a ``sh:minCount`` violation naming the field,
  on an optional field it is dropped. A key the shape does not declare is refused (``sh:closed``)
  whatever its value, ``null`` included.
- Decimals are JSON numbers (not booleans, NaN or Infinity) or strings in ``xsd:decimal`` lexical
  form (``"19.99"``, ``"-1"``, ``".5"``; no exponent, no spaces), with at most 15 digits before the
  point and 18 after (what the store adds up exactly). Integers are JSON integers only (not
  ``true``, not ``5.0``, not ``"5"``), below 10^15 in magnitude. Anything else is a
  ``sh:datatype`` violation, plus a violation of each range bound (it is not a number).
- Patterns are XPath regexes: ``$`` is the end of the string, not "before a final newline".
- Envelope rules outside SHACL: ``tai:json`` (event or ``data`` not an object, ``data`` missing,
  text that is not valid Unicode), ``tai:transactionType`` (missing or unknown type),
  ``tai:customerId`` (``customer_id`` differs from the caller's). Field ``$`` is the whole event.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tai_graph.model import JSON, Event, Violation, format_utc
from tai_graph.schema import (
    XSD,
    XSD_DATETIME,
    XSD_DECIMAL,
    XSD_INTEGER,
    XSD_STRING,
    EventType,
    FieldSpec,
    TypeRegistry,
    compile_pattern,
)

#: Keys an event object may have.
ENVELOPE_KEYS = frozenset({"event_id", "timestamp", "customer_id", "transaction_type", "data"})
#: Field name of violations about the event as a whole.
ROOT = "$"
#: Digits a stored number may have before and after the decimal point.
INTEGER_DIGITS, FRACTION_DIGITS = 15, 18
_LIMIT = 10**INTEGER_DIGITS
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_FAIL: Any = object()
_KIND_TEXT = {
    "string": "a string",
    "decimal": 'a decimal number (JSON number or numeric string like "19.99", at most 15 digits '
    "before the point and 18 after)",
    "integer": "a whole number (JSON integer below 10^15)",
    "datetime": "an RFC 3339 date-time string",
}
_RANGES = (
    ("min_inclusive", "sh:minInclusive", ">=", operator.ge),
    ("max_inclusive", "sh:maxInclusive", "<=", operator.le),
    ("min_exclusive", "sh:minExclusive", ">", operator.gt),
    ("max_exclusive", "sh:maxExclusive", "<", operator.lt),
)


@dataclass(frozen=True, slots=True)
class Term:
    """The RDF term a JSON value maps to for validation; ``datatype=None`` is a blank node."""

    datatype: str | None
    lexical: str = ""
    number: Decimal | int | None = None


def decimal_value(value: JSON) -> tuple[Decimal, str] | None:
    """``(value, lexical)`` of an acceptable decimal, lexical as ``format(d, "f")``, else ``None``."""
    kind = type(value)
    if kind is Decimal:
        d: Decimal = value
    elif kind is str:
        if _DECIMAL_RE.fullmatch(value) is None:
            return None
        d = Decimal(value)
    elif kind is int:
        return (Decimal(value), str(value)) if -_LIMIT < value < _LIMIT else None
    elif kind is float and math.isfinite(value):
        d = Decimal(repr(value))
    else:
        return None
    if not d.is_finite():
        return None
    adjusted = d.adjusted()
    if adjusted < -FRACTION_DIGITS or (adjusted >= INTEGER_DIGITS and d):
        return None
    lexical = format(d, "f")
    dot = lexical.find(".")
    if dot >= 0 and len(lexical) - dot - 1 > FRACTION_DIGITS:
        return None
    return d, lexical


def json_text(value: JSON) -> str:
    """The JSON spelling of a scalar (``true``, ``1E+2``, ``NaN``); strings as they are."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return str(value)


def to_term(value: JSON, kind: str) -> Term:
    """The validation mapping of one non-null JSON value in a field of ``kind``.

    Objects and arrays are blank nodes. A value the field's datatype accepts becomes a literal of
    that datatype (decimals normalised). In a numeric field anything else becomes an ``xsd:string``
    literal of its JSON text; in a string or date-time field, a number or boolean keeps its JSON
    datatype.
    """
    if isinstance(value, (dict, list)):
        return Term(None)
    if kind == "string" or kind == "datetime":
        if isinstance(value, str):
            return Term(XSD_STRING if kind == "string" else XSD_DATETIME, value)
        if isinstance(value, bool):
            return Term(XSD + "boolean", json_text(value))
        if isinstance(value, int):
            return Term(XSD_INTEGER, str(value), value)
        datatype = XSD_DECIMAL if isinstance(value, Decimal) else XSD + "double"
        return Term(datatype, json_text(value))
    if kind == "integer" and type(value) is int and -_LIMIT < value < _LIMIT:
        return Term(XSD_INTEGER, str(value), value)
    parsed = None if isinstance(value, (int, str)) and kind == "integer" else decimal_value(value)
    if parsed is not None:
        return Term(XSD_DECIMAL, parsed[1], parsed[0])
    return Term(XSD_STRING, json_text(value))


def _well_typed(term: Term) -> bool:
    if term.datatype == XSD_DATETIME:
        try:
            datetime.fromisoformat(term.lexical)
        except ValueError:
            return False
    return True


def _unicode_ok(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _show(value: JSON) -> str:
    """The offending value as JSON text for a message, at most 80 characters."""
    if isinstance(value, Decimal):
        return str(value)
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):  # too deep to print
        text = "an array" if isinstance(value, list) else "an object"
    return text if len(text) <= 80 else text[:77] + "..."


Report = Callable[[str, str, str, JSON], None]  # (field, rule, message, value)


class _FieldCheck:
    """One field's constraints, compiled: :meth:`fast` (normalised value or ``_FAIL``) and
    :meth:`report` (every violation, SHACL semantics over :func:`to_term`)."""

    def __init__(self, spec: FieldSpec, field: str, *, utc_text: bool = True) -> None:
        self.spec, self.field = spec, field
        self.rx = compile_pattern(spec)
        self.hint = f" ({spec.description})" if spec.description else ""
        self.fast = self._compile(utc_text)

    def _compile(self, utc_text: bool) -> Callable[[JSON], Any]:
        """The fast check: the normalised value, or ``_FAIL`` when any constraint (or more) fails."""
        spec, rx, enum = self.spec, self.rx, self.spec.enum
        lo, hi = spec.min_length or 0, math.inf if spec.max_length is None else spec.max_length
        search = rx.search if rx is not None else None
        bounds = [(test, b) for key, _, _, test in _RANGES if (b := getattr(spec, key)) is not None]
        textual = lo > 0 or hi != math.inf or search is not None

        def text_ok(text: str) -> bool:
            return lo <= len(text) <= hi and (search is None or search(text) is not None)

        def in_range(number: Decimal | int) -> bool:
            return all(test(number, bound) for test, bound in bounds)

        def string(v: JSON) -> Any:
            if type(v) is not str or not lo <= len(v) <= hi or (enum is not None and v not in enum):
                return _FAIL
            if (search is not None and search(v) is None) or not (v.isascii() or _unicode_ok(v)):
                return _FAIL
            return v

        def decimal(v: JSON) -> Any:
            parsed = decimal_value(v)
            if parsed is None or (bounds and not in_range(parsed[0])) or (textual and not text_ok(parsed[1])):
                return _FAIL
            return parsed[1]

        def integer(v: JSON) -> Any:
            if type(v) is not int or not -_LIMIT < v < _LIMIT or (bounds and not in_range(v)):
                return _FAIL
            return _FAIL if textual and not text_ok(str(v)) else v

        def when(v: JSON) -> Any:
            utc = _utc(v) if type(v) is str and text_ok(v) else None
            return _FAIL if utc is None else format_utc(utc) if utc_text else utc

        checks: dict[str, Callable[[JSON], Any]] = {"string": string, "decimal": decimal, "integer": integer}
        return checks.get(spec.kind, when)

    def report(self, container: dict[str, JSON], report: Report) -> Any:
        """Report every violation of the field in ``container``; the normalised value or ``_FAIL``."""
        spec, field = self.spec, self.field
        value = container.get(spec.name)
        if value is None:  # absent or null: the same for SHACL
            if spec.required:
                null = " (null given)" if spec.name in container else ""
                report(field, "sh:minCount", f"{field} is required{null}{self.hint}", None)
            return _FAIL
        problems = self._violations(value)
        if not problems and isinstance(value, str) and not _unicode_ok(value):
            problems = [("tai:json", f"{field} is not valid Unicode text (it has a lone surrogate)")]
        normalised = _FAIL if problems else self.fast(value)
        if not problems and normalised is _FAIL:  # a zone-less or out-of-range time a custom pattern let in
            problems = [("sh:pattern", f"{field} cannot be converted to UTC, got {_show(value)}")]
        for rule, message in problems:
            report(field, rule, message, value)
        return normalised

    def _violations(self, value: JSON) -> list[tuple[str, str]]:
        spec, field, shown, hint = self.spec, self.field, _show(value), self.hint
        term = to_term(value, spec.kind)
        literal = term.datatype is not None
        out: list[tuple[str, str]] = []
        if term.datatype != spec.datatype or not _well_typed(term):
            out.append(("sh:datatype", f"{field} must be {_KIND_TEXT[spec.kind]}, got {shown}"))
        if spec.enum is not None and not (term.datatype == XSD_STRING and term.lexical in spec.enum):
            allowed = sorted(spec.enum)
            listed = ", ".join(allowed) if len(allowed) <= 12 else f"{len(allowed)} values ({allowed[0]} ...)"
            out.append(("sh:in", f"{field} must be one of {listed}; got {shown}{hint}"))
        for key, rule, op, test in _RANGES:
            bound = getattr(spec, key)
            if bound is not None and (term.number is None or not test(term.number, bound)):
                why = "" if term.number is not None else " (not a number)"
                out.append((rule, f"{field} must be {op} {bound}, got {shown}{why}"))
        if self.rx is not None and (not literal or self.rx.search(term.lexical) is None):
            out.append(
                ("sh:pattern", f"{field} has the wrong format{hint or f' ({spec.pattern})'}, got {shown}")
            )
        size = f"{len(term.lexical)} characters" if literal else "an object or array"
        if spec.min_length is not None and (not literal or len(term.lexical) < spec.min_length):
            out.append(
                ("sh:minLength", f"{field} must have at least {spec.min_length} character(s), got {size}")
            )
        if spec.max_length is not None and (not literal or len(term.lexical) > spec.max_length):
            out.append(
                ("sh:maxLength", f"{field} must have at most {spec.max_length} characters, got {size}")
            )
        return out


class _TypeCheck:
    """The compiled data checks of one event type."""

    def __init__(self, etype: EventType) -> None:
        self.etype = etype
        self.checks = [_FieldCheck(spec, "data." + name) for name, spec in etype.fields.items()]
        self.plan = [(c.spec.name, c.fast, c.spec.required) for c in self.checks]
        self.listing = ", ".join(etype.fields) or "none"

    def fast(self, data: dict[str, JSON]) -> dict[str, JSON] | None:
        """The normalised data if it is valid, else ``None`` (then :meth:`report` says why)."""
        out: dict[str, JSON] = {}
        seen = 0
        for name, check, required in self.plan:
            value = data.get(name, _FAIL)
            if value is _FAIL or value is None:
                seen += value is None
                if required:
                    return None
                continue
            seen += 1
            normalised = check(value)
            if normalised is _FAIL:
                return None
            out[name] = normalised
        return out if seen == len(data) else None

    def report(self, data: dict[str, JSON], report: Report) -> dict[str, JSON]:
        out = {}
        for check in self.checks:
            normalised = check.report(data, report)
            if normalised is not _FAIL:
                out[check.spec.name] = normalised
        for key, value in data.items():
            if key not in self.etype.fields:
                message = f"data.{key} is not a field of {self.etype.name} (fields: {self.listing})"
                report(f"data.{key}", "sh:closed", message, value)
        return out


class Validator:
    """Validates JSON events (as parsed with ``parse_float=Decimal``) against a registry's shapes.

    Immutable after construction and safe to share between threads; build one per registry.
    """

    def __init__(self, registry: TypeRegistry) -> None:
        self.registry = registry
        self._event_id = _FieldCheck(registry.envelope.event_id, "event_id")
        self._timestamp = _FieldCheck(registry.envelope.timestamp, "timestamp", utc_text=False)
        self._types = {etype.name: _TypeCheck(etype) for etype in registry}
        self._known = ", ".join(registry.names)

    def validate(self, raw: JSON, *, customer_id: str, index: int | None = None) -> Event | list[Violation]:
        """The normalised :class:`Event`, or every violation of the event (never an empty list).

        ``customer_id`` is the caller's tenant; ``index`` (position in a batch) is copied into
        each violation.
        """
        if type(raw) is dict and raw.keys() <= ENVELOPE_KEYS:  # fast path: valid events only
            name, data, given = raw.get("transaction_type"), raw.get("data"), raw.get("customer_id")
            compiled = self._types.get(name) if type(name) is str else None
            if compiled is not None and type(data) is dict and (given is None or given == customer_id):
                event_id = self._event_id.fast(raw.get("event_id"))
                when = self._timestamp.fast(raw.get("timestamp"))
                out = compiled.fast(data) if event_id is not _FAIL and when is not _FAIL else None
                if out is not None:
                    return Event(event_id, when, customer_id, compiled.etype.name, out)
        return self._full(raw, customer_id, index)

    def _full(self, raw: JSON, customer_id: str, index: int | None) -> Event | list[Violation]:
        """The complete check: every violation, or the event when there is none."""
        if not isinstance(raw, dict):
            got = "an array" if isinstance(raw, list) else _show(raw)
            return [
                Violation(None, ROOT, "tai:json", f"an event must be a JSON object, got {got}", raw, index)
            ]
        event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
        found: list[Violation] = []

        def report(field: str, rule: str, message: str, value: JSON) -> None:
            found.append(Violation(event_id, field, rule, message, value, index))

        normalised_id = self._event_id.report(raw, report)
        when = self._timestamp.report(raw, report)
        given = raw.get("customer_id")
        if given is not None and given != customer_id:
            message = f"customer_id {_show(given)} is not the caller's ({customer_id})"
            report("customer_id", "tai:customerId", message, given)
        name, data = raw.get("transaction_type"), raw.get("data")
        compiled = self._types.get(name) if isinstance(name, str) else None
        normalised: dict[str, JSON] = {}
        if compiled is None:
            what = "is required" if name is None else f"{_show(name)} is not a known type"
            report(
                "transaction_type",
                "tai:transactionType",
                f"transaction_type {what}; one of: {self._known}",
                name,
            )
        elif not isinstance(data, dict):
            got = "nothing" if data is None else _show(data)
            report(
                "data", "tai:json", f"data must be a JSON object with the fields of {name}, got {got}", data
            )
        else:
            normalised = compiled.report(data, report)
        for key, value in raw.items():
            if key not in ENVELOPE_KEYS:
                message = f"{key} is not an envelope field (allowed: {', '.join(sorted(ENVELOPE_KEYS))})"
                report(key, "sh:closed", message, value)
        if found or compiled is None:
            return found
        return Event(normalised_id, when, customer_id, compiled.etype.name, normalised)


def _utc(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text)
        return None if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
