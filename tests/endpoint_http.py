"""Helpers for tests that talk to a local endpoint below the level of any HTTP library.

Contract:
- ``raw_request(port, method, target, headers=(), body=b"")`` sends exactly the bytes
  it is given (header values and the request target may be any bytes, which no
  client library lets through) over one connection to 127.0.0.1 and returns a
  ``RawAnswer`` (status, headers, body). ``Connection: close`` and, for a body,
  ``Content-Length`` are added unless given.
- ``client_routes(ep, job_id)`` and ``worker_routes(ep, worker_id, job_id)`` list every
  route of each side as (method, path) pairs, so a test can go over all of them.
- ``FakeReceiver`` is a loopback HTTP server recording every POST; its answer can be
  set (a status and headers) to play a webhook receiver that redirects.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterable


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def raw_request(port: int, method: str | bytes, target: str | bytes,
                headers: Iterable[tuple[bytes | str, bytes | str]] = (), body: bytes = b"",
                timeout: float = 30.0) -> RawAnswer:
    def b(value) -> bytes:
        return value if isinstance(value, bytes) else value.encode()

    headers = [(b(k), b(v)) for k, v in headers]
    names = {k.lower() for k, _ in headers}
    if b"host" not in names:
        headers.insert(0, (b"Host", b"127.0.0.1"))
    if b"connection" not in names:
        headers.append((b"Connection", b"close"))
    if body and b"content-length" not in names and b"transfer-encoding" not in names:
        headers.append((b"Content-Length", str(len(body)).encode()))
    head = b"%s %s HTTP/1.1\r\n" % (b(method), b(target))
    head += b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    answer_headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        answer_headers[name.strip().lower()] = value.strip()
    return RawAnswer(status, answer_headers, rest)


def client_routes(endpoint_id: str, job_id: str) -> list[tuple[str, str]]:
    p = f"/v2/{endpoint_id}"
    return [("POST", f"{p}/run"), ("POST", f"{p}/runsync"), ("GET", f"{p}/status/{job_id}"),
            ("POST", f"{p}/status/{job_id}"), ("GET", f"{p}/status-sync/{job_id}"),
            ("GET", f"{p}/stream/{job_id}"), ("POST", f"{p}/cancel/{job_id}"),
            ("POST", f"{p}/retry/{job_id}"), ("GET", f"{p}/health"),
            ("POST", f"{p}/purge-queue")]


def worker_routes(endpoint_id: str, worker_id: str, job_id: str) -> list[tuple[str, str]]:
    p = f"/v2/{endpoint_id}"
    return [("GET", f"{p}/job-take/{worker_id}?gpu=x&job_in_progress=0"),
            ("GET", f"{p}/job-take-batch/{worker_id}?gpu=x&batch_size=2&job_in_progress=0"),
            ("GET", f"{p}/job-stop/{worker_id}?gpu=x"),
            ("POST", f"{p}/job-done/{worker_id}/{job_id}?gpu=x&isStream=false"),
            ("POST", f"{p}/job-stream/{worker_id}/{job_id}?gpu=x&isStream=true"),
            ("GET", f"{p}/ping/{worker_id}?gpu=x&runpod_version=1.12.0")]


class FakeReceiver:
    """A loopback HTTP server that records POSTs and answers ``status`` with ``headers``."""

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.headers = dict(headers or {})
        self.received: list[bytes] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                owner.received.append(self.rfile.read(length))
                self.send_response(owner.status)
                for name, value in owner.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
