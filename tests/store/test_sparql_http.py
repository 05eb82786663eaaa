"""The remote store against a REAL Oxigraph server: the store protocol, scope isolation, atomic
updates, errors, and the whole Engine (ingest, receipts, KPIs, SPARQL) compared with the embedded one.

Protocol edge cases a real server will not produce (a truncated answer, a server that ignores the
dataset parameters, 401, 413) use ``httpx.MockTransport``.
"""

from __future__ import annotations

import copy
import json
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest

from tai_graph import demo
from tai_graph.config import Settings
from tai_graph.engine import Engine
from tai_graph.errors import InvalidInput, InvalidQuery, TooLarge, Unavailable
from tai_graph.mapping import graph_iri
from tai_graph.model import EventOutcome, SignedReceipt
from tai_graph.store import GraphStore, OxigraphStore, QueryScope, SparqlHttpStore
from tai_graph.store.sparql_http import EMPTY_SCOPE_GRAPH

from .conftest import OxigraphServer

XSD = "http://www.w3.org/2001/XMLSchema#"


def graphs(n: int = 2) -> list[str]:
    """Fresh graph IRIs, so tests sharing the session's server never see each other's data."""
    tag = uuid.uuid4().hex[:12]
    return [f"urn:tai:t{tag}{i}" for i in range(n)]


@pytest.fixture
def store(oxigraph_server: OxigraphServer) -> Iterator[SparqlHttpStore]:
    s = SparqlHttpStore(oxigraph_server.query_url)
    yield s
    s.close()


def canon(term: object) -> str:
    """A term as text with blank node labels hidden (each store names them its own way)."""
    return "_:b" if isinstance(term, ox.BlankNode) else str(term)


def rows_of(s: GraphStore, query: str, scope: QueryScope) -> list[dict[str, str]]:
    return [{k: canon(v) for k, v in row.items()} for row in s.select(query, scope)]


def triples_of(result: object) -> set[tuple[str, str, str]]:
    assert isinstance(result, ox.QueryTriples), type(result)
    return {(canon(t.subject), canon(t.predicate), canon(t.object)) for t in result}


# -- the store protocol -------------------------------------------------------------------------


def test_round_trip_matches_the_embedded_store(store: SparqlHttpStore) -> None:
    (g,) = graphs(1)
    update = f"""
        PREFIX xsd: <{XSD}>
        INSERT DATA {{ GRAPH <{g}> {{
          <urn:s1> <urn:p:int> 42 ; <urn:p:dec> 19.990 ; <urn:p:lang> "hé"@fr ;
            <urn:p:dt> "2026-01-19T10:35:22Z"^^xsd:dateTime ; <urn:p:iri> <urn:o> ; <urn:p:bnode> _:b1 ;
            <urn:p:str> "quote \\" backslash \\\\ newline \\n tab \\t bell \\u0007 emoji \\U0001F600 ünï" .
          _:b1 <urn:p:str> "inner" .
          <urn:s2> <urn:p:int> -7 .
        }} }}"""
    local = OxigraphStore()
    for s in (local, store):
        assert s.update(update) is None
        s.flush()
    scope = QueryScope((g,))
    for query in (
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o",
        "SELECT ?s ?x WHERE { ?s <urn:p:int> ?i OPTIONAL { ?s <urn:p:lang> ?x } } ORDER BY ?s",
        "SELECT (SUM(?i) AS ?total) (COUNT(*) AS ?n) WHERE { ?s <urn:p:int> ?i }",
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    ):
        assert rows_of(store, query, scope) == rows_of(local, query, scope), query
    unbound = store.select("SELECT ?s ?x WHERE { ?s <urn:p:int> -7 OPTIONAL { ?s <urn:p:lang> ?x } }", scope)
    assert unbound == [{"s": ox.NamedNode("urn:s2")}]
    text = store.select("SELECT ?o WHERE { <urn:s1> <urn:p:str> ?o }", scope)[0]["o"]
    assert text.value == 'quote " backslash \\ newline \n tab \t bell \x07 emoji \U0001f600 ünï'

    for ask, expected in (("ASK { <urn:s1> ?p 42 }", True), ("ASK { <urn:s1> ?p 43 }", False)):
        answer = store.execute(ask, scope)
        assert isinstance(answer, ox.QueryBoolean)
        assert bool(answer) is expected
    for graph_query in (
        "CONSTRUCT WHERE { ?s ?p ?o }",
        "DESCRIBE <urn:s1>",
        "CONSTRUCT { ?s <urn:q> ?i } WHERE { ?s <urn:p:int> ?i }",
    ):
        assert triples_of(store.execute(graph_query, scope)) == triples_of(local.execute(graph_query, scope))

    quads = list(store.subject_quads("urn:s1", g))
    assert all(isinstance(q, ox.Quad) and q.graph_name == ox.NamedNode(g) for q in quads)
    assert {(canon(q.predicate), canon(q.object)) for q in quads} == {
        (canon(q.predicate), canon(q.object)) for q in local.subject_quads("urn:s1", g)
    }
    assert len(quads) == 7
    assert list(store.subject_quads("urn:nobody", g)) == []

    subjects = ["urn:s1", "urn:s2", "urn:nobody"]
    props = store.properties(subjects, g)

    def labelled(p: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:  # blank node labels differ
        return {s: {k: v for k, v in d.items() if k != "urn:p:bnode"} for s, d in p.items()}

    assert labelled(props) == labelled(local.properties(subjects, g)) and "urn:p:bnode" in props["urn:s1"]
    assert sorted(props) == ["urn:s1", "urn:s2"] and props["urn:s2"] == {"urn:p:int": "-7"}
    assert props["urn:s1"]["urn:p:dec"] == "19.99" and props["urn:s1"]["urn:p:iri"] == "urn:o"
    many = [f"urn:n{i}" for i in range(1200)]  # more than one request's worth
    assert store.properties([*many, "urn:s2"], g) == {"urn:s2": {"urn:p:int": "-7"}}
    assert store.properties(["urn:s2"], "urn:tai:elsewhere") == {}
    local.close()


def test_scope_cannot_be_widened_from_the_query(store: SparqlHttpStore) -> None:
    mine, other = graphs(2)
    store.update(
        f"INSERT DATA {{ GRAPH <{mine}> {{ <urn:x> <urn:p> 1 }} GRAPH <{other}> {{ <urn:y> <urn:p> 2 }} }}"
    )
    scope = QueryScope((mine,))
    for query in (
        "SELECT ?s WHERE { ?s ?p ?o }",
        f"SELECT ?s FROM <{other}> WHERE {{ ?s ?p ?o }}",
        f"SELECT ?s FROM <{other}> FROM <{mine}> WHERE {{ ?s ?p ?o }}",
        f"SELECT ?s FROM NAMED <{other}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"SELECT ?s WHERE {{ GRAPH <{other}> {{ ?s ?p ?o }} }}",
        "SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } }",
        f"SELECT ?s WHERE {{ {{ ?s ?p ?o }} UNION {{ GRAPH <{other}> {{ ?s ?p ?o }} }} }}",
    ):
        seen = {row["s"].value for row in store.select(query, scope) if "s" in row}
        assert seen <= {"urn:x"}, query
    assert {
        r["g"].value for r in store.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", scope)
    } == {mine}
    for leak in (f"ASK FROM <{other}> {{ <urn:y> ?p ?o }}", "ASK { GRAPH ?g { <urn:y> ?p ?o } }"):
        assert not bool(store.execute(leak, scope)), leak
    assert triples_of(store.execute(f"CONSTRUCT FROM <{other}> WHERE {{ ?s ?p ?o }}", scope)) == {
        ("<urn:x>", "<urn:p>", '"1"^^<http://www.w3.org/2001/XMLSchema#integer>')
    }
    assert triples_of(store.execute("DESCRIBE <urn:y>", scope)) == set()
    assert store.select("SELECT * WHERE { ?s ?p ?o }", QueryScope(())) == []
    assert store.select(f"SELECT * FROM <{mine}> WHERE {{ ?s ?p ?o }}", QueryScope(())) == []
    assert list(store.subject_quads("urn:y", mine)) == []
    store.verify_isolation()  # what the engine runs when it opens a remote store


def test_an_update_is_all_or_nothing(store: SparqlHttpStore) -> None:
    g, existing = graphs(2)
    store.update(f"CREATE GRAPH <{existing}>")
    scope = QueryScope((g,))
    with pytest.raises(Unavailable, match="already exists"):  # fails in its last operation (HTTP 500)
        store.update(f"INSERT DATA {{ GRAPH <{g}> {{ <urn:a> <urn:p> 1 }} }} ; CREATE GRAPH <{existing}>")
    with pytest.raises(Unavailable, match="port 9"):  # LOAD refused after the insert
        store.update(f"INSERT DATA {{ GRAPH <{g}> {{ <urn:b> <urn:p> 1 }} }} ; LOAD <http://127.0.0.1:9/x>")
    with pytest.raises(InvalidQuery, match="rejected the update") as info:  # a syntax error: HTTP 400
        store.update(f"INSERT DATA {{ GRAPH <{g}> {{ <urn:c> <urn:p> 1 }} }} ; INSERT DATA {{ <urn:d> }}")
    assert info.value.details["status"] == 400
    assert store.select("SELECT * WHERE { ?s ?p ?o }", scope) == []
    store.update(
        f"INSERT DATA {{ GRAPH <{g}> {{ <urn:e> <urn:p> 1 }} }} ; INSERT DATA {{ GRAPH <{g}> {{ <urn:f> <urn:p> 1 }} }}"
    )
    assert len(store.select("SELECT * WHERE { ?s ?p ?o }", scope)) == 2


def test_query_errors_name_the_problem(store: SparqlHttpStore) -> None:
    scope = QueryScope(tuple(graphs(1)))
    with pytest.raises(InvalidQuery, match=r"rejected the query: error at 1:\d+") as info:
        store.execute("SELECT ?s WHERE { ?s ?p ", scope)
    assert info.value.details["status"] == 400
    with pytest.raises(InvalidQuery, match="bindings"):
        store.execute("SELECT ?s WHERE { ?s ?p ?o }", scope, {"s": ox.NamedNode("urn:x")})
    assert store.select("SELECT ?s WHERE { ?s ?p ?o }", scope, {}) == []  # no bindings is fine
    with pytest.raises(InvalidQuery, match="expected a SELECT"):
        store.select("ASK {}", scope)
    for subject in ("urn:x> ?p ?o } } DROP ALL #", "not an iri", ""):
        with pytest.raises(InvalidInput, match="not a valid IRI"):
            store.subject_quads(subject, scope.graphs[0])
    with pytest.raises(InvalidInput, match="not a valid IRI"):
        store.subject_quads("urn:x", "urn:g> } ?s ?p ?o { <urn:z")
    with pytest.raises(InvalidInput, match="not a valid IRI"):
        store.select("SELECT * WHERE { ?s ?p ?o }", QueryScope(("urn:a> <urn:b",)))


def test_an_unreachable_store_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    s = SparqlHttpStore(f"http://user:s3cret@127.0.0.1:{port}/query", timeout_s=2)
    for call in (
        lambda: s.execute("ASK {}", QueryScope(())),
        lambda: s.update("INSERT DATA { <urn:a> <urn:p> 1 }"),
    ):
        with pytest.raises(Unavailable, match=f"127.0.0.1:{port}/(query|update) is unreachable") as info:
            call()
        assert "s3cret" not in info.value.message
        assert "outcome" not in info.value.details  # never sent: certainly not applied
    s.close()


def test_a_silent_store_times_out_as_unavailable() -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/query"
        s = SparqlHttpStore(url, timeout_s=0.3, update_timeout_s=0.5)
        with pytest.raises(Unavailable, match=r"/query did not answer within 0.3 s"):
            s.execute("ASK {}", QueryScope(()))
        with pytest.raises(
            Unavailable, match=r"within 0\.5 s .*whether the update was applied is unknown"
        ) as info:
            s.update("INSERT DATA { <urn:a> <urn:p> 1 }")
        assert info.value.details == {"outcome": "unknown"}
        s.close()


def test_only_http_endpoints() -> None:
    with pytest.raises(InvalidInput, match="http"):
        SparqlHttpStore("file:///etc/passwd")
    with pytest.raises(InvalidInput, match="http"):
        SparqlHttpStore("http://h/query", "ftp://h/update")
    with pytest.raises(InvalidInput, match="an invalid URL"):
        SparqlHttpStore("http://[::1/query")
    assert SparqlHttpStore("http://h:7878/query").update_url == "http://h:7878/update"
    assert SparqlHttpStore("https://h/ds/query").update_url == "https://h/ds/update"
    assert SparqlHttpStore("https://h:8182/sparql").update_url == "https://h:8182/sparql"
    assert SparqlHttpStore("http://h/q", "http://h/u").update_url == "http://h/u"


# -- protocol edge cases, with a mock transport --------------------------------------------------


def mock_store(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> SparqlHttpStore:
    return SparqlHttpStore("http://store.test/query", transport=httpx.MockTransport(handler), **kw)


def test_requests_carry_the_scope_as_protocol_dataset() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/update":
            return httpx.Response(204)
        return httpx.Response(200, json={"head": {}, "boolean": True})

    s = mock_store(handler, headers={"Authorization": "Bearer t0ken"})
    s.execute("ASK {}", QueryScope(("urn:tai:a", "urn:tai:b")))
    s.execute("ASK {}", QueryScope(()))
    s.update('INSERT DATA { <urn:a> <urn:p> "é" }')
    form = httpx.QueryParams(seen[0].content.decode())
    assert form.get_list("default-graph-uri") == ["urn:tai:a", "urn:tai:b"]
    assert form.get_list("named-graph-uri") == ["urn:tai:a", "urn:tai:b"]
    assert form["query"] == "ASK {}"
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen[0].headers["accept"].startswith("application/sparql-results+json")
    assert seen[0].headers["authorization"] == "Bearer t0ken"
    empty = httpx.QueryParams(seen[1].content.decode())
    assert empty.get_list("default-graph-uri") == empty.get_list("named-graph-uri") == [EMPTY_SCOPE_GRAPH]
    assert seen[2].url == "http://store.test/update"
    assert seen[2].headers["content-type"] == "application/sparql-update"
    assert seen[2].content.decode("utf-8") == 'INSERT DATA { <urn:a> <urn:p> "é" }'
    s.close()


@pytest.mark.parametrize(
    ("response", "error", "match"),
    [
        (
            httpx.Response(
                200,
                content=b'{"head":{"vars":["s"]},"results":{"bindings":[{"s":{"type":"uri","val',
                headers={"content-type": "application/sparql-results+json"},
            ),
            Unavailable,
            "malformed or truncated",
        ),
        (
            httpx.Response(200, content=b"<x> <y> oops", headers={"content-type": "application/n-triples"}),
            Unavailable,
            "malformed",
        ),
        (
            httpx.Response(200, content=b"<html/>", headers={"content-type": "text/html"}),
            Unavailable,
            "answered text/html",
        ),
        (httpx.Response(401, text="who are you"), Unavailable, "HTTP 401 to the query: who are you"),
        (httpx.Response(503, text=""), Unavailable, "HTTP 503 to the query: HTTP 503"),
        (httpx.Response(413, text="too big"), TooLarge, "too large: too big"),
        (httpx.Response(302, headers={"location": "http://elsewhere/"}), Unavailable, "HTTP 302"),
        (
            httpx.Response(
                200,
                json={
                    "head": {"vars": ["s"]},
                    "results": {"bindings": [{"s": {"type": "literal", "value": "x" * 5000}}]},
                },
            ),
            TooLarge,
            "over 4,096 bytes",
        ),
    ],
)
def test_bad_answers_become_tai_errors(response: httpx.Response, error: type[Exception], match: str) -> None:
    s = mock_store(lambda _: response, max_response_bytes=4096)
    with pytest.raises(error, match=match):
        s.select("SELECT ?s WHERE { ?s ?p ?o }", QueryScope(("urn:tai:a",)))
    s.close()


def test_a_store_that_ignores_the_dataset_is_refused() -> None:
    """E.g. a server with a union default graph: every ASK sees everything."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/update":
            return httpx.Response(204)
        return httpx.Response(200, json={"head": {}, "boolean": True})

    s = mock_store(handler)
    with pytest.raises(Unavailable, match="does not confine queries"):
        s.verify_isolation()
    s.close()


def test_opening_an_engine_on_a_leaky_store_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def leaky(self: SparqlHttpStore) -> None:
        raise Unavailable("does not confine queries")

    monkeypatch.setattr(SparqlHttpStore, "verify_isolation", leaky)
    with pytest.raises(Unavailable, match="does not confine"):
        Engine(Settings(store_url="http://127.0.0.1:9/query"))


# -- the whole engine on the remote store --------------------------------------------------------

DATASET = demo.generate(baseline_days=6, gap_days=2, current_days=5, scale=0.1)
PERIODS = [
    DATASET.baseline_period,
    DATASET.current_period,
    ("2025-10-08T06:30:00Z", "2025-10-17T13:15:00Z"),  # cut hours at both edges: hourly cells and raw events
]


def events_for(customer_id: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(DATASET.events)
    for e in out:
        e["customer_id"] = customer_id
    return out


def receipt(outcome: EventOutcome) -> SignedReceipt:
    assert outcome.receipt is not None, outcome
    return outcome.receipt


def ingest_all(engine: Engine, customer_id: str, events: list[dict[str, Any]]) -> list[EventOutcome]:
    outcomes: list[EventOutcome] = []
    for i in range(0, len(events), 100):
        outcomes += engine.ingest(customer_id, events[i : i + 100]).outcomes
    return outcomes


@pytest.fixture
def remote_settings(oxigraph_server: OxigraphServer, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "remote", store_url=oxigraph_server.query_url, hostname="remote")


def test_the_engine_on_a_remote_store_matches_the_embedded_one(remote_settings: Settings) -> None:
    customer = f"remote_{uuid.uuid4().hex[:8]}"
    events = events_for(customer)
    assert len({e["transaction_type"] for e in events}) >= 6
    remote, local = Engine(remote_settings), Engine(Settings(hostname="local"))
    try:
        assert isinstance(remote.store, SparqlHttpStore) and isinstance(local.store, OxigraphStore)
        remote.ping()
        for engine in (remote, local):
            engine.create_tenant(customer, "Remote test")
        got = ingest_all(remote, customer, events)
        want = ingest_all(local, customer, events)
        assert [o.status for o in got] == [o.status for o in want]
        assert {o.status for o in got} == {"created"}
        assert [receipt(o).sequence for o in got] == list(range(1, len(events) + 1))

        # receipts: read back from the remote graph, chained and signed
        for o in got[:: len(got) // 7]:
            assert remote.receipt(customer, receipt(o).event_id).body == receipt(o).body
            assert remote.event(customer, receipt(o).event_id)["receipt"]["sequence"] == receipt(o).sequence
        page = remote.audit_trail(customer, limit=1000)
        assert len(page.receipts) == len(events)
        assert page.verification["ok"] is True, page.verification
        assert remote.checkpoint(customer)["head_sequence"] == len(events)

        # every KPI value, for whole and partial-day periods
        for start, end in PERIODS:
            table = remote.kpis(customer, start, end)
            assert table.to_dict() == local.kpis(customer, start, end).to_dict()
            assert table.get("orders").value, "the comparison must cover real figures"

        # analysts' SPARQL through SparqlService
        for query, fmt in (
            ("SELECT ?t (COUNT(*) AS ?n) WHERE { ?e a ?t } GROUP BY ?t ORDER BY ?t", "json"),
            (
                "SELECT ?s ?o WHERE { ?s <https://w3id.org/tai-graph/ns#eventId> ?o } ORDER BY ?o LIMIT 50",
                "csv",
            ),
            ("ASK { ?s ?p ?o }", "json"),
        ):
            a, b = (
                remote.sparql(customer, query, format_param=fmt),
                local.sparql(customer, query, format_param=fmt),
            )
            assert (a.body, a.row_count, a.media_type) == (b.body, b.row_count, b.media_type), query
        construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 300"
        a = remote.sparql(customer, construct, format_param="nt")
        assert a.row_count == 300 and a.body.count(b"\n") == 300
    finally:
        remote.close()
        local.close()


def test_duplicates_conflicts_and_a_restart_on_the_remote_store(remote_settings: Settings) -> None:
    customer = f"dup_{uuid.uuid4().hex[:8]}"
    events = events_for(customer)[:120]
    engine = Engine(remote_settings)
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    try:
        engine.create_tenant(customer)
        first = engine.ingest(customer, events[:100]).outcomes
        size = engine.sparql(customer, count).body

        again = engine.ingest(customer, events[:100]).outcomes
        assert {o.status for o in again} == {"duplicate"}
        assert [receipt(o).body for o in again] == [receipt(o).body for o in first]

        changed = copy.deepcopy(events[5])
        changed["timestamp"] = "2025-10-09T01:02:03.5Z"  # same event_id, other content
        result = engine.ingest(customer, [changed, events[100]], atomic=True).outcomes
        assert [o.status for o in result] == ["conflict", "rejected"]
        assert engine.sparql(customer, count).body == size  # nothing written
        assert engine.checkpoint(customer)["head_sequence"] == 100
    finally:
        engine.close()

    # a new process (new Engine, same data dir for tenants and keys) continues the chain
    reopened = Engine(remote_settings)
    try:
        more = reopened.ingest(customer, events[100:]).outcomes
        assert [receipt(o).sequence for o in more] == list(range(101, 121))
        page = reopened.audit_trail(customer, limit=1000)
        assert len(page.receipts) == 120 and page.verification["ok"] is True, page.verification
    finally:
        reopened.close()


def test_committed_data_survives_a_server_restart(tmp_path: Path) -> None:
    server = OxigraphServer(tmp_path / "data", tmp_path / "server.log")
    server.start()
    try:
        s = SparqlHttpStore(server.query_url)
        (g,) = graphs(1)
        s.update(f"INSERT DATA {{ GRAPH <{g}> {{ <urn:kept> <urn:p> 1 }} }}")
        s.close()
        server.stop()
        server.start()
        s = SparqlHttpStore(server.query_url)
        assert [str(q.subject) for q in s.subject_quads("urn:kept", g)] == ["<urn:kept>"]
        s.close()
    finally:
        server.stop()


def test_the_sparql_endpoint_of_other_customers_is_out_of_reach(remote_settings: Settings) -> None:
    a, b = f"iso_a_{uuid.uuid4().hex[:8]}", f"iso_b_{uuid.uuid4().hex[:8]}"
    engine = Engine(remote_settings)
    try:
        for customer in (a, b):
            engine.create_tenant(customer)
            engine.ingest(customer, events_for(customer)[:10])
        for query in (
            f"SELECT ?s WHERE {{ GRAPH <{graph_iri(b)}> {{ ?s ?p ?o }} }}",
            f"SELECT ?s FROM <{graph_iri(b)}> WHERE {{ ?s ?p ?o }}",
            f"SELECT ?s FROM NAMED <{graph_iri(b)}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        ):
            doc = json.loads(engine.sparql(a, query, format_param="json").body)
            assert not any(b in json.dumps(row) for row in doc["results"]["bindings"]), query
            own = json.loads(engine.sparql(a, query.replace(b, a), format_param="json").body)
            assert own["results"]["bindings"], query  # the same query does see the caller's graph
    finally:
        engine.close()


def test_settings_and_cli_name_the_remote_store() -> None:
    env = {
        "TAI_STORE_URL": "http://db:7878/query",
        "TAI_STORE_UPDATE_URL": "http://db:7878/update",
        "TAI_STORE_TIMEOUT_S": "5",
    }
    settings = Settings.from_env(env)
    assert (settings.store_url, settings.store_update_url, settings.store_timeout_s) == (
        "http://db:7878/query",
        "http://db:7878/update",
        5.0,
    )
    assert Settings.from_env(env, store_url="http://other/query").store_url == "http://other/query"
    assert Settings.from_env({}).store_url is None

    from typer.testing import CliRunner

    from tai_graph.cli import commands  # noqa: F401  (registers the commands)
    from tai_graph.cli.app import app

    help_text = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"}).output
    assert "--store-url" in help_text and "--store-update-url" in help_text and "TAI_STORE_URL" in help_text
