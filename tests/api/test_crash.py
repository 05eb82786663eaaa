"""kill -9 of a real `tai-graph serve` during sustained HTTP ingest loses no acknowledged event."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ADMIN = "crash-admin-key-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "TAI_ADMIN_KEY": ADMIN, "TAI_DATA_DIR": str(data)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tai_graph.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise AssertionError("server did not start")


def _batch(start: int, n: int) -> list[dict[str, object]]:
    return [
        {
            "event_id": f"o{i}",
            "timestamp": "2026-01-19T10:00:00Z",
            "transaction_type": "order",
            "data": {"order_id": f"O{i}", "channel": "amazon", "amount": "19.99", "status": "fulfilled"},
        }
        for i in range(start, start + n)
    ]


def test_kill_9_during_http_ingest_loses_no_acknowledged_event(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc, url = _start(data)
    try:
        creds = httpx.post(
            url + "/v1/tenants", json={"customer_id": "acme"}, headers={"Authorization": f"Bearer {ADMIN}"}
        ).json()
        headers = {"Authorization": f"Bearer {creds['api_key']}"}
        acked: list[str] = []
        stop = threading.Event()

        def client() -> None:
            n = 0
            with httpx.Client(base_url=url, headers=headers, timeout=10) as c:
                while not stop.is_set() and n < 200_000:
                    try:
                        resp = c.post("/v1/events", json=_batch(n, 100))
                    except httpx.HTTPError:
                        return  # the server died under us: whatever was not answered was not acked
                    assert resp.status_code == 200, resp.text
                    acked.extend(r["event_id"] for r in resp.json()["results"] if r["status"] == "created")
                    n += 100

        thread = threading.Thread(target=client)
        thread.start()
        deadline = time.monotonic() + 60
        while len(acked) < 3000 and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        stop.set()
        thread.join(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert len(acked) >= 3000
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    proc, url = _start(data)
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            seen: dict[str, int] = {}
            after = 0
            while True:
                page = c.get("/v1/audit-trail", params={"after": after, "limit": 1000}).json()
                assert page["verification"]["ok"], page["verification"]
                for r in page["receipts"]:
                    seen[r["event_id"]] = r["sequence"]
                if page["next_after"] is None:
                    break
                after = page["next_after"]
            assert set(acked) <= set(seen), "an acknowledged event was lost"
            assert sorted(seen.values()) == list(range(1, len(seen) + 1)), "sequence has a gap"
            # the service keeps going where the chain stopped
            resp = c.post("/v1/events", json=_batch(10_000_000, 1)[0])
            assert resp.status_code == 201
            assert resp.json()["sequence"] == len(seen) + 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
