"""The body limit is enforced while reading: 413 before the body is read (Content-Length) or as soon
as a chunked body passes it — and nothing is written."""

from __future__ import annotations

import json
import socket

import pytest

from .support import MAX_BODY, LiveServer, Tenant, assert_nothing_written, assert_problem, order


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def _raw(
    server: LiveServer, tenant: Tenant, path: str, headers: dict[str, str], parts: list[bytes]
) -> tuple[int, dict[str, str], bytes]:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {tenant.api_key}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection(server.host_port, timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            for part in parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may stop listening once it has answered
        return _read_response(sock)


@pytest.mark.parametrize("path", ["/v1/events", "/v1/imports", "/v1/sparql"])
def test_huge_content_length_is_413_before_reading(server: LiveServer, tenant: Tenant, path: str) -> None:
    ct = "application/sparql-query" if path == "/v1/sparql" else "application/json"
    status, headers, body = _raw(
        server, tenant, path, {"Content-Type": ct, "Content-Length": str(10**12)}, [b"[" + b" " * 1000]
    )
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    doc = json.loads(body)
    assert doc["code"] == "too-large"
    assert doc["errors"][0]["field"] == "body"
    assert doc["limit"] == MAX_BODY
    assert_nothing_written(tenant, server)


def test_chunked_body_over_the_limit_is_cut_off(server: LiveServer, tenant: Tenant) -> None:
    event = json.dumps(order("E1")).encode()
    chunk = b" " * 16384
    parts = [b"%x\r\n%s\r\n" % (len(event) + 1, b"[" + event)]
    parts += [b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY // len(chunk) + 1)]
    # never sends the closing "]" nor the last chunk: the server must not wait for the end
    status, _, body = _raw(
        server,
        tenant,
        "/v1/events",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        parts,
    )
    assert status == 413
    assert json.loads(body)["code"] == "too-large"
    assert_nothing_written(tenant, server)


def test_a_body_of_exactly_the_limit_is_read(tenant: Tenant) -> None:
    event = json.dumps(order("E1")).encode()
    body = event + b" " * (MAX_BODY - len(event))
    assert len(body) == MAX_BODY
    resp = tenant.client.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 201, resp.text


def test_one_byte_over_with_httpx_is_413(tenant: Tenant, server: LiveServer) -> None:
    event = json.dumps(order("E1")).encode()
    body = event + b" " * (MAX_BODY + 1 - len(event))
    resp = tenant.client.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
    assert_problem(resp, 413, "too-large", field="body", rule="max_body_bytes")
    assert_nothing_written(tenant, server)
