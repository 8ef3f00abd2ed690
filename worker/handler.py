"""The job handler: a job dict in, a result or a stream of chunks out, never a crash.

Contract (in-process, what lessons and tests call):
- ``handler(job)`` validates ``job["input"]`` (``worker.schema``). A plain request
  returns ``{"text", "finish_reason", "usage", "model", "timings"}``. With
  ``"stream": true`` it returns a generator of chunks ``{"token": str, "finished":
  False}`` and a last chunk ``{"token": "", "finished": True, "finish_reason",
  "usage", "timings"}``; the tokens join to the plain request's ``text``. The first
  chunk goes out as soon as it is decoded; after that a chunk is what was decoded in
  the last ``STREAM_INTERVAL_MS`` (each chunk is an HTTP post by the SDK, whose CPU
  time the generating process would otherwise pay per word).
- Every failure is a structured dict from ``worker.errors.classify`` (``error``,
  ``status``, ``retry``): returned for a plain request or for bad input, or as the
  last chunk of a stream that fails midway. Nothing raises out of the handler.
- Plain requests report progress (0, every 10 % of ``max_tokens``, 100) through
  ``worker.progress``; it is flushed before the result is handed over.
- Generation goes through the model's batcher (``worker.batching``): concurrent jobs
  share a ``model.generate`` when their settings allow it.
- After each job, ``worker.memory.cleanup()`` runs.
- Logs: ``job.started``, ``job.done`` / ``job.failed`` with the job id, durations and
  token counts; the prompt text only with ``LOG_PROMPTS=1``.

Contract (the SDK's view): ``async_handler(job)`` is the async generator that
``python -m worker`` registers with ``runpod.serverless.start``. The SDK streams
whatever a generator yields, so every job goes through it: a stream yields its chunks,
a plain request yields its one result (with ``return_aggregate_stream`` the job's
``output`` is the list of what was yielded). A failure is yielded as
``{"error": <the structured result as JSON text>}``, which the SDK reports as FAILED
with that text as ``error`` (``worker.errors.parse_job_error`` reads it back).
Generation runs in the batcher's thread and hands text to the event loop as it is
decoded, so the worker's loop (job-take, job-stop, other jobs) keeps running; when the
SDK cancels the job, its row of the batch stops at the next token.

``handler`` runs the same async code on a private event loop thread, so it works from
plain scripts and from notebooks (where a loop is already running).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from typing import Any, AsyncIterator, Iterator

from pydantic import ValidationError

from worker import memory
from worker.batching import get_batcher
from worker.config import get_settings
from worker.errors import GenerationTimeout, classify, is_error, to_sdk_error
from worker.generation import Completion, GenerationTask
from worker.logs import log_event
from worker.model import get_model, is_loaded
from worker.progress import get_reporter
from worker.schema import GenerationRequest, parse_request

PROGRESS_STEP = 10  # percent between progress updates: each one is an HTTP post


def _job_id(job: Any) -> str:
    return str(job.get("id", "local")) if isinstance(job, dict) else "local"


def _timings(c: Completion, started: float) -> dict[str, Any]:
    return {
        "total_s": round(time.perf_counter() - started, 4),
        "generate_s": round(c.seconds, 4),
        "first_token_s": None if c.first_token_seconds is None else round(c.first_token_seconds, 4),
        "tokens_per_s": round(c.tokens_per_second, 1),
        "batch_size": c.batch_size,
    }


def _progress_callback(job: dict, request: GenerationRequest):
    reporter = get_reporter()
    last = {"bucket": 0}

    def on_tokens(n: int) -> None:
        bucket = min(100, n * 100 // request.max_tokens) // PROGRESS_STEP * PROGRESS_STEP
        if last["bucket"] < bucket < 100:
            last["bucket"] = bucket
            reporter.update(job, bucket, f"generated {n} of at most {request.max_tokens} tokens")

    return on_tokens


def _started_fields(request: GenerationRequest, log_prompts: bool) -> dict[str, Any]:
    text = request.prompt if request.prompt is not None else "\n".join(m.content for m in request.messages)
    fields: dict[str, Any] = {"stream": request.stream, "max_tokens": request.max_tokens,
                              "temperature": request.temperature, "prompt_chars": len(text),
                              "messages": len(request.messages) if request.messages else 0}
    if log_prompts:
        fields["prompt"] = text
    return fields


def _fail(job_id: str, exc: BaseException, started: float) -> dict[str, Any]:
    result = classify(exc)
    level = logging.WARNING if result["status"] == "VALIDATION_ERROR" else logging.ERROR
    log_event("job.failed", level=level, job_id=job_id, status=result["status"], retry=result["retry"],
              error_type=result["error_type"], error=result["error"],
              duration_ms=round((time.perf_counter() - started) * 1000, 2))
    return result


async def _generate(job: dict, request: GenerationRequest, deadline: float | None) -> AsyncIterator[Any]:
    """Yield the text pieces of a stream (none for a plain request), then the Completion."""
    settings = get_settings()
    lm = get_model(settings) if is_loaded() else await asyncio.to_thread(get_model, settings)
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()

    def emit(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(events.put_nowait, item)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            task.cancel.set()

    done = object()
    task = GenerationTask(
        request,
        on_text=emit if request.stream else None,
        on_tokens=None if request.stream else _progress_callback(job, request),
        on_done=lambda: emit(done),
        deadline=deadline,
    )
    get_batcher(lm, settings).submit(task)
    interval = settings.stream_interval_ms / 1000
    last_sent: float | None = None

    async def next_item(wait: float | None) -> Any:
        try:
            return await asyncio.wait_for(events.get(), wait)
        except asyncio.TimeoutError:
            return None

    try:
        held = None  # an item taken while gathering pieces, handled next
        while True:
            if held is not None:
                item, held = held, None
            else:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic()) + 1.0
                item = await next_item(timeout)
                if item is None:
                    raise GenerationTimeout("the job's time limit passed")
            if item is done:
                break
            # The first piece goes out at once; later ones are gathered for up to
            # STREAM_INTERVAL_MS after the previous chunk: the same text in fewer
            # posts, each of which costs the generating process CPU time.
            while last_sent is not None and (left := last_sent + interval - loop.time()) > 0:
                more = await next_item(left)
                if more is None:
                    break
                if not isinstance(more, str):
                    held = more
                    break
                item += more
            while held is None and not events.empty():
                more = events.get_nowait()
                if not isinstance(more, str):
                    held = more
                    break
                item += more
            last_sent = loop.time()
            yield item
        yield task.result()
    finally:
        task.cancel.set()  # a no-op if it finished; stops its row if the job was abandoned


async def _job_items(job: Any) -> AsyncIterator[dict[str, Any]]:
    """Every item of a job: a stream's chunks, or the one plain result (or an error)."""
    started = time.perf_counter()
    job_id = _job_id(job)
    reporter = get_reporter()
    settings = get_settings()
    try:
        try:
            request = parse_request(job.get("input") if isinstance(job, dict) else None, settings)
        except ValidationError as exc:
            yield _fail(job_id, exc, started)
            return
        log_event("job.started", job_id=job_id, **_started_fields(request, settings.log_prompts))
        deadline = time.monotonic() + settings.job_timeout_s if settings.job_timeout_s else None
        c: Completion | None = None
        try:
            if not request.stream:
                reporter.update(job, 0, "generating")
            async for item in _generate(job, request, deadline):
                if isinstance(item, Completion):
                    c = item
                else:
                    yield {"token": item, "finished": False}
        except Exception as exc:
            await reporter.aflush(job_id)
            yield _fail(job_id, exc, started)
            return
        assert c is not None
        if request.stream:
            final = {"token": "", "finished": True, "finish_reason": c.finish_reason, "usage": c.usage,
                     "timings": _timings(c, started)}
        else:
            reporter.update(job, 100, "done")
            final = {"text": c.text, "finish_reason": c.finish_reason, "usage": c.usage,
                     "model": settings.model_name, "timings": _timings(c, started)}
        await reporter.aflush(job_id)  # no progress may follow the result
        log_event("job.done", job_id=job_id, finish_reason=c.finish_reason,
                  duration_ms=round((time.perf_counter() - started) * 1000, 2),
                  generate_ms=round(c.seconds * 1000, 2), tokens_per_s=round(c.tokens_per_second, 1),
                  batch_size=c.batch_size, **c.usage)
        yield final
    finally:
        reporter.close(job_id)
        memory.cleanup()


async def async_handler(job: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """The handler the SDK runs; see the module docstring."""
    async for item in _job_items(job):
        if is_error(item):
            yield {"error": to_sdk_error(item)}
            return
        yield item


# -- the in-process handler: the same code on a private event loop ----------------
_BRIDGE: asyncio.AbstractEventLoop | None = None
_BRIDGE_LOCK = threading.Lock()


def _bridge_loop() -> asyncio.AbstractEventLoop:
    global _BRIDGE
    with _BRIDGE_LOCK:
        if _BRIDGE is None:
            _BRIDGE = asyncio.new_event_loop()
            threading.Thread(target=_BRIDGE.run_forever, name="handler-loop", daemon=True).start()
        return _BRIDGE


def _sync_items(job: Any) -> Iterator[dict[str, Any]]:
    loop = _bridge_loop()
    items = _job_items(job)
    try:
        while True:
            try:
                yield asyncio.run_coroutine_threadsafe(items.__anext__(), loop).result()
            except StopAsyncIteration:
                return
    finally:
        asyncio.run_coroutine_threadsafe(items.aclose(), loop).result()


def handler(job: Any) -> dict[str, Any] | Iterator[dict[str, Any]]:
    """The in-process handler; see the module docstring."""
    items = _sync_items(job)
    first = next(items)
    if "finished" not in first:  # a plain result or an error
        items.close()  # runs the job's clean-up now
        return first
    return itertools.chain([first], items)
