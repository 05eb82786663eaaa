"""The remote store: a SPARQL 1.1 Protocol endpoint (Oxigraph server, Fuseki, GraphDB, …) over HTTP.

Reads are ``POST`` form-encoded to the query URL with one ``default-graph-uri`` and one
``named-graph-uri`` per graph of the :class:`~tai_graph.store.base.QueryScope`. The `SPARQL 1.1
Protocol §2.1.4 <https://www.w3.org/TR/sparql11-protocol/#dataset>`_ says a dataset given in the
protocol overrides ``FROM`` / ``FROM NAMED`` in the query text, so a caller cannot widen the scope
from the text. A server that ignores those parameters would leak one customer's graph to another:
:meth:`SparqlHttpStore.verify_isolation` checks the server really honours them (the engine runs it
once when it opens a remote store).

Writes are one ``POST application/sparql-update`` per :meth:`SparqlHttpStore.update`. The ingest
path relies on one such request being applied all-or-nothing: Oxigraph server runs it in one
transaction (verified by the tests); Fuseki documents one write transaction per update request on
a transactional dataset (assumed, not tested). A store without that guarantee is not supported.

Answers come back as the pyoxigraph objects the embedded store returns (``QuerySolutions``,
``QueryBoolean``, ``QueryTriples``), so the rest of the engine does not know which store it runs on.
Results are read whole (at most ``max_response_bytes``) before they are handed over.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import NoReturn

import httpx
import pyoxigraph as ox

from tai_graph.errors import InvalidInput, InvalidQuery, TaiGraphError, TooLarge, Unavailable
from tai_graph.store.base import QueryScope, Row, Term, solution_rows, term_value

__all__ = ["EMPTY_SCOPE_GRAPH", "SparqlHttpStore"]

_RESULTS_JSON = "application/sparql-results+json"
_N_TRIPLES = "application/n-triples"
_ACCEPT = f"{_RESULTS_JSON}, {_N_TRIPLES};q=0.9"
#: The dataset of a query whose scope has no graph: a graph nothing is ever written to. Sending no
#: dataset at all would let the server choose one (often the union of every graph).
EMPTY_SCOPE_GRAPH = "urn:tai-store:empty-scope"
_MAX_MESSAGE = 2000


class SparqlHttpStore:
    """:class:`~tai_graph.store.base.GraphStore` over the SPARQL 1.1 Protocol.

    ``query_url`` is the query endpoint (Oxigraph server: ``http://host:7878/query``);
    ``update_url`` the update endpoint, by default ``query_url`` with a final ``/query`` replaced
    by ``/update`` (Oxigraph, Fuseki), else ``query_url`` itself (Neptune). ``timeout_s`` bounds
    connecting and each read or write on the socket; an update waits up to ``update_timeout_s``
    for the server's verdict (a large batch takes Oxigraph tens of seconds to apply, and giving up
    early would not stop it, only leave its outcome unknown). ``headers`` are sent with every
    request (e.g. ``Authorization``). ``transport`` replaces the network (tests).

    Errors: :class:`~tai_graph.errors.Unavailable` when the server cannot be reached, does not
    answer in time, fails (5xx), refuses the credentials or sends a malformed answer (the message
    names the URL, never its credentials); :class:`~tai_graph.errors.InvalidQuery` with the
    server's message when it rejects a query or update as malformed (400);
    :class:`~tai_graph.errors.TooLarge` when a request or an answer is over its size limit.
    Thread-safe: one instance serves every thread (one pooled ``httpx.Client``).
    """

    def __init__(
        self,
        query_url: str,
        update_url: str | None = None,
        *,
        timeout_s: float = 30.0,
        update_timeout_s: float = 600.0,
        headers: Mapping[str, str] | None = None,
        max_response_bytes: int = 256 * 1024 * 1024,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        for url in (query_url, update_url):
            if url is not None and _scheme(url) not in ("http", "https"):
                raise InvalidInput(f"a SPARQL endpoint must be an http(s) URL, got {_public(url)!r}")
        if min(timeout_s, update_timeout_s, max_response_bytes) <= 0:
            raise ValueError("timeout_s, update_timeout_s and max_response_bytes must be positive")
        self.query_url = query_url
        self.update_url = update_url or _default_update_url(query_url)
        self.timeout_s = timeout_s
        self.update_timeout_s = max(timeout_s, update_timeout_s)
        self.max_response_bytes = max_response_bytes
        self._client = httpx.Client(
            timeout=timeout_s, headers=dict(headers or {}), transport=transport, follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"SparqlHttpStore({_public(self.query_url)!r}, {_public(self.update_url)!r})"

    # -- GraphStore ---------------------------------------------------------------------------
    def execute(
        self, query: str, scope: QueryScope, bindings: Mapping[str, Term] | None = None
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """Run a read query within ``scope``; the answer as pyoxigraph objects.

        ``bindings`` are refused (:class:`InvalidQuery`): pyoxigraph binds only projected
        variables while text substitution cannot bind them, so no remote form would mean the same
        thing. Named queries bind into their text before they get here (``tai_graph.queries``).
        """
        if bindings:
            raise InvalidQuery(
                "the remote SPARQL store takes no variable bindings; bind values into the query text "
                "(tai_graph.queries.bind does)"
            )
        graphs = [_iri(g, "graph").value for g in scope.graphs] or [EMPTY_SCOPE_GRAPH]
        form: dict[str, str | list[str]] = {
            "query": query,
            "default-graph-uri": graphs,
            "named-graph-uri": graphs,
        }
        media_type, body = self._post(self.query_url, "query", data=form, accept=_ACCEPT)
        try:
            if media_type in (_RESULTS_JSON, "application/json"):  # some servers say plain JSON
                return _solutions(body)
            if media_type == _N_TRIPLES:
                return _triples(body)
        except SyntaxError as exc:
            raise Unavailable(
                f"the SPARQL store at {_public(self.query_url)} sent a malformed or truncated answer "
                f"(the query may have failed part-way): {exc}"
            ) from None
        raise Unavailable(
            f"the SPARQL store at {_public(self.query_url)} answered {media_type or 'no content type'}; "
            f"expected {_RESULTS_JSON} or {_N_TRIPLES}"
        )

    def select(self, query: str, scope: QueryScope, bindings: Mapping[str, Term] | None = None) -> list[Row]:
        """Run a SELECT query; rows map variable names to terms (unbound variables are left out)."""
        return solution_rows(self.execute(query, scope, bindings))

    def update(self, update: str) -> None:
        """Send ``update`` as one request, which the server applies all-or-nothing.

        When the connection breaks after the request was sent (a read timeout, a dropped
        connection), whether it was applied is unknown: the :class:`Unavailable` raised then has
        ``details["outcome"] == "unknown"``, and callers holding state derived from the store must
        re-read it.
        """
        self._post(
            self.update_url,
            "update",
            content=update.encode("utf-8"),
            content_type="application/sparql-update",
        )

    def subject_quads(self, subject: str, graph: str) -> Iterator[ox.Quad]:
        """All quads about ``subject`` in ``graph``; both must be IRIs (:class:`InvalidInput` if not)."""
        s, g = _iri(subject, "subject"), _iri(graph, "graph")
        rows = self.select(f"SELECT ?p ?o WHERE {{ GRAPH {g} {{ {s} ?p ?o }} }}", QueryScope((g.value,)))
        return iter([ox.Quad(s, p, row["o"], g) for row in rows if isinstance(p := row["p"], ox.NamedNode)])

    def object_values(self, subjects: Sequence[str], predicate: str, graph: str) -> dict[str, str]:
        """One ``SELECT … VALUES`` per 500 subjects; every IRI is checked first."""
        p, g = _iri(predicate, "predicate"), _iri(graph, "graph")
        out: dict[str, str] = {}
        for row in self._about(subjects, g, "?o", f"?s {p} ?o"):
            out.setdefault(term_value(row["s"]), term_value(row["o"]))
        return out

    def properties(self, subjects: Sequence[str], graph: str) -> dict[str, dict[str, str]]:
        """One ``SELECT … VALUES`` per 500 subjects; every IRI is checked first."""
        out: dict[str, dict[str, str]] = {}
        for row in self._about(subjects, _iri(graph, "graph"), "?p ?o", "?s ?p ?o"):
            out.setdefault(term_value(row["s"]), {})[term_value(row["p"])] = term_value(row["o"])
        return out

    def _about(
        self, subjects: Sequence[str], graph: ox.NamedNode, project: str, pattern: str
    ) -> Iterator[Row]:
        """Rows of ``SELECT ?s {project}`` matching ``pattern`` in ``graph``, for ``?s`` in ``subjects``."""
        for start in range(0, len(subjects), 500):
            chunk = " ".join(str(_iri(s, "subject")) for s in subjects[start : start + 500])
            yield from self.select(
                f"SELECT ?s {project} WHERE {{ VALUES ?s {{ {chunk} }} GRAPH {graph} {{ {pattern} }} }}",
                QueryScope((graph.value,)),
            )

    def flush(self) -> None:
        """Nothing to do: the server owns durability (a committed update is its to keep)."""

    def optimize(self) -> None:
        """Nothing to do from here: compacting is the server's (``oxigraph optimize``, offline)."""

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # -- checks -------------------------------------------------------------------------------
    def verify_isolation(self) -> None:
        """Check that the server confines queries to the protocol dataset; :class:`Unavailable` if not.

        Writes two probe graphs (``urn:tai-store:probe:…``), asks through one of them for the other
        with ``FROM``, ``FROM NAMED``, ``GRAPH ?g`` and ``GRAPH <other>``, and drops both.
        """
        probe = f"urn:tai-store:probe:{uuid.uuid4().hex}"
        mine, other = f"<{probe}:a>", f"<{probe}:b>"
        self.update(
            f"INSERT DATA {{ GRAPH {mine} {{ {mine} {mine} 1 }} GRAPH {other} {{ {other} {other} 2 }} }}"
        )
        try:
            scope = QueryScope((f"{probe}:a",))
            if not self._ask(f"ASK {{ {mine} ?p ?o }}", scope):
                self._not_isolated("a query does not see the graph of its own scope")
            for leak in (
                f"ASK {{ {other} ?p ?o }}",
                f"ASK FROM {other} {{ {other} ?p ?o }}",
                f"ASK FROM NAMED {other} {{ GRAPH ?g {{ {other} ?p ?o }} }}",
                f"ASK {{ GRAPH ?g {{ {other} ?p ?o }} }}",
                f"ASK {{ GRAPH {other} {{ ?s ?p ?o }} }}",
            ):
                if self._ask(leak, scope):
                    self._not_isolated(f"{leak!r} sees a graph outside the query's scope")
            if self._ask(f"ASK {{ {mine} ?p ?o }}", QueryScope(())):
                self._not_isolated("a query with an empty scope sees data")
        finally:
            self.update(f"DROP SILENT GRAPH {mine} ; DROP SILENT GRAPH {other}")

    def _ask(self, query: str, scope: QueryScope) -> bool:
        result = self.execute(query, scope)
        if not isinstance(result, ox.QueryBoolean):
            self._not_isolated(f"an ASK query did not answer a boolean: {query!r}")
        return bool(result)

    def _not_isolated(self, why: str) -> NoReturn:
        raise Unavailable(
            f"the SPARQL store at {_public(self.query_url)} does not confine queries to the dataset "
            f"given by default-graph-uri / named-graph-uri ({why}); customers would see each other's "
            "data, so TAI Graph refuses to use it (turn off any union-default-graph setting)"
        )

    # -- HTTP ---------------------------------------------------------------------------------
    def _post(
        self,
        url: str,
        kind: str,
        *,
        data: Mapping[str, str | list[str]] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        accept: str | None = None,
    ) -> tuple[str, bytes]:
        """POST and read the whole answer: (media type, body). Maps every failure to the tree."""
        headers = {k: v for k, v in (("accept", accept), ("content-type", content_type)) if v}
        wait_s = self.update_timeout_s if kind == "update" else self.timeout_s
        timeout = httpx.Timeout(self.timeout_s, read=wait_s)
        try:
            with self._client.stream(
                "POST", url, data=data, content=content, headers=headers, timeout=timeout
            ) as resp:
                if resp.status_code >= 300:
                    self._refused(url, kind, resp.status_code, _read(resp, _MAX_MESSAGE * 2))
                body = _read(resp, self.max_response_bytes)
                if len(body) > self.max_response_bytes:
                    raise TooLarge(
                        f"the SPARQL store's answer is over {self.max_response_bytes:,} bytes; "
                        "add LIMIT or aggregate in the query",
                        details={"limit": self.max_response_bytes},
                    )
                media_type = resp.headers.get("content-type", "").partition(";")[0].strip().lower()
                return media_type, body
        except TaiGraphError:
            raise
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Unavailable(f"the SPARQL store at {_public(url)} is unreachable: {_why(exc)}") from None
        except httpx.TimeoutException as exc:
            raise self._broken(url, kind, f"did not answer within {wait_s:g} s ({_why(exc)})") from None
        except httpx.RequestError as exc:  # protocol, read/write or decoding failure
            raise self._broken(url, kind, f"broke the connection: {_why(exc)}") from None
        except httpx.InvalidURL as exc:
            raise Unavailable(f"the SPARQL store URL {_public(url)} is not usable: {exc}") from None

    def _broken(self, url: str, kind: str, what: str) -> Unavailable:
        """The connection was made, then failed: an update may or may not have been applied."""
        unknown = kind == "update"
        tail = "; whether the update was applied is unknown" if unknown else ""
        return Unavailable(
            f"the SPARQL store at {_public(url)} {what}{tail}",
            details={"outcome": "unknown"} if unknown else None,
        )

    def _refused(self, url: str, kind: str, status: int, body: bytes) -> NoReturn:
        message = body.decode("utf-8", "replace").strip()[:_MAX_MESSAGE] or f"HTTP {status}"
        details = {"status": status, "store_message": message}
        if status == 400:
            raise InvalidQuery(f"the SPARQL store rejected the {kind}: {message}", details=details)
        if status == 413:
            raise TooLarge(f"the SPARQL store refused the {kind} as too large: {message}", details=details)
        raise Unavailable(
            f"the SPARQL store at {_public(url)} answered HTTP {status} to the {kind}: {message}",
            details=details,
        )


def _read(resp: httpx.Response, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the body (one more than allowed tells "too large")."""
    out = bytearray()
    for chunk in resp.iter_bytes():
        out += chunk
        if len(out) > limit:
            break
    return bytes(out[: limit + 1])


def _solutions(body: bytes) -> ox.QuerySolutions | ox.QueryBoolean:
    """Parse SPARQL JSON results. The server streams them after its 200, so a query that fails
    part-way leaves a broken document: it is read through once here, so the caller's lazy
    iteration can never meet a parse error."""
    result = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
    if isinstance(result, ox.QueryBoolean):
        return result
    for _ in result:
        pass
    return ox.parse_query_results(body, ox.QueryResultsFormat.JSON)


def _triples(body: bytes) -> ox.QueryTriples:
    """N-Triples as a real ``QueryTriples`` (pyoxigraph cannot build one from triples): loaded into
    a throwaway in-memory store and read back with ``CONSTRUCT WHERE { ?s ?p ?o }``. A graph
    result is a set, so nothing is lost but the order (which SPARQL does not define)."""
    graph = ox.Store()
    graph.load(body, ox.RdfFormat.N_TRIPLES)
    result = graph.query("CONSTRUCT WHERE { ?s ?p ?o }")
    assert isinstance(result, ox.QueryTriples)
    return result


def _iri(text: str, what: str) -> ox.NamedNode:
    try:
        return ox.NamedNode(text)
    except ValueError as exc:
        raise InvalidInput(f"the {what} {text!r} is not a valid IRI: {exc}") from None


def _default_update_url(query_url: str) -> str:
    url = httpx.URL(query_url)
    if url.path.endswith("/query"):
        return str(url.copy_with(path=url.path[: -len("query")] + "update"))
    return query_url


def _scheme(url: str) -> str:
    try:
        return httpx.URL(url).scheme
    except httpx.InvalidURL:
        return ""


def _public(url: str) -> str:
    """``url`` without credentials or query string, for messages."""
    try:
        u = httpx.URL(url)
    except httpx.InvalidURL:
        return "<an invalid URL>"
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.host}{port}{u.path}"


def _why(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
