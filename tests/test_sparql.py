"""The read-only SPARQL service: guard, negotiation, formats, scope, limits, timeouts, slots."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import random
import socketserver
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.plugins.stores.sparqlconnector import SPARQLConnector
from SPARQLWrapper import CSV, JSON, JSONLD, N3, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from tai_graph.config import resource_dir
from tai_graph.errors import (
    ForbiddenQuery,
    InvalidQuery,
    NotAcceptable,
    QueryTimeout,
    TaiGraphError,
    TooLarge,
    Unavailable,
)
from tai_graph.sparql import MAX_QUERY_BYTES, SparqlService, check_query, negotiate
from tai_graph.store import OxigraphStore, QueryScope

ACME, GLOBEX, BIG = "urn:tai:acme", "urn:tai:globex", "urn:tai:big"
TAI = "https://w3id.org/tai-graph/ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SCOPE = QueryScope((ACME,))
PREFIX = f"PREFIX tai: <{TAI}> PREFIX xsd: <{XSD}>\n"


def nn(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


#: Values that break naive writers: quotes, line breaks, separators, unicode, tags, datatypes.
TRICKY: list[ox.NamedNode | ox.BlankNode | ox.Literal] = [
    ox.Literal('say "hi"\nsecond line\tand a tab'),
    ox.Literal("carriage\rreturn, comma; and \\ backslash"),
    ox.Literal("naïve café 😀 日本語 <tag> & ampersand"),
    ox.Literal(""),
    ox.Literal("Bonjour", language="fr"),
    ox.Literal("colour", language="en-gb"),
    ox.Literal("مرحبا", language="ar", direction=ox.BaseDirection.RTL),
    ox.Literal("19.99", datatype=nn(XSD + "decimal")),
    ox.Literal("-5", datatype=nn(XSD + "integer")),
    ox.Literal("true", datatype=nn(XSD + "boolean")),
    ox.Literal("not a number", datatype=nn(XSD + "integer")),
    ox.Literal("2026-01-19T10:35:22Z", datatype=nn(XSD + "dateTime")),
    ox.Literal("x", datatype=nn("http://example.com/dt?a=1&b=2")),
    nn("http://example.com/a?b=1&c=2#frag"),
    ox.BlankNode("b1"),
]


def load(store: OxigraphStore) -> None:
    quads = [
        ox.Quad(nn(f"{ACME}:event:E{i}"), nn(TAI + "value"), term, nn(ACME)) for i, term in enumerate(TRICKY)
    ]
    quads += [ox.Quad(nn(f"{ACME}:event:E{i}"), nn(TAI + "n"), ox.Literal(i), nn(ACME)) for i in range(5)]
    quads.append(ox.Quad(ox.BlankNode("b1"), nn(TAI + "label"), ox.Literal("a blank node"), nn(ACME)))
    quads += [
        ox.Quad(nn(f"{GLOBEX}:event:G{i}"), nn(TAI + "value"), ox.Literal(f"secret {i}"), nn(GLOBEX))
        for i in range(3)
    ]
    store.raw.extend(quads)


@pytest.fixture(params=["disk", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OxigraphStore]:
    s = OxigraphStore(tmp_path / "store" if request.param == "disk" else None)
    load(s)
    yield s
    s.close()


@pytest.fixture
def service(store: OxigraphStore) -> SparqlService:
    return SparqlService(store, timeout_s=10, result_limit=1000, max_concurrent=2)


@pytest.fixture(scope="module")
def big_store() -> OxigraphStore:
    """1,500 triples: a self cross product is 2.25 million rows."""
    s = OxigraphStore()
    s.raw.extend(ox.Quad(nn(f"{BIG}:{i}"), nn(TAI + "n"), ox.Literal(str(i)), nn(BIG)) for i in range(1500))
    return s


def solutions(store: OxigraphStore, query: str) -> ox.QuerySolutions:
    """pyoxigraph run directly on the same query and scope, for reference."""
    default: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [nn(g) for g in SCOPE.graphs]
    named: list[ox.NamedNode | ox.BlankNode] = [nn(g) for g in SCOPE.graphs]
    result = store.raw.query(query, default_graph=default, named_graphs=named)
    assert isinstance(result, ox.QuerySolutions)
    return result


def reference(store: OxigraphStore, query: str, fmt: ox.QueryResultsFormat) -> bytes:
    """pyoxigraph's own writer on the same query and scope."""
    out = solutions(store, query).serialize(format=fmt)
    assert out is not None
    return out


def direct(store: OxigraphStore, query: str) -> list[tuple[object, ...]]:
    return [tuple(s) for s in solutions(store, query)]


def parsed(body: bytes, fmt: ox.QueryResultsFormat) -> list[tuple[object, ...]]:
    result = ox.parse_query_results(body, fmt)
    assert isinstance(result, ox.QuerySolutions)
    return [tuple(s) for s in result]


def drain(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples) -> None:
    if not isinstance(result, ox.QueryBoolean):
        for _ in result:
            pass


def wait_idle(service: SparqlService, limit_s: float = 60) -> None:
    end = time.monotonic() + limit_s
    while service.running and time.monotonic() < end:
        time.sleep(0.01)
    assert service.running == 0


# --- guard ---------------------------------------------------------------------------------------

ALLOWED = {
    'SELECT * WHERE { ?s <http://x/SERVICE> "SERVICE" }': "SELECT",
    "PREFIX ex: <http://x/> SELECT ?service WHERE { ?service ex:service 'service' }": "SELECT",
    "# a SERVICE mentioned in a comment\nselect * { ?s ?p ?o }": "SELECT",
    "BASE <http://x/> PREFIX : <y#> ask { ?s ?p '''SERVICE\n<http://e/> {}''' }": "ASK",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }": "CONSTRUCT",
    "CONSTRUCT WHERE { ?s ?p ?o }": "CONSTRUCT",
    "describe <urn:tai:acme:event:E1>": "DESCRIBE",
    "SELECT * { ?s ?p ?o FILTER(?o = '1'^^<http://www.w3.org/2001/XMLSchema#integer>) }": "SELECT",
    "SELECT * { ?s ?p ?o FILTER(?o IN (<http://x#a>, <http://x#b>)) FILTER(?o<?s) }": "SELECT",
    "SELECT * { ?s ?p ?o VALUES (?a ?b) { (<http://x#a> <http://x#b>) } }": "SELECT",
    'SELECT * { ?s ?p "a\\"SERVICE" . ?s ?p "\\u0022" }': "SELECT",
}


@pytest.mark.parametrize(("query", "form"), ALLOWED.items())
def test_guard_allows_and_finds_the_form(query: str, form: str) -> None:
    assert check_query(query) == form


FEDERATED = [
    "SELECT * { SERVICE <http://127.0.0.1:{port}/> { ?s ?p ?o } }",
    "select * { service <http://127.0.0.1:{port}/> {?s ?p ?o} }",
    "SELECT * { SERVICE SILENT <http://127.0.0.1:{port}/> { ?s ?p ?o } }",
    "SELECT * { ?s ?p ?o # a comment\n SERVICE <http://127.0.0.1:{port}/> { ?s ?p ?o } }",
    "SELECT * { ?s ?p ?o } #\r SERVICE",
    "SELECT*{SERVICE<http://127.0.0.1:{port}/>{?s ?p ?o}}",
    "PREFIX : <http://127.0.0.1:{port}/> SELECT * { SERVICE:x { ?s ?p ?o } }",
    "PREFIX ex: <http://127.0.0.1:{port}/> SELECT * { SERVICEex:x { ?s ?p ?o } }",
    "PREFIX ex: <http://127.0.0.1:{port}/> SELECT * { SERVICESILENT ex:x { ?s ?p ?o } }",
    "SELECT * { ?s ?p trueSERVICE <http://127.0.0.1:{port}/> { ?a ?b ?c } }",
    "PREFIX ex: <http://127.0.0.1:{port}/> SELECT * { ?s ?p ex:a.b.SERVICE <http://127.0.0.1:{port}/> {} }",
    "SELECT * { ?s ?p ?o FILTER EXISTS { SERVICE <http://127.0.0.1:{port}/> { ?s ?p ?o } } }",
    "SELECT * { VALUES ?u { <http://127.0.0.1:{port}/> } SERVICE ?u { ?s ?p ?o } }",
    "ASK { SERVICE <http://127.0.0.1:{port}/> { ?s ?p ?o } }",
    "CONSTRUCT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:{port}/> { ?s ?p ?o } }",
    "PREFIX service: <http://127.0.0.1:{port}/> SELECT * { ?s ?p service:o }",
]
# '<' after a value inside parentheses is less-than for the parser; a naive lexer reads an IRI and
# misses what follows. Each of these makes pyoxigraph connect when run directly.
AMBIGUOUS = [
    "SELECT * { ?s ?p ?o FILTER(?o<?b&&')>\"')SERVICE<http://127.0.0.1:{port}/>{?s ?p ?o}#\"\n}",
    'SELECT * { ?s ?p ?o FILTER(?o<?b#>"""\n)SERVICE<http://127.0.0.1:{port}/>{?s ?p ?o}\n#"""\n}',
    'PREFIX : <http://127.0.0.1:{port}/> SELECT * { ?s ?p ?o FILTER(?o<(?b>1)&&?c<?v#>"""\n'
    ') SERVICE :x {?s ?p ?o} #"""\n}',
]
UPDATES = [
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "DELETE WHERE { ?s ?p ?o }",
    "LOAD <http://127.0.0.1:{port}/data.ttl>",
    "LOAD SILENT <http://127.0.0.1:{port}/data.ttl> INTO GRAPH <urn:tai:acme>",
    "CLEAR ALL",
    "DROP GRAPH <urn:tai:acme>",
    "CREATE GRAPH <urn:x>",
    "ADD <urn:tai:globex> TO <urn:tai:acme>",
    "MOVE DEFAULT TO <urn:x>",
    "COPY <urn:tai:globex> TO <urn:tai:acme>",
    "WITH <urn:tai:acme> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "PREFIX ex: <http://x/> insert data { ex:a ex:b ex:c }",
    "SELECT * { ?s ?p ?o } ; DROP ALL",
]


@pytest.mark.parametrize("query", FEDERATED)
def test_guard_refuses_federation(query: str) -> None:
    with pytest.raises(ForbiddenQuery, match="never opens outbound connections") as info:
        check_query(query.replace("{port}", "9"))
    assert info.value.details == {"rule": "federation"}


@pytest.mark.parametrize("query", AMBIGUOUS)
def test_guard_refuses_an_ambiguous_less_than(query: str) -> None:
    with pytest.raises(ForbiddenQuery) as info:
        check_query(query.replace("{port}", "9"))
    assert info.value.details["rule"] in ("ambiguous", "federation")


@pytest.mark.parametrize("query", UPDATES)
def test_guard_refuses_updates(query: str) -> None:
    with pytest.raises(ForbiddenQuery, match="read-only") as info:
        check_query(query.replace("{port}", "9"))
    assert info.value.details == {"rule": "read-only"}


@pytest.mark.parametrize("query", ["", "   \n\t", "# only a comment\n# and another"])
def test_guard_refuses_an_empty_query(query: str) -> None:
    with pytest.raises(ForbiddenQuery, match="empty"):
        check_query(query)


@pytest.mark.parametrize("path", sorted(resource_dir("queries").glob("*.rq")), ids=lambda p: p.name)
def test_guard_allows_every_shipped_query(path: Path) -> None:
    assert check_query(path.read_text(encoding="utf-8")) in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")


def test_guard_refuses_oversized_and_non_queries() -> None:
    padding = "#" + "x" * MAX_QUERY_BYTES + "\n"
    with pytest.raises(TooLarge, match="65,536-byte limit"):
        check_query(padding + "SELECT * {}")
    assert check_query("SELECT * {}", max_bytes=11) == "SELECT"
    with pytest.raises(InvalidQuery, match="expected SELECT") as info:
        check_query("FOO BAR")
    assert not isinstance(info.value, ForbiddenQuery)
    with pytest.raises(InvalidQuery, match="Unicode"):
        check_query("SELECT * { ?s ?p '\ud800' }")


# --- nothing a client sends opens a connection -------------------------------------------------


class _Recorder(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.connections += 1  # type: ignore[attr-defined]
        self.request.recv(65536)
        body = b'{"head":{"vars":[]},"results":{"bindings":[]}}'
        self.request.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )


@pytest.fixture
def listener() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Recorder)
    server.daemon_threads = True
    server.connections = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_service_is_refused_before_the_store_sees_it(
    service: SparqlService, store: OxigraphStore, listener: socketserver.ThreadingTCPServer
) -> None:
    port = listener.server_address[1]
    # The control: run directly, pyoxigraph does connect, so the listener would notice.
    with contextlib.suppress(RuntimeError):  # the listener's answer is not valid JSON results
        drain(store.raw.query(f"SELECT * {{ SERVICE <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}"))
    assert listener.connections == 1  # type: ignore[attr-defined]
    for query in [*FEDERATED, *AMBIGUOUS, *UPDATES]:
        with pytest.raises(ForbiddenQuery):
            service.run(query.replace("{port}", str(port)), scope=SCOPE)
    # FROM names a graph in the store; the scope replaces it and nothing is fetched.
    answer = service.run(f"SELECT ?o FROM <http://127.0.0.1:{port}/> {{ ?s ?p ?o }}", scope=SCOPE)
    assert answer.row_count > 0
    assert listener.connections == 1  # type: ignore[attr-defined]


def test_guard_agrees_with_the_parser_on_mutated_queries(listener: socketserver.ThreadingTCPServer) -> None:
    """Random edits of queries around SERVICE clauses: whatever passes the guard, pyoxigraph runs
    without connecting (about a third of the corpus parses; a quarter would connect unguarded)."""
    url = f"http://127.0.0.1:{listener.server_address[1]}/"
    store = ox.Store()
    store.add(ox.Quad(nn("http://a"), nn("http://b"), ox.Literal("c"), nn(ACME)))
    pieces = [
        "?s ?p ?o", "?s <http://p> ?o", '?s ?p "lit"', "?s ?p 'x'", '?s ?p """a\nb"""', "?s ?p ex:a.b",
        "?s ?p _:b1", "?s ?p 1.5", "?s ?p true", '?s ?p "x"@en', "FILTER(?o < ?b)", "FILTER(?o<?b)",
        "FILTER(?o = <http://x/#a>)", "FILTER(?o IN (<a:b>, <c:d#'>))", 'FILTER(REGEX(?o, "SERVICE"))',
        "FILTER(?o<?b||?b>?o)", "BIND(<http://x/> AS ?z)", "VALUES (?a ?b) { (<x:1#a> <x:2#b>) }",
        "OPTIONAL { ?s ?p ?o }", "MINUS { ?s <http://q> ?o }", "?s ?p (<x:a> <x:b>)", "?s ?p [ ?q ?r ]",
        f"SERVICE <{url}> {{?s ?p ?o}}", f"SERVICE SILENT <{url}> {{}}", "SERVICE ex:x {?s ?p ?o}",
        f"service<{url}>{{}}", "SERVICE:x{}",
    ]  # fmt: skip
    glue = [" ", "", "\n", " . ", "#c\n"]
    edits = ["<", ">", "#", "'", '"', '"""', "\n", "(", ")", "{", "}", "&&", "\\", ".", "?", ":", "_:", "@"]
    rng = random.Random(20260119)
    passed = 0
    for _ in range(3000):
        body = "".join(rng.choice(pieces) + rng.choice(glue) for _ in range(rng.randint(1, 5)))
        query = f"PREFIX : <{url}> PREFIX ex: <{url}> SELECT * WHERE {{ ?s ?p ?o . {body} }}"
        for _ in range(rng.randint(0, 3)):
            i = rng.randrange(len(query) + 1)
            query = query[:i] + rng.choice([*edits, ""]) + query[i + rng.randint(0, 1) :]
        try:
            check_query(query)
        except TaiGraphError:
            continue
        passed += 1
        with contextlib.suppress(SyntaxError, RuntimeError, ValueError):
            drain(store.query(query, default_graph=nn(ACME), named_graphs=[nn(ACME)]))
    assert passed > 300
    assert listener.connections == 0  # type: ignore[attr-defined]


# --- scope ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "sees_acme"),
    [
        ("SELECT ?s ?o WHERE { ?s ?p ?o }", True),
        (f"SELECT ?s ?o FROM <{GLOBEX}> WHERE {{ ?s ?p ?o }}", True),
        (f"SELECT ?s ?o FROM NAMED <{GLOBEX}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", True),
        ("SELECT ?s ?o WHERE { GRAPH ?g { ?s ?p ?o } }", True),
        (f"SELECT ?s ?o WHERE {{ GRAPH <{GLOBEX}> {{ ?s ?p ?o }} }}", False),
        (
            f"SELECT ?s ?o FROM <{GLOBEX}> FROM NAMED <{GLOBEX}> WHERE {{ GRAPH <{GLOBEX}> {{ ?s ?p ?o }} }}",
            False,
        ),
    ],
)
def test_a_query_sees_only_its_scope(service: SparqlService, query: str, sees_acme: bool) -> None:
    """The scope replaces FROM and FROM NAMED: the caller's graph is the default graph and the
    only named graph."""
    for scope, mine, theirs in [(SCOPE, "acme", "globex"), (QueryScope((GLOBEX,)), "globex", "acme")]:
        bindings = json.loads(service.run(query, scope=scope).body)["results"]["bindings"]
        subjects = {b["s"]["value"] for b in bindings if b["s"]["type"] == "uri"}
        assert not any(theirs in s for s in subjects)
        assert any(mine in s for s in subjects) == (sees_acme or mine == "globex")


def test_an_empty_scope_sees_nothing(service: SparqlService) -> None:
    answer = service.run("SELECT * { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }", scope=QueryScope(()))
    assert answer.row_count == 0


# --- formats -------------------------------------------------------------------------------------

TRICKY_QUERY = (
    PREFIX
    + "SELECT ?e ?v ?missing WHERE { ?e tai:value ?v OPTIONAL { ?e tai:nothing ?missing } } ORDER BY ?v"
)


def test_json_results(service: SparqlService, store: OxigraphStore) -> None:
    answer = service.run(TRICKY_QUERY, scope=SCOPE)
    assert (answer.media_type, answer.form, answer.row_count) == (
        "application/sparql-results+json",
        "SELECT",
        len(TRICKY),
    )
    assert answer.body == reference(store, TRICKY_QUERY, ox.QueryResultsFormat.JSON)
    doc = json.loads(answer.body)
    assert doc["head"]["vars"] == ["e", "v", "missing"]
    values = {json.dumps(b["v"], sort_keys=True) for b in doc["results"]["bindings"]}
    assert (
        json.dumps({"type": "literal", "value": 'say "hi"\nsecond line\tand a tab'}, sort_keys=True) in values
    )
    assert json.dumps({"type": "literal", "value": "Bonjour", "xml:lang": "fr"}, sort_keys=True) in values
    assert (
        json.dumps({"type": "literal", "value": "19.99", "datatype": XSD + "decimal"}, sort_keys=True)
        in values
    )
    assert json.dumps({"type": "bnode", "value": "b1"}, sort_keys=True) in values
    assert all("missing" not in b for b in doc["results"]["bindings"])


def test_xml_results(service: SparqlService, store: OxigraphStore) -> None:
    answer = service.run(TRICKY_QUERY, scope=SCOPE, accept="application/sparql-results+xml")
    assert answer.media_type == "application/sparql-results+xml"
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    root = ET.fromstring(answer.body)
    assert [v.get("name") for v in root.findall("r:head/r:variable", ns)] == ["e", "v", "missing"]
    literals = {
        (lit.text or "", lit.get("{http://www.w3.org/XML/1998/namespace}lang"), lit.get("datatype"))
        for lit in root.iter("{http://www.w3.org/2005/sparql-results#}literal")
    }
    assert ("carriage\rreturn, comma; and \\ backslash", None, None) in literals  # \r survives XML
    assert ("naïve café 😀 日本語 <tag> & ampersand", None, None) in literals
    assert ("colour", "en-gb", None) in literals
    assert ("x", None, "http://example.com/dt?a=1&b=2") in literals
    assert ("", None, None) in literals
    assert not root.findall(".//r:binding[@name='missing']", ns)
    assert parsed(answer.body, ox.QueryResultsFormat.XML) == direct(store, TRICKY_QUERY)


def test_csv_results(service: SparqlService, store: OxigraphStore) -> None:
    answer = service.run(TRICKY_QUERY, scope=SCOPE, format_param="csv")
    assert answer.media_type == "text/csv"
    assert answer.content_type == "text/csv; charset=utf-8"
    assert answer.body == reference(store, TRICKY_QUERY, ox.QueryResultsFormat.CSV)
    rows = list(csv.reader(io.StringIO(answer.body.decode(), newline="")))
    assert rows[0] == ["e", "v", "missing"]
    by_value = {row[1] for row in rows[1:]}
    assert {
        'say "hi"\nsecond line\tand a tab',
        "carriage\rreturn, comma; and \\ backslash",
        "_:b1",
    } <= by_value
    assert {"http://example.com/a?b=1&c=2#frag", "19.99", "Bonjour", ""} <= by_value
    assert all(row[2] == "" for row in rows[1:])
    assert answer.body.endswith(b"\r\n")


def test_tsv_results(service: SparqlService, store: OxigraphStore) -> None:
    answer = service.run(TRICKY_QUERY, scope=SCOPE, accept="text/tab-separated-values")
    assert answer.body == reference(store, TRICKY_QUERY, ox.QueryResultsFormat.TSV)
    lines = answer.body.decode().split("\n")
    assert lines[0] == "?e\t?v\t?missing" and lines[-1] == ""
    rows = list(csv.reader(io.StringIO(answer.body.decode()), delimiter="\t", quoting=csv.QUOTE_NONE))
    assert all(len(row) == 3 and row[2] == "" for row in rows[1:])
    cells = {row[1] for row in rows[1:]}
    assert {'"say \\"hi\\"\\nsecond line\\tand a tab"', '"Bonjour"@fr', "19.99", "-5", "true"} <= cells
    assert {'"not a number"^^<http://www.w3.org/2001/XMLSchema#integer>', '"مرحبا"@ar--rtl', "_:b1"} <= cells
    assert parsed(answer.body, ox.QueryResultsFormat.TSV) == direct(store, TRICKY_QUERY)


def test_writers_match_pyoxigraph_on_every_format(service: SparqlService, store: OxigraphStore) -> None:
    """pyoxigraph writes a raw CR in XML, which parsers read as LF; ours writes &#13;."""
    cr = 'FILTER(!CONTAINS(STR(?v), "\\r"))'
    query = PREFIX + f"SELECT * WHERE {{ ?e tai:n ?n OPTIONAL {{ ?e tai:value ?v {cr} }} }} ORDER BY ?e"
    for name, fmt in [("json", "JSON"), ("xml", "XML"), ("csv", "CSV"), ("tsv", "TSV")]:
        answer = service.run(query, scope=SCOPE, format_param=name)
        assert answer.body == reference(store, query, getattr(ox.QueryResultsFormat, fmt)), name


def test_xml_refuses_characters_it_cannot_carry(service: SparqlService, store: OxigraphStore) -> None:
    store.raw.add(ox.Quad(nn(f"{ACME}:event:C"), nn(TAI + "control"), ox.Literal("bell\x07"), nn(ACME)))
    query = PREFIX + "SELECT ?v { ?e tai:control ?v }"
    with pytest.raises(NotAcceptable, match="U\\+0007"):
        service.run(query, scope=SCOPE, format_param="xml")
    assert (
        json.loads(service.run(query, scope=SCOPE).body)["results"]["bindings"][0]["v"]["value"] == "bell\x07"
    )


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("json", b'{"head":{},"boolean":true}'),
        ("xml", b'<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#">'),
        ("csv", b"true"),
        ("tsv", b"true"),
    ],
)
def test_ask(service: SparqlService, fmt: str, expected: bytes) -> None:
    answer = service.run(PREFIX + "ASK { ?e tai:value 'Bonjour'@fr }", scope=SCOPE, format_param=fmt)
    assert answer.body.startswith(expected) and answer.form == "ASK" and answer.row_count == 1
    no = service.run(PREFIX + "ASK { ?e tai:value 'secret 1' }", scope=SCOPE, format_param=fmt)
    assert b"false" in no.body


# rdflib 7 does not read RDF 1.2 directional language tags (@ar--rtl) yet.
GRAPH_QUERY = PREFIX + (
    "CONSTRUCT { ?e tai:value ?v } WHERE { ?e tai:value ?v "
    "FILTER(!isBlank(?v) && COALESCE(LANG(?v), '') != 'ar') }"
)
IN_GRAPH = [
    (f"{ACME}:event:E{i}", t) for i, t in enumerate(TRICKY) if not isinstance(t, ox.BlankNode) and i != 6
]


@pytest.mark.parametrize(
    ("accept", "media_type", "rdflib_format"),
    [
        (None, "text/turtle", "turtle"),
        ("application/n-triples", "application/n-triples", "nt"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/ld+json", "application/ld+json", "json-ld"),
    ],
)
def test_construct_formats(
    service: SparqlService, store: OxigraphStore, accept: str | None, media_type: str, rdflib_format: str
) -> None:
    answer = service.run(GRAPH_QUERY, scope=SCOPE, accept=accept)
    assert (answer.media_type, answer.form, answer.row_count) == (media_type, "CONSTRUCT", len(IN_GRAPH))
    graph = rdflib.Graph().parse(data=answer.body, format=rdflib_format)
    expected = {ox.Triple(nn(e), nn(TAI + "value"), t) for e, t in IN_GRAPH}
    assert len(graph) == len(expected)
    texts = {str(o) for o in graph.objects()}
    # pyoxigraph's RDF/XML writer leaves CR raw, and XML parsers read a raw CR as LF.
    cr = "\n" if rdflib_format == "xml" else "\r"
    assert (
        'say "hi"\nsecond line\tand a tab' in texts
        and f"carriage{cr}return, comma; and \\ backslash" in texts
    )
    if rdflib_format in ("turtle", "nt"):
        fmt = ox.RdfFormat.TURTLE if rdflib_format == "turtle" else ox.RdfFormat.N_TRIPLES
        assert {q.triple for q in ox.parse(answer.body, fmt)} == expected


def test_describe(service: SparqlService) -> None:
    answer = service.run(f"DESCRIBE <{ACME}:event:E4>", scope=SCOPE, format_param="ntriples")
    assert answer.form == "DESCRIBE" and answer.row_count == 2
    assert b'"Bonjour"@fr' in answer.body
    assert service.run(f"DESCRIBE <{GLOBEX}:event:G1>", scope=SCOPE).row_count == 0


def test_jsonld_refuses_triple_terms(service: SparqlService) -> None:
    query = "CONSTRUCT { <urn:a> <urn:b> <<( <urn:a> <urn:b> 'c' )>> } WHERE {}"
    assert b"<<(" in service.run(query, scope=SCOPE).body
    with pytest.raises(NotAcceptable, match="JSON-LD"):
        service.run(query, scope=SCOPE, format_param="jsonld")


# --- negotiation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "accept", "param", "media_type"),
    [
        ("SELECT", None, None, "application/sparql-results+json"),
        ("SELECT", "*/*", None, "application/sparql-results+json"),
        ("SELECT", "application/*", None, "application/sparql-results+json"),
        ("SELECT", "text/*", None, "text/csv"),
        ("SELECT", "application/json", None, "application/json"),
        ("SELECT", "application/xml", None, "application/xml"),
        ("SELECT", "text/csv, */*", None, "text/csv"),
        ("SELECT", "text/csv;q=0.5, text/tab-separated-values", None, "text/tab-separated-values"),
        ("SELECT", "text/csv;q=0.5, */*;q=0.1", None, "text/csv"),
        ("SELECT", "application/sparql-results+json;q=0, */*", None, "application/sparql-results+xml"),
        (
            "SELECT",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            None,
            "application/xml",
        ),
        ("SELECT", "Text/CSV; charset=utf-8", None, "text/csv"),
        ("ASK", "text/html, application/sparql-results+xml;q=0.9", None, "application/sparql-results+xml"),
        ("SELECT", "text/csv", "json", "application/sparql-results+json"),
        ("SELECT", None, "TSV", "text/tab-separated-values"),
        ("SELECT", None, "application/json", "application/json"),
        ("CONSTRUCT", None, None, "text/turtle"),
        ("CONSTRUCT", "*/*", None, "text/turtle"),
        ("CONSTRUCT", "application/rdf+xml", None, "application/rdf+xml"),
        ("CONSTRUCT", "application/n-triples, text/turtle;q=0.9", None, "application/n-triples"),
        ("DESCRIBE", "application/xml", None, "application/xml"),
        ("DESCRIBE", None, "xml", "application/rdf+xml"),
        ("CONSTRUCT", None, "n3", "text/turtle"),
        ("CONSTRUCT", None, "json-ld", "application/ld+json"),
        ("CONSTRUCT", None, "ntriples", "application/n-triples"),
        ("CONSTRUCT", None, "rdf+xml", "application/rdf+xml"),
    ],
)
def test_negotiate(form: str, accept: str | None, param: str | None, media_type: str) -> None:
    assert negotiate(form, accept, param).media_type == media_type  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("form", "accept", "param"),
    [
        ("SELECT", "text/html", None),
        ("SELECT", "text/turtle", None),
        ("SELECT", "*/*;q=0", None),
        ("SELECT", None, "turtle"),
        ("CONSTRUCT", "application/sparql-results+json", None),
        ("CONSTRUCT", None, "csv"),
    ],
)
def test_negotiate_refuses(form: str, accept: str | None, param: str | None) -> None:
    with pytest.raises(NotAcceptable, match="available") as info:
        negotiate(form, accept, param)  # type: ignore[arg-type]
    assert info.value.code == "not-acceptable"


@pytest.mark.parametrize(
    ("query", "return_format", "expected"),
    [
        ("SELECT * {}", None, "application/sparql-results+xml"),
        ("SELECT * {}", JSON, "application/sparql-results+json"),
        ("SELECT * {}", XML, "application/sparql-results+xml"),
        ("SELECT * {}", CSV, "text/csv"),
        ("ASK {}", TSV, "text/tab-separated-values"),
        ("CONSTRUCT WHERE {}", None, "application/rdf+xml"),
        ("CONSTRUCT WHERE {}", TURTLE, "text/turtle"),
        ("CONSTRUCT WHERE {}", N3, "text/turtle"),
        ("CONSTRUCT WHERE {}", RDFXML, "application/rdf+xml"),
        ("DESCRIBE <urn:x>", JSONLD, "application/ld+json"),
    ],
)
def test_negotiate_with_sparqlwrapper(query: str, return_format: str | None, expected: str) -> None:
    """The Accept header and ``format=`` SPARQLWrapper sends, read from the library itself."""
    client = SPARQLWrapper("http://localhost/v1/sparql")
    client.setQuery(query)
    if return_format is not None:
        client.setReturnFormat(return_format)
    form, accept = check_query(query), client._getAcceptHeader()
    assert negotiate(form, accept, None).media_type == expected
    # It also sends format=<returnFormat> (Virtuoso's convention), which must agree.
    assert negotiate(form, accept, client.returnFormat).name == negotiate(form, accept, None).name


@pytest.mark.parametrize(
    ("return_format", "form", "expected"),
    [
        ("xml", "SELECT", "application/sparql-results+xml"),
        ("xml", "CONSTRUCT", "application/rdf+xml"),
        ("json", "SELECT", "application/sparql-results+json"),
        ("csv", "SELECT", "text/csv"),
    ],
)
def test_negotiate_with_rdflib_sparqlstore(return_format: str, form: str, expected: str) -> None:
    accept = SPARQLConnector(
        query_endpoint="http://localhost/", returnFormat=return_format
    ).response_mime_types()
    assert negotiate(form, accept, None).media_type == expected  # type: ignore[arg-type]


# --- errors, limits, time ------------------------------------------------------------------------


def test_syntax_error_names_line_and_column(service: SparqlService) -> None:
    with pytest.raises(InvalidQuery, match=r"syntax error.*2:\d+") as info:
        service.run("SELECT * WHERE {\n ?s ?p }", scope=SCOPE)
    assert not isinstance(info.value, ForbiddenQuery)


def test_result_limit(store: OxigraphStore) -> None:
    query = PREFIX + "SELECT ?n WHERE { ?e tai:n ?n } ORDER BY ?n"
    service = SparqlService(store, timeout_s=10, result_limit=4, max_concurrent=1)
    with pytest.raises(TooLarge, match=r"more than 4 rows.*LIMIT") as info:
        service.run(query, scope=SCOPE)
    assert info.value.details == {"limit": 4}
    assert service.run(query + " LIMIT 4", scope=SCOPE).row_count == 4
    head = service.run(query, scope=SCOPE, format_param="csv", allow_truncation=True)
    assert (head.row_count, head.truncated, head.body) == (4, True, b"n\r\n0\r\n1\r\n2\r\n3\r\n")
    exact = SparqlService(store, timeout_s=10, result_limit=5, max_concurrent=1).run(query, scope=SCOPE)
    assert (exact.row_count, exact.truncated) == (5, False)
    with pytest.raises(TooLarge, match="more than 4 triples"):
        service.run(PREFIX + "CONSTRUCT WHERE { ?e tai:n ?n }", scope=SCOPE)
    assert service.running == 0


HEAVY = "SELECT ?b WHERE { ?a ?p ?b . ?c ?q ?d FILTER(STR(?b) = CONCAT('x', STR(?d))) }"


def test_timeout_inside_one_long_call(big_store: OxigraphStore) -> None:
    """One ``next()`` scans 2.25 million rows; the caller gets its answer at the deadline and the
    worker finishes that call in the background, holding its slot."""
    service = SparqlService(big_store, timeout_s=0.05, result_limit=10, max_concurrent=1, slot_wait_s=0.01)
    with pytest.raises(QueryTimeout, match=r"0\.05 s time limit") as info:
        service.run(HEAVY, scope=QueryScope((BIG,)))
    assert info.value.details == {"limit_s": 0.05}
    assert service.running == 1  # still computing: the slot stays taken
    with pytest.raises(Unavailable, match="all 1 query slots are busy"):
        service.run("ASK {}", scope=QueryScope((BIG,)))
    wait_idle(service)
    assert service.run("ASK {}", scope=QueryScope((BIG,))).body == b'{"head":{},"boolean":true}'


def test_timeout_between_rows_stops_the_worker(big_store: OxigraphStore) -> None:
    service = SparqlService(big_store, timeout_s=0.05, result_limit=10**9, max_concurrent=1)
    with pytest.raises(QueryTimeout):
        service.run("SELECT * { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }", scope=QueryScope((BIG,)))
    wait_idle(service, limit_s=10)  # 3.4 billion rows: only the check between rows ends it this soon


def test_concurrent_queries_share_the_slots(big_store: OxigraphStore) -> None:
    service = SparqlService(big_store, timeout_s=0.05, result_limit=10, max_concurrent=2, slot_wait_s=0.01)
    for _ in range(2):
        with pytest.raises(QueryTimeout):
            service.run(HEAVY, scope=QueryScope((BIG,)))
    assert service.running == 2
    with pytest.raises(Unavailable):
        service.run("ASK {}", scope=QueryScope((BIG,)))
    wait_idle(service)
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(service.run("ASK {}", scope=SCOPE).row_count))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [1, 1]


def test_answer_metadata(service: SparqlService) -> None:
    answer = service.run(PREFIX + "SELECT (COUNT(*) AS ?n) { ?e tai:n ?n }", scope=SCOPE)
    assert answer.elapsed_ms >= 0 and not answer.truncated
    assert json.loads(answer.body)["results"]["bindings"][0]["n"]["value"] == "5"
    assert answer.content_type == "application/sparql-results+json"
