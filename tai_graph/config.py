"""Frozen settings, built from arguments or the environment; never read at import time."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

Durability = Literal["process", "flush"]


def resource_dir(name: str) -> Path:
    """Where a shipped folder (``ontology``, ``shapes``, ``queries``) is.

    In a wheel they live in ``tai_graph/resources/``; in a source checkout (editable install)
    at the repository top.
    """
    packaged = Path(__file__).parent / "resources" / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / name


def _query_dirs(text: str) -> tuple[Path, ...]:
    return (resource_dir("queries"), *(Path(p) for p in text.split(os.pathsep) if p))


#: ``TAI_*`` environment variables: (variable, Settings field, conversion of its text).
_ENV: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("TAI_DATA_DIR", "data_dir", Path),
    ("TAI_ADMIN_KEY", "admin_key", str),
    ("TAI_HOSTNAME", "hostname", str),
    ("TAI_REGION", "region", str),
    ("TAI_RETENTION_YEARS", "retention_years", int),
    ("TAI_DURABILITY", "durability", str),
    ("TAI_QUERY_DIRS", "query_dirs", _query_dirs),
    ("TAI_QUERY_TIMEOUT_S", "query_timeout_s", float),
    ("TAI_STORE_URL", "store_url", str),
    ("TAI_STORE_UPDATE_URL", "store_update_url", str),
    ("TAI_STORE_TIMEOUT_S", "store_timeout_s", float),
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything an :class:`~tai_graph.engine.Engine` needs to know.

    ``data_dir=None`` means an in-memory store and ephemeral keys (tests, experiments).
    ``store_url`` (a SPARQL 1.1 query endpoint) puts the graph on a remote store instead; tenants,
    keys and documents stay in ``data_dir``.
    """

    data_dir: Path | None = None
    admin_key: str | None = None
    hostname: str = field(default_factory=socket.gethostname)
    region: str = "local"
    retention_years: int = 7
    ontology_dir: Path = field(default_factory=lambda: resource_dir("ontology"))
    shapes_dir: Path = field(default_factory=lambda: resource_dir("shapes"))
    query_dirs: tuple[Path, ...] = field(default_factory=lambda: (resource_dir("queries"),))
    #: "process": a commit survives the process being killed (the OS has it);
    #: "flush": also flush the store to disk after every write (survives power loss, slower).
    durability: Durability = "process"
    max_body_bytes: int = 32 * 1024 * 1024
    max_batch_events: int = 50_000
    query_timeout_s: float = 10.0
    query_result_limit: int = 100_000
    max_concurrent_queries: int = 4
    #: SPARQL 1.1 query endpoint of a remote store (e.g. ``http://host:7878/query``); ``None``: embedded.
    store_url: str | None = None
    #: its update endpoint; ``None``: ``store_url`` with ``/query`` replaced by ``/update``, or itself.
    store_update_url: str | None = None
    #: seconds to connect, and between bytes of a request or answer, on the remote store.
    store_timeout_s: float = 30.0

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``TAI_*`` environment variables, then explicit overrides."""
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for name, attribute, convert in _ENV:
            if env.get(name):
                values[attribute] = convert(env[name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("data_dir") is not None:
            values["data_dir"] = Path(str(values["data_dir"]))
        return cls(**values)  # type: ignore[arg-type]
