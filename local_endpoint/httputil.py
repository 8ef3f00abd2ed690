"""Small HTTP helpers shared by the client and worker routes.

Contract:
- ``error(status, message)`` is the one error shape: ``{"error": message}`` as JSON.
- ``client_key_ok`` accepts ``Authorization: Bearer <api key>`` (what both SDKs
  send) and the key alone, as RunPod's curl examples send it (``authorization:
  $RUNPOD_API_KEY``, send requests: https://docs.runpod.io/serverless/endpoints/send-requests);
  ``worker_key_ok`` accepts the worker key raw (what the SDK worker sends) or as
  ``Bearer``. Keys are compared in constant time, and a client key is never a worker
  key or the other way round.
- ``read_body(request, limit, what)`` returns the body, or raises an ``HTTPException``
  with status 413 and a message naming the limit. The body is read to its end before
  answering, because a client still sending gets a reset connection, not the 413.
"""

from __future__ import annotations

import hmac
import json

from aiohttp import web

# Past this the connection is dropped unread: no payload limit is anywhere near it.
HARD_READ_CAP = 512 * 1024 * 1024


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def http_error(cls: type[web.HTTPException], message: str) -> web.HTTPException:
    return cls(text=json.dumps({"error": message}), content_type="application/json")


def too_large(what: str, size: int, limit: int) -> web.HTTPException:
    message = (f"payload too large: {what} accepts at most {_megabytes(limit)} "
               f"({limit} bytes), this request has {size} bytes")
    return web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size,
                                         text=json.dumps({"error": message}),
                                         content_type="application/json")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _presented_key(request: web.Request) -> str:
    """The key of ``Authorization: Bearer <key>`` or of ``Authorization: <key>``."""
    header = request.headers.get("Authorization", "").strip()
    scheme, _, rest = header.partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else header


def client_key_ok(request: web.Request, api_key: str) -> bool:
    key = _presented_key(request)
    return bool(key) and _same(key, api_key)


def worker_key_ok(request: web.Request, worker_key: str) -> bool:
    key = _presented_key(request)
    return bool(key) and _same(key, worker_key)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


async def read_body(request: web.Request, limit: int, what: str) -> bytes:
    declared = request.content_length
    if declared is not None and declared > HARD_READ_CAP:
        raise too_large(what, declared, limit)
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(1024 * 1024)
        if not chunk:
            break
        size += len(chunk)
        if size > HARD_READ_CAP:
            raise too_large(what, size, limit)
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        raise too_large(what, size, limit)
    return b"".join(chunks)

