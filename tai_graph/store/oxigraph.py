"""The embedded store: pyoxigraph on disk (a data dir) or in memory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pyoxigraph as ox

from tai_graph.errors import InvalidQuery, Unavailable
from tai_graph.store.base import QueryScope, Row, Term, solution_rows, term_value


class OxigraphStore:
    """:class:`~tai_graph.store.base.GraphStore` over an embedded pyoxigraph ``Store``.

    One process may open an on-disk store for writing; commits reach the OS before ``update``
    returns, so they survive the process being killed (``flush`` for power loss).
    """

    def __init__(self, path: Path | None = None) -> None:
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
        try:
            self._store = ox.Store(str(path)) if path is not None else ox.Store()
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise Unavailable(
                    f"the store in {path} is open in another process (a running `tai-graph serve`?); "
                    "one process writes a store: stop it, or use its HTTP API"
                ) from exc
            raise
        self.path = path

    @property
    def raw(self) -> ox.Store:
        """The pyoxigraph store, for code that needs its serialisers (the SPARQL endpoint)."""
        return self._store

    def execute(
        self, query: str, scope: QueryScope, bindings: Mapping[str, Term] | None = None
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        default: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [ox.NamedNode(g) for g in scope.graphs]
        named: list[ox.NamedNode | ox.BlankNode] = [ox.NamedNode(g) for g in scope.graphs]
        subs: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] | None = (
            {ox.Variable(k): v for k, v in bindings.items()} if bindings else None
        )
        try:
            return self._store.query(
                query,
                default_graph=default,
                named_graphs=named,
                substitutions=subs,
            )
        except SyntaxError as exc:
            raise InvalidQuery(f"SPARQL syntax error: {exc}") from exc

    def select(self, query: str, scope: QueryScope, bindings: Mapping[str, Term] | None = None) -> list[Row]:
        return solution_rows(self.execute(query, scope, bindings))

    def update(self, update: str) -> None:
        self._store.update(update)

    def subject_quads(self, subject: str, graph: str) -> Iterator[ox.Quad]:
        return iter(self._store.quads_for_pattern(ox.NamedNode(subject), None, None, ox.NamedNode(graph)))

    def object_values(self, subjects: Sequence[str], predicate: str, graph: str) -> dict[str, str]:
        p, g = ox.NamedNode(predicate), ox.NamedNode(graph)
        out: dict[str, str] = {}
        for subject in subjects:
            for q in self._store.quads_for_pattern(ox.NamedNode(subject), p, None, g):
                out[subject] = term_value(q.object)
                break
        return out

    def properties(self, subjects: Sequence[str], graph: str) -> dict[str, dict[str, str]]:
        g = ox.NamedNode(graph)
        out: dict[str, dict[str, str]] = {}
        for subject in subjects:
            for q in self._store.quads_for_pattern(ox.NamedNode(subject), None, None, g):
                out.setdefault(subject, {})[q.predicate.value] = term_value(q.object)
        return out

    def flush(self) -> None:
        if self.path is not None:
            self._store.flush()

    def optimize(self) -> None:
        """RocksDB full compaction (``Store.optimize``). Reads and writes may go on meanwhile; at 1M
        events it takes ~35 s, halves the store on disk and the cost of an index lookup."""
        if self.path is not None:
            self._store.optimize()

    def close(self) -> None:
        if self.path is not None:
            self._store.flush()
        del self._store
