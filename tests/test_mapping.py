"""RDF mapping: deterministic IRIs, N-Triples escaping, event triples that Oxigraph and pyshacl accept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from pyshacl import validate
from rdflib import Graph

from tai_graph.config import resource_dir
from tai_graph.mapping import (
    TAI,
    event_iri,
    event_triples,
    graph_iri,
    iri,
    lit_string,
    lit_typed,
    receipt_iri,
    rollup_iri,
    slice_key,
)
from tai_graph.model import Event
from tai_graph.schema import TypeRegistry
from tai_graph.validation import Validator

XSD = "http://www.w3.org/2001/XMLSchema#"
VALID = json.loads(
    (Path(__file__).parent / "fixtures/events/valid.json").read_text(encoding="utf-8"), parse_float=Decimal
)


@pytest.fixture(scope="module")
def registry() -> TypeRegistry:
    return TypeRegistry.load(resource_dir("shapes"), resource_dir("ontology"))


@pytest.fixture(scope="module")
def events(registry: TypeRegistry) -> list[Event]:
    validator = Validator(registry)
    out = [validator.validate(c["event"], customer_id="acme") for c in VALID]
    assert all(isinstance(e, Event) for e in out)
    return out  # type: ignore[return-value]


def ntriples(registry: TypeRegistry, events: list[Event]) -> str:
    lines = []
    for event in events:
        etype = registry.get(event.transaction_type)
        assert etype is not None
        lines += event_triples(event, etype)
    return "\n".join(lines)


def test_iris() -> None:
    assert TAI == "https://w3id.org/tai-graph/ns#"
    assert graph_iri("acme") == "urn:tai:acme"
    assert event_iri("acme", "evt_2026:01.x-1") == "urn:tai:acme:event:evt_2026:01.x-1"
    assert receipt_iri("acme", 42) == "urn:tai:acme:receipt:42"
    assert (
        rollup_iri("acme", "order", "2026-01-19T05", "3f2a") == "urn:tai:acme:rollup:order:2026-01-19T05:3f2a"
    )
    assert rollup_iri("acme", "order", "2026-01-19", "3f2a") == "urn:tai:acme:rollup:order:2026-01-19:3f2a"
    assert slice_key("order_error", "2026-01-19T05") == "order_error 2026-01-19T05"


@pytest.mark.parametrize(
    "call",
    [
        lambda: graph_iri("ac me"),
        lambda: graph_iri(""),
        lambda: graph_iri("a" * 65),
        lambda: graph_iri("acme:x"),
        lambda: event_iri("acme", "E>1"),
        lambda: event_iri("acme", "E1\n"),
        lambda: event_iri("acme", ""),
        lambda: receipt_iri("acme", 0),
        lambda: receipt_iri("acme", True),
        lambda: rollup_iri("acme", "Order", "2026-01-19", "ab"),
        lambda: rollup_iri("acme", "order", "2026-13-01", "ab"),
        lambda: rollup_iri("acme", "order", "2026-01-19T24", "ab"),
        lambda: rollup_iri("acme", "order", "2026-01-19T5", "ab"),
        lambda: rollup_iri("acme", "order", "2026-01-19", "a b"),
        lambda: iri("urn:x y"),
        lambda: iri("urn:x>"),
        lambda: iri('urn:"x'),
    ],
)
def test_bad_ids_are_refused(call: Any) -> None:
    with pytest.raises(ValueError):
        call()


def test_literal_escaping() -> None:
    assert lit_string("plain Zürich 東京") == '"plain Zürich 東京"'
    assert lit_string('a"b\\c') == '"a\\"b\\\\c"'
    assert lit_string("l1\nl2\rl3\tt") == '"l1\\nl2\\rl3\\tt"'
    assert lit_string("\x00\x08\x0c\x1f\x7f") == '"\\u0000\\b\\f\\u001F\\u007F"'
    assert lit_string("\\u0041") == '"\\\\u0041"'  # a backslash stays a backslash, never an escape
    assert lit_typed("19.99", XSD + "decimal") == f'"19.99"^^<{XSD}decimal>'
    assert iri("urn:tai:acme") == "<urn:tai:acme>"


def test_event_triples_golden(registry: TypeRegistry) -> None:
    event = Event(
        "E1",
        datetime(2026, 1, 19, 10, 35, 22, 500000, tzinfo=UTC),
        "acme",
        "order",
        {"order_id": 'O "1"', "channel": "amazon", "amount": "19.990", "status": "fulfilled", "quantity": 2},
    )
    s = "<urn:tai:acme:event:E1>"
    assert event_triples(event, registry.get("order")) == [  # type: ignore[arg-type]
        f"{s} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{TAI}Order> .",
        f'{s} <{TAI}eventId> "E1" .',
        f'{s} <{TAI}timestamp> "2026-01-19T10:35:22.5Z"^^<{XSD}dateTime> .',
        f'{s} <{TAI}hourSlice> "order 2026-01-19T10" .',
        f'{s} <{TAI}orderId> "O \\"1\\"" .',
        f'{s} <{TAI}channel> "amazon" .',
        f'{s} <{TAI}amount> "19.990"^^<{XSD}decimal> .',
        f'{s} <{TAI}status> "fulfilled" .',
        f'{s} <{TAI}quantity> "2"^^<{XSD}integer> .',
    ]


def test_timestamps_are_written_in_utc(registry: TypeRegistry) -> None:
    sync = registry.get("sync")
    assert sync is not None
    data = {"source": "a", "target": "b", "latency_ms": "1"}
    plus2 = Event("E1", datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))), "acme", "sync", data)
    lines = event_triples(plus2, sync)
    assert f'"2025-12-31T23:00:00Z"^^<{XSD}dateTime> .' in lines[2] and '"sync 2025-12-31T23"' in lines[3]
    with pytest.raises(ValueError, match="naive"):
        event_triples(Event("E1", datetime(2026, 1, 1), "acme", "sync", data), sync)
    with pytest.raises(ValueError, match="not a order"):
        event_triples(plus2, registry.get("order"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no field 'colour'"):
        event_triples(Event("E1", plus2.timestamp, "acme", "sync", {**data, "colour": "red"}), sync)


def test_triples_load_into_oxigraph(registry: TypeRegistry, events: list[Event]) -> None:
    store = ox.Store()
    text = ntriples(registry, events)
    store.load(text.encode(), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph_iri("acme")))
    assert len(store) == sum(4 + len(e.data) for e in events)
    for event in events:
        etype = registry.get(event.transaction_type)
        assert etype is not None
        subject = ox.NamedNode(event_iri("acme", event.event_id))
        got = {q.predicate.value: q.object for q in store.quads_for_pattern(subject, None, None, None)}
        assert got["http://www.w3.org/1999/02/22-rdf-syntax-ns#type"] == ox.NamedNode(etype.class_iri)
        assert got[TAI + "timestamp"].value == event.timestamp_text
        for name, value in event.data.items():
            literal = got[etype.fields[name].predicate]
            assert literal.datatype.value == etype.fields[name].datatype
            if etype.fields[name].kind == "decimal":
                assert Decimal(literal.value) == Decimal(value)  # Oxigraph writes decimals canonically
            else:
                assert literal.value == str(value)


def test_triples_work_inside_sparql_update(registry: TypeRegistry, events: list[Event]) -> None:
    store = ox.Store()
    body = ntriples(registry, events)
    store.update(f"INSERT DATA {{ GRAPH <{graph_iri('acme')}> {{ {body} }} }}")
    tricky = next(e for e in events if "\\" in e.data.get("order_id", ""))
    rows = store.query(
        f"PREFIX tai: <{TAI}> SELECT ?id ?ch ?sku WHERE {{ GRAPH ?g {{ "
        f"?e tai:eventId {lit_string(tricky.event_id)} ;"
        " tai:orderId ?id ; tai:channel ?ch ; tai:skuId ?sku } }"
    )
    (row,) = list(rows)  # type: ignore[arg-type]
    assert (row["id"].value, row["ch"].value, row["sku"].value) == (
        tricky.data["order_id"],
        tricky.data["channel"],
        tricky.data["sku_id"],
    )


def test_stored_mapping_conforms_to_the_shapes(registry: TypeRegistry, events: list[Event]) -> None:
    text = ntriples(registry, events)
    graph = Graph().parse(data=text, format="nt")
    shapes = registry.shapes_graph
    conforms, _, report = validate(graph, shacl_graph=shapes, ont_graph=shapes, inference="none")
    assert conforms, report
    broken = Graph().parse(data=text.replace('"fulfilled"', '"shipped"'), format="nt")
    assert not validate(broken, shacl_graph=shapes, ont_graph=shapes, inference="none")[0]


def test_mapping_is_deterministic(registry: TypeRegistry, events: list[Event]) -> None:
    for event in events:
        etype = registry.get(event.transaction_type)
        assert etype is not None
        assert event_triples(event, etype) == event_triples(event, etype)
        assert all(line.endswith(" .") and line.count("\n") == 0 for line in event_triples(event, etype))
