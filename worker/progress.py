"""Progress updates that arrive in order and never after the job's result.

Why not ``runpod.serverless.progress_update`` directly: it starts a new thread, event
loop and HTTP session for every call, and nothing orders those posts against each
other or against the final result; a progress post has been seen landing after the
result, leaving the job IN_PROGRESS (runpod-python #250).

Contract:
- ``ProgressReporter.update(job, percent, message)`` returns at once. Updates of one
  job are delivered in call order, each as the SDK's own progress message
  (``{"status": "IN_PROGRESS", "output": {"percent": p, "message": m}}``), posted
  with the SDK's ``send_result`` over one kept-alive session.
- ``flush(job_id)`` (or ``await aflush(job_id)``) waits until every update of that job
  has been delivered, then closes the job: later updates for it are dropped. The
  handler flushes before it hands over the result, so no update can follow it.
  ``close(job_id)`` closes without waiting (a job that was cancelled).
- Updates are posted only inside the SDK's production loop (where
  ``RUNPOD_WEBHOOK_POST_OUTPUT`` is set). Elsewhere (notebooks, tests,
  ``--test_input``) they go to the subscribers alone. Subscribers
  (``subscribe(callback)``) get ``(job_id, value)`` for every accepted update.
- Nothing starts at import: the delivery thread starts with the first posted update.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from typing import Any, Callable

Subscriber = Callable[[str, dict], None]
CLOSED_MEMORY = 10_000  # job ids remembered as closed; a late update is seconds late, not 10,000 jobs


class ProgressReporter:
    """Ordered, flushable progress for the jobs of one worker process."""

    def __init__(self, post: bool | None = None) -> None:
        self._post = bool(os.environ.get("RUNPOD_WEBHOOK_POST_OUTPUT")) if post is None else post
        self._lock = threading.Lock()
        self._pending: dict[str, list[concurrent.futures.Future]] = {}
        # Closed job ids, oldest first; bounded so a long-lived worker does not grow.
        self._closed: dict[str, None] = {}
        self._subscribers: list[Subscriber] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._job_locks: dict[str, asyncio.Lock] = {}
        self._session = None

    # -- subscribers ---------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> None:
        """Call ``callback(job_id, value)`` on each update."""
        self._subscribers.append(callback)

    # -- updates -------------------------------------------------------------
    def update(self, job: dict, percent: float, message: str = "") -> bool:
        """Queue one update; False if the job is already closed (flushed)."""
        job_id = str(job["id"])
        value = {"percent": round(float(percent), 1), "message": message}
        with self._lock:
            if job_id in self._closed:
                return False
            for callback in list(self._subscribers):
                callback(job_id, value)
            if self._post:
                future = asyncio.run_coroutine_threadsafe(self._deliver(job, value), self._ensure_loop())
                self._pending.setdefault(job_id, []).append(future)
        return True

    def close(self, job_id: str) -> list[concurrent.futures.Future]:
        """Drop any later update of this job; returns its updates still in flight."""
        with self._lock:
            self._closed[str(job_id)] = None
            while len(self._closed) > CLOSED_MEMORY:
                del self._closed[next(iter(self._closed))]
            return self._pending.pop(str(job_id), [])

    def flush(self, job_id: str, timeout: float = 10.0) -> None:
        """Wait for this job's updates to be delivered, then drop any later ones."""
        pending = self.close(job_id)
        if pending:
            concurrent.futures.wait(pending, timeout=timeout)
        self._forget(str(job_id))

    async def aflush(self, job_id: str, timeout: float = 10.0) -> None:
        """``flush`` for async code: waits without blocking the event loop."""
        pending = self.close(job_id)
        if pending:
            await asyncio.wait([asyncio.wrap_future(f) for f in pending], timeout=timeout)
        self._forget(str(job_id))

    # -- delivery ------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="progress-delivery", daemon=True).start()
            self._loop = loop
        return self._loop

    async def _deliver(self, job: dict, value: dict) -> None:
        lock = self._job_locks.setdefault(str(job["id"]), asyncio.Lock())
        async with lock:  # asyncio.Lock is FIFO: a job's updates go out in call order
            await self._post_update(job, value)

    async def _post_update(self, job: dict, value: dict) -> None:
        # Imported here: the SDK reads its webhook URLs at import time, and only the
        # production loop (where they are set) ever posts. SDK internals: rp_http.py and
        # http_client.py are byte-identical in runpod 1.12.0 and 2.0.0rc2.
        from runpod.http_client import AsyncClientSession
        from runpod.serverless.modules.rp_http import send_result

        if self._session is None:
            self._session = AsyncClientSession()
        await send_result(self._session, {"status": "IN_PROGRESS", "output": value}, job)

    def _forget(self, job_id: str) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._job_locks.pop, job_id, None)


_REPORTER: ProgressReporter | None = None


def get_reporter() -> ProgressReporter:
    """The process-wide reporter (created on first use)."""
    global _REPORTER
    if _REPORTER is None:
        _REPORTER = ProgressReporter()
    return _REPORTER
