"""A REAL Oxigraph server (the ``oxigraph`` dev dependency's binary) on 127.0.0.1 for store tests.

One server per session on an ephemeral port with its data in a temp dir; tests use their own graph
and customer names, so they never see each other's data. The server is stopped by its pid. If the
binary is missing or does not start, the tests that need it FAIL (never skip): it is a declared
dependency, and a skipped isolation test would hide a leak.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


def oxigraph_binary() -> Path:
    """The ``oxigraph`` executable installed next to this interpreter (the PyPI ``oxigraph`` wheel)."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "oxigraph"
        if candidate.is_file():
            return candidate
    found = shutil.which("oxigraph")
    if found is None:
        pytest.fail(
            "the Oxigraph server binary is missing: install the dev dependencies "
            "(pip install -e '.[dev]' provides `oxigraph`)",
            pytrace=False,
        )
    return Path(found)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OxigraphServer:
    """``oxigraph serve`` on ``data_dir``; :meth:`start` picks a free port, :meth:`stop` ends it."""

    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        return self.base + "/query"

    @property
    def update_url(self) -> str:
        return self.base + "/update"

    def start(self, attempts: int = 3, wait_s: float = 20.0) -> None:
        binary = oxigraph_binary()
        for _ in range(attempts):  # another process may take the port between probe and bind
            self.port = _free_port()
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    [
                        str(binary),
                        "serve",
                        "--location",
                        str(self.data_dir),
                        "--bind",
                        f"127.0.0.1:{self.port}",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    r = httpx.post(
                        self.query_url,
                        data={"query": "ASK {}"},
                        headers={"accept": "application/sparql-results+json"},
                        timeout=1,
                    )
                    if r.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
            self.stop()
        pytest.fail(
            f"the Oxigraph server ({binary}) did not start on 127.0.0.1; its output:\n"
            + self.log.read_text(errors="replace")[-2000:],
            pytrace=False,
        )

    def stop(self) -> None:
        """Terminate the server by its pid (SIGTERM, then SIGKILL after 10 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    """One Oxigraph server for the session, its data in a temp dir."""
    root = tmp_path_factory.mktemp("oxigraph-server")
    server = OxigraphServer(root / "data", root / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
