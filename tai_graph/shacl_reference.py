"""The reference path: pyshacl over the validation mapping of JSON events.

Slow (hundreds of events per second) and used by tests and benchmarks to prove that
:class:`tai_graph.validation.Validator` reports what SHACL says. The *validation mapping* keeps
what the JSON said (docs/design.md, "Validation"): each event is the node
``urn:tai:validation:{index}``; a naive timestamp keeps its lexical form; values map through
:func:`tai_graph.validation.to_term`; an object or array is a blank node; an unknown data field is
the predicate ``urn:tai:field:{name}`` and an unknown envelope key ``urn:tai:envelope:{name}``
(percent-encoded). ``customer_id``, ``transaction_type`` and ``data`` are not predicates, so the
envelope rules outside SHACL (``tai:json``, ``tai:transactionType``, ``tai:customerId``) are
invisible here.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from pyshacl import validate
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from tai_graph.model import JSON, Violation
from tai_graph.schema import XSD_STRING, FieldSpec, TypeRegistry
from tai_graph.validation import ENVELOPE_KEYS, to_term

SH = Namespace("http://www.w3.org/ns/shacl#")
_SUBJECT = "urn:tai:validation:"
_FIELD = "urn:tai:field:"
_ENVELOPE = "urn:tai:envelope:"


def term_node(value: JSON, spec: FieldSpec | None) -> Node:
    """The rdflib node of one JSON value in the validation mapping (``spec=None``: unknown key)."""
    if spec is None:
        return (
            RDF.nil if value is None else BNode() if isinstance(value, (dict, list)) else Literal(str(value))
        )
    term = to_term(value, spec.kind)
    if term.datatype is None:
        return BNode()
    if term.datatype == XSD_STRING:
        return Literal(term.lexical)
    return Literal(term.lexical, datatype=URIRef(term.datatype), normalize=False)


def validation_graph(raws: list[JSON], registry: TypeRegistry) -> Graph:
    """The validation mapping of a batch: one node per event object, by position."""
    graph = Graph()
    envelope = (registry.envelope.event_id, registry.envelope.timestamp)
    for index, raw in enumerate(raws):
        if not isinstance(raw, dict):
            continue
        subject = URIRef(f"{_SUBJECT}{index}")
        name = raw.get("transaction_type")
        etype = registry.get(name) if isinstance(name, str) else None
        if etype is not None:
            graph.add((subject, RDF.type, URIRef(etype.class_iri)))
        for spec in envelope:
            if raw.get(spec.name) is not None:
                graph.add((subject, URIRef(spec.predicate), term_node(raw[spec.name], spec)))
        for key, value in raw.items():
            if key not in ENVELOPE_KEYS:
                graph.add((subject, URIRef(_ENVELOPE + quote(key, safe="")), term_node(value, None)))
        data = raw.get("data")
        if etype is None or not isinstance(data, dict):
            continue
        for key, value in data.items():
            field = etype.fields.get(key)
            if field is None:
                graph.add((subject, URIRef(_FIELD + quote(key, safe="")), term_node(value, None)))
            elif value is not None:
                graph.add((subject, URIRef(field.predicate), term_node(value, field)))
    return graph


def validate_with_pyshacl(raws: list[JSON], registry: TypeRegistry, customer_id: str) -> list[Violation]:
    """Violations pyshacl finds in a batch, as ``(event index, field, rule)`` with value and message.

    One pyshacl run over the whole batch, with ``registry.shapes_graph`` as shapes and ontology
    (so ``sh:targetClass tai:Event`` reaches every typed event). ``customer_id`` is accepted for
    symmetry with :meth:`Validator.validate`; the tenant is not part of the mapping.
    """
    del customer_id  # the named graph is not part of the validation mapping
    graph = validation_graph(raws, registry)
    shapes = registry.shapes_graph
    _, report, _ = validate(graph, shacl_graph=shapes, ont_graph=shapes, inference="none", advanced=False)
    out: list[Violation] = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = str(report.value(result, SH.focusNode))
        index = int(focus[len(_SUBJECT) :])
        raw = raws[index]
        component = str(report.value(result, SH.sourceConstraintComponent)).rsplit("#", 1)[-1]
        rule = "sh:" + component[0].lower() + component[1 : -len("ConstraintComponent")]
        field, value = _field(str(report.value(result, SH.resultPath)), raw, registry)
        event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
        message = str(report.value(result, SH.resultMessage) or rule)
        out.append(Violation(event_id, field, rule, message, value, index))
    out.sort(key=lambda v: (v.index or 0, v.field, v.rule))
    return out


def _field(path: str, raw: dict[str, JSON], registry: TypeRegistry) -> tuple[str, JSON]:
    """JSON field name and value of a result path."""
    data = raw["data"] if isinstance(raw.get("data"), dict) else {}
    if path.startswith(_FIELD):
        key = unquote(path[len(_FIELD) :])
        return "data." + key, data.get(key)
    if path.startswith(_ENVELOPE):
        key = unquote(path[len(_ENVELOPE) :])
        return key, raw.get(key)
    for spec in (registry.envelope.event_id, registry.envelope.timestamp):
        if spec.predicate == path:
            return spec.name, raw.get(spec.name)
    etype = registry.get(raw["transaction_type"])
    assert etype is not None, "only typed events have data results"
    for spec in etype.fields.values():
        if spec.predicate == path:
            return "data." + spec.name, data.get(spec.name)
    return path, None
