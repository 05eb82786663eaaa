"""The type registry: shapes read as SPEC §2.1 says, malformed shapes refused, new types as data."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Namespace, URIRef

from tai_graph.config import resource_dir
from tai_graph.mapping import event_triples
from tai_graph.model import Event
from tai_graph.schema import TAI, ShapeError, TypeRegistry
from tai_graph.validation import Validator

SHAPES, ONTOLOGY = resource_dir("shapes"), resource_dir("ontology")
FIXTURES = Path(__file__).parent / "fixtures"
QB = Namespace("http://purl.org/linked-data/cube#")
XSD = "http://www.w3.org/2001/XMLSchema#"

# SPEC §2.1, field -> (kind, required); "!" marks the rollup role (d = dimension, m = measure).
SPEC_TYPES: dict[str, dict[str, str]] = {
    "order": {
        "order_id": "string",
        "channel": "string d",
        "amount": "decimal m",
        "currency": "string? d",
        "status": "string d",
        "sku_id": "string?",
        "quantity": "integer? m",
    },
    "order_error": {"order_id": "string", "error_type": "string d", "cost": "decimal? m"},
    "sku_update": {
        "sku_id": "string",
        "new_inventory": "integer",
        "previous_inventory": "integer",
        "reason": "string d",
        "warehouse": "string? d",
        "channel": "string? d",
    },
    "inventory_count": {
        "sku_id": "string",
        "warehouse": "string d",
        "system_quantity": "integer m",
        "counted_quantity": "integer m",
        "channel": "string? d",
    },
    "entitlement_change": {
        "account_id": "string",
        "feature": "string d",
        "action": "string d",
        "tier": "string? d",
    },
    "compliance_violation": {"violation_type": "string d", "severity": "string d", "cost": "decimal? m"},
    "work_log": {"activity": "string d", "hours": "decimal m", "person": "string?"},
    "manual_report": {"report_name": "string d", "hours": "decimal m"},
    "sync": {"source": "string d", "target": "string d", "latency_ms": "decimal m"},
}
SPEC_ENUMS = {
    ("order", "status"): {"fulfilled", "failed", "stockout", "cancelled", "returned"},
    ("order_error", "error_type"): {
        "duplicate_order",
        "wrong_sku",
        "inventory_mismatch",
        "entitlement_violation",
        "other",
    },
    ("entitlement_change", "action"): {"grant", "revoke", "update"},
    ("compliance_violation", "severity"): {"low", "medium", "high", "critical"},
}
# (type, field) -> (minInclusive, minExclusive, maxInclusive)
SPEC_BOUNDS = {
    ("order", "amount"): (0, None, None),
    ("order", "quantity"): (1, None, None),
    ("order_error", "cost"): (0, None, None),
    ("sku_update", "new_inventory"): (0, None, None),
    ("sku_update", "previous_inventory"): (0, None, None),
    ("inventory_count", "system_quantity"): (0, None, None),
    ("inventory_count", "counted_quantity"): (0, None, None),
    ("compliance_violation", "cost"): (0, None, None),
    ("work_log", "hours"): (None, 0, 24),
    ("manual_report", "hours"): (None, 0, None),
    ("sync", "latency_ms"): (0, None, None),
}


@pytest.fixture(scope="module")
def registry() -> TypeRegistry:
    return TypeRegistry.load(SHAPES, ONTOLOGY)


def test_every_spec_type_with_its_fields(registry: TypeRegistry) -> None:
    assert registry.names == tuple(sorted(SPEC_TYPES))
    for name, fields in SPEC_TYPES.items():
        etype = registry.get(name)
        assert etype is not None
        got = {}
        for spec in etype.fields.values():
            role = {"dimension": " d", "measure": " m", None: ""}[spec.rollup]
            got[spec.name] = f"{spec.kind}{'' if spec.required else '?'}{role}"
        assert got == fields, name


def test_enums_and_bounds_as_in_the_spec(registry: TypeRegistry) -> None:
    for etype in registry:
        for spec in etype.fields.values():
            key = (etype.name, spec.name)
            if key in SPEC_ENUMS:
                assert spec.enum == SPEC_ENUMS[key]
            elif spec.name != "currency":
                assert spec.enum is None, key
            if spec.kind == "string":
                assert spec.enum is not None or (spec.min_length == 1 and spec.max_length in (128, 256)), key
            expected = SPEC_BOUNDS.get(key, (None, None, None))
            got = (spec.min_inclusive, spec.min_exclusive, spec.max_inclusive)
            assert got == tuple(None if b is None else Decimal(b) for b in expected), key
            assert spec.max_exclusive is None


def test_currency_is_the_active_iso_4217_list(registry: TypeRegistry) -> None:
    order = registry.get("order")
    assert order is not None
    codes = order.fields["currency"].enum
    assert codes is not None and len(codes) == 178
    assert {"USD", "EUR", "JPY", "GBP", "CHF", "XCG", "ZWG", "SLE", "VES", "XXX"} <= codes
    assert not {"HRK", "CUC", "ZWL", "ANG", "usd", "ABC"} & codes
    assert all(len(c) == 3 and c.isupper() for c in codes)


def test_envelope_rules(registry: TypeRegistry) -> None:
    env = registry.envelope
    assert env.shape_iri == TAI + "EventShape"
    assert (env.event_id.predicate, env.event_id.kind, env.event_id.required) == (
        TAI + "eventId",
        "string",
        True,
    )
    assert (env.event_id.min_length, env.event_id.max_length) == (1, 128)
    assert env.event_id.pattern == "^[A-Za-z0-9._:-]*$"
    assert (env.timestamp.predicate, env.timestamp.kind, env.timestamp.required) == (
        TAI + "timestamp",
        "datetime",
        True,
    )


def test_measures_dimensions_and_derived(registry: TypeRegistry) -> None:
    order = registry.get("order")
    assert order is not None
    assert [f.name for f in order.dimensions] == ["channel", "currency", "status"]
    assert [f.measure_predicate for f in order.measures] == [TAI + "amountSum", TAI + "quantitySum"]
    assert order.fields["channel"].measure_predicate is None
    count = registry.get("inventory_count")
    assert count is not None
    derived = {d.predicate: d for d in count.derived}
    matched, variance = derived[TAI + "matchedCount"], derived[TAI + "absVarianceSum"]
    assert (matched.operator, matched.operands, matched.kind) == (
        "EqualCount",
        ("system_quantity", "counted_quantity"),
        "integer",
    )
    assert (variance.operator, variance.kind) == ("AbsDifference", "integer")
    assert matched.compute({"system_quantity": 5, "counted_quantity": 5}) == 1
    assert matched.compute({"system_quantity": 5, "counted_quantity": 7}) == 0
    assert variance.compute({"system_quantity": 5, "counted_quantity": 7}) == 2
    assert variance.compute({"system_quantity": 5}) is None
    assert all(not t.derived for t in registry if t.name != "inventory_count")


def test_ontology_declares_every_class_and_predicate(registry: TypeRegistry) -> None:
    g = registry.shapes_graph
    event = URIRef(TAI + "Event")
    assert (event, RDFS.subClassOf, URIRef("http://www.w3.org/ns/prov#Activity")) in g
    for etype in registry:
        assert (URIRef(etype.class_iri), RDFS.subClassOf, event) in g
        assert registry.for_class(etype.class_iri) is etype
        for spec in etype.fields.values():
            pred = URIRef(spec.predicate)
            assert g.value(pred, RDFS.label) is not None, spec.predicate
            assert g.value(pred, RDFS.range) == URIRef(spec.datatype), spec.predicate
            if spec.rollup == "dimension":
                assert (pred, RDF.type, QB.DimensionProperty) in g, spec.predicate
            if spec.measure_predicate:
                measure = URIRef(spec.measure_predicate)
                assert (measure, RDF.type, QB.MeasureProperty) in g, spec.measure_predicate
                assert g.value(measure, RDFS.range) == URIRef(spec.datatype)
        for derived in etype.derived:
            assert (URIRef(derived.predicate), RDF.type, QB.MeasureProperty) in g
    for name in (
        "receipt",
        "sequence",
        "canonicalReceipt",
        "signature",
        "ed25519Signature",
        "eventType",
        "month",
        "day",
        "hour",
        "slice",
        "hourSlice",
        "count",
        "receiptCount",
    ):
        assert g.value(URIRef(TAI + name), RDFS.comment) is not None, name
    for cls in ("Receipt", "Customer", "MonthlyRollup", "DailyRollup", "HourlyRollup"):
        assert g.value(URIRef(TAI + cls), RDFS.subClassOf) is not None


def test_vocabulary_doc_lists_every_field(registry: TypeRegistry) -> None:
    doc = (Path(__file__).parent.parent / "docs" / "vocabulary.md").read_text(encoding="utf-8")
    for etype in registry:
        assert f"`{etype.name}`" in doc and etype.class_iri.replace(TAI, "tai:") in doc
        for spec in etype.fields.values():
            predicate, datatype = spec.predicate.replace(TAI, "tai:"), spec.datatype.replace(XSD, "xsd:")
            row = f"| `{spec.name}` | `{predicate}` | `{datatype}` |"
            assert row in doc, row


# ---- a new type is data ------------------------------------------------------------------------


def _shapes_with(tmp_path: Path, *extra: tuple[str, str]) -> Path:
    folder = tmp_path / "shapes"
    shutil.copytree(SHAPES, folder)
    for name, text in extra:
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_new_type_needs_only_a_ttl_file(tmp_path: Path) -> None:
    shapes = _shapes_with(
        tmp_path, ("saas_seat.ttl", (FIXTURES / "shapes" / "saas_seat.ttl").read_text(encoding="utf-8"))
    )
    registry = TypeRegistry.load(shapes, ONTOLOGY)
    assert "saas_seat" in registry.names and len(registry) == 10
    seat = registry.get("saas_seat")
    assert seat is not None and seat.class_iri == "https://example.com/saas#SeatChange"
    assert [f.name for f in seat.measures] == ["price_per_seat", "seats"]
    validator = Validator(registry)
    raw = {
        "event_id": "seat-1",
        "timestamp": "2026-02-01T09:00:00+02:00",
        "transaction_type": "saas_seat",
        "data": {
            "subscription_id": "sub-9",
            "plan": "team",
            "seats": 12,
            "price_per_seat": "19.00",
            "region": "eu-west-1",
        },
    }
    event = validator.validate(raw, customer_id="acme")
    assert isinstance(event, Event)
    assert event.data == {
        "plan": "team",
        "price_per_seat": "19.00",
        "region": "eu-west-1",
        "seats": 12,
        "subscription_id": "sub-9",
    }
    lines = event_triples(event, seat)
    s = "<urn:tai:acme:event:seat-1>"
    assert (
        f"{s} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://example.com/saas#SeatChange> ."
        in lines
    )
    assert f'{s} <https://example.com/saas#seats> "12"^^<{XSD}integer> .' in lines
    assert f'{s} <https://example.com/saas#pricePerSeat> "19.00"^^<{XSD}decimal> .' in lines
    bad = dict(
        raw, data={"subscription_id": "", "plan": "free", "seats": 10001, "price_per_seat": 0, "region": "EU"}
    )
    violations = validator.validate(bad, customer_id="acme")
    assert isinstance(violations, list)
    assert sorted((v.field, v.rule) for v in violations) == [
        ("data.plan", "sh:in"),
        ("data.price_per_seat", "sh:minExclusive"),
        ("data.region", "sh:pattern"),
        ("data.seats", "sh:maxInclusive"),
        ("data.subscription_id", "sh:minLength"),
    ]


X = 'sh:path tai:x ; tai:field "x" ; sh:datatype xsd:string ; sh:maxCount 1'
PROPERTY_BROKEN = {
    "unsupported constraint": (f"[ {X} ; sh:class tai:Y ]", "sh:class"),
    "no tai:field": ("[ sh:path tai:x ; sh:datatype xsd:string ; sh:maxCount 1 ]", "tai:field"),
    "no sh:maxCount": ('[ sh:path tai:x ; tai:field "x" ; sh:datatype xsd:string ]', "sh:maxCount 1"),
    "sh:in on a decimal": (f"[ {X.replace('string', 'decimal')} ; sh:in ( 1 2 ) ]", "sh:in"),
    "range on a string": (f"[ {X} ; sh:minInclusive 1 ]", "numeric fields"),
    "unknown datatype": (f"[ {X.replace('string', 'boolean')} ]", "sh:datatype"),
    "path not a predicate": (f"[ {X.replace('tai:x', '( tai:x tai:y )')} ]", "sh:path"),
    "bad rollup": (f"[ {X} ; tai:rollup tai:Sum ]", "tai:rollup"),
    "string measure": (f"[ {X} ; tai:rollup tai:Measure ]", "tai:Measure"),
    "typo in a tai term": (f"[ {X} ; tai:rolup tai:Dimension ]", "tai:rolup"),
    "naive-friendly datetime": (f"[ {X.replace('string', 'dateTime')} ]", "naive"),
    "bad regex": (f'[ {X} ; sh:pattern "(" ]', "sh:pattern"),
    "field twice": (f"[ {X} ], [ {X.replace('tai:x', 'tai:y')} ]", "twice"),
}
PREFIXES = """@prefix tai: <https://w3id.org/tai-graph/ns#> . @prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
tai:Broken rdfs:subClassOf tai:Event .
"""
HEAD = """tai:BrokenShape a sh:NodeShape ; sh:targetClass tai:Broken ; tai:transactionType "broken" ;
    sh:closed true ; sh:ignoredProperties ( rdf:type tai:eventId tai:timestamp tai:hourSlice tai:receipt ) ;"""
NODE_BROKEN = {
    "not closed": (HEAD.replace("sh:closed true", "sh:closed false"), "sh:closed true"),
    "hourSlice not ignored": (HEAD.replace(" tai:hourSlice", ""), "tai:hourSlice"),
    "class not an event": (HEAD.replace("tai:Broken ;", "tai:Other ;"), "rdfs:subClassOf tai:Event"),
    "duplicate type name": (HEAD.replace('"broken"', '"order"'), "already declared"),
    "type name with capitals": (HEAD.replace('"broken"', '"Broken"'), "[a-z]"),
    "sparql constraint": (HEAD + ' sh:sparql [ sh:select "SELECT $this {}" ] ;', "sh:sparql"),
    "no transaction type": (HEAD.replace('tai:transactionType "broken" ;', ""), "tai:transactionType"),
    "derived from a string": (
        HEAD
        + " tai:derivedMeasure [ tai:measure tai:m ; tai:operator tai:EqualCount ;"
        + " tai:operands ( tai:x tai:x ) ] ;",
        "operands",
    ),
}


@pytest.mark.parametrize(
    ("head", "prop", "words"),
    [(HEAD, *PROPERTY_BROKEN[k]) for k in sorted(PROPERTY_BROKEN)]
    + [(NODE_BROKEN[k][0], f"[ {X} ]", NODE_BROKEN[k][1]) for k in sorted(NODE_BROKEN)],
    ids=[*sorted(PROPERTY_BROKEN), *sorted(NODE_BROKEN)],
)
def test_malformed_shapes_are_refused_naming_the_shape(
    tmp_path: Path, head: str, prop: str, words: str
) -> None:
    shapes = _shapes_with(tmp_path, ("broken.ttl", f"{PREFIXES}{head}\n    sh:property {prop} ."))
    with pytest.raises(ShapeError) as caught:
        TypeRegistry.load(shapes, ONTOLOGY)
    assert "tai:BrokenShape" in caught.value.message and words in caught.value.message


def test_unreadable_files_and_folders_are_refused(tmp_path: Path) -> None:
    shapes = _shapes_with(tmp_path, ("typo.ttl", "tai:X a sh:NodeShape"))
    with pytest.raises(ShapeError, match=r"typo\.ttl: cannot parse Turtle"):
        TypeRegistry.load(shapes, ONTOLOGY)
    with pytest.raises(ShapeError, match=r"no \.ttl files"):
        TypeRegistry.load(tmp_path / "empty", ONTOLOGY)
    envelope_less = tmp_path / "no-envelope"
    shutil.copytree(SHAPES, envelope_less)
    (envelope_less / "envelope.ttl").unlink()
    with pytest.raises(ShapeError, match="tai:EventShape"):
        TypeRegistry.load(envelope_less, ONTOLOGY)
