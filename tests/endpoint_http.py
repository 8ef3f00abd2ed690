"""Helpers for tests that talk to a local endpoint below the level of any HTTP library.

Contract:
- ``raw_request(port, method, target, headers=(), body=b"")`` sends exactly the bytes
  it is given (header values and the request target may be any bytes, which no
  client library lets through) over one connection to 127.0.0.1 and returns a
  ``RawAnswer`` (status, headers, body). ``Connection: close`` and, for a body,
  ``Content-Length`` are added unless given.
- ``client_routes(ep, job_id)`` and ``worker_routes(ep, worker_id, job_id)`` list every
  route of each side as (method, path) pairs, so a test can go over all of them.
- ``CliEndpoint(handler, api_key)`` runs ``python -m local_endpoint`` as a user does
  (one warm worker running ``tests/handlers/<handler>``) until ``close()``; its
  ``url`` is the printed base URL (``http://127.0.0.1:PORT/v2``). With ``settings``
  (``EndpointConfig`` fields) it runs ``tests/serve_endpoint.py`` instead.
- ``FakeReceiver`` is a loopback HTTP server recording every POST; its answer can be
  set (a status and headers) to play a webhook receiver that redirects.
"""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parent.parent


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


class CliEndpoint:
    """``python -m local_endpoint`` in a subprocess, with one worker kept warm."""

    def __init__(self, handler: str, api_key: str, endpoint_id: str = "conformance",
                 start_timeout: float = 60.0, settings: dict | None = None,
                 idle_workers: int = 1) -> None:
        self.api_key, self.endpoint_id = api_key, endpoint_id
        command = f"{sys.executable} {ROOT / 'tests' / 'handlers' / handler}"
        if settings is None:  # as a user runs it
            args = [sys.executable, "-m", "local_endpoint", "--port", "0",
                    "--endpoint-id", endpoint_id, "--api-key", api_key, "--min-workers", "1",
                    "--max-workers", "1", "--worker-command", command]
        else:  # any EndpointConfig (tests/serve_endpoint.py)
            config = dict(endpoint_id=endpoint_id, api_key=api_key,
                          worker_command=command.split(), **settings)
            args = [sys.executable, str(ROOT / "tests" / "serve_endpoint.py"), json.dumps(config)]
        self.idle_workers = idle_workers
        self.process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + start_timeout
        self.url = None
        while self.url is None:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line.startswith("Local RunPod endpoint"):
                self.url = line.rsplit(" at ", 1)[1].strip()
        self.port = int(self.url.split(":")[2].split("/")[0])
        self.wait_for_idle_worker(deadline - time.monotonic())

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line.rstrip("\n"))

    def health(self) -> dict:
        answer = raw_request(self.port, "GET", f"/v2/{self.endpoint_id}/health",
                             [("Authorization", f"Bearer {self.api_key}")])
        return answer.json()

    def wait_for_idle_worker(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.health()["workers"]["idle"] < self.idle_workers:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the CLI endpoint's worker never became ready:\n"
                                   + "".join(self.output))
            time.sleep(0.1)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
