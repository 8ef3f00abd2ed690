"""Job records and the job state machine of one local endpoint.

Contract:
- ``JobStore`` holds every job an endpoint knows and is the only thing that changes a
  job's status. It is plain synchronous code with no I/O: callers (the HTTP routes and
  the supervisor, all on one event loop) call it and then wake their waiters.
- Statuses and the only moves between them::

      IN_QUEUE ---take---> IN_PROGRESS ---result---> COMPLETED | FAILED
         |  ^                 |  |
         |  +---worker lost---+  +---cancel---> CANCELLED
         |     (retries left)    +---timeout--> TIMED_OUT
         +---cancel/purge---> CANCELLED          +---worker lost, no retries---> FAILED

  A final status (COMPLETED, FAILED, CANCELLED, TIMED_OUT) never changes again.
- Only the worker a job is assigned to may report on it, and only while the job is
  IN_PROGRESS: a result, progress or chunk from anyone else, or after the job is
  final, is ignored and the reason returned. So no job is completed twice, and
  progress that the SDK posts after the result (its progress thread is not ordered
  against the result) cannot turn a finished job back.
- Every job that becomes final is passed once to ``on_final``.
- Times are ``clock()`` seconds (``time.time`` by default): measured, never written in.
  ``delayTime`` is from creation to the job's FIRST take (the time it waited before
  any worker started it; a retry does not add the failed attempt's run time to it);
  ``executionTime`` is from the take of the LAST attempt to the end.
- A retried job (its worker was lost) keeps the stream chunks a ``/stream`` caller
  already received, and the new attempt streams from the start again: a client sees
  those chunks repeated. Chunks of the lost attempt that no caller received yet are
  dropped.
- A job forgotten after retention keeps only its timing fields (for ``timeline()``):
  its input, output, error and chunks are released.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

IN_QUEUE = "IN_QUEUE"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
TIMED_OUT = "TIMED_OUT"
FINAL_STATUSES = frozenset({COMPLETED, FAILED, CANCELLED, TIMED_OUT})

_NOTHING = object()  # "no output yet", distinct from an output of None


class Ignored(str, Enum):
    """Why a worker's report was not applied."""

    UNKNOWN_JOB = "the job does not exist (never created, or past retention)"
    FINAL = "the job is already final"
    NOT_STARTED = "the job is not in progress"
    OTHER_WORKER = "the job is assigned to another worker"


@dataclass
class Attempt:
    """One run of a job on one worker."""

    worker_id: str
    taken_at: float
    ended_at: float | None = None
    outcome: str | None = None  # a final status, or why the attempt was abandoned


@dataclass
class Job:
    """One request, as the endpoint tracks it."""

    id: str
    input: Any
    created_at: float
    sync: bool = False  # came through /runsync (shorter retention)
    webhook: str | None = None
    execution_timeout: float | None = None  # seconds per attempt; None: no limit
    extra: dict = field(default_factory=dict)  # other request keys passed to the worker
    status: str = IN_QUEUE
    worker_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    retries: int = 0
    output: Any = _NOTHING  # the final output, or the latest progress while running (none if cancelled/timed out)
    error: Any = None
    chunks: list = field(default_factory=list)
    chunks_sent: int = 0  # chunks already handed to a /stream caller
    first_chunk_at: float | None = None
    finished_at: float | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def taken_at(self) -> float | None:
        """When the latest attempt was taken."""
        return self.attempts[-1].taken_at if self.attempts else None

    @property
    def first_taken_at(self) -> float | None:
        return self.attempts[0].taken_at if self.attempts else None

    def for_worker(self) -> dict:
        """The job as the SDK worker receives it from job-take."""
        return {"id": self.id, "input": self.input, **self.extra}

    def status_body(self) -> dict:
        """The body of /status, /runsync, /cancel and the webhook POST."""
        body: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.first_taken_at is not None:
            body["delayTime"] = _ms(self.first_taken_at - self.created_at)
        elif self.finished_at is not None:  # left the queue without running
            body["delayTime"] = _ms(self.finished_at - self.created_at)
        if self.taken_at is not None and self.finished_at is not None:
            body["executionTime"] = _ms(self.finished_at - self.taken_at)
        if self.output is not _NOTHING:
            body["output"] = self.output
        if self.error is not None:
            body["error"] = self.error
        if self.worker_id is not None:
            body["workerId"] = self.worker_id
        return body


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def new_job_id() -> str:
    return str(uuid.uuid4())


class JobStore:
    """All jobs of one endpoint, the queue, and the counters that /health reports."""

    def __init__(
        self,
        *,
        max_retries: int,
        on_final: Callable[[Job], None] = lambda job: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_retries = max_retries
        self.on_final = on_final
        self.clock = clock
        self.jobs: dict[str, Job] = {}
        self.queue: deque[str] = deque()  # ids of IN_QUEUE jobs, oldest first
        self.completed = 0
        self.failed = 0  # FAILED and TIMED_OUT
        self.retried = 0  # requeues after a lost worker

    # ----------------------------------------------------------------- clients
    def submit(
        self,
        job_input: Any,
        *,
        sync: bool = False,
        webhook: str | None = None,
        execution_timeout: float | None = None,
        extra: dict | None = None,
    ) -> Job:
        job = Job(
            id=new_job_id(),
            input=job_input,
            created_at=self.clock(),
            sync=sync,
            webhook=webhook,
            execution_timeout=execution_timeout,
            extra=dict(extra or {}),
        )
        self.jobs[job.id] = job
        self.queue.append(job.id)
        return job

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def cancel(self, job_id: str) -> tuple[Job | None, str | None]:
        """Cancel a queued or running job.

        Returns the job (None if unknown) and, for a running job, the worker that
        must be told to stop it.
        """
        job = self.jobs.get(job_id)
        if job is None or job.is_final:
            return job, None
        worker_id = job.worker_id if job.status == IN_PROGRESS else None
        job.output = _NOTHING  # the latest progress is not a result
        self._finish(job, CANCELLED, outcome=CANCELLED)
        return job, worker_id

    def purge_queue(self) -> int:
        """Cancel every queued job; running jobs are left alone."""
        ids = list(self.queue)
        for job_id in ids:
            self._finish(self.jobs[job_id], CANCELLED, outcome=CANCELLED)
        return len(ids)

    def next_chunks(self, job: Job) -> list:
        """The chunks no /stream caller has received yet, marked as received."""
        new = job.chunks[job.chunks_sent:]
        job.chunks_sent = len(job.chunks)
        return new

    # ----------------------------------------------------------------- workers
    def take(self, worker_id: str, count: int = 1) -> list[Job]:
        """Hand up to ``count`` queued jobs, oldest first, to a worker."""
        taken = []
        while self.queue and len(taken) < count:
            job = self.jobs[self.queue.popleft()]
            job.status = IN_PROGRESS
            job.worker_id = worker_id
            job.output = _NOTHING  # progress of an abandoned attempt is stale
            job.attempts.append(Attempt(worker_id, self.clock()))
            taken.append(job)
        return taken

    def record_progress(self, worker_id: str, job_id: str, value: Any) -> Ignored | None:
        job, why = self._reporting(worker_id, job_id)
        if job is None:
            return why
        job.output = value
        return None

    def record_chunk(self, worker_id: str, job_id: str, value: Any) -> Ignored | None:
        job, why = self._reporting(worker_id, job_id)
        if job is None:
            return why
        if job.first_chunk_at is None:
            job.first_chunk_at = self.clock()
        job.chunks.append(value)
        return None

    def record_result(self, worker_id: str, job_id: str, body: dict) -> Ignored | None:
        """Apply the worker's final post: ``{"output"?, "error"?, "stopPod"?}``.

        A truthy ``error`` makes the job FAILED whatever its type (the platform has
        been reported to leave a job with a dict error COMPLETED; here it fails).
        An output sent along with an error is kept.
        """
        job, why = self._reporting(worker_id, job_id)
        if job is None:
            return why
        error = body.get("error")
        if "output" in body:
            job.output = body["output"]
        else:
            job.output = _NOTHING
        if error:
            job.error = error if isinstance(error, str) else json.dumps(error)
            self._finish(job, FAILED, outcome=FAILED)
        else:
            self._finish(job, COMPLETED, outcome=COMPLETED)
        return None

    def release_worker(self, worker_id: str, reason: str) -> list[Job]:
        """A worker is gone: requeue its running jobs, or fail those out of retries."""
        affected = [j for j in self.jobs.values()
                    if j.status == IN_PROGRESS and j.worker_id == worker_id]
        requeued = []
        for job in affected:
            if job.retries < self.max_retries:
                job.retries += 1
                self.retried += 1
                job.attempts[-1].ended_at = self.clock()
                job.attempts[-1].outcome = f"requeued: {reason}"
                job.status = IN_QUEUE
                job.worker_id = None
                job.output = _NOTHING
                # The new attempt streams from the start: chunks of the lost attempt
                # that no caller has received yet would be duplicates of it.
                del job.chunks[job.chunks_sent:]
                if not job.chunks:
                    job.first_chunk_at = None
                requeued.append(job)
            else:
                job.error = (
                    f"worker {worker_id} {reason} while running this job, "
                    f"after {job.retries} retries (max_retries={self.max_retries})"
                )
                job.output = _NOTHING
                self._finish(job, FAILED, outcome=f"failed: {reason}")
        # The requeued jobs have waited longest: they go first, in their old order.
        for job in sorted(requeued, key=lambda j: j.created_at, reverse=True):
            self.queue.appendleft(job.id)
        return affected

    def fail_lost(self, worker_id: str, job_id: str, reason: str) -> Job | None:
        """Fail a running job whose worker no longer runs it and sent no result."""
        job, _ = self._reporting(worker_id, job_id)
        if job is None:
            return None
        job.error = reason
        job.output = _NOTHING  # the latest progress is not a result
        self._finish(job, FAILED, outcome="failed: the worker dropped it")
        return job

    def fail_queued(self, reason: str) -> list[Job]:
        """Fail every queued job at once (the worker command cannot start)."""
        jobs = [self.jobs[i] for i in list(self.queue)]
        for job in jobs:
            job.error = reason
            self._finish(job, FAILED, outcome=FAILED)
        return jobs

    # -------------------------------------------------------------- supervisor
    def expire_timeouts(self, now: float | None = None) -> list[tuple[Job, str]]:
        """End running jobs past their execution timeout as TIMED_OUT.

        Returns each job with the worker that must be told to stop it.
        """
        now = self.clock() if now is None else now
        expired = []
        for job in list(self.jobs.values()):
            if (job.status == IN_PROGRESS and job.execution_timeout
                    and now - job.taken_at >= job.execution_timeout):
                worker_id = job.worker_id
                job.error = (f"execution timeout: the job ran longer than "
                             f"{_ms(job.execution_timeout)} ms")
                job.output = _NOTHING  # the latest progress is not a result
                self._finish(job, TIMED_OUT, outcome=TIMED_OUT)
                expired.append((job, worker_id))
        return expired

    def drop_expired(self, retention: float, sync_retention: float,
                     now: float | None = None) -> list[str]:
        """Forget final jobs whose retention time has passed."""
        now = self.clock() if now is None else now
        gone = [j.id for j in self.jobs.values()
                if j.finished_at is not None
                and now - j.finished_at >= (sync_retention if j.sync else retention)]
        for job_id in gone:
            job = self.jobs.pop(job_id)
            # Whoever still holds the job (the server's timeline history) needs only
            # its times: release what may be large.
            job.input = None
            job.extra = {}
            job.output = _NOTHING
            job.error = None
            job.chunks = []
            job.webhook = None
        return gone

    def in_queue(self) -> int:
        return len(self.queue)

    def in_progress(self) -> int:
        return sum(1 for j in self.jobs.values() if j.status == IN_PROGRESS)

    def counts(self) -> dict:
        """The ``jobs`` part of /health."""
        return {
            "completed": self.completed,
            "failed": self.failed,
            "inProgress": self.in_progress(),
            "inQueue": self.in_queue(),
            "retried": self.retried,
        }

    # ---------------------------------------------------------------- private
    def _reporting(self, worker_id: str, job_id: str) -> tuple[Job | None, Ignored | None]:
        job = self.jobs.get(job_id)
        if job is None:
            return None, Ignored.UNKNOWN_JOB
        if job.is_final:
            return None, Ignored.FINAL
        if job.status != IN_PROGRESS:
            return None, Ignored.NOT_STARTED
        if job.worker_id != worker_id:
            return None, Ignored.OTHER_WORKER
        return job, None

    def _finish(self, job: Job, status: str, *, outcome: str) -> None:
        if job.status == IN_QUEUE:
            try:
                self.queue.remove(job.id)
            except ValueError:
                pass
        elif job.attempts and job.attempts[-1].ended_at is None:
            job.attempts[-1].ended_at = self.clock()
            job.attempts[-1].outcome = outcome
        job.status = status
        job.finished_at = self.clock()
        if status == COMPLETED:
            self.completed += 1
        elif status in (FAILED, TIMED_OUT):
            self.failed += 1
        self.on_final(job)
