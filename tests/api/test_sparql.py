"""GET/POST /v1/sparql per the SPARQL 1.1 Protocol, used unchanged by SPARQLWrapper and rdflib."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from xml.dom.minidom import Document

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, POST, POSTDIRECTLY, RDFXML, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from .support import SPARQL_JSON, LiveServer, Tenant, assert_problem, order, post_json, triple_count, work_log

TAI = "https://w3id.org/tai-graph/ns#"
ORDERS = (
    f"SELECT ?id ?amount WHERE {{ ?e a <{TAI}Order> ; <{TAI}eventId> ?id ; <{TAI}amount> ?amount }}"
    " ORDER BY ?id"
)
# SPARQLWrapper and rdflib's SPARQLStore build an rdflib ConjunctiveGraph, which rdflib 7.x deprecates
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
CONSTRUCT = f"CONSTRUCT {{ ?e <{TAI}amount> ?a }} WHERE {{ ?e a <{TAI}Order> ; <{TAI}amount> ?a }}"


@pytest.fixture
def data(tenant: Tenant) -> Tenant:
    resp = post_json(tenant.client, [order("E1"), order("E2", amount="5.50"), work_log("W1")])
    assert resp.json()["summary"]["created"] == 3
    return tenant


def _endpoint(server: LiveServer) -> str:
    return server.url + "/v1/sparql"


def _ids(doc: dict[str, object]) -> list[str]:
    return [b["id"]["value"] for b in doc["results"]["bindings"]]  # type: ignore[index]


# -- the protocol itself ------------------------------------------------------------------------


def test_get_post_form_and_post_direct(data: Tenant) -> None:
    accept = {"Accept": SPARQL_JSON}
    got = data.client.get("/v1/sparql", params={"query": ORDERS}, headers=accept)
    form = data.client.post("/v1/sparql", data={"query": ORDERS}, headers=accept)
    direct = data.client.post(
        "/v1/sparql", content=ORDERS, headers={**accept, "Content-Type": "application/sparql-query"}
    )
    for resp in (got, form, direct):
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith(SPARQL_JSON)
        assert _ids(resp.json()) == ["E1", "E2"]


@pytest.mark.parametrize(
    ("accept", "fmt", "media"),
    [
        ("application/sparql-results+xml", None, "application/sparql-results+xml"),
        ("text/csv", None, "text/csv"),
        ("text/tab-separated-values", None, "text/tab-separated-values"),
        (None, "json", SPARQL_JSON),
        (None, "csv", "text/csv"),
    ],
)
def test_select_formats(data: Tenant, accept: str | None, fmt: str | None, media: str) -> None:
    params = {"query": ORDERS, **({"format": fmt} if fmt else {})}
    resp = data.client.get("/v1/sparql", params=params, headers={"Accept": accept} if accept else {})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].split(";")[0] == media
    assert "E2" in resp.text


@pytest.mark.parametrize(
    ("accept", "rdf_format"), [("text/turtle", "turtle"), ("application/n-triples", "nt")]
)
def test_construct_formats(data: Tenant, accept: str, rdf_format: str) -> None:
    resp = data.client.get("/v1/sparql", params={"query": CONSTRUCT}, headers={"Accept": accept})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].split(";")[0] == accept
    graph = rdflib.Graph().parse(data=resp.text, format=rdf_format)
    assert len(graph) == 2


def test_query_problems(data: Tenant) -> None:
    assert_problem(data.client.get("/v1/sparql"), 400, "invalid-query", field="query")
    assert_problem(
        data.client.get("/v1/sparql", params=[("query", "ASK {}"), ("query", "ASK {}")]),
        400,
        "invalid-query",
        field="query",
    )
    assert_problem(data.client.get("/v1/sparql", params={"query": "SELEKT * WHERE {"}), 400, "invalid-query")
    resp = data.client.get("/v1/sparql", params={"query": ORDERS}, headers={"Accept": "image/png"})
    assert_problem(resp, 406, "not-acceptable")
    resp = data.client.get("/v1/sparql", params={"query": CONSTRUCT, "format": "csv"})
    assert_problem(resp, 406, "not-acceptable")
    resp = data.client.post("/v1/sparql", content=b"ASK {}", headers={"Content-Type": "text/plain"})
    assert_problem(resp, 415, "unsupported-media-type")
    resp = data.client.post(
        "/v1/sparql", content=b"\xff\xfe", headers={"Content-Type": "application/sparql-query"}
    )
    assert_problem(resp, 400, "invalid-query", field="body")


def test_updates_are_refused_and_write_nothing(data: Tenant) -> None:
    before = triple_count(data)
    insert = f'INSERT DATA {{ <urn:x> <{TAI}channel> "evil" }}'
    for resp in (
        data.client.post("/v1/sparql", data={"update": insert}),
        data.client.post("/v1/sparql", content=insert, headers={"Content-Type": "application/sparql-update"}),
        data.client.get("/v1/sparql", params={"update": insert}),
    ):
        assert_problem(resp, 400, "forbidden-query", rule="read-only")
    for resp in (
        data.client.get("/v1/sparql", params={"query": insert}),
        data.client.get("/v1/sparql", params={"query": "LOAD <http://127.0.0.1:9/x.ttl>"}),
        data.client.get("/v1/sparql", params={"query": "CLEAR ALL"}),
        data.client.post(
            "/v1/sparql", content="DROP ALL", headers={"Content-Type": "application/sparql-query"}
        ),
    ):
        assert resp.status_code == 400, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
    assert triple_count(data) == before


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    sock.setblocking(False)
    yield sock
    sock.close()


def test_service_is_refused_and_never_connects(data: Tenant, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    queries = [
        f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ SERVICE <http://127.0.0.1:{port}/> {{ ?s ?q ?x }} }} }}",
        f"SELECT * FROM <http://127.0.0.1:{port}/data.ttl> WHERE {{ ?s ?p ?o }}",
    ]
    for i, query in enumerate(queries):
        resp = data.client.get("/v1/sparql", params={"query": query})
        if i < 3:
            assert_problem(resp, 400, "forbidden-query")
        else:
            assert resp.status_code in (200, 400)
    readable, _, _ = select.select([listener], [], [], 0.5)
    assert not readable, "the server opened a connection to the SERVICE address"


# -- real clients -------------------------------------------------------------------------------


def _wrapper(server: LiveServer, t: Tenant) -> SPARQLWrapper:
    sw = SPARQLWrapper(_endpoint(server))
    sw.addCustomHttpHeader("Authorization", f"Bearer {t.api_key}")
    return sw


def test_sparqlwrapper_json_and_xml(server: LiveServer, data: Tenant) -> None:
    sw = _wrapper(server, data)
    sw.setQuery(ORDERS)
    sw.setReturnFormat(JSON)
    assert _ids(sw.query().convert()) == ["E1", "E2"]  # type: ignore[arg-type]
    sw.setReturnFormat(XML)
    doc = sw.query().convert()
    assert isinstance(doc, Document)
    literals = [n.firstChild for n in doc.getElementsByTagName("literal")]
    assert [getattr(n, "data", None) for n in literals][:1] == ["E1"]
    sw.setQuery("ASK { ?s ?p ?o }")
    sw.setReturnFormat(JSON)
    answer = sw.query().convert()
    assert isinstance(answer, dict) and answer["boolean"] is True


@pytest.mark.parametrize("method", ["post-form", "post-direct"])
def test_sparqlwrapper_post(server: LiveServer, data: Tenant, method: str) -> None:
    sw = _wrapper(server, data)
    sw.setMethod(POST)
    if method == "post-direct":
        sw.setRequestMethod(POSTDIRECTLY)
    sw.setQuery(ORDERS)
    sw.setReturnFormat(JSON)
    assert _ids(sw.query().convert()) == ["E1", "E2"]  # type: ignore[arg-type]


def test_sparqlwrapper_construct_turtle_and_rdfxml(server: LiveServer, data: Tenant) -> None:
    sw = _wrapper(server, data)
    sw.setQuery(CONSTRUCT)
    sw.setReturnFormat(TURTLE)
    turtle = sw.query().convert()
    assert isinstance(turtle, bytes | str)
    assert len(rdflib.Graph().parse(data=turtle, format="turtle")) == 2
    sw.setReturnFormat(RDFXML)
    graph = sw.query().convert()
    assert isinstance(graph, rdflib.Graph) and len(graph) == 2
    sw.setReturnFormat(XML)
    graph = sw.query().convert()
    assert isinstance(graph, rdflib.Graph) and len(graph) == 2


def test_sparqlwrapper_update_is_refused(server: LiveServer, data: Tenant) -> None:
    before = triple_count(data)
    sw = _wrapper(server, data)
    sw.setMethod(POST)
    sw.setQuery(f'INSERT DATA {{ <urn:x> <{TAI}channel> "evil" }}')
    with pytest.raises(QueryBadFormed):
        sw.query()
    assert triple_count(data) == before


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
@pytest.mark.parametrize("return_format", ["xml", "json"])
def test_rdflib_sparqlstore(server: LiveServer, data: Tenant, method: str, return_format: str) -> None:
    store = SPARQLStore(
        _endpoint(server),
        method=method,
        returnFormat=return_format,
        headers={"Authorization": f"Bearer {data.api_key}"},
    )
    graph = rdflib.Graph(store=store)
    rows = list(graph.query(ORDERS))
    assert [str(r[0]) for r in rows] == ["E1", "E2"]  # type: ignore[index]
    assert len(list(graph.triples((None, rdflib.URIRef(TAI + "amount"), None)))) == 2
    assert graph.query("ASK { ?s ?p ?o }").askAnswer is True
    store.close()


def test_rdflib_sparqlstore_construct(server: LiveServer, data: Tenant) -> None:
    store = SPARQLStore(_endpoint(server), headers={"Authorization": f"Bearer {data.api_key}"})
    result = rdflib.Graph(store=store).query(CONSTRUCT)
    assert result.graph is not None and len(result.graph) == 2
    store.close()


def test_sparql_needs_a_key(server: LiveServer) -> None:
    sw = SPARQLWrapper(_endpoint(server))
    sw.setQuery("ASK {}")
    sw.setReturnFormat(JSON)
    with pytest.raises(Exception, match=r"401|Unauthorized"):
        sw.query()
