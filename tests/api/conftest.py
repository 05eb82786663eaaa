"""API tests talk to a REAL uvicorn server on 127.0.0.1 (ephemeral port, on-disk data in tmp).

One server per session; every test gets fresh customers, so "nothing was written" is exact.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from tai_graph.api import create_app
from tai_graph.config import Settings
from tai_graph.engine import Engine

from .support import ADMIN_KEY, MAX_BODY, LiveServer, Tenant, new_tenant


def start_uvicorn(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Serve ``app`` on 127.0.0.1 with an ephemeral port, in a thread; return its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("tai-data")
    settings = Settings(data_dir=data_dir, admin_key=ADMIN_KEY, hostname="api-test", max_body_bytes=MAX_BODY)
    engine = Engine(settings)
    uv, thread, url = start_uvicorn(create_app(engine))
    try:
        yield LiveServer(url, engine, data_dir)
    finally:
        uv.should_exit = True
        thread.join(timeout=15)
        engine.close()


@pytest.fixture
def tenant(server: LiveServer) -> Iterator[Tenant]:
    t = new_tenant(server)
    yield t
    t.client.close()


@pytest.fixture
def other(server: LiveServer) -> Iterator[Tenant]:
    t = new_tenant(server, "other")
    yield t
    t.client.close()


@pytest.fixture
def anon(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
