"""The embedded store: scoping, atomic updates, one writer per data dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from tai_graph.errors import Unavailable
from tai_graph.store import OxigraphStore, QueryScope


def test_scope_cannot_be_widened_from_the_query(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "s")
    store.update(
        "INSERT DATA { GRAPH <urn:tai:a> { <urn:x> <urn:p> 1 } GRAPH <urn:tai:b> { <urn:y> <urn:p> 2 } }"
    )
    scope = QueryScope(("urn:tai:a",))
    for query in (
        "SELECT ?s WHERE { ?s ?p ?o }",
        "SELECT ?s FROM <urn:tai:b> WHERE { ?s ?p ?o }",
        "SELECT ?s FROM NAMED <urn:tai:b> WHERE { GRAPH ?g { ?s ?p ?o } }",
        "SELECT ?s WHERE { GRAPH <urn:tai:b> { ?s ?p ?o } }",
    ):
        seen = {row["s"].value for row in store.select(query, scope) if "s" in row}
        assert seen <= {"urn:x"}, query


def test_a_failing_update_writes_nothing(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "s")
    with pytest.raises(OSError):
        store.update("INSERT DATA { <urn:a> <urn:p> 1 } ; LOAD <http://127.0.0.1:9/x>")
    assert list(store.raw) == []


def test_second_process_gets_a_clear_error(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "s")
    store.update("INSERT DATA { <urn:a> <urn:p> 1 }")
    code = (
        "import sys; from pathlib import Path\n"
        "from tai_graph.store import OxigraphStore\n"
        "from tai_graph.errors import Unavailable\n"
        "try:\n    OxigraphStore(Path(sys.argv[1]))\n"
        "except Unavailable as e:\n    print(e.message); sys.exit(3)\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s")], capture_output=True, text=True)
    assert r.returncode == 3, r.stderr
    assert "another process" in r.stdout
    assert isinstance(store.raw, ox.Store)
    assert issubclass(Unavailable, Exception)
