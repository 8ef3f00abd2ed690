"""Client routes: what ``runpod.Endpoint``, the JS SDK and RunPod's curl forms call.

Contract. Every route is under ``/v2/{endpoint_id}/`` and needs the API key, as
``Authorization: Bearer <api key>`` or alone (401 otherwise); another endpoint id is
a 404. Errors are ``{"error": "..."}``. The routes and their shapes follow RunPod's
documentation (job operations:
https://docs.runpod.io/serverless/endpoints/job-operations; send requests:
https://docs.runpod.io/serverless/endpoints/send-requests); where it is silent, the
JS SDK's types (npm ``runpod-sdk`` 1.1.2, src/index.ts).

==========================  =================================================
``POST run``                ``{"id", "status": "IN_QUEUE"}``. Body: ``{"input": ...}``
                            plus optional ``webhook`` (loopback only, else 400),
                            ``policy.executionTimeout`` and ``policy.ttl`` (ms, at
                            least ``min_execution_timeout`` / ``min_ttl``, at most
                            7 days, else 400) and ``s3Config`` (passed to the
                            worker). Over ``max_run_bytes``: 413.
``POST runsync``            The same, then holds until the job ends, at most
                            ``?wait=`` ms (1000 to 300000, else 400 ``wait is
                            invalid; ...``; default ``runsync_wait``): the status
                            body, or ``{"id", "status": "IN_QUEUE"|"IN_PROGRESS"}``
                            for the client to poll. Over ``max_runsync_bytes``: 413.
``GET status/{id}``         The status body: ``id``, ``status``, ``delayTime`` and
                            ``executionTime`` (ms), ``output``, ``error``. While
                            IN_PROGRESS, ``output`` is the latest progress update.
                            404 for an unknown id, one past retention or its ttl.
``GET status-sync/{id}``    The status body once the job ends, held at most
                            ``?wait=`` ms (the rules of runsync). POST too.
``GET stream/{id}``         ``{"id", "status", "stream": [{"output": chunk}, ...]}``
                            with the chunks no caller has had yet; with none new it
                            is held up to ``stream_hold`` s (under the client's 10 s).
``POST cancel/{id}``        Cancels a queued or running job (the worker gets the id
                            on job-stop); a final job is left as it is. The status
                            body (``executionTime`` 0 for a job that never ran).
``POST retry/{id}``         A FAILED or TIMED_OUT job goes back to IN_QUEUE under
                            its id, its output and error cleared:
                            ``{"id", "status": "IN_QUEUE"}``; any other status: 400.
``GET health``              ``{"jobs": {completed, failed, inProgress, inQueue,
                            retried}, "workers": {idle, initializing, ready,
                            running, throttled}}`` (see ``reports``).
``POST purge-queue``        Cancels every queued job: ``{"removed": n, "status":
                            "completed"}``
==========================  =================================================

A job with a ``ttl`` (default ``job_ttl``) is deleted that long after it was
created, whatever its state; a running one is stopped on its worker.
"""

from __future__ import annotations

import json
from typing import Awaitable, Callable

from aiohttp import web

from .dispatch import Dispatch
from .httputil import client_key_ok, error, http_error, read_body
from .webhooks import webhook_refusal

PASSED_TO_WORKER = ("s3Config",)

# ?wait= of runsync (and status-sync), in ms. RunPod's documentation gives the range
# 1000-300000 and a 90 s default (send requests, "Synchronous jobs":
# https://docs.runpod.io/serverless/endpoints/send-requests); outside it a live
# endpoint was quoted answering 400 with this text (runpod/runpod-mcp issue 13).
WAIT_MIN_MS, WAIT_MAX_MS = 1000, 300_000
WAIT_INVALID = f"wait is invalid; must be between {WAIT_MIN_MS} and {WAIT_MAX_MS}"
# The documented maximum of both executionTimeout and ttl (endpoint configurations:
# https://docs.runpod.io/serverless/endpoints/endpoint-configurations).
POLICY_MAX_MS = 7 * 24 * 60 * 60 * 1000

Handler = Callable[[Dispatch, web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, dispatch: Dispatch) -> None:
    def route(handler: Handler):
        async def checked(request: web.Request) -> web.StreamResponse:
            cfg = dispatch.config
            if not client_key_ok(request, cfg.api_key):
                return error(401, "Unauthorized: send this endpoint's API key as "
                                  "'Authorization: Bearer <api key>' or 'Authorization: <api key>'")
            if request.match_info["endpoint_id"] != cfg.endpoint_id:
                return error(404, f"no endpoint {request.match_info['endpoint_id']!r} "
                                  f"here; this server serves {cfg.endpoint_id!r}")
            return await handler(dispatch, request)
        return checked

    prefix = "/v2/{endpoint_id}"
    app.router.add_post(f"{prefix}/run", route(run))
    app.router.add_post(f"{prefix}/runsync", route(runsync))
    for method in ("GET", "POST"):
        app.router.add_route(method, f"{prefix}/status/{{job_id}}", route(status))
        app.router.add_route(method, f"{prefix}/status-sync/{{job_id}}", route(status_sync))
        app.router.add_route(method, f"{prefix}/stream/{{job_id}}", route(stream))
    app.router.add_post(f"{prefix}/cancel/{{job_id}}", route(cancel))
    app.router.add_post(f"{prefix}/retry/{{job_id}}", route(retry))
    app.router.add_get(f"{prefix}/health", route(health))
    app.router.add_post(f"{prefix}/purge-queue", route(purge_queue))


async def _submit(dispatch: Dispatch, request: web.Request, *, sync: bool):
    cfg = dispatch.config
    limit, what = ((cfg.max_runsync_bytes, "/runsync") if sync
                   else (cfg.max_run_bytes, "/run"))
    raw = await read_body(request, limit, what)
    try:
        body = json.loads(raw)
    except ValueError as problem:
        raise http_error(web.HTTPBadRequest, f"the body is not valid JSON: {problem}")
    if not isinstance(body, dict) or "input" not in body:
        raise http_error(web.HTTPBadRequest,
                         "the body must be a JSON object with an 'input' field")

    webhook = body.get("webhook")
    if webhook is not None:
        refusal = webhook_refusal(webhook)
        if refusal:
            raise http_error(web.HTTPBadRequest, refusal)

    policy = body.get("policy") or {}
    if not isinstance(policy, dict):
        raise http_error(web.HTTPBadRequest, "policy must be a JSON object")
    execution_timeout = _policy_seconds(policy, "executionTimeout", cfg.min_execution_timeout)
    ttl = _policy_seconds(policy, "ttl", cfg.min_ttl)

    return dispatch.submit(
        body["input"],
        sync=sync,
        webhook=webhook,
        execution_timeout=execution_timeout or cfg.execution_timeout or None,
        ttl=ttl or cfg.job_ttl or None,
        extra={key: body[key] for key in PASSED_TO_WORKER if key in body},
    )


def _policy_seconds(policy: dict, name: str, minimum_s: float) -> float | None:
    """A policy duration given in ms, checked against its range; None if absent."""
    value = policy.get(name)
    if value is None:
        return None
    minimum_ms = round(minimum_s * 1000)
    # Compared before any arithmetic: a number of hundreds of digits stays an int.
    if not isinstance(value, int) or isinstance(value, bool) \
            or not max(minimum_ms, 1) <= value <= POLICY_MAX_MS:
        raise http_error(web.HTTPBadRequest,
                         f"policy.{name} must be an integer number of milliseconds from "
                         f"{max(minimum_ms, 1)} to {POLICY_MAX_MS}")
    return value / 1000


def _wait_s(dispatch: Dispatch, request: web.Request) -> float:
    """The ?wait= of runsync and status-sync in seconds (the default if absent)."""
    if "wait" not in request.query:
        return dispatch.config.runsync_wait
    text = request.query["wait"].strip()
    if not (text.isascii() and text.isdigit()) or not WAIT_MIN_MS <= int(text) <= WAIT_MAX_MS:
        raise http_error(web.HTTPBadRequest, WAIT_INVALID)
    return int(text) / 1000


async def run(dispatch: Dispatch, request: web.Request) -> web.Response:
    job = await _submit(dispatch, request, sync=False)
    return web.json_response({"id": job.id, "status": job.status})


async def runsync(dispatch: Dispatch, request: web.Request) -> web.Response:
    wait = _wait_s(dispatch, request)
    job = await _submit(dispatch, request, sync=True)
    job = await dispatch.wait_until_final(job.id, wait)
    if job is None:
        raise _gone(request)
    return web.json_response(job.status_body())


def _job_or_404(dispatch: Dispatch, request: web.Request):
    job_id = request.match_info["job_id"]
    job = dispatch.job(job_id)
    if job is None:
        raise _gone(request)
    return job


def _gone(request: web.Request) -> web.HTTPException:
    job_id = request.match_info.get("job_id", "")
    return http_error(web.HTTPNotFound,
                      f"request {job_id} does not exist (an unknown id, or its result "
                      f"is past the retention time or its ttl)")


async def status(dispatch: Dispatch, request: web.Request) -> web.Response:
    return web.json_response(_job_or_404(dispatch, request).status_body())


async def status_sync(dispatch: Dispatch, request: web.Request) -> web.Response:
    # What the JS SDK's runSync polls once its first wait is over (src/index.ts,
    # statusSync, ?wait= clamped to 1000..90000).
    wait = _wait_s(dispatch, request)
    job = await dispatch.wait_until_final(_job_or_404(dispatch, request).id, wait)
    if job is None:
        raise _gone(request)  # deleted (ttl, retention) while held
    return web.json_response(job.status_body())


async def stream(dispatch: Dispatch, request: web.Request) -> web.Response:
    job = _job_or_404(dispatch, request)

    await dispatch.wait_for_chunks(job.id, dispatch.config.stream_hold)
    job = _job_or_404(dispatch, request)  # retention may have passed while held
    body = {
        "id": job.id,
        "status": job.status,
        "stream": [{"output": chunk} for chunk in dispatch.next_chunks(job)],
    }
    if job.is_final and job.error is not None:
        body["error"] = job.error
    return web.json_response(body)


async def cancel(dispatch: Dispatch, request: web.Request) -> web.Response:
    job = _job_or_404(dispatch, request)
    dispatch.cancel(job.id)
    return web.json_response(job.status_body())


async def retry(dispatch: Dispatch, request: web.Request) -> web.Response:
    job, refusal = dispatch.retry(_job_or_404(dispatch, request).id)
    if refusal is not None:
        return error(400, refusal)  # the platform's answer is not documented
    return web.json_response({"id": job.id, "status": job.status})


async def health(dispatch: Dispatch, request: web.Request) -> web.Response:
    return web.json_response(dispatch.health())


async def purge_queue(dispatch: Dispatch, request: web.Request) -> web.Response:
    removed = dispatch.purge_queue()
    return web.json_response({"removed": removed, "status": "completed"})
