"""The job handler: a job dict in, a result or a stream of chunks out, never a crash.

Contract (in-process, what lessons and tests call):
- ``handler(job)`` validates ``job["input"]`` (``worker.schema``). A plain request
  returns ``{"text", "finish_reason", "usage", "model", "timings"}``. With
  ``"stream": true`` it returns a generator of chunks ``{"token": str, "finished":
  False}`` and a last chunk ``{"token": "", "finished": True, "finish_reason",
  "usage", "timings"}``; the tokens join to the plain request's ``text``.
- Every failure is a structured dict from ``worker.errors.classify`` (``error``,
  ``status``, ``retry``): returned for a plain request or for bad input, or as the
  last chunk of a stream that fails midway. Nothing raises out of the handler.
- Plain requests report progress (0, every 10 % of ``max_tokens``, 100) through
  ``worker.progress``; it is flushed before the result is handed over.
- After each job, ``worker.memory.cleanup()`` runs (off the result's path).
- Logs: ``job.started``, ``job.done`` / ``job.failed`` with the job id, durations and
  token counts; the prompt text only with ``LOG_PROMPTS=1``.

Contract (the SDK's view): ``async_handler(job)`` is the async generator that
``python -m worker`` registers with ``runpod.serverless.start``. The SDK streams
whatever a generator yields, so every job goes through it: a stream yields its chunks,
a plain request yields its one result (with ``return_aggregate_stream`` the job's
``output`` is the list of what was yielded). A failure is yielded as
``{"error": <the structured result as JSON text>}``, which the SDK reports as FAILED
with that text as ``error`` (``worker.errors.parse_job_error`` reads it back). The
blocking work runs in a thread, so the worker's event loop (job-take, job-stop,
other jobs) keeps running; when the SDK cancels the job, generation stops.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from typing import Any, AsyncIterator, Iterator

from pydantic import ValidationError

from worker import generation, memory
from worker.config import get_settings
from worker.errors import classify, is_error, to_sdk_error
from worker.logs import log_event
from worker.model import get_model
from worker.progress import get_reporter
from worker.schema import GenerationRequest, parse_request

PROGRESS_STEP = 10  # percent between progress updates: each one is an HTTP post


def _job_id(job: Any) -> str:
    return str(job.get("id", "local")) if isinstance(job, dict) else "local"


def _timings(c: generation.Completion, started: float) -> dict[str, float | None]:
    return {
        "total_s": round(time.perf_counter() - started, 4),
        "generate_s": round(c.seconds, 4),
        "first_token_s": None if c.first_token_seconds is None else round(c.first_token_seconds, 4),
        "tokens_per_s": round(c.tokens_per_second, 1),
    }


def _progress_callback(job: dict, request: GenerationRequest):
    reporter = get_reporter()
    last = {"bucket": 0}

    def on_tokens(n: int) -> None:
        bucket = min(100, n * 100 // request.max_tokens) // PROGRESS_STEP * PROGRESS_STEP
        if bucket > last["bucket"] and bucket < 100:
            last["bucket"] = bucket
            reporter.update(job, bucket, f"generated {n} of at most {request.max_tokens} tokens")

    return on_tokens


def _started_fields(request: GenerationRequest) -> dict[str, Any]:
    settings = get_settings()
    text = request.prompt if request.prompt is not None else "\n".join(m.content for m in request.messages)
    fields: dict[str, Any] = {"stream": request.stream, "max_tokens": request.max_tokens,
                              "temperature": request.temperature, "prompt_chars": len(text),
                              "messages": len(request.messages) if request.messages else 0}
    if settings.log_prompts:
        fields["prompt"] = text
    return fields


def _fail(job_id: str, exc: BaseException, started: float) -> dict[str, Any]:
    result = classify(exc)
    level = logging.WARNING if result["status"] == "VALIDATION_ERROR" else logging.ERROR
    log_event("job.failed", level=level, job_id=job_id, status=result["status"], retry=result["retry"],
              error_type=result["error_type"], error=result["error"],
              duration_ms=round((time.perf_counter() - started) * 1000, 2))
    return result


def iter_job(job: Any, cancel: threading.Event | None = None) -> Iterator[dict[str, Any]]:
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
        log_event("job.started", job_id=job_id, **_started_fields(request))
        deadline = time.monotonic() + settings.job_timeout_s if settings.job_timeout_s else None
        try:
            lm = get_model(settings)
            if request.stream:
                tokens = generation.stream(lm, request, cancel=cancel, deadline=deadline)
                for piece in tokens:
                    yield {"token": piece, "finished": False}
                c = tokens.completion
                final = {"token": "", "finished": True, "finish_reason": c.finish_reason, "usage": c.usage,
                         "timings": _timings(c, started)}
            else:
                reporter.update(job, 0, "generating")
                c = generation.complete(lm, request, cancel=cancel, deadline=deadline,
                                        on_tokens=_progress_callback(job, request))
                reporter.update(job, 100, "done")
                final = {"text": c.text, "finish_reason": c.finish_reason, "usage": c.usage,
                         "model": lm.name, "timings": _timings(c, started)}
        except Exception as exc:
            reporter.flush(job_id)
            yield _fail(job_id, exc, started)
            return
        reporter.flush(job_id)  # no progress may follow the result
        log_event("job.done", job_id=job_id, finish_reason=c.finish_reason,
                  duration_ms=round((time.perf_counter() - started) * 1000, 2),
                  generate_ms=round(c.seconds * 1000, 2), tokens_per_s=round(c.tokens_per_second, 1),
                  **c.usage)
        yield final
    finally:
        reporter.flush(job_id)
        memory.cleanup()


def _is_final(item: dict[str, Any]) -> bool:
    return is_error(item) or "finished" not in item or bool(item["finished"])


def handler(job: Any) -> dict[str, Any] | Iterator[dict[str, Any]]:
    """The in-process handler; see the module docstring."""
    items = iter_job(job)
    first = next(items)
    if "finished" not in first:  # a plain result or an error
        items.close()  # runs the job's clean-up now
        return first
    return itertools.chain([first], items)


async def async_handler(job: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """The handler the SDK runs; see the module docstring."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    cancel = threading.Event()

    def deliver(kind: str, item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, item))
        except RuntimeError:  # the loop closed: the worker is shutting down
            cancel.set()

    def produce() -> None:
        try:
            for item in iter_job(job, cancel=cancel):
                deliver("item", item)
                if cancel.is_set():
                    break
        except BaseException as exc:  # iter_job does not raise; this is a last resort
            deliver("item", classify(exc))
        finally:
            deliver("end", None)

    threading.Thread(target=produce, name=f"job-{_job_id(job)}", daemon=True).start()
    try:
        while True:
            kind, item = await queue.get()
            if kind == "end":
                return
            if is_error(item):
                yield {"error": to_sdk_error(item)}
                return
            yield item
            if _is_final(item):
                return  # the clean-up after the job finishes in the thread, off the result's path
    finally:
        cancel.set()
