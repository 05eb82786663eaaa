"""Result formats of the SPARQL endpoint: content negotiation, and writers for collected results.

pyoxigraph can only serialise a live ``QuerySolutions`` iterator, all of it, with no deadline and no
row limit; :class:`~tai_graph.sparql.SparqlService` iterates solutions itself, so they are written
here. Output follows the W3C specs and matches pyoxigraph's own writer byte for byte on ordinary
data (the tests check it):

* `SPARQL 1.1 Query Results JSON <https://www.w3.org/TR/sparql11-results-json/>`_
* `SPARQL Query Results XML <https://www.w3.org/TR/rdf-sparql-XMLres/>`_
* `SPARQL 1.1 Query Results CSV and TSV <https://www.w3.org/TR/sparql11-results-csv-tsv/>`_

RDF 1.2 terms are written as pyoxigraph writes them: triple terms (``"type": "triple"``,
``<triple>``, ``<<( s p o )>>``) and directional language tags (``its:dir``, ``@ar--rtl``).
CSV and TSV do not define a boolean; an ASK answer is written as ``true`` or ``false`` there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

import pyoxigraph as ox

from tai_graph.errors import NotAcceptable
from tai_graph.mediatypes import parse_accept, quality

__all__ = [
    "GRAPH_FORMATS",
    "RESULT_FORMATS",
    "QueryForm",
    "ResultFormat",
    "ResultTerm",
    "ResultsSyntax",
    "negotiate",
    "write_boolean",
    "write_graph",
    "write_solutions",
]

QueryForm = Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"]
ResultTerm = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
ResultsSyntax = Literal["json", "xml", "csv", "tsv"]

_XSD = "http://www.w3.org/2001/XMLSchema#"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#: Datatypes a results document leaves implicit (simple and language-tagged strings).
_IMPLICIT = frozenset({_XSD + "string", _RDF + "langString", _RDF + "dirLangString"})
#: Turtle's short forms, used by TSV only when the lexical form is already in that grammar.
_SHORT = {
    _XSD + "integer": re.compile(r"[+-]?[0-9]+"),
    _XSD + "decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    _XSD + "double": re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)[eE][+-]?[0-9]+"),
    _XSD + "boolean": re.compile(r"true|false"),
}
_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
#: Characters XML 1.0 cannot carry at all, not even as a character reference.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"})
_XML_ATTR = str.maketrans(
    {"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)
_CSV_QUOTE = re.compile('[",\r\n]')


@dataclass(frozen=True, slots=True)
class ResultFormat:
    """A result syntax: ``name`` (also the ``format=`` value), the ``media_type`` answered (an
    alias the caller asked for by name, e.g. ``application/json``, is echoed) and whether it is
    for graphs (CONSTRUCT, DESCRIBE) or for solutions and booleans (SELECT, ASK)."""

    name: str
    media_type: str
    graph: bool
    aliases: tuple[str, ...] = ()


#: In order of preference: the first is the default.
RESULT_FORMATS = (
    ResultFormat("json", "application/sparql-results+json", False, ("application/json",)),
    ResultFormat("xml", "application/sparql-results+xml", False, ("application/xml", "text/xml")),
    ResultFormat("csv", "text/csv", False),
    ResultFormat("tsv", "text/tab-separated-values", False),
)
GRAPH_FORMATS = (
    ResultFormat("turtle", "text/turtle", True, ("application/turtle", "application/x-turtle")),
    ResultFormat("ntriples", "application/n-triples", True),
    ResultFormat("rdfxml", "application/rdf+xml", True, ("application/xml", "text/xml")),
    ResultFormat("jsonld", "application/ld+json", True),
)
_RDF_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "jsonld": ox.RdfFormat.JSON_LD,
}
#: ``format=`` spellings (SPARQLWrapper sends json, xml, csv, tsv, turtle, n3, rdf+xml, json-ld).
_FORMAT_NAMES = {
    False: {"json": "json", "xml": "xml", "csv": "csv", "tsv": "tsv"},
    True: {
        **{n: "turtle" for n in ("turtle", "ttl", "n3")},
        **{n: "ntriples" for n in ("ntriples", "n-triples", "nt")},
        **{n: "rdfxml" for n in ("rdfxml", "rdf+xml", "rdf", "xml")},
        **{n: "jsonld" for n in ("jsonld", "json-ld", "json")},
    },
}


def negotiate(form: QueryForm, accept: str | None, format_param: str | None) -> ResultFormat:
    """The result format for ``form``: ``format_param`` (a name such as ``csv`` or a media type)
    wins over ``accept``; without either, SPARQL Results JSON or Turtle.

    ``accept`` is read per RFC 9110: the most specific matching range sets a type's q-value, the
    highest q wins, then the more specific range, then the server's order. Raises
    :class:`NotAcceptable` when nothing offered is acceptable.
    """
    graph = form in ("CONSTRUCT", "DESCRIBE")
    offered = GRAPH_FORMATS if graph else RESULT_FORMATS
    if format_param is not None and format_param.strip():
        wanted = format_param.strip().lower()
        name = _FORMAT_NAMES[graph].get(wanted)
        for fmt in offered:
            if fmt.name == name or wanted == fmt.media_type:
                return fmt
            if wanted in fmt.aliases:
                return replace(fmt, media_type=wanted)
        raise _not_acceptable(form, offered, f"format={format_param!r}")
    if accept is None or not accept.strip():
        return offered[0]
    ranges = parse_accept(accept)
    best: tuple[float, int, int] | None = None
    chosen = offered[0]
    for rank, fmt in enumerate(offered):
        for media_type in (fmt.media_type, *fmt.aliases):
            q, specificity = quality(media_type, ranges)
            if media_type != fmt.media_type and specificity < 2:
                continue  # aliases count when named, not through wildcards
            key = (q, specificity, -rank)
            if q > 0 and (best is None or key > best):
                best = key
                chosen = replace(fmt, media_type=media_type) if specificity == 2 else fmt
    if best is None:
        raise _not_acceptable(form, offered, f"Accept: {accept}")
    return chosen


def _not_acceptable(form: QueryForm, offered: tuple[ResultFormat, ...], asked: str) -> NotAcceptable:
    choices = ", ".join(f"{f.media_type} (format={f.name})" for f in offered)
    return NotAcceptable(
        f"no result format for a {form} query matches {asked}; available: {choices}",
        details={"available": [f.media_type for f in offered]},
    )


def write_graph(fmt: ResultFormat, triples: Sequence[ox.Triple]) -> bytes:
    """A CONSTRUCT or DESCRIBE result, with pyoxigraph's writers.

    Raises :class:`NotAcceptable` when the triples cannot be written in ``fmt`` (JSON-LD has no
    triple terms).
    """
    try:
        return cast(bytes, ox.serialize(triples, format=_RDF_FORMATS[fmt.name]))
    except (ValueError, OSError) as exc:
        raise NotAcceptable(f"the result cannot be written as {fmt.media_type}: {exc}") from None


def write_solutions(
    syntax: ResultsSyntax, variables: Sequence[str], rows: Iterable[Sequence[ResultTerm | None]]
) -> bytes:
    """A SELECT result; each row holds one term (or ``None`` when unbound) per variable.

    Raises :class:`NotAcceptable` when a literal holds a character XML 1.0 cannot carry.
    """
    if syntax == "json":
        return _json(
            {
                "head": {"vars": list(variables)},
                "results": {
                    "bindings": [
                        {v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None}
                        for row in rows
                    ]
                },
            }
        )
    if syntax == "xml":
        return _xml_solutions(variables, rows)
    if syntax == "csv":
        lines = [",".join(_csv_field(v) for v in variables)]
        lines += [",".join("" if t is None else _csv_field(_csv_term(t)) for t in row) for row in rows]
        return ("\r\n".join(lines) + "\r\n").encode()
    lines = ["\t".join("?" + v for v in variables)]
    lines += ["\t".join("" if t is None else _tsv_term(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def write_boolean(syntax: ResultsSyntax, value: bool) -> bytes:
    """An ASK result."""
    text = "true" if value else "false"
    if syntax == "json":
        return _json({"head": {}, "boolean": value})
    if syntax == "xml":
        return (
            '<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head></head><boolean>{text}</boolean></sparql>"
        ).encode()
    return text.encode()


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _json_term(term: ResultTerm) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language is not None:
            out["xml:lang"] = term.language
            if term.direction is not None:
                out["its:dir"] = str(term.direction)
        elif term.datatype.value not in _IMPLICIT:
            out["datatype"] = term.datatype.value
        return out
    return {
        "type": "triple",
        "value": {
            "subject": _json_term(term.subject),
            "predicate": _json_term(term.predicate),
            "object": _json_term(term.object),
        },
    }


def _xml_solutions(variables: Sequence[str], rows: Iterable[Sequence[ResultTerm | None]]) -> bytes:
    parts = ['<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    parts += [f'<variable name="{_xml_attr(v)}"/>' for v in variables]
    parts.append("</head><results>")
    names = [_xml_attr(v) for v in variables]
    for row in rows:
        parts.append("<result>")
        for name, term in zip(names, row, strict=True):
            if term is not None:
                parts.append(f'<binding name="{name}">{_xml_term(term)}</binding>')
        parts.append("</result>")
    parts.append("</results></sparql>")
    return "".join(parts).encode()


def _xml_term(term: ResultTerm) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml_text(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml_text(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        attrs = ""
        if term.language is not None:
            attrs = f' xml:lang="{_xml_attr(term.language)}"'
            if term.direction is not None:
                attrs += (
                    f' its:dir="{term.direction}" xmlns:its="http://www.w3.org/2005/11/its" its:version="2.0"'
                )
        elif term.datatype.value not in _IMPLICIT:
            attrs = f' datatype="{_xml_attr(term.datatype.value)}"'
        return f"<literal{attrs}>{_xml_text(term.value)}</literal>"
    return (
        f"<triple><subject>{_xml_term(term.subject)}</subject>"
        f"<predicate>{_xml_term(term.predicate)}</predicate>"
        f"<object>{_xml_term(term.object)}</object></triple>"
    )


def _xml_text(text: str) -> str:
    _check_xml(text)
    return text.translate(_XML_TEXT)


def _xml_attr(text: str) -> str:
    _check_xml(text)
    return text.translate(_XML_ATTR)


def _check_xml(text: str) -> None:
    bad = _NOT_XML.search(text)
    if bad is not None:
        raise NotAcceptable(
            f"the result holds the character U+{ord(bad.group()):04X}, which XML 1.0 cannot carry; "
            "ask for JSON, CSV or TSV instead",
            details={"format": "xml"},
        )


def _csv_term(term: ResultTerm) -> str:
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Triple):
        return " ".join(_csv_term(t) for t in (term.subject, term.predicate, term.object))
    return term.value


def _csv_field(text: str) -> str:
    if _CSV_QUOTE.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _tsv_term(term: ResultTerm) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Triple):
        parts = (_tsv_term(t) for t in (term.subject, term.predicate, term.object))
        return "<<( {} {} {} )>>".format(*parts)
    value, datatype = term.value, term.datatype.value
    short = _SHORT.get(datatype)
    if short is not None and short.fullmatch(value):
        return value
    quoted = '"' + value.translate(_TSV_ESCAPES) + '"'
    if term.language is not None:
        direction = f"--{term.direction}" if term.direction is not None else ""
        return f"{quoted}@{term.language}{direction}"
    if datatype == _XSD + "string":
        return quoted
    return f"{quoted}^^<{datatype}>"
