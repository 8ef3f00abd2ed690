"""Where jobs meet workers: the named operations the routes and the supervisor call.

Contract:
- ``Dispatch`` owns the job store and the waiting room of held requests; it is
  handed the worker pool. The client routes, the worker routes and the supervisor
  change jobs and workers only through its methods (and ``WorkerPool``'s process
  control), never by reaching into fields: the job store changes jobs, a
  ``Worker``'s own methods change the worker (``workers``).
- Held requests wait on ``changed``, which is notified after every change of state;
  ``poke()`` wakes the supervisor at once (a job arrived, a worker asked to go).
- Everything runs on the one loop that serves requests: nothing here is
  thread-safe, and nothing needs to be.
- A job that becomes final is handed to ``send_webhook`` when it has a webhook and
  the endpoint is not closing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from .config import EndpointConfig
from .job_store import JobStore
from .jobs import CANCELLED, TIMED_OUT, Ignored, Job
from .reports import health_body
from .worker_pool import WorkerPool
from .workers import EXITED, STOPPING, Worker

log = logging.getLogger("local_endpoint")

HISTORY_JOBS = 10_000  # jobs kept for timeline() after retention forgot them
LOST_JOB_PING_INTERVALS = 2  # a job taken this recently is never counted as lost
LOST_JOB_PINGS = 2  # pings in a row without a job that make it lost
LOST_JOB_ERROR = ("the worker no longer runs this job and its result never arrived "
                  "(the SDK drops a result it cannot send, e.g. an output json.dumps "
                  "cannot encode, such as a set, or one the server refused as too large)")


class Signal:
    """Wakes every coroutine waiting on it; waiters then re-check their condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            pass


class Dispatch:
    """The jobs and workers of one endpoint, seen through the operations on them."""

    def __init__(self, config: EndpointConfig, pool: WorkerPool, *,
                 clock: Callable[[], float],
                 send_webhook: Callable[[Job], None] = lambda job: None) -> None:
        self.config = config
        self.pool = pool
        self.clock = clock
        self.store = JobStore(max_retries=config.max_retries, on_final=self._on_final,
                              clock=clock)
        self.history: deque[Job] = deque(maxlen=HISTORY_JOBS)
        self.ignored: deque[dict] = deque(maxlen=HISTORY_JOBS)  # reports not applied
        self.changed = Signal()
        self.wake = asyncio.Event()  # the supervisor's
        self.closing = False
        self.on_worker_ready: Callable[[Worker], None] = lambda worker: None
        self._send_webhook = send_webhook

    def poke(self) -> None:
        """Run the supervisor now."""
        self.wake.set()

    def close(self) -> None:
        """Held requests answer now; nothing new is handed out."""
        self.closing = True
        self.changed.notify()

    # ------------------------------------------------------------ waiting
    async def wait_for(self, check: Callable[[], Any], timeout: float) -> Any:
        """``check()`` until it returns something other than None, or time is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None or self.closing:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await self.changed.wait(remaining)

    async def wait_until_final(self, job_id: str, timeout: float) -> Job | None:
        """The job once final (or as it is when time is up); None once deleted."""
        def settled():
            job = self.store.get(job_id)
            return True if job is None or job.is_final else None

        await self.wait_for(settled, timeout)
        return self.store.get(job_id)

    async def wait_for_chunks(self, job_id: str, timeout: float) -> None:
        def something_to_say():
            job = self.store.get(job_id)
            if job is None or job.is_final or job.chunks_sent < len(job.chunks):
                return True
            return None

        await self.wait_for(something_to_say, timeout)

    # ------------------------------------------------------------- clients
    def submit(self, job_input: Any, **options: Any) -> Job:
        """A new job from a client (``JobStore.submit`` options)."""
        job = self.store.submit(job_input, **options)
        self.history.append(job)
        self.changed.notify()
        self.poke()  # a cold start should not wait for the next supervisor tick
        return job

    def job(self, job_id: str) -> Job | None:
        return self.store.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        job, _ = self.store.cancel(job_id)  # a job made final wakes the waiters
        return job

    def retry(self, job_id: str) -> tuple[Job | None, str | None]:
        job, refusal = self.store.retry(job_id)
        if job is not None and refusal is None:
            self.changed.notify()
            self.poke()
        return job, refusal

    def purge_queue(self) -> int:
        return self.store.purge_queue()  # each cancelled job wakes the waiters

    def next_chunks(self, job: Job) -> list:
        return self.store.next_chunks(job)

    def health(self) -> dict:
        return health_body(self.store, self.pool.live())

    # ------------------------------------------------------------- workers
    @contextmanager
    def worker_request(self, worker_id: str, *, register: bool = False) -> Iterator[Worker]:
        """Book-keeping around every request a worker makes.

        An id this endpoint does not know becomes an external worker only with
        ``register`` (a job-take: it asks for work); any other request from it is
        answered for a visitor that is not kept, so made-up ids never count as
        workers (``scaling``) nor fill memory.
        """
        worker = self.pool.get(worker_id)
        if worker is None or (worker.external and worker.state == EXITED):
            if register:
                worker = self.pool.register_external(worker_id)
            else:
                worker = Worker(id=worker_id, spawned_at=self.clock())
        worker.request_began(self.clock())
        try:
            yield worker
        finally:
            worker.request_ended()

    async def take(self, worker: Worker, count: int, *, runs_nothing: bool,
                   hung_up: Callable[[], bool]) -> list[Job]:
        """Up to ``count`` jobs for a job-take, held until one is queued; [] for 204."""
        now = self.clock()
        if runs_nothing:
            worker.runs_nothing(now)
        if worker.took_first_job(now):
            log.info("%s ready %.2f s after it started", worker.id, now - worker.spawned_at)
            self.on_worker_ready(worker)
            self.changed.notify()

        def jobs_for_it():
            if self.closing or worker.state in (STOPPING, EXITED) or hung_up():
                return []  # a job handed to a worker that hung up would be lost
            jobs = self.store.take(worker.id, count)
            if not jobs:
                return None
            worker.assigned([job.id for job in jobs], self.clock())
            self.changed.notify()
            return jobs

        worker.take_began()  # an external worker is free capacity while it asks
        try:
            return await self.wait_for(jobs_for_it, self.config.take_hold) or []
        finally:
            worker.take_ended(self.clock(), hung_up=hung_up())

    async def stop_list(self, worker: Worker) -> list[str]:
        """The ids of this worker's jobs it must stop, held until there are some."""
        def ids():
            found = worker.take_stop_requests()
            if found:
                return found
            return [] if worker.state in (STOPPING, EXITED) else None

        return await self.wait_for(ids, self.config.take_hold) or []

    def report_progress(self, worker: Worker, job_id: str, value: Any) -> Ignored | None:
        ignored = self.store.record_progress(worker.id, job_id, value)
        return self._reported("progress", worker, job_id, ignored)

    def report_chunk(self, worker: Worker, job_id: str, value: Any) -> Ignored | None:
        ignored = self.store.record_chunk(worker.id, job_id, value)
        return self._reported("stream chunk", worker, job_id, ignored)

    def report_result(self, worker: Worker, job_id: str, body: dict) -> Ignored | None:
        ignored = self.store.record_result(worker.id, job_id, body)
        worker.finished_stopped_job(job_id, self.clock())  # a stopped job it finished anyway
        if body.get("stopPod"):
            # refresh_worker: the platform replaces the worker after this job.
            self.pool.request_stop(worker, "asked to be replaced (stopPod)")
            self.poke()
        return self._reported("result", worker, job_id, ignored)

    def refuse_oversize(self, worker: Worker, job_id: str, what: str, size: int, limit: int) -> None:
        """A result or chunk over the platform's size limit: the job fails, saying why."""
        reason = (f"{what} was {size} bytes, over the platform's {limit}-byte limit, and was refused "
                  "(on the local endpoint; RunPod answers the worker 400). Send large outputs through "
                  "S3: give the request an s3Config and have the worker upload the output "
                  "(runpod.serverless.utils.upload_in_memory_object) and return its URL")
        if self.store.fail_lost(worker.id, job_id, reason) is not None:
            log.warning("job %s: %s over the limit (%d > %d bytes): FAILED", job_id, what, size, limit)
            self.changed.notify()

    def ping(self, worker: Worker, running: set[str]) -> None:
        """A heartbeat listing the jobs the worker still runs.

        The SDK drops a result it cannot send (``json.dumps`` raises on a set in the
        output; a 413) and forgets the job: no result will ever arrive. A job counts
        as lost once it was taken more than ``LOST_JOB_PING_INTERVALS`` ping intervals
        ago and ``LOST_JOB_PINGS`` pings in a row have not listed it: a ping that
        read the worker's job list before a take landed cannot count against it.
        """
        now = self.clock()
        worker.pinged(now)
        changed = worker.still_runs(running, now)
        old_enough = LOST_JOB_PING_INTERVALS * self.config.ping_interval_s
        absent = set()
        for job_id in worker.jobs - running:
            job = self.store.get(job_id)
            if job is not None and job.taken_at is not None and now - job.taken_at > old_enough:
                absent.add(job_id)
        for job_id in worker.missed_by_ping(absent, LOST_JOB_PINGS):
            log.warning("job %s: %s no longer runs it and sent no result: FAILED",
                        job_id, worker.id)
            self.store.fail_lost(worker.id, job_id, LOST_JOB_ERROR)
            changed = True
        if changed:
            self.changed.notify()

    # ---------------------------------------------------------- supervisor
    def queued(self) -> int:
        return self.store.in_queue()

    def release(self, worker: Worker, reason: str) -> None:
        """A worker is gone: its running jobs are requeued (or fail, out of retries)."""
        for job in self.store.release_worker(worker.id, reason):
            log.warning("job %s: %s %s; now %s", job.id, worker.id, reason, job.status)
        worker.forget_jobs()

    def fail_queued(self, reason: str) -> int:
        return len(self.store.fail_queued(reason))

    def expire(self, now: float) -> bool:
        """Execution timeouts, ttls and retention; True if a job changed."""
        changed = bool(self.store.expire_timeouts(now))
        for job, worker_id in self.store.drop_past_ttl(now):
            log.info("job %s deleted: past its ttl of %g s", job.id, job.ttl)
            worker = self.pool.get(worker_id) if worker_id else None
            if worker is not None:
                worker.job_ended(job.id, stopped=True, now=now)
            changed = True
        self.store.drop_expired(self.config.retention, self.config.runsync_retention, now)
        return changed

    # ------------------------------------------------------------- private
    def _reported(self, what: str, worker: Worker, job_id: str,
                  ignored: Ignored | None) -> Ignored | None:
        self.changed.notify()
        if ignored is not None:
            log.info("ignored %s for job %s from %s: %s", what, job_id, worker.id,
                     ignored.value)
            self.ignored.append({"at": self.clock(), "what": what, "job": job_id,
                                 "worker": worker.id, "reason": ignored.value})
        return ignored

    def _on_final(self, job: Job) -> None:
        worker = self.pool.get(job.worker_id) if job.worker_id else None
        if worker is not None:
            # Cancelled or timed out: it may still be running there.
            worker.job_ended(job.id, stopped=job.status in (CANCELLED, TIMED_OUT),
                             now=self.clock())
        if job.webhook and not self.closing:
            self._send_webhook(job)
        self.changed.notify()
        self.poke()
