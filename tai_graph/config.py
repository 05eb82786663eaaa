"""Frozen settings, built from arguments or the environment; never read at import time."""

from __future__ import annotations

import os
import socket
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
        if env.get("TAI_DATA_DIR"):
            values["data_dir"] = Path(env["TAI_DATA_DIR"])
        if env.get("TAI_ADMIN_KEY"):
            values["admin_key"] = env["TAI_ADMIN_KEY"]
        if env.get("TAI_HOSTNAME"):
            values["hostname"] = env["TAI_HOSTNAME"]
        if env.get("TAI_REGION"):
            values["region"] = env["TAI_REGION"]
        if env.get("TAI_RETENTION_YEARS"):
            values["retention_years"] = int(env["TAI_RETENTION_YEARS"])
        if env.get("TAI_DURABILITY"):
            values["durability"] = env["TAI_DURABILITY"]
        if env.get("TAI_QUERY_DIRS"):
            extra = tuple(Path(p) for p in env["TAI_QUERY_DIRS"].split(os.pathsep) if p)
            values["query_dirs"] = (resource_dir("queries"), *extra)
        if env.get("TAI_QUERY_TIMEOUT_S"):
            values["query_timeout_s"] = float(env["TAI_QUERY_TIMEOUT_S"])
        if env.get("TAI_STORE_URL"):
            values["store_url"] = env["TAI_STORE_URL"]
        if env.get("TAI_STORE_UPDATE_URL"):
            values["store_update_url"] = env["TAI_STORE_UPDATE_URL"]
        if env.get("TAI_STORE_TIMEOUT_S"):
            values["store_timeout_s"] = float(env["TAI_STORE_TIMEOUT_S"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("data_dir") is not None:
            values["data_dir"] = Path(str(values["data_dir"]))
        return cls(**values)  # type: ignore[arg-type]
