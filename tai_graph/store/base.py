"""The small interface every graph store implements (embedded Oxigraph, remote SPARQL 1.1).

Terms are pyoxigraph terms (``NamedNode``, ``Literal``, ``BlankNode``); both implementations speak
them, so the core never depends on which store it runs on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import pyoxigraph as ox

from tai_graph.errors import InvalidQuery

Term = ox.NamedNode | ox.Literal | ox.BlankNode
Row = dict[str, Term]
ResultKind = Literal["select", "ask", "graph"]


def term_value(term: ox.NamedNode | ox.Literal | ox.BlankNode | ox.Triple | ox.DefaultGraph) -> str:
    """The lexical value of a term (IRI text, literal text); a quoted triple's N-Triples form."""
    return str(term) if isinstance(term, (ox.Triple, ox.DefaultGraph)) else term.value


def solution_rows(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples) -> list[Row]:
    """The rows of a SELECT result: variable name -> term, unbound variables left out."""
    if not isinstance(result, ox.QuerySolutions):
        raise InvalidQuery("expected a SELECT query")
    names = [v.value for v in result.variables]
    rows: list[Row] = []
    for solution in result:
        row: Row = {}
        for name in names:
            term = solution[name]
            if term is not None:
                row[name] = term
        rows.append(row)
    return rows


@dataclass(frozen=True, slots=True)
class QueryScope:
    """Which graphs a query may see. ``graphs`` is the default graph (their union) and the only
    graphs reachable through ``GRAPH ?g``; a caller can never widen it from the query text."""

    graphs: tuple[str, ...]


class GraphStore(Protocol):
    """A quad store the engine writes to and queries."""

    def select(self, query: str, scope: QueryScope, bindings: Mapping[str, Term] | None = None) -> list[Row]:
        """Run a SELECT query; bound variables are substituted safely (never pasted)."""
        ...

    def execute(
        self, query: str, scope: QueryScope, bindings: Mapping[str, Term] | None = None
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """Run any read query and return the lazy result (SELECT, ASK, CONSTRUCT, DESCRIBE)."""
        ...

    def update(self, update: str) -> None:
        """Apply a SPARQL Update atomically: all of it or nothing."""
        ...

    def subject_quads(self, subject: str, graph: str) -> Iterator[ox.Quad]:
        """All quads about ``subject`` in ``graph`` (an index lookup)."""
        ...

    def object_values(self, subjects: Sequence[str], predicate: str, graph: str) -> dict[str, str]:
        """For each subject that has ``predicate`` in ``graph``, the value of one such object.

        One call for a whole batch (one request on a remote store), so the write path can check
        thousands of event ids at once.
        """
        ...

    def properties(self, subjects: Sequence[str], graph: str) -> dict[str, dict[str, str]]:
        """For each subject with triples in ``graph``, its predicates with one value each.

        One call for a whole batch (one request per 500 subjects on a remote store); the write
        path reads the rollup cells a batch touches with it.
        """
        ...

    def flush(self) -> None:
        """Make committed writes durable on disk (not only in the OS)."""
        ...

    def optimize(self) -> None:
        """Compact the indexes so lookups stay as fast as the data grows (after a big import)."""
        ...

    def close(self) -> None: ...
