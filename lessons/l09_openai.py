"""Lesson 9's harness: the OpenAI client pointed at a local endpoint, timings, logs.

- ``openai_base_url(ep)``: the base URL the official client takes for a
  ``LocalEndpoint`` (RunPod's form: ``.../v2/{endpoint_id}/openai/v1``).
- ``excerpt(obj, start, end)``: the lines of ``obj``'s source from the first line
  containing ``start`` to the first after it containing ``end``.
- ``first_delta_s(client, **request)``: seconds from the request to the first content
  delta of a streamed chat completion, and the joined text.
- ``first_chunk_native_s(ep, job_input)``: the same through ``runpod.Endpoint.run`` +
  ``Job.stream()``.
- ``worker_events(ep, event)``: the worker's JSON log lines of that event.
- ``jobs(ep)``: the endpoint's ``/health`` job counters.
"""

from __future__ import annotations

import inspect
import time
from typing import Any


def openai_base_url(ep) -> str:
    return f"{ep.url}/{ep.endpoint_id}/openai/v1"  # ep.url ends in /v2


def excerpt(obj: Any, start: str, end: str) -> str:
    lines = inspect.getsource(obj).splitlines()
    first = next(i for i, line in enumerate(lines) if start in line)
    last = next(i for i, line in enumerate(lines[first + 1:], first + 1) if end in line)
    return "\n".join(lines[first:last + 1])


def first_delta_s(client, **request) -> tuple[float, str]:
    started = time.perf_counter()
    first, pieces = None, []
    for chunk in client.chat.completions.create(stream=True, **request):
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter() - started
            pieces.append(chunk.choices[0].delta.content)
    return first, "".join(pieces)


def first_chunk_native_s(ep, job_input: dict) -> tuple[float, str]:
    started = time.perf_counter()
    first, pieces = None, []
    for chunk in ep.endpoint().run(job_input).stream():
        if chunk.get("token"):
            first = first or time.perf_counter() - started
            pieces.append(chunk["token"])
    return first, "".join(pieces)


def worker_events(ep, event: str) -> list[dict]:
    from worker.logs import split_log

    return [r for text in ep.worker_logs().values() for r in split_log(text)[0] if r.get("message") == event]


def jobs(ep) -> dict:
    return ep.health()["jobs"]
