"""The job store of one local endpoint: the queue and the job state machine.

Contract:
- ``JobStore`` holds every job an endpoint knows and is the only thing that changes a
  job's status. It is plain synchronous code with no I/O: callers (the dispatcher,
  on one event loop) call it and then wake their waiters.
- Statuses and the only moves between them::

      IN_QUEUE ---take---> IN_PROGRESS ---result---> COMPLETED | FAILED
         |  ^                 |  |                                  |
         |  +---worker lost---+  +---cancel---> CANCELLED           |
         |  |  (retries left)    +---timeout--> TIMED_OUT ----------+
         |  +-----------------------------------retry (FAILED, TIMED_OUT)
         +---cancel/purge---> CANCELLED          +---worker lost, no retries---> FAILED

  A final status never changes again, except through ``retry``: a FAILED or
  TIMED_OUT job goes back to IN_QUEUE under the same id, its output and error
  cleared (RunPod's documentation, job operations, "Retry a job":
  https://docs.runpod.io/serverless/endpoints/job-operations).
- Only the worker a job is assigned to may report on it, and only while the job is
  IN_PROGRESS: a result, progress or chunk from anyone else, or after the job is
  final, is ignored and the reason returned. So no job is completed twice, and
  progress that the SDK posts after the result (its progress thread is not ordered
  against the result) cannot turn a finished job back.
- Every job that becomes final is passed once per run to ``on_final``.
- A job with a ``ttl`` is deleted ``ttl`` seconds after it was created, whatever its
  state (RunPod's documentation, endpoint configurations, "Job TTL":
  https://docs.runpod.io/serverless/endpoints/endpoint-configurations); a running
  one is named with its worker so that the worker is told to stop it.
- A retried job (its worker was lost) keeps the stream chunks a ``/stream`` caller
  already received, and the new attempt streams from the start again: a client sees
  those chunks repeated. Chunks of the lost attempt that no caller received yet are
  dropped.
- A job forgotten (retention, ttl) keeps only its timing fields (for ``timeline()``):
  its input, output, error and chunks are released.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any, Callable

from .jobs import (CANCELLED, COMPLETED, FAILED, IN_PROGRESS, IN_QUEUE, NOTHING, TIMED_OUT,
                   Attempt, Ignored, Job, ms, new_job_id)


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
        ttl: float | None = None,
        extra: dict | None = None,
    ) -> Job:
        job = Job(
            id=new_job_id(),
            input=job_input,
            created_at=self.clock(),
            sync=sync,
            webhook=webhook,
            execution_timeout=execution_timeout,
            ttl=ttl,
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
        job.output = NOTHING  # the latest progress is not a result
        self._finish(job, CANCELLED, outcome=CANCELLED)
        return job, worker_id

    def retry(self, job_id: str) -> tuple[Job | None, str | None]:
        """Requeue a FAILED or TIMED_OUT job under its id; else say why not.

        Returns the job (None if unknown) and None, or a sentence for the client.
        """
        job = self.jobs.get(job_id)
        if job is None:
            return None, None
        if job.status not in (FAILED, TIMED_OUT):
            return job, (f"only a FAILED or TIMED_OUT job can be retried; "
                         f"job {job_id} is {job.status}")
        self.failed -= 1  # the counters count jobs by their current status
        self.retried += 1
        job.status = IN_QUEUE
        job.worker_id = None
        job.output = NOTHING  # "the previous output is removed" (the same page)
        job.error = None
        job.finished_at = None
        job.chunks = []
        job.chunks_sent = 0
        job.first_chunk_at = None
        self.queue.append(job.id)
        return job, None

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
            job.output = NOTHING  # progress of an abandoned attempt is stale
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
            job.output = NOTHING
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
                job.output = NOTHING
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
                job.output = NOTHING
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
        job.output = NOTHING  # the latest progress is not a result
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
                             f"{ms(job.execution_timeout)} ms")
                job.output = NOTHING  # the latest progress is not a result
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
            self._forget(job_id)
        return gone

    def drop_past_ttl(self, now: float | None = None) -> list[tuple[Job, str | None]]:
        """Delete every job whose ttl has passed, whatever its state.

        Returns each with the worker still running it (None if none), which must be
        told to stop it; a deleted job is never passed to ``on_final``.
        """
        now = self.clock() if now is None else now
        gone = []
        for job in [j for j in self.jobs.values()
                    if j.ttl is not None and now - j.created_at >= j.ttl]:
            worker_id = job.worker_id if job.status == IN_PROGRESS else None
            if job.status == IN_QUEUE:
                self.queue.remove(job.id)
            elif job.status == IN_PROGRESS:
                job.attempts[-1].ended_at = now
                job.attempts[-1].outcome = "deleted: past its ttl"
            self._forget(job.id)
            gone.append((job, worker_id))
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
    def _forget(self, job_id: str) -> None:
        job = self.jobs.pop(job_id)
        # Whoever still holds the job (the timeline's history) needs only its
        # times: release what may be large.
        job.input = None
        job.extra = {}
        job.output = NOTHING
        job.error = None
        job.chunks = []
        job.webhook = None

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
