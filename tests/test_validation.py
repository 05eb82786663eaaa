"""The fast validator: exact violations, normalisation, and the fast path agreeing with the full check."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tai_graph.config import resource_dir
from tai_graph.model import Event, Violation
from tai_graph.schema import TypeRegistry
from tai_graph.validation import ROOT, Validator, decimal_value, to_term

EVENTS = Path(__file__).parent / "fixtures" / "events"


def load(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((EVENTS / name).read_text(encoding="utf-8"), parse_float=Decimal)
    return cases


VALID, INVALID = load("valid.json"), load("invalid.json")


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(TypeRegistry.load(resource_dir("shapes"), resource_dir("ontology")))


def violations(validator: Validator, raw: Any, **kw: Any) -> list[Violation]:
    result = validator.validate(raw, customer_id="acme", **kw)
    assert isinstance(result, list), result
    return result


@pytest.mark.parametrize("case", VALID, ids=[c["name"] for c in VALID])
def test_valid_events_are_normalised(validator: Validator, case: dict[str, Any]) -> None:
    event = validator.validate(case["event"], customer_id="acme")
    assert isinstance(event, Event), event
    assert event.event_id == case["event"]["event_id"]
    assert event.customer_id == "acme"
    assert event.transaction_type == case["event"]["transaction_type"]
    assert event.timestamp.utcoffset() is not None and not event.timestamp.utcoffset()
    assert event.timestamp_text == case["expect"]["timestamp"]
    assert event.data == case["expect"]["data"]
    assert list(event.data) == sorted(event.data)  # shape order: deterministic whatever the input order


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_events_report_every_violation(validator: Validator, case: dict[str, Any]) -> None:
    raw = case["event"]
    found = violations(validator, raw, index=7)
    assert sorted((v.field, v.rule) for v in found) == sorted(map(tuple, case["expect"]))
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    for v in found:
        assert v.index == 7
        assert v.event_id == (event_id if isinstance(event_id, str) else None)
        assert v.message.startswith(v.field) or v.field == ROOT
        if v.field.startswith("data."):
            expected = raw["data"].get(v.field[5:])
        elif v.field == ROOT:
            expected = raw
        else:
            expected = raw.get(v.field)
        assert v.value == expected or (v.value != v.value and expected != expected)  # NaN
        json.dumps(v.to_dict())  # always serialisable


def test_messages_say_what_is_allowed(validator: Validator) -> None:
    base = {
        "event_id": "E1",
        "timestamp": "2026-01-19T10:35:22Z",
        "transaction_type": "order",
        "data": {"order_id": "O", "channel": "c", "amount": "1", "status": "shipped", "currency": "usd"},
    }
    by_field = {v.field: v.message for v in violations(validator, base)}
    assert by_field["data.status"] == (
        'data.status must be one of cancelled, failed, fulfilled, returned, stockout; got "shipped"'
    )
    assert "178 values" in by_field["data.currency"] and "ISO 4217" in by_field["data.currency"]
    unknown = violations(validator, dict(base, transaction_type="refund"))
    assert unknown[0].message == (
        'transaction_type "refund" is not a known type; one of: compliance_violation, entitlement_change, '
        "inventory_count, manual_report, order, order_error, sku_update, sync, work_log"
    )
    naive = violations(
        validator,
        dict(
            base,
            timestamp="2026-01-19T10:35:22",
            data={**base["data"], "status": "failed", "currency": "USD"},
        ),
    )
    assert [(v.field, v.rule) for v in naive] == [("timestamp", "sh:pattern")]
    assert "with a zone" in naive[0].message and '"2026-01-19T10:35:22"' in naive[0].message
    null = violations(
        validator, dict(base, data={**base["data"], "amount": None, "status": "failed", "currency": None})
    )
    assert [(v.field, v.rule, v.message) for v in null] == [
        (
            "data.amount",
            "sh:minCount",
            "data.amount is required (null given) (decimal >= 0, in the order currency)",
        )
    ]
    hours = violations(
        validator, {**base, "transaction_type": "work_log", "data": {"activity": "a", "hours": True}}
    )
    assert {v.rule: v.message for v in hours} == {
        "sh:datatype": 'data.hours must be a decimal number (JSON number or numeric string like "19.99", '
        "at most 15 digits before the point and 18 after), got true",
        "sh:minExclusive": "data.hours must be > 0, got true (not a number)",
        "sh:maxInclusive": "data.hours must be <= 24, got true (not a number)",
    }


def test_customer_id_must_match_the_caller(validator: Validator) -> None:
    raw = VALID[0]["event"]
    assert raw["customer_id"] == "acme"
    assert isinstance(validator.validate(raw, customer_id="acme"), Event)
    result = validator.validate(raw, customer_id="globex")
    assert isinstance(result, list)
    (v,) = result
    assert (v.field, v.rule, v.value, v.index) == ("customer_id", "tai:customerId", "acme", None)


def test_decimal_parsing_rules() -> None:
    ok = {"19.99": "19.99", "+5": "5", ".5": "0.5", "5.": "5", "-0.00": "-0.00", "007": "7"}
    for text, lexical in ok.items():
        assert decimal_value(text) == (Decimal(text), lexical)
    assert decimal_value(Decimal("1E+2")) == (Decimal(100), "100")
    assert decimal_value(Decimal("19.990")) == (Decimal("19.99"), "19.990")
    assert decimal_value(7) == (Decimal(7), "7")
    assert decimal_value(0.1) == (Decimal("0.1"), "0.1")
    bad = ["1e5", "1E5", "", " 1", "1 ", "1,5", "0x10", "NaN", "Infinity", "--1", "١٢", "1_000", "e5", "."]
    for value in [
        *bad,
        True,
        False,
        None,
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        Decimal("1E+15"),
        10**15,
        Decimal("1E-19"),
        "0.0000000000000000001",
        Decimal("1E+999999999"),
        {},
        [],
    ]:
        assert decimal_value(value) is None, value
    assert decimal_value(Decimal("999999999999999.999999999999999999")) is not None
    assert decimal_value(-(10**15) + 1) == (Decimal(-(10**15) + 1), "-999999999999999")


def test_validation_mapping_terms() -> None:
    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert (
        to_term("5", "integer") == to_term("5", "integer")
        and to_term("5", "integer").datatype == xsd + "string"
    )
    assert to_term(Decimal("5.0"), "integer").datatype == xsd + "decimal"
    assert to_term(True, "decimal").lexical == "true" and to_term(True, "decimal").datatype == xsd + "string"
    assert to_term(True, "string").datatype == xsd + "boolean"
    assert to_term({"a": 1}, "string").datatype is None
    assert to_term("2026-01-19T10:35:22", "datetime").lexical == "2026-01-19T10:35:22"
    assert to_term(Decimal("1E+2"), "decimal").lexical == "100"


def test_a_batch_index_and_non_object_events(validator: Validator) -> None:
    for raw, shown in ((None, "null"), ("text", '"text"'), (5, "5"), ([], "an array")):
        (v,) = violations(validator, raw, index=3)
        assert (v.event_id, v.field, v.rule, v.index) == (None, ROOT, "tai:json", 3)
        assert v.message == f"an event must be a JSON object, got {shown}"
