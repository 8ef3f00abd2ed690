"""Hostile or broken input: turned into a 400 with a JSON reason before it can do harm.

Contract:
- ``undecodable_headers`` is an aiohttp middleware: a request whose ``Authorization``
  header is not valid UTF-8 (aiohttp keeps such bytes as lone surrogates) is answered
  400 on every route, before authentication, instead of failing inside the key check.
- ``parse_json(raw, what)`` returns the decoded JSON value of a request body, or raises
  a 400 ``HTTPException`` (``{"error": ...}``) for text that is not JSON, not UTF-8, or
  nested deeper than ``MAX_JSON_DEPTH``. The depth rule is the local endpoint's own
  (RunPod documents none): ``json.loads`` recurses, so a few thousand ``[`` raise
  ``RecursionError``, and a value just under that limit would still fail later, when
  it is encoded again inside a status body, a job-take answer or a webhook.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from aiohttp import web

from .httputil import error, http_error

MAX_JSON_DEPTH = 200  # far below Python's recursion limit, far above any real input

CHECKED_HEADERS = ("Authorization",)


@web.middleware
async def undecodable_headers(request: web.Request,
                              handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                              ) -> web.StreamResponse:
    for name in CHECKED_HEADERS:
        for value in request.headers.getall(name, ()):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return error(400, f"the {name} header is not valid UTF-8 text")
    return await handler(request)


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """True if ``value`` nests lists and objects more than ``limit`` levels deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


def parse_json(raw: bytes, what: str) -> Any:
    try:
        value = json.loads(raw)
    except RecursionError:
        raise http_error(web.HTTPBadRequest,
                         f"{what} is nested too deeply: at most {MAX_JSON_DEPTH} levels "
                         f"of lists and objects") from None
    except ValueError as problem:  # UnicodeDecodeError included
        raise http_error(web.HTTPBadRequest, f"{what} is not valid JSON: {problem}") from None
    # Counting brackets is an upper bound on the depth: most bodies skip the walk.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH \
            and json_depth_exceeds(value, MAX_JSON_DEPTH):
        raise http_error(web.HTTPBadRequest,
                         f"{what} is nested too deeply: at most {MAX_JSON_DEPTH} levels "
                         f"of lists and objects")
    return value

