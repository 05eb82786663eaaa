"""Small JSON documents kept beside the graph: tenants, engagements, baselines.

On disk each document is one file written atomically (temp file, fsync, rename), so a crash never
leaves half a document. ``write_once`` refuses to overwrite, which is how baselines stay frozen.
With no directory the documents live in memory (tests, experiments).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from tai_graph.errors import Conflict

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


class DocumentStore:
    """Named JSON documents grouped in collections (``collection/name.json``)."""

    def __init__(self, root: Path | None) -> None:
        self._root = root
        self._memory: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)

    def _path(self, collection: str, name: str) -> Path:
        assert self._root is not None
        for part in (*collection.split("/"), name):
            if not part or not set(part) <= _SAFE or part in {".", ".."}:
                raise ValueError(f"unsafe document name: {collection}/{name}")
        return self._root / collection / f"{name}.json"

    def get(self, collection: str, name: str) -> Any | None:
        """The document, or ``None`` when there is none."""
        if self._root is None:
            raw = self._memory.get((collection, name))
            return None if raw is None else json.loads(raw)
        path = self._path(collection, name)
        try:
            return json.loads(path.read_bytes())
        except FileNotFoundError:
            return None

    def put(self, collection: str, name: str, doc: Any, *, write_once: bool = False) -> None:
        """Store ``doc``; with ``write_once`` an existing document raises :class:`Conflict`."""
        raw = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True).encode()
        with self._lock:
            if self._root is None:
                if write_once and (collection, name) in self._memory:
                    raise Conflict(f"{collection}/{name} exists and never changes")
                self._memory[(collection, name)] = raw
                return
            path = self._path(collection, name)
            if write_once and path.exists():
                raise Conflict(f"{collection}/{name} exists and never changes")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(raw)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def names(self, collection: str) -> list[str]:
        """Document names in a collection, sorted."""
        if self._root is None:
            return sorted(n for c, n in self._memory if c == collection)
        folder = self._root / collection
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.json"))
