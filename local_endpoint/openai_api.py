"""OpenAI-compatible routes: what ``openai.OpenAI(base_url=.../openai/v1)`` calls.

RunPod serves ``https://api.runpod.ai/v2/{endpoint_id}/openai/v1`` as an OpenAI base
URL (RunPod's documentation, OpenAI API compatibility:
https://docs.runpod.io/serverless/vllm/openai-compatibility) and hands each request
to a worker as the job input ``{"openai_route": "/v1/...", "openai_input": <the
request body>}`` (what runpod-workers/worker-vllm reads, ``src/utils.py`` JobInput and
``src/handler.py``). On the local endpoint:

==========================================  ======================================
``POST openai/v1/chat/completions``         A job on the same queue as ``/run``
``POST openai/v1/completions``              (``/health`` counts it; the execution
                                            timeout applies); the worker's answer
                                            is relayed as JSON, or, with
                                            ``"stream": true``, as
                                            ``text/event-stream``, each chunk the
                                            worker yields written as it arrives.
``GET openai/v1/models``                    A job with ``openai_input`` ``{}``.
==========================================  ======================================

Contract:
- Authenticated like the client routes (``client_api``); every error is OpenAI's
  shape ``{"error": {"message", "type", "param", "code"}}``: 401 without the key, 404
  for another endpoint id, an unknown path or model, 405 for another method, 400 for
  a body that is not a JSON object and for whatever the worker refuses, 413 over
  ``max_runsync_bytes``.
- The worker's failure (JSON text in the job's ``error``, ``worker.errors``) becomes
  its ``openai`` error object with a status that fits (``STATUS``); a timed-out job
  is 504. Every error carries ``x-should-retry``: ``false`` wherever another attempt
  would only repeat the failure (bad input, a timeout, out of memory, a model that
  cannot load), so the official client (which retries 408, 409, 429 and >= 500)
  never submits such a job twice.
- A stream whose job fails before its first chunk is answered as a plain error; one
  that fails later gets a last event ``data: {"error": {...}}``, which the official
  client raises as ``openai.APIError``.
- The client hanging up (or the handler being cancelled) before the answer is
  complete cancels the job: the worker is told to stop it, as for ``/cancel``.
- The job id is never shown: there is none to poll or cancel.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .dispatch import Dispatch
from .httputil import client_key_ok, read_body
from .jobs import CANCELLED, COMPLETED, TIMED_OUT, Job

ROUTES = {"v1/chat/completions": ("POST", "/v1/chat/completions"),
          "v1/completions": ("POST", "/v1/completions"),
          "v1/models": ("GET", "/v1/models")}
# worker status -> (HTTP status, retry worth it)
STATUS = {"VALIDATION_ERROR": (400, False), "OOM_ERROR": (500, False), "TIMEOUT": (504, False),
          "MODEL_LOAD_ERROR": (503, False), "CONNECTION_ERROR": (502, True), "UNKNOWN_ERROR": (500, True)}
POLL_S = 0.25  # how often a held request checks that its client is still there


def openai_error(status: int, message: str, *, type: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None, retry: bool = False) -> web.Response:
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return web.json_response(body, status=status, headers={"x-should-retry": "true" if retry else "false"})


def add_routes(app: web.Application, dispatch: Dispatch) -> None:
    prefix = "/v2/{endpoint_id}/openai"

    async def handle(request: web.Request) -> web.StreamResponse:
        cfg = dispatch.config
        if not client_key_ok(request, cfg.api_key):
            return openai_error(401, "Incorrect API key provided: send this endpoint's API key as "
                                     "'Authorization: Bearer <api key>'", code="invalid_api_key")
        if request.match_info["endpoint_id"] != cfg.endpoint_id:
            return openai_error(404, f"no endpoint {request.match_info['endpoint_id']!r} here; this "
                                     f"server serves {cfg.endpoint_id!r}", code="unknown_url")
        tail = request.match_info["tail"]
        if tail not in ROUTES:
            return openai_error(404, f"Unknown request URL: {request.method} {request.path}. The OpenAI "
                                     f"routes here are {', '.join(ROUTES)}.", code="unknown_url")
        method, route = ROUTES[tail]
        if request.method != method:
            answer = openai_error(405, f"{request.method} is not allowed on {request.path}; this route takes "
                                       f"{method}", code="method_not_allowed")
            answer.headers["Allow"] = method
            return answer
        if method == "GET":
            body: Any = {}
        else:
            try:
                raw = await read_body(request, cfg.max_runsync_bytes, "an OpenAI request")
            except web.HTTPRequestEntityTooLarge as too_large:
                return openai_error(413, json.loads(too_large.text)["error"], code="request_too_large")
            try:
                body = json.loads(raw)
            except ValueError as problem:
                return openai_error(400, f"We could not parse the JSON body of your request: {problem}",
                                    code="invalid_json")
            if not isinstance(body, dict):
                return openai_error(400, "The request body must be a JSON object.", code="invalid_type")
        job = dispatch.submit({"openai_route": route, "openai_input": body}, sync=True, webhook=None,
                              execution_timeout=cfg.execution_timeout or None, ttl=cfg.job_ttl or None)
        try:
            if body.get("stream") is True:
                return await _relay_stream(dispatch, request, job)
            return await _relay_whole(dispatch, request, job)
        finally:
            if not job.is_final:  # the client hung up, or the server is closing
                dispatch.cancel(job.id)

    app.router.add_route("*", prefix + "/{tail:.*}", handle)


def _hung_up(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _final(dispatch: Dispatch, request: web.Request, job: Job) -> Job | None:
    """The job once final; None if the client hung up first (or the job was deleted)."""
    while not _hung_up(request):
        found = await dispatch.wait_until_final(job.id, POLL_S)
        if found is None:
            return job if job.is_final else None
        if found.is_final:
            return found
    return None


def _failure(job: Job) -> web.Response:
    if job.status == TIMED_OUT:
        return openai_error(504, f"The request timed out on the endpoint: {job.error}", type="timeout",
                            code="timeout")
    if job.status == CANCELLED:
        return openai_error(500, "The request's job was cancelled on the endpoint.", type="server_error",
                            code="cancelled")
    try:
        data = json.loads(job.error)
    except (TypeError, ValueError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("openai"), dict):
        err = data["openai"]
        status, retry = STATUS.get(data.get("status"), (500, True))
        if err.get("code") == "model_not_found":
            status = 404
        return openai_error(status, str(err.get("message")), type=str(err.get("type")), param=err.get("param"),
                            code=err.get("code"), retry=retry and bool(data.get("retry", True)))
    return openai_error(500, f"The worker failed: {job.error}", type="server_error", retry=True)


async def _relay_whole(dispatch: Dispatch, request: web.Request, job: Job) -> web.StreamResponse:
    final = await _final(dispatch, request, job)
    if final is None:
        return web.Response(status=499)  # nobody is listening
    if final.status != COMPLETED:
        return _failure(final)
    output = final.output
    if isinstance(output, list):  # return_aggregate_stream: what the worker yielded
        output = next((o for o in reversed(output) if isinstance(o, dict)), None)
    if not isinstance(output, dict):
        return openai_error(500, "The worker's answer is not an OpenAI object.", type="server_error", retry=False)
    return web.json_response(output)


def _as_text(chunk: Any) -> str:
    return chunk if isinstance(chunk, str) else "data: " + json.dumps(chunk) + "\n\n"


async def _relay_stream(dispatch: Dispatch, request: web.Request, job: Job) -> web.StreamResponse:
    response: web.StreamResponse | None = None
    while True:
        if _hung_up(request):
            return response or web.Response(status=499)
        await dispatch.wait_for_chunks(job.id, POLL_S)
        current = dispatch.job(job.id)
        chunks = dispatch.next_chunks(current) if current is not None else []
        if chunks:
            if response is None:
                response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                                       "Cache-Control": "no-cache"})
                await response.prepare(request)
            try:
                await response.write("".join(_as_text(c) for c in chunks).encode())
            except ConnectionError:  # the client hung up: the caller cancels the job
                return response
        ended = current if current is not None else job
        if ended.is_final and (current is None or current.chunks_sent == len(current.chunks)):
            break
    if ended.status == COMPLETED:
        if response is None:
            return web.json_response({"error": {"message": "The worker streamed nothing.", "type": "server_error",
                                                "param": None, "code": None}}, status=500,
                                     headers={"x-should-retry": "false"})
        await _end(response)
        return response
    failure = _failure(ended)
    if response is None:
        return failure
    await _end(response, b"data: " + failure.body + b"\n\n")
    return response


async def _end(response: web.StreamResponse, last: bytes = b"") -> None:
    try:
        await response.write_eof(last)
    except ConnectionError:  # a client that has read [DONE] may hang up first
        pass
