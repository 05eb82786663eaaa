"""Graph stores behind one small protocol: embedded Oxigraph, or a remote SPARQL 1.1 endpoint."""

from __future__ import annotations

from tai_graph.config import Settings
from tai_graph.store.base import GraphStore, QueryScope, ResultKind, Row, Term
from tai_graph.store.oxigraph import OxigraphStore
from tai_graph.store.sparql_http import SparqlHttpStore

__all__ = [
    "GraphStore",
    "OxigraphStore",
    "QueryScope",
    "ResultKind",
    "Row",
    "SparqlHttpStore",
    "Term",
    "open_store",
]


def open_store(settings: Settings) -> GraphStore:
    """The store ``settings`` name: the SPARQL endpoint at ``store_url`` (checked to isolate
    customers, :meth:`SparqlHttpStore.verify_isolation`), else the embedded store in
    ``data_dir/store`` (in memory without a data dir)."""
    if settings.store_url:
        remote = SparqlHttpStore(
            settings.store_url, settings.store_update_url, timeout_s=settings.store_timeout_s
        )
        try:
            remote.verify_isolation()
        except BaseException:
            remote.close()
            raise
        return remote
    return OxigraphStore(settings.data_dir / "store" if settings.data_dir else None)
