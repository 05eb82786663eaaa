"""Event types read from the SHACL shapes: the type registry.

The shapes in ``shapes/*.ttl`` are the source of truth for which event types exist and what their
``data`` fields are (docs/design.md, "Shapes are the type registry"). :meth:`TypeRegistry.load`
reads them once with rdflib and turns each event shape into an :class:`EventType` of
:class:`FieldSpec` values that the fast validator, the RDF mapping and the rollups use. Adding a
type is a new ``.ttl`` file (ontology class + shape); nothing here changes.

Only the subset of SHACL that the fast validator implements is accepted; anything else (an
unknown ``sh:`` or ``tai:`` term, a path that is not a predicate, a second value where one is
expected) is refused with a :class:`ShapeError` naming the shape and field, so the fast path can
never silently check less than pyshacl would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from rdflib import RDF, RDFS, BNode, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.collection import Collection
from rdflib.term import Node

from tai_graph.errors import TaiGraphError

#: The TAI Graph namespace.
TAI = "https://w3id.org/tai-graph/ns#"
SH = "http://www.w3.org/ns/shacl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_NS = str(RDF)
XSD_STRING = XSD + "string"
XSD_DECIMAL = XSD + "decimal"
XSD_INTEGER = XSD + "integer"
XSD_DATETIME = XSD + "dateTime"

Kind = Literal["string", "decimal", "integer", "datetime"]
Rollup = Literal["dimension", "measure"]
Operator = Literal["EqualCount", "AbsDifference"]

_KINDS: dict[str, Kind] = {
    XSD_STRING: "string",
    XSD_DECIMAL: "decimal",
    XSD_INTEGER: "integer",
    XSD_DATETIME: "datetime",
}
_DATATYPES = {kind: iri for iri, kind in _KINDS.items()}
_ROLLUPS: dict[str, Rollup] = {TAI + "Dimension": "dimension", TAI + "Measure": "measure"}
_OPERATORS: dict[str, Operator] = {TAI + "EqualCount": "EqualCount", TAI + "AbsDifference": "AbsDifference"}
_RANGE_KEYS = ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive")
#: Predicates an event node has besides its data fields; every type shape must ignore them.
ENVELOPE_PREDICATES = (
    RDF_NS + "type",
    TAI + "eventId",
    TAI + "timestamp",
    TAI + "hourSlice",
    TAI + "receipt",
)

_ANNOTATIONS = {str(RDFS.label), str(RDFS.comment), SH + "name", SH + "description", SH + "order"}
_SH_PROPERTY = "path datatype minCount maxCount in pattern flags minLength maxLength"
_PROPERTY_TERMS = (
    _ANNOTATIONS | {TAI + "field", TAI + "rollup"} | {SH + t for t in (*_SH_PROPERTY.split(), *_RANGE_KEYS)}
)
_SH_NODE = ("targetClass", "closed", "ignoredProperties", "property")
_NODE_TERMS = (
    _ANNOTATIONS
    | {RDF_NS + "type", TAI + "transactionType", TAI + "derivedMeasure"}
    | {SH + t for t in _SH_NODE}
)
_TARGETS = ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf")
_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class ShapeError(TaiGraphError):
    """A shape or ontology file cannot be used: syntax error, unsupported SHACL, broken convention."""

    code = "invalid-shape"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One JSON field of an event and the SHACL constraints on it.

    Bounds are inclusive/exclusive ``Decimal`` values (``None`` when absent); lengths count
    characters of the lexical form; ``pattern`` is an XPath regex (``$`` = end of string)
    applied with ``flags``. ``enum`` is the ``sh:in`` set (strings only).
    """

    name: str
    predicate: str
    kind: Kind
    required: bool
    enum: frozenset[str] | None = None
    min_inclusive: Decimal | None = None
    max_inclusive: Decimal | None = None
    min_exclusive: Decimal | None = None
    max_exclusive: Decimal | None = None
    pattern: str | None = None
    flags: str = ""
    min_length: int | None = None
    max_length: int | None = None
    rollup: Rollup | None = None
    description: str | None = None

    @property
    def datatype(self) -> str:
        """The ``xsd:`` datatype IRI of the field's literals."""
        return _DATATYPES[self.kind]

    @property
    def measure_predicate(self) -> str | None:
        """Rollup predicate summing this field (``tai:amount`` -> ``tai:amountSum``), if a measure."""
        return self.predicate + "Sum" if self.rollup == "measure" else None


@dataclass(frozen=True, slots=True)
class DerivedMeasure:
    """A rollup measure (``predicate``, e.g. ``tai:matchedCount``) computed per event from two fields.

    ``EqualCount`` is 1 when the operands are equal, else 0; ``AbsDifference`` is ``|a - b|``
    (the local names of ``tai:EqualCount`` and ``tai:AbsDifference``). ``kind`` is the sum's type.
    """

    predicate: str
    operator: Operator
    operands: tuple[str, str]
    kind: Kind

    def compute(self, data: Mapping[str, object]) -> int | Decimal | None:
        """The measure for one normalised event's ``data``; ``None`` when an operand is absent."""
        a, b = (data.get(name) for name in self.operands)
        if a is None or b is None:
            return None
        x, y = Decimal(str(a)), Decimal(str(b))
        if self.operator == "EqualCount":
            return int(x == y)
        diff = abs(x - y)
        return int(diff) if self.kind == "integer" else diff


@dataclass(frozen=True, eq=False, slots=True)
class EventType:
    """An event type: its ``transaction_type`` name, ontology class, shape and data fields."""

    name: str
    class_iri: str
    shape_iri: str
    fields: Mapping[str, FieldSpec]
    derived: tuple[DerivedMeasure, ...] = ()
    label: str | None = None

    @property
    def dimensions(self) -> tuple[FieldSpec, ...]:
        """Fields the rollup cells group by, in shape order."""
        return tuple(f for f in self.fields.values() if f.rollup == "dimension")

    @property
    def measures(self) -> tuple[FieldSpec, ...]:
        """Fields the rollup cells sum, in shape order."""
        return tuple(f for f in self.fields.values() if f.rollup == "measure")


@dataclass(frozen=True, slots=True)
class Envelope:
    """The envelope rules of ``tai:EventShape``: ``event_id`` and ``timestamp``."""

    shape_iri: str
    event_id: FieldSpec
    timestamp: FieldSpec


class TypeRegistry:
    """All event types, read from the shapes; immutable after :meth:`load`."""

    def __init__(self, types: Mapping[str, EventType], envelope: Envelope, shapes_graph: Graph) -> None:
        self._types = dict(types)
        self._by_class = {t.class_iri: t for t in self._types.values()}
        self.envelope = envelope
        #: Shapes and ontology in one rdflib graph, for pyshacl (``shacl_graph`` and ``ont_graph``).
        self.shapes_graph = shapes_graph

    @classmethod
    def load(cls, shapes_dir: Path, ontology_dir: Path) -> TypeRegistry:
        """Read every ``*.ttl`` of both folders; raise :class:`ShapeError` on any problem."""
        graph = Graph()
        for folder in (ontology_dir, shapes_dir):
            files = sorted(Path(folder).glob("*.ttl"))
            if not files:
                raise ShapeError(f"no .ttl files in {folder}")
            for path in files:
                try:
                    graph.parse(path, format="turtle")
                except Exception as exc:  # rdflib raises several unrelated types
                    raise ShapeError(f"{path}: cannot parse Turtle: {exc}") from exc
        reader = _Reader(graph)
        envelope = reader.envelope()
        types: dict[str, EventType] = {}
        names: dict[str, Node] = {}
        classes: dict[str, Node] = {}
        for shape in reader.node_shapes():
            if shape == URIRef(envelope.shape_iri):
                continue
            etype = reader.event_type(shape)
            for key, seen in ((etype.name, names), (etype.class_iri, classes)):
                if key in seen:
                    raise ShapeError(f"{_short(shape)}: {key} is already declared by {_short(seen[key])}")
                seen[key] = shape
            types[etype.name] = etype
        if not types:
            raise ShapeError(f"no event shapes (with tai:transactionType) in {shapes_dir}")
        return cls(types, envelope, graph)

    def get(self, name: str) -> EventType | None:
        """The type whose ``transaction_type`` is ``name``, or ``None``."""
        return self._types.get(name)

    def for_class(self, class_iri: str) -> EventType | None:
        """The type whose ontology class is ``class_iri``, or ``None``."""
        return self._by_class.get(class_iri)

    @property
    def names(self) -> tuple[str, ...]:
        """Every ``transaction_type``, sorted."""
        return tuple(sorted(self._types))

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[EventType]:
        return iter(self._types[name] for name in self.names)

    def __len__(self) -> int:
        return len(self._types)


def _short(node: Node | str) -> str:
    """``tai:amount`` rather than the full IRI, for messages."""
    text = str(node)
    for prefix, iri in (("tai:", TAI), ("sh:", SH), ("xsd:", XSD)):
        if text.startswith(iri):
            return prefix + text[len(iri) :]
    return text


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ShapeError(message)


class _Reader:
    """Reads shapes out of one rdflib graph, refusing what the fast validator cannot enforce."""

    def __init__(self, graph: Graph) -> None:
        self.g = graph

    def node_shapes(self) -> list[Node]:
        shapes: set[Node] = set(self.g.subjects(RDF.type, URIRef(SH + "NodeShape")))
        for target in _TARGETS:
            shapes.update(self.g.subjects(URIRef(SH + target), None))
        for shape in shapes:
            typed = (shape, URIRef(TAI + "transactionType"), None) in self.g or shape == URIRef(
                TAI + "EventShape"
            )
            _require(typed, f"{_short(shape)}: a node shape needs tai:transactionType")
        return sorted(shapes, key=str)

    def envelope(self) -> Envelope:
        shape = URIRef(TAI + "EventShape")
        targeted = (shape, URIRef(SH + "targetSubjectsOf"), URIRef(TAI + "eventId")) in self.g
        _require(targeted, "tai:EventShape is missing or lacks sh:targetSubjectsOf tai:eventId")
        self._only(shape, _NODE_TERMS | {SH + "targetSubjectsOf"}, "tai:EventShape")
        fields = self.fields(shape, "tai:EventShape")
        got = {name: (spec.kind, spec.required) for name, spec in fields.items()}
        expected = {"event_id": ("string", True), "timestamp": ("datetime", True)}
        _require(got == expected, f"tai:EventShape needs a required event_id and timestamp only, got {got}")
        return Envelope(str(shape), fields["event_id"], fields["timestamp"])

    def event_type(self, shape: Node) -> EventType:
        where = _short(shape)
        self._only(shape, _NODE_TERMS, where)
        name = self._string(shape, TAI + "transactionType", where)
        _require(
            bool(_NAME_RE.fullmatch(name)), f"{where}: tai:transactionType {name!r} must be [a-z][a-z0-9_]*"
        )
        where = f"{where} ({name})"
        cls = self._one(shape, SH + "targetClass", where)
        supers = set(self.g.transitive_objects(cls, RDFS.subClassOf))
        _require(
            URIRef(TAI + "Event") in supers, f"{where}: class {_short(cls)} must be rdfs:subClassOf tai:Event"
        )
        closed = self._one(shape, SH + "closed", where)
        _require(isinstance(closed, RdfLiteral) and closed.value is True, f"{where}: needs sh:closed true")
        ignored = {str(n) for n in self._list(self._one(shape, SH + "ignoredProperties", where), where)}
        missing = [_short(p) for p in ENVELOPE_PREDICATES if p not in ignored]
        _require(not missing, f"{where}: sh:ignoredProperties must include {', '.join(missing)}")
        fields = self.fields(shape, where)
        clash = [f.name for f in fields.values() if f.predicate in ENVELOPE_PREDICATES]
        _require(not clash, f"{where}: fields {clash} use an envelope predicate")
        measures = self.g.objects(shape, URIRef(TAI + "derivedMeasure"))
        derived = tuple(sorted((self.derived(d, fields, where) for d in measures), key=lambda d: d.predicate))
        label = self._optional(shape, str(RDFS.label), where)
        return EventType(name, str(cls), str(shape), fields, derived, None if label is None else str(label))

    def fields(self, shape: Node, where: str) -> dict[str, FieldSpec]:
        props = self.g.objects(shape, URIRef(SH + "property"))
        specs = sorted((self.field(p, where) for p in props), key=lambda s: s.name)
        out = {spec.name: spec for spec in specs}
        unique = len(out) == len(specs) == len({spec.predicate for spec in specs})
        _require(unique, f"{where}: a field name or predicate is declared twice")
        return out

    def field(self, prop: Node, where: str) -> FieldSpec:
        path = self._one(prop, SH + "path", where)
        _require(isinstance(path, URIRef), f"{where}: sh:path must be a single predicate IRI")
        name = self._string(prop, TAI + "field", f"{where} {_short(path)}")
        where = f"{where} field {name!r}"
        _require(bool(_FIELD_RE.fullmatch(name)), f"{where}: tai:field must match [A-Za-z_][A-Za-z0-9_]*")
        self._only(prop, _PROPERTY_TERMS, where)
        kind = _KINDS.get(str(self._one(prop, SH + "datatype", where)))
        _require(kind is not None, f"{where}: sh:datatype must be one of {', '.join(map(_short, _KINDS))}")
        assert kind is not None
        min_count = self._int(prop, SH + "minCount", where)
        single = min_count in (None, 0, 1) and self._int(prop, SH + "maxCount", where) == 1
        _require(single, f"{where}: needs sh:maxCount 1 and sh:minCount 0 or 1 (JSON fields hold one value)")
        bounds = {key: self._decimal(prop, SH + key, where, kind) for key in _RANGE_KEYS}
        pattern = self._optional(prop, SH + "pattern", where)
        flags = self._string(prop, SH + "flags", where) if self._optional(prop, SH + "flags", where) else ""
        try:
            rx = None if pattern is None else _regex(str(pattern), flags)
        except (re.error, ValueError) as exc:
            raise ShapeError(f"{where}: bad sh:pattern or sh:flags: {exc}") from exc
        if kind == "datetime":
            zoned = (
                rx is not None and not rx.search("2026-01-19T10:35:22") and rx.search("2026-01-19T10:35:22Z")
            )
            _require(bool(zoned), f"{where}: an xsd:dateTime needs a sh:pattern that refuses naive times")
        rollup_node = self._optional(prop, TAI + "rollup", where)
        rollup = None if rollup_node is None else _ROLLUPS.get(str(rollup_node))
        _require(
            rollup_node is None or rollup is not None, f"{where}: tai:rollup is tai:Dimension or tai:Measure"
        )
        numeric = kind in ("decimal", "integer")
        _require(rollup != "measure" or numeric, f"{where}: a tai:Measure must be xsd:decimal or xsd:integer")
        _require(rollup != "dimension" or kind != "decimal", f"{where}: a tai:Dimension cannot be a decimal")
        description = self._optional(prop, SH + "description", where)
        return FieldSpec(
            name=name,
            predicate=str(path),
            kind=kind,
            required=min_count == 1,
            enum=self._enum(prop, where, kind),
            min_inclusive=bounds["minInclusive"],
            max_inclusive=bounds["maxInclusive"],
            min_exclusive=bounds["minExclusive"],
            max_exclusive=bounds["maxExclusive"],
            pattern=None if pattern is None else str(pattern),
            flags=flags,
            min_length=self._int(prop, SH + "minLength", where),
            max_length=self._int(prop, SH + "maxLength", where),
            rollup=rollup,
            description=None if description is None else str(description),
        )

    def derived(self, node: Node, fields: Mapping[str, FieldSpec], where: str) -> DerivedMeasure:
        measure = self._one(node, TAI + "measure", f"{where} tai:derivedMeasure")
        where = f"{where} derived measure {_short(measure)}"
        operator = _OPERATORS.get(str(self._one(node, TAI + "operator", where)))
        _require(operator is not None, f"{where}: tai:operator must be tai:EqualCount or tai:AbsDifference")
        assert operator is not None
        by_predicate = {f.predicate: f for f in fields.values()}
        operands = [
            by_predicate.get(str(p)) for p in self._list(self._one(node, TAI + "operands", where), where)
        ]
        numeric = [f for f in operands if f is not None and f.kind in ("decimal", "integer")]
        _require(len(operands) == len(numeric) == 2, f"{where}: tai:operands must be two numeric fields")
        a, b = numeric
        kind: Kind = "integer" if operator == "EqualCount" or a.kind == b.kind == "integer" else "decimal"
        return DerivedMeasure(str(measure), operator, (a.name, b.name), kind)

    # --- small readers -------------------------------------------------------------------------

    def _only(self, node: Node, allowed: set[str], where: str) -> None:
        for pred in set(self.g.predicates(node, None)):
            ok = str(pred) in allowed or not str(pred).startswith((SH, TAI))
            _require(ok, f"{where}: {_short(pred)} is not supported here")

    def _optional(self, node: Node, pred: str, where: str) -> Node | None:
        values = list(self.g.objects(node, URIRef(pred)))
        _require(len(values) <= 1, f"{where}: more than one {_short(pred)}")
        return values[0] if values else None

    def _one(self, node: Node, pred: str, where: str) -> Node:
        value = self._optional(node, pred, where)
        _require(value is not None, f"{where}: needs a {_short(pred)}")
        assert value is not None
        return value

    def _string(self, node: Node, pred: str, where: str) -> str:
        value = self._one(node, pred, where)
        ok = isinstance(value, RdfLiteral) and isinstance(value.value, str)
        _require(ok, f"{where}: {_short(pred)} must be a string")
        return str(value)

    def _int(self, node: Node, pred: str, where: str) -> int | None:
        value = self._optional(node, pred, where)
        ok = value is None or (
            isinstance(value, RdfLiteral) and type(value.value) is int and value.value >= 0
        )
        _require(ok, f"{where}: {_short(pred)} must be a non-negative integer")
        return None if value is None else int(str(value))

    def _decimal(self, node: Node, pred: str, where: str, kind: Kind) -> Decimal | None:
        value = self._optional(node, pred, where)
        if value is None:
            return None
        _require(kind in ("decimal", "integer"), f"{where}: {_short(pred)} is only for numeric fields")
        numeric = isinstance(value, RdfLiteral) and str(value.datatype) in (XSD_INTEGER, XSD_DECIMAL)
        _require(numeric, f"{where}: {_short(pred)} must be an integer or decimal literal")
        return Decimal(str(value))

    def _enum(self, node: Node, where: str, kind: Kind) -> frozenset[str] | None:
        head = self._optional(node, SH + "in", where)
        if head is None:
            return None
        members = self._list(head, where)
        plain = all(isinstance(m, RdfLiteral) and m.datatype is None and m.language is None for m in members)
        _require(
            kind == "string" and plain, f'{where}: sh:in is only for xsd:string fields, with "..." members'
        )
        return frozenset(str(m) for m in members)

    def _list(self, head: Node, where: str) -> list[Node]:
        is_list = head == RDF.nil or (isinstance(head, (BNode, URIRef)) and (head, RDF.first, None) in self.g)
        _require(is_list, f"{where}: expected an RDF list ( ... )")
        return list(Collection(self.g, head))


def _re_flags(flags: str) -> int:
    table = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
    out = 0
    for char in flags:
        if char not in table:
            raise ValueError(f"unsupported flag {char!r}")
        out |= table[char]
    return out


def compile_pattern(spec: FieldSpec) -> re.Pattern[str] | None:
    """The field's ``sh:pattern`` as a Python regex with XPath semantics (``$`` = end of string)."""
    return None if spec.pattern is None else _regex(spec.pattern, spec.flags)


def _regex(pattern: str, flags: str) -> re.Pattern[str]:
    """Compile an XPath regex with ``sh:flags``; raises ``re.error`` or ``ValueError``."""
    bits = _re_flags(flags)
    return re.compile(pattern if bits & re.MULTILINE else _xpath_dollar(pattern), bits)


def _xpath_dollar(pattern: str) -> str:
    """Rewrite unescaped ``$`` outside character classes to ``\\Z``: Python's ``$`` also matches
    before a final newline, XPath's (SHACL's) does not."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)
