"""The job handler: a job dict in, a result or a stream of chunks out, never a crash.

This is where a user puts their own handler logic: ``job_items`` is one job, from its
input to its last item. The model itself is ``worker.model``; generation is
``worker.generation`` (batched by ``worker.batching``).

Contract (the SDK's view): ``async_handler(job)`` is the async generator that
``python -m worker`` registers with ``runpod.serverless.start``. The SDK streams
whatever a generator yields, so every job goes through it: a stream yields its chunks,
a plain request yields its one result (with ``return_aggregate_stream`` the job's
``output`` is the list of what was yielded). A failure is yielded as
``{"error": <the structured result as JSON text>}``, which the SDK reports as FAILED
with that text as ``error`` (``worker.errors.parse_job_error`` reads it back).

Contract (one job, ``job_items(job)``; ``lessons.inprocess.handler`` runs it without
the SDK):
- ``job["input"]`` is validated (``worker.schema``). A plain request yields
  ``{"text", "finish_reason", "usage", "model", "timings"}``. With ``"stream": true``
  it yields chunks ``{"token": str, "finished": False}`` and a last chunk ``{"token":
  "", "finished": True, "finish_reason", "usage", "timings"}``; the tokens join to
  the plain request's ``text``. The first chunk goes out as soon as it is decoded;
  after that a chunk is what was decoded in the last ``STREAM_INTERVAL_MS`` (each
  chunk is an HTTP post by the SDK, whose CPU time the generating process would
  otherwise pay per word).
- Every failure is a structured dict from ``worker.errors.classify`` (``error``,
  ``status``, ``retry``), yielded as the job's last item. Nothing raises out.
- Plain requests report progress (0, every 10 % of ``max_tokens``, 100) through
  ``worker.progress``; it is flushed before the result is handed over.
- After each job, ``worker.memory.cleanup()`` runs.
- Logs: ``job.started``, ``job.done`` / ``job.failed`` with the job id, durations and
  token counts; the prompt text only with ``LOG_PROMPTS=1``.

A job's path, thread by thread, in order (and who owns each queue on the way):
1. The SDK's event loop (``runpod.serverless``'s job scaler) takes the job and runs
   ``async_handler`` -> ``job_items``: validation, the ``job.started`` log, progress
   0, and a ``GenerationTask`` submitted to the model's batcher (``_task_output``).
   The job's ``_TextBuffer`` belongs to this job; its events are awaited here.
2. The batcher thread (``worker.batching.Batcher``, one per model) owns the queue of
   tasks (``submit`` appends from the loop, under the batcher's condition; only its
   thread takes them), merges compatible tasks into one round and runs
   ``worker.generation.run_batch``, i.e. ``model.generate``. While it generates it
   calls the task's callbacks in this thread: ``on_text`` appends decoded text to the
   job's ``_TextBuffer`` (under the buffer's lock) and wakes the loop; ``on_tokens``
   queues a progress update; ``on_done`` (``_TextBuffer.end``) marks the end.
3. The progress sender thread (``worker.progress.ProgressReporter``, one per process)
   owns each job's pending updates and posts them in order through the SDK
   (``worker.sdk.send_result``).
4. Back on the SDK's event loop, ``_task_output`` takes the text from the buffer and
   ``job_items`` yields the chunks; before the final item it waits for the job's
   progress updates to be posted (``aflush``), so none can follow the result. The
   SDK then posts what was yielded (its own stream and result queues).
When the SDK cancels the job, the task's ``cancel`` event stops its row of the batch
at the next token; the worker's loop (job-take, job-stop, other jobs) never waits on
generation. A job whose input carries ``openai_route`` is answered by
``worker.openai_compat`` (OpenAI objects, or server-sent-event text when streamed)
through ``job_items``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, AsyncIterator

from pydantic import ValidationError

from worker import memory
from worker.batching import get_batcher
from worker.config import get_settings
from worker.errors import GenerationTimeout, classify, is_error, to_sdk_error
from worker.generation import Completion, GenerationTask
from worker.large_output import OutputGuard
from worker.logs import log_event
from worker.model import get_model, is_loaded
from worker.openai_compat import is_openai_job, openai_items
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


class _TextBuffer:
    """Text handed over by the generating thread, collected for the event loop.

    The generating thread appends each decoded piece; the event loop is woken only
    when the buffer goes from empty to not empty (or the task ends), not once per
    piece: each wake-up is a thread switch that the generating thread pays for in
    GIL time, hundreds of times a second with a small model.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, on_closed_loop) -> None:
        self.loop = loop
        self.on_closed_loop = on_closed_loop
        self.lock = threading.Lock()
        self.pieces: list[str] = []
        self.at_end = False
        self.notified = False
        self.ready = asyncio.Event()
        self.ended = asyncio.Event()

    def _wake(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.ready.set)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            self.on_closed_loop()

    def add(self, piece: str) -> None:
        with self.lock:
            self.pieces.append(piece)
            if self.notified:
                return
            self.notified = True
        self._wake()

    def end(self) -> None:
        """The task has ended: no more text will come (generating thread)."""
        with self.lock:
            self.at_end = True
        self._wake()
        try:
            self.loop.call_soon_threadsafe(self.ended.set)
        except RuntimeError:
            pass

    def take(self) -> tuple[str, bool]:
        """Everything collected so far, and whether the task has ended (loop thread)."""
        with self.lock:
            text, self.pieces = "".join(self.pieces), []
            self.notified = False
            at_end = self.at_end
        self.ready.clear()  # a wake-up scheduled after this runs later, on this thread
        return text, at_end


async def _task_output(job: dict, request: GenerationRequest, deadline: float | None) -> AsyncIterator[Any]:
    """Yield the text chunks of a stream (none for a plain request), then the Completion."""
    settings = get_settings()
    lm = get_model(settings) if is_loaded() else await asyncio.to_thread(get_model, settings)
    loop = asyncio.get_running_loop()
    buffer = _TextBuffer(loop, on_closed_loop=lambda: task.cancel.set())
    task = GenerationTask(
        request,
        on_text=buffer.add if request.stream else None,
        on_tokens=None if request.stream else _progress_callback(job, request),
        on_done=buffer.end,
        deadline=deadline,
    )
    get_batcher(lm, settings).submit(task)
    interval = settings.stream_interval_ms / 1000
    last_sent: float | None = None
    try:
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic()) + 1.0
            try:
                await asyncio.wait_for(buffer.ready.wait(), timeout)
            except asyncio.TimeoutError:
                raise GenerationTimeout("the job's time limit passed") from None
            # The first chunk goes out at once; later ones gather what is decoded until
            # STREAM_INTERVAL_MS after the previous chunk: the same text in fewer
            # posts, each of which costs the generating process CPU time.
            if last_sent is not None:
                left = last_sent + interval - loop.time()
                if left > 0:
                    try:  # the end of the task cuts the wait short
                        await asyncio.wait_for(buffer.ended.wait(), left)
                    except asyncio.TimeoutError:
                        pass
            text, at_end = buffer.take()
            if text:
                last_sent = loop.time()
                yield text
            if at_end:
                break
        yield task.result()
    finally:
        task.cancel.set()  # a no-op if it finished; stops its row if the job was abandoned


async def job_items(job: Any) -> AsyncIterator[dict[str, Any]]:
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
            async for item in _task_output(job, request, deadline):
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
    """The handler the SDK runs; see the module docstring. Every item passes the
    platform's size limits first (``worker.large_output``): too large, it goes to the
    request's ``s3Config`` or the job fails with OUTPUT_TOO_LARGE."""
    started = time.perf_counter()
    try:
        guard = OutputGuard(job, get_settings())
    except Exception as exc:  # a malformed s3Config: the input's fault
        yield {"error": to_sdk_error(_fail(_job_id(job), exc, started))}
        return
    items = openai_items(job, job_items) if is_openai_job(job) else job_items(job)
    async for item in items:
        if not is_error(item):
            try:
                item = await guard.fit(item)
            except Exception as exc:
                item = _fail(_job_id(job), exc, started)
        if is_error(item):
            await items.aclose()
            yield {"error": to_sdk_error(item)}
            return
        yield item
