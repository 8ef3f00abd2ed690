"""The HTTP app of one local endpoint: the client and worker routes, assembled.

Contract:
- ``build_app(dispatch)`` returns an ``aiohttp`` application whose routes
  (``client_api``, ``worker_api``) act through ``dispatch`` alone. This module
  imports the route modules and nothing imports it back but ``server``: no module
  refers to the one that imports it.
- Every answer is JSON, an unknown path (404) and a method a route does not take
  (405, with its ``Allow`` header) included: ``{"error": "..."}``, the shape of
  every other error of the queue API.
"""

from __future__ import annotations

from aiohttp import web

from . import client_api, worker_api
from .dispatch import Dispatch
from .httputil import error


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPMethodNotAllowed as refused:
        allowed = ", ".join(sorted(refused.allowed_methods))
        answer = error(405, f"{request.method} is not allowed on {request.path}; "
                            f"this route takes {allowed}")
        answer.headers["Allow"] = ",".join(sorted(refused.allowed_methods))
        return answer
    except web.HTTPNotFound as missing:
        if missing.content_type == "application/json":
            raise  # a route's own 404 (an unknown job id, ...) already says why
        return error(404, f"no route {request.method} {request.path}: the queue API is "
                          f"under /v2/<endpoint id>/ (run, runsync, status/<id>, ...)")


def build_app(dispatch: Dispatch) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    client_api.add_routes(app, dispatch)
    worker_api.add_routes(app, dispatch)
    return app
