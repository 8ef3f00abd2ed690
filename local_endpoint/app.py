"""The HTTP app of one local endpoint: the client and worker routes, assembled.

Contract: ``build_app(dispatch)`` returns an ``aiohttp`` application whose routes
(``client_api``, ``worker_api``) act through ``dispatch`` alone. This module imports
the route modules and nothing imports it back but ``server``: no module refers to
the one that imports it.
"""

from __future__ import annotations

from aiohttp import web

from . import client_api, guards, worker_api
from .dispatch import Dispatch


def build_app(dispatch: Dispatch) -> web.Application:
    app = web.Application(middlewares=[guards.undecodable_headers])
    client_api.add_routes(app, dispatch)
    worker_api.add_routes(app, dispatch)
    return app
