"""OpenAI-compatible jobs: ``{"openai_route", "openai_input"}`` in, OpenAI objects out.

RunPod serves ``https://api.runpod.ai/v2/{endpoint_id}/openai/v1/...`` and hands the
request to the worker as the job input ``{"openai_route": "/v1/chat/completions",
"openai_input": {...}}`` (the request body); runpod-workers/worker-vllm answers
those jobs in ``src/handler.py`` and ``src/engine.py``, and this module answers them
the same way with this worker's own generation.

Contract:
- ``is_openai_job(job)``: the job's input carries ``openai_route``.
- ``openai_items(job, native_items)`` is the async generator of such a job's items.
  ``native_items`` is ``worker.handler.job_items`` (passed in, so that this module
  does not import the handler): the OpenAI request is mapped onto the worker's own
  input (``worker.openai_params``) and run through it, so batching, cancellation,
  time limits, logs and error classification are the native path's.
- ``/v1/models``: one ``list`` object with the served model. Plain
  ``/v1/chat/completions`` / ``/v1/completions``: one ``chat.completion`` /
  ``text_completion`` object (``id``, ``object``, ``created``, ``model``,
  ``choices``, ``usage``).
- ``"stream": true``: server-sent-event text, as worker-vllm yields it with its
  default ``RAW_OPENAI_OUTPUT=1``: each item is a string of one or more ``data:
  {json}\\n\\n`` events. The first carries the role chunk and the first text; then
  one content chunk per piece of text the native stream hands over; then a chunk
  with an empty delta and ``finish_reason``, a usage chunk with empty ``choices``
  when ``stream_options.include_usage`` is true (every other chunk then has
  ``"usage": null``), and ``data: [DONE]``.
- Every ``model`` field is ``served_name(settings)``: ``SERVED_MODEL_NAME``, or the
  short model name (``tiny``, ``smollm2``), a folder's own name (never its path),
  or the hub id.
- A failure is the native structured result (``error``, ``status``, ``retry``,
  ...) plus ``openai``: OpenAI's error object (``message``, ``type``, ``param``,
  ``code``). ``worker.errors.to_sdk_error`` carries it as JSON text through the
  SDK, and the endpoint turns it back into ``{"error": {...}}``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from worker.config import Settings, get_settings
from worker.errors import VALIDATION_ERROR, error_result, is_error
from worker.logs import log_event
from worker.model import SHORT_NAMES
from worker.openai_params import (CHAT, COMPLETIONS, MODELS, ROUTES, OpenAIError, Options, param_of,
                                  to_native)

STARTED = int(time.time())  # the served model's "created"
OWNED_BY = "runpod-worker-lessons"
DONE = "data: [DONE]\n\n"


def is_openai_job(job: Any) -> bool:
    return isinstance(job, dict) and isinstance(job.get("input"), dict) and "openai_route" in job["input"]


def served_name(settings: Settings) -> str:
    """The model name clients see and must send (vLLM's ``--served-model-name``)."""
    if settings.served_model_name:
        return settings.served_model_name
    name = settings.model_name
    if name in SHORT_NAMES:
        return name
    path = Path(name).expanduser()
    return path.resolve().name if path.is_dir() else name


def sse(event: dict[str, Any]) -> str:
    """One server-sent event: ``data: <compact json>`` and a blank line."""
    return "data: " + json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n\n"


def models_list(settings: Settings) -> dict[str, Any]:
    return {"object": "list",
            "data": [{"id": served_name(settings), "object": "model", "created": STARTED, "owned_by": OWNED_BY}]}


class _Answer:
    """The OpenAI objects of one request: one id, one ``created``, one model name."""

    def __init__(self, options: Options, model: str) -> None:
        self.options = options
        self.chat = options.route == CHAT
        self.id = ("chatcmpl-" if self.chat else "cmpl-") + uuid.uuid4().hex
        self.created = int(time.time())
        self.model = model

    def _head(self, obj: str) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model}

    def whole(self, result: dict[str, Any]) -> dict[str, Any]:
        if self.chat:
            choice = {"index": 0, "message": {"role": "assistant", "content": result["text"]},
                      "logprobs": None, "finish_reason": result["finish_reason"]}
            return {**self._head("chat.completion"), "choices": [choice], "usage": result["usage"]}
        choice = {"index": 0, "text": result["text"], "logprobs": None, "finish_reason": result["finish_reason"]}
        return {**self._head("text_completion"), "choices": [choice], "usage": result["usage"]}

    def chunk(self, *, text: str | None = None, role: bool = False, finish_reason: str | None = None,
              usage: dict[str, int] | None = None) -> str:
        if usage is not None:
            choices: list[dict[str, Any]] = []
        elif self.chat:
            delta: dict[str, Any] = {"role": "assistant", "content": ""} if role else {}
            if text is not None:
                delta["content"] = text
            choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        else:
            choices = [{"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish_reason}]
        event = {**self._head("chat.completion.chunk" if self.chat else "text_completion"), "choices": choices}
        if self.options.include_usage:
            event["usage"] = usage
        return sse(event)


def _failure(exc: OpenAIError) -> dict[str, Any]:
    result = error_result(VALIDATION_ERROR, f"invalid input: {exc.message}", error_type="OpenAIError")
    result["openai"] = exc.body()
    return result


def with_openai_error(result: dict[str, Any], route: str, body: Any) -> dict[str, Any]:
    """A native structured failure with OpenAI's error object added (``openai``)."""
    if result["status"] == VALIDATION_ERROR:
        details = result.get("details") or []
        param = param_of(details[0]["loc"], route, body) if details else ("messages" if route == CHAT else "prompt")
        message = "; ".join(f"{param_of(d['loc'], route, body)}: {d['msg']}" for d in details) or \
            result["error"].removeprefix("invalid input: ")
        err = {"message": message, "type": "invalid_request_error", "param": param, "code": "invalid_value"}
    else:
        err = {"message": result["error"], "type": "server_error", "param": None, "code": result["status"].lower()}
    return {**result, "openai": err}


async def openai_items(job: dict[str, Any],
                       native_items: Callable[[Any], AsyncIterator[dict[str, Any]]]) -> AsyncIterator[Any]:
    """Every item of an OpenAI job; see the module docstring."""
    settings = get_settings()
    raw = job["input"]
    route, body = raw.get("openai_route"), raw.get("openai_input")
    job_id = str(job.get("id", "local"))
    try:
        extra = sorted(set(raw) - {"openai_route", "openai_input"})
        if extra:
            raise OpenAIError(f"unknown job input field '{extra[0]}' beside openai_route and openai_input",
                              param=extra[0], code="unsupported_parameter")
        if route not in ROUTES:
            raise OpenAIError(f"Unknown request URL: {route!r}; this worker serves {', '.join(ROUTES)}.",
                              param="openai_route", code="unknown_url")
        if route == MODELS:
            yield models_list(settings)
            return
        native, options = to_native(route, body, served_name(settings))
    except OpenAIError as exc:
        log_event("job.failed", level=logging.WARNING, job_id=job_id, status=VALIDATION_ERROR, retry=False,
                  error_type="OpenAIError", error=exc.message, param=exc.param)
        yield _failure(exc)
        return
    answer = _Answer(options, served_name(settings))
    first = True
    async for item in native_items({**job, "input": native}):
        if is_error(item):
            yield with_openai_error(item, route, body)
            return
        if not options.stream:
            yield answer.whole(item)
        elif not item["finished"]:
            yield (answer.chunk(role=True) if first and answer.chat else "") + answer.chunk(text=item["token"])
            first = False
        else:
            tail = answer.chunk(role=True) if first and answer.chat else ""
            tail += answer.chunk(finish_reason=item["finish_reason"])
            if options.include_usage:
                tail += answer.chunk(usage=item["usage"])
            yield tail + DONE
