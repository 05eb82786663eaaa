"""Graph stores behind one small protocol."""

from __future__ import annotations

from tai_graph.store.base import GraphStore, QueryScope, ResultKind, Row, Term
from tai_graph.store.oxigraph import OxigraphStore

__all__ = ["GraphStore", "OxigraphStore", "QueryScope", "ResultKind", "Row", "Term"]
