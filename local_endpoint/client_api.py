"""Client routes: what ``runpod.Endpoint`` and ``runpod.AsyncioEndpoint`` call.

Contract. Every route is under ``/v2/{endpoint_id}/`` and needs
``Authorization: Bearer <api key>`` (401 otherwise); another endpoint id is a 404.
Errors are ``{"error": "..."}``.

=====================  ======================================================
``POST run``           ``{"id", "status": "IN_QUEUE"}``. Body: ``{"input": ...}``
                       plus optional ``webhook`` (loopback only, else 400),
                       ``policy.executionTimeout`` (ms) and ``s3Config`` (passed
                       to the worker). Over ``max_run_bytes``: 413.
``POST runsync``       The same, then waits up to ``runsync_wait`` s (or
                       ``?wait=`` ms, at most 300 s) for the end: the status body,
                       or ``{"id", "status": "IN_QUEUE"|"IN_PROGRESS"}`` for the
                       SDK to poll. Over ``max_runsync_bytes``: 413.
``GET status/{id}``    The status body: ``id``, ``status``, ``delayTime`` and
                       ``executionTime`` (ms), ``output``, ``error``. While
                       IN_PROGRESS, ``output`` is the latest progress update.
                       404 for an unknown id or one past retention.
``GET stream/{id}``    ``{"id", "status", "stream": [{"output": chunk}, ...]}``
                       with the chunks no caller has had yet; with none new it is
                       held up to ``stream_hold`` s (under the client's 10 s).
``POST cancel/{id}``   Cancels a queued or running job (the worker gets the id on
                       job-stop); a final job is left as it is. The status body.
``GET health``         ``{"jobs": {completed, failed, inProgress, inQueue,
                       retried}, "workers": {idle, running, initializing}}``
``POST purge-queue``   Cancels every queued job: ``{"removed": n, "status":
                       "completed"}``
=====================  ======================================================
"""

from __future__ import annotations

from typing import Awaitable, Callable

from aiohttp import web

from .dispatch import Dispatch
from .guards import milliseconds, parse_json
from .httputil import client_key_ok, error, http_error, read_body
from .webhooks import webhook_refusal

MAX_RUNSYNC_WAIT_S = 300
# The platform documents no ceiling; a job cannot outlive its ttl, at most 7 days
# (docs.runpod.io/serverless/endpoints/send-requests), so neither can its attempt.
MAX_EXECUTION_TIMEOUT_MS = 7 * 24 * 3600 * 1000
PASSED_TO_WORKER = ("s3Config",)

Handler = Callable[[Dispatch, web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, dispatch: Dispatch) -> None:
    def route(handler: Handler):
        async def checked(request: web.Request) -> web.StreamResponse:
            cfg = dispatch.config
            if not client_key_ok(request, cfg.api_key):
                return error(401, "Unauthorized: send 'Authorization: Bearer <api key>' "
                                  "with this endpoint's API key")
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
        app.router.add_route(method, f"{prefix}/stream/{{job_id}}", route(stream))
    app.router.add_post(f"{prefix}/cancel/{{job_id}}", route(cancel))
    app.router.add_get(f"{prefix}/health", route(health))
    app.router.add_post(f"{prefix}/purge-queue", route(purge_queue))


async def _submit(dispatch: Dispatch, request: web.Request, *, sync: bool):
    cfg = dispatch.config
    limit, what = ((cfg.max_runsync_bytes, "/runsync") if sync
                   else (cfg.max_run_bytes, "/run"))
    body = parse_json(await read_body(request, limit, what), "the body")
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
    timeout_ms = policy.get("executionTimeout")
    if timeout_ms is None:
        execution_timeout = cfg.execution_timeout or None
    else:
        execution_timeout = milliseconds(timeout_ms, "policy.executionTimeout",
                                         MAX_EXECUTION_TIMEOUT_MS) / 1000

    return dispatch.submit(
        body["input"],
        sync=sync,
        webhook=webhook,
        execution_timeout=execution_timeout,
        extra={key: body[key] for key in PASSED_TO_WORKER if key in body},
    )


async def run(dispatch: Dispatch, request: web.Request) -> web.Response:
    job = await _submit(dispatch, request, sync=False)
    return web.json_response({"id": job.id, "status": job.status})


async def runsync(dispatch: Dispatch, request: web.Request) -> web.Response:
    wait = dispatch.config.runsync_wait
    if "wait" in request.query:
        try:
            wait = min(max(int(request.query["wait"]), 0), MAX_RUNSYNC_WAIT_S * 1000) / 1000
        except ValueError:
            return error(400, "wait must be an integer number of milliseconds")
    job = await _submit(dispatch, request, sync=True)
    job = await dispatch.wait_until_final(job.id, wait) or job
    return web.json_response(job.status_body())


def _job_or_404(dispatch: Dispatch, request: web.Request):
    job_id = request.match_info["job_id"]
    job = dispatch.job(job_id)
    if job is None:
        raise http_error(web.HTTPNotFound,
                         f"request {job_id} does not exist (an unknown id, or its result "
                         f"is past the retention time)")
    return job


async def status(dispatch: Dispatch, request: web.Request) -> web.Response:
    return web.json_response(_job_or_404(dispatch, request).status_body())


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


async def health(dispatch: Dispatch, request: web.Request) -> web.Response:
    return web.json_response(dispatch.health())


async def purge_queue(dispatch: Dispatch, request: web.Request) -> web.Response:
    removed = dispatch.purge_queue()
    return web.json_response({"removed": removed, "status": "completed"})
