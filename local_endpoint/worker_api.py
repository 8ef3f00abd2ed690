"""Worker routes: what the unmodified SDK worker (``runpod.serverless.start``) calls.

Contract. Every route is under ``/v2/{endpoint_id}/`` and needs the worker key in
``Authorization`` (raw, as the SDK sends it, or as Bearer): 401 otherwise. The URL
templates handed to workers are in ``worker_env.webhook_templates``; the SDK adds
``&job_in_progress=0|1``, ``&batch_size=N`` and ``&isStream=...`` to them.

===================================  ==============================================
``GET job-take/{worker}``            Held up to ``take_hold`` s: one job
                                     ``{"id", "input", ...}``, or 204.
``GET job-take-batch/{worker}``      The same with up to ``batch_size`` jobs, as a
                                     JSON list, or 204.
``GET job-stop/{worker}``            Held: ``{"jobsToStop": [ids]}`` once a job of
                                     this worker is cancelled or timed out, or 204.
``POST job-done/{worker}/{job}``     Body: JSON text sent as form-urlencoded.
                                     ``{"status": "IN_PROGRESS", "output": v}`` is a
                                     progress update; anything else is the result
                                     (``output``, ``error``, ``stopPod``).
``POST job-stream/{worker}/{job}``   Body ``{"output": chunk}``: one stream chunk.
``GET ping/{worker}``                Heartbeat; ``job_id`` lists the jobs the
                                     worker still runs (absent: none). A job taken
                                     over 2 ping intervals ago that 2 pings in a row
                                     leave out is FAILED: its result was lost.
===================================  ==============================================

Size limits (``max_result_bytes``, ``max_stream_chunk_bytes``: the platform's
documented 20 MB result and 1 MB chunk, measured on the posted body). A result or a
chunk over its limit is answered 400 (the SDK logs "Failed to return job results. |
400", ``rp_http.py`` line 69, and carries on: runpod-python issue 309 shows this
answer from the platform) and, on the local endpoint, its job is FAILED at once with
an error naming the size, the limit and the fix (``s3Config``). RunPod's documentation
does not say what a client sees then; users report a job without its output: that
part is this endpoint's emulation, chosen so a client learns why.

A report on a job that is final, not this worker's, or unknown is answered 200
``{"accepted": false, "reason": ...}`` and changes nothing: the SDK cannot order its
progress thread against its result, and a late report is no reason for it to retry.
Any request marks the worker alive; its first job-take marks it ready. A worker id
this endpoint did not spawn is registered as an external worker by its first
job-take; its other requests before that are answered but leave no trace, so a
request with a made-up id never counts as a worker (``scaling``).
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from aiohttp import web

from .dispatch import Dispatch
from .guards import parse_json
from .httputil import error, read_body, worker_key_ok
from .jobs import Ignored
from .workers import Worker

log = logging.getLogger("local_endpoint.worker_api")

Handler = Callable[[Dispatch, web.Request, Worker], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, dispatch: Dispatch) -> None:
    def route(handler: Handler):
        async def checked(request: web.Request) -> web.StreamResponse:
            cfg = dispatch.config
            if not worker_key_ok(request, cfg.worker_key):
                return error(401, "Unauthorized: worker routes need this endpoint's "
                                  "worker key (RUNPOD_AI_API_KEY of its workers)")
            if request.match_info["endpoint_id"] != cfg.endpoint_id:
                return error(404, f"no endpoint {request.match_info['endpoint_id']!r} here")
            with dispatch.worker_request(request.match_info["worker_id"],
                                         register=handler in TAKES) as worker:
                return await handler(dispatch, request, worker)
        return checked

    prefix = "/v2/{endpoint_id}"
    app.router.add_get(f"{prefix}/job-take/{{worker_id}}", route(job_take))
    app.router.add_get(f"{prefix}/job-take-batch/{{worker_id}}", route(job_take_batch))
    app.router.add_get(f"{prefix}/job-stop/{{worker_id}}", route(job_stop))
    app.router.add_post(f"{prefix}/job-done/{{worker_id}}/{{job_id}}", route(job_done))
    app.router.add_post(f"{prefix}/job-stream/{{worker_id}}/{{job_id}}", route(job_stream))
    app.router.add_get(f"{prefix}/ping/{{worker_id}}", route(ping))


async def _take(dispatch: Dispatch, request: web.Request, worker: Worker,
                count: int) -> list:
    def hung_up() -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()

    return await dispatch.take(worker, count,
                               runs_nothing=request.query.get("job_in_progress") == "0",
                               hung_up=hung_up)


async def job_take(dispatch: Dispatch, request: web.Request,
                   worker: Worker) -> web.Response:
    jobs = await _take(dispatch, request, worker, 1)
    if not jobs:
        return web.Response(status=204)
    return web.json_response(jobs[0].for_worker())


async def job_take_batch(dispatch: Dispatch, request: web.Request,
                         worker: Worker) -> web.Response:
    try:
        count = max(1, int(request.query.get("batch_size", "1")))
    except ValueError:
        return error(400, "batch_size must be an integer")
    jobs = await _take(dispatch, request, worker, count)
    if not jobs:
        return web.Response(status=204)
    return web.json_response([job.for_worker() for job in jobs])


TAKES = (job_take, job_take_batch)


async def job_stop(dispatch: Dispatch, request: web.Request,
                   worker: Worker) -> web.Response:
    ids = await dispatch.stop_list(worker)
    if not ids:
        return web.Response(status=204)
    return web.json_response({"jobsToStop": ids})


async def _report_body(dispatch: Dispatch, request: web.Request, worker: Worker,
                       limit: int, what: str) -> dict | web.Response:
    raw = await read_body(request, dispatch.config.max_worker_post_bytes, "a worker post")
    if len(raw) > limit:
        dispatch.refuse_oversize(worker, request.match_info["job_id"], what, len(raw), limit)
        return error(400, f"Bad Request: {what} is {len(raw)} bytes, over the {limit}-byte limit")
    # Form-urlencoded by header, JSON by content (runpod/serverless/modules/rp_http.py).
    body = parse_json(raw, "the body")
    if not isinstance(body, dict):
        return error(400, "the body must be a JSON object")
    return body


def _answer(ignored: Ignored | None) -> web.Response:
    if ignored is None:
        return web.json_response({"accepted": True})
    return web.json_response({"accepted": False, "reason": ignored.value})


async def job_done(dispatch: Dispatch, request: web.Request,
                   worker: Worker) -> web.Response:
    body = await _report_body(dispatch, request, worker, dispatch.config.max_result_bytes,
                              "the job's result")
    if isinstance(body, web.Response):
        return body
    job_id = request.match_info["job_id"]
    if body.get("status") == "IN_PROGRESS":
        return _answer(dispatch.report_progress(worker, job_id, body.get("output")))
    return _answer(dispatch.report_result(worker, job_id, body))


async def job_stream(dispatch: Dispatch, request: web.Request,
                     worker: Worker) -> web.Response:
    body = await _report_body(dispatch, request, worker, dispatch.config.max_stream_chunk_bytes,
                              "a stream chunk")
    if isinstance(body, web.Response):
        return body
    job_id = request.match_info["job_id"]
    return _answer(dispatch.report_chunk(worker, job_id, body.get("output")))


async def ping(dispatch: Dispatch, request: web.Request,
               worker: Worker) -> web.Response:
    if request.query.get("status") == "unhealthy":
        log.warning("%s reports itself unhealthy: %s: %s", worker.id,
                    request.query.get("check"), request.query.get("reason"))
    # The SDK's heartbeat lists the jobs in its in-progress set (job_id absent when
    # empty). A job enters that set only after its job-take answer arrives and
    # leaves it only after its result POST was answered, so a ping that reads the
    # set just before a take lands can miss a job that is running.
    running = set(filter(None, request.query.get("job_id", "").split(",")))
    dispatch.ping(worker, running)
    return web.Response(status=200)
