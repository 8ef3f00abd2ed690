"""The local endpoint's core: the HTTP app, its jobs, its workers and their supervisor.

Contract:
- ``EndpointServer(config)`` does nothing until ``await start()``, which binds the
  socket (port 0: a free one), makes a private ``HOME`` and a log folder, and starts
  the supervisor, which starts ``min_workers``. ``await stop()`` ends every held
  request, stops every worker (SIGTERM to its process group, SIGKILL after the grace
  period), closes the socket and removes the temporary folders (worker logs are read
  back into ``saved_logs`` first). Both must run on the loop that serves requests;
  nothing here is thread-safe, and nothing needs to be: one loop does everything.
- The supervisor runs every ``TICK_S`` seconds and at once when poked. It notices
  exited workers and requeues their jobs (``JobStore.release_worker``), kills workers
  silent for ``ping_timeout`` (external ones too, ready or not) and spawned workers
  not ready after ``startup_timeout``, ends
  jobs past their execution timeout, replaces workers still running a stopped job
  ``drain_grace()`` s after the stop, forgets jobs past retention, and applies
  ``scaling.plan_scaling``. A worker command that exits before its first job-take
  ``max_start_failures`` times in a row fails the queued jobs with the end of its log.
- Held requests wait on ``changed``, which is notified after every change of state.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import time
from collections import Counter, deque
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import aiohttp
from aiohttp import web

from . import client_api, guards, worker_api
from .config import EndpointConfig
from .jobs import CANCELLED, TIMED_OUT, Job, JobStore
from .scaling import plan_scaling
from .webhooks import deliver
from .workers import EXITED, IDLE, INITIALIZING, RUNNING, STOPPING, Worker, WorkerPool

log = logging.getLogger("local_endpoint")

TICK_S = 0.2
LOG_TAIL_LINES = 20
HISTORY_JOBS = 10_000  # jobs kept for timeline() after retention forgot them
MAX_SPAWN_BACKOFF_S = 30
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


class EndpointServer:
    """One local endpoint: serve it with ``await start()``, end it with ``await stop()``."""

    def __init__(self, config: EndpointConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.store = JobStore(max_retries=config.max_retries, on_final=self._on_final,
                              clock=clock)
        self.history: deque[Job] = deque(maxlen=HISTORY_JOBS)
        self.ignored: deque[dict] = deque(maxlen=HISTORY_JOBS)  # reports not applied, for timeline()
        self.pool: WorkerPool | None = None
        self.changed = Signal()
        self.closing = False
        self.started_at: float | None = None
        self.port: int | None = None
        self.log_dir: str | None = None
        self.saved_logs: dict[str, str] = {}
        self._tmp: str | None = None
        self._runner: web.AppRunner | None = None
        self._supervisor: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task] = set()
        self._start_failures = 0
        self._spawn_not_before = 0.0
        self._stopped = False

    # ------------------------------------------------------------- addresses
    @property
    def base_url(self) -> str:
        host = self.config.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The value for ``runpod.endpoint_url_base``."""
        return f"{self.base_url}/v2"

    # ------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._wake = asyncio.Event()
        try:
            app = web.Application(middlewares=[guards.undecodable_headers])
            client_api.add_routes(app, self)
            worker_api.add_routes(app, self)
            # Held requests end quickly once `closing` is set: no need to wait long.
            self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.host, self.config.port)
            await site.start()
            self.port = self._runner.addresses[0][1]

            self._tmp = tempfile.mkdtemp(prefix="local-endpoint-")
            home = os.path.join(self._tmp, "home")
            os.mkdir(home, 0o700)
            self.log_dir = self.config.log_dir or os.path.join(self._tmp, "logs")
            os.makedirs(self.log_dir, exist_ok=True)
            self.pool = WorkerPool(
                command=self.config.worker_command,
                cwd=self.config.worker_cwd or os.getcwd(),
                env_settings=dict(
                    base_url=self.base_url,
                    endpoint_id=self.config.endpoint_id,
                    worker_key=self.config.worker_key,
                    ping_interval_ms=self.config.ping_interval_ms,
                    extra=self.config.worker_env,
                ),
                home=home,
                log_dir=self.log_dir,
                stop_grace=self.config.stop_grace,
                clock=self.clock,
            )
            self._session = aiohttp.ClientSession()
            self.started_at = self.clock()
            self._supervisor = asyncio.create_task(self._supervise())
            log.info("endpoint %r serving at %s", self.config.endpoint_id, self.url)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.closing = True
        self.changed.notify()  # held requests answer now
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self.pool is not None:
            self.pool.stop_all("the endpoint is stopping")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.config.stop_grace
            while loop.time() < deadline and any(
                    not w.external for w in self.pool.live()):
                self.pool.reap()
                await asyncio.sleep(0.05)
            self.pool.kill_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.pool is not None:
            self.saved_logs = {w.id: self.pool.read_log(w)
                               for w in self.pool.workers.values() if w.log_path}
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        log.info("endpoint %r stopped", self.config.endpoint_id)

    def poke(self) -> None:
        """Run the supervisor now (a job arrived, a worker left, ...)."""
        if self._wake is not None:
            self._wake.set()

    def spawn_task(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ jobs
    def submit(self, job_input: Any, **options: Any) -> Job:
        """A new job from a client (``JobStore.submit`` options)."""
        job = self.store.submit(job_input, **options)
        self.history.append(job)
        self.changed.notify()
        self.poke()  # a cold start should not wait for the next supervisor tick
        return job

    # --------------------------------------------------------- held requests
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

    # --------------------------------------------------------------- workers
    @contextmanager
    def worker_request(self, worker_id: str, *, register: bool = False) -> Iterator[Worker]:
        """Book-keeping around every request a worker makes.

        Its arrival shows the worker alive; its end does not (a held request ends
        by the server's clock, whatever became of the worker meanwhile). An id this
        endpoint does not know becomes an external worker only with ``register``
        (a job-take: it asks for work); any other request from it is answered for a
        visitor that is not kept, so made-up ids never count as workers.
        """
        worker = self.pool.get(worker_id)
        if worker is None or (worker.external and worker.state == EXITED):
            if register:
                worker = self.pool.register_external(worker_id)
            else:
                worker = Worker(id=worker_id, spawned_at=self.clock())
        worker.last_seen_at = self.clock()
        worker.open_requests += 1
        try:
            yield worker
        finally:
            worker.open_requests -= 1

    def mark_ready(self, worker: Worker) -> None:
        if worker.ready_at is None and worker.state == INITIALIZING:
            worker.ready_at = self.clock()
            self._start_failures = 0
            self._spawn_not_before = 0.0
            log.info("%s ready %.2f s after it started", worker.id,
                     worker.ready_at - worker.spawned_at)
            self.update_idle(worker)
            self.changed.notify()

    def take_jobs(self, worker: Worker, count: int, request: web.Request) -> list[Job] | None:
        """The jobs for a job-take, [] for "answer 204 now", None for "keep waiting"."""
        if self.closing or worker.state in (STOPPING, EXITED):
            return []
        transport = request.transport
        if transport is None or transport.is_closing():
            return []  # the worker hung up: a job handed out now would be lost
        jobs = self.store.take(worker.id, count)
        if not jobs:
            return None
        worker.jobs.update(job.id for job in jobs)
        self.update_idle(worker)
        self.changed.notify()
        return jobs

    def drop_lost_jobs(self, worker: Worker, running: set[str], now: float) -> bool:
        """Fail the jobs a worker's pings say it no longer runs; True if any failed.

        The SDK drops a result it cannot send (``json.dumps`` raises on a set in the
        output; a 413) and forgets the job: no result will ever arrive. A job counts
        as lost once it was taken more than ``LOST_JOB_PING_INTERVALS`` ping intervals
        ago and ``LOST_JOB_PINGS`` pings in a row have not listed it: a ping that
        read the worker's job list before a take landed cannot count against it.
        """
        interval = self.config.ping_interval_s
        failed = False
        for job_id in list(worker.jobs):
            job = self.store.get(job_id)
            if job is None or job_id in running or job.taken_at is None \
                    or now - job.taken_at <= LOST_JOB_PING_INTERVALS * interval:
                worker.missed_pings.pop(job_id, None)
                continue
            worker.missed_pings[job_id] = worker.missed_pings.get(job_id, 0) + 1
            if worker.missed_pings[job_id] >= LOST_JOB_PINGS:
                log.warning("job %s: %s no longer runs it and sent no result: FAILED",
                            job_id, worker.id)
                self.store.fail_lost(worker.id, job_id, LOST_JOB_ERROR)
                failed = True
        for job_id in list(worker.missed_pings):
            if job_id not in worker.jobs:
                del worker.missed_pings[job_id]
        return failed

    def update_idle(self, worker: Worker) -> None:
        if worker.state == IDLE:
            if worker.idle_since is None:
                worker.idle_since = self.clock()
        else:
            worker.idle_since = None

    def _on_final(self, job: Job) -> None:
        worker = self.pool.get(job.worker_id) if (self.pool and job.worker_id) else None
        if worker is not None and job.id in worker.jobs:
            worker.jobs.discard(job.id)
            if job.status in (CANCELLED, TIMED_OUT):
                # The worker may still be running it: tell it, and count it busy
                # until it reports the job gone (ping or job_in_progress=0).
                worker.draining.add(job.id)
                worker.stopped_at[job.id] = self.clock()
                worker.stop_requests.append(job.id)
            self.update_idle(worker)
        if job.webhook and self._session is not None and not self.closing:
            self.spawn_task(deliver(self._session, job.webhook, job.status_body(),
                                    self.config.webhook_attempts))
        self.changed.notify()
        self.poke()

    # ------------------------------------------------------------ supervisor
    async def _supervise(self) -> None:
        while not self.closing:
            try:
                self.tick()
            except Exception:  # a bug here must not silently stop supervision
                log.exception("supervisor tick failed")
            try:
                await asyncio.wait_for(self._wake.wait(), TICK_S)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    def tick(self) -> None:
        cfg, pool, now = self.config, self.pool, self.clock()
        changed = False
        for worker in pool.reap():
            self._worker_gone(worker)
            changed = True

        for worker in pool.live():
            if worker.state == STOPPING:
                continue
            if worker.state == INITIALIZING and not worker.external:
                if now - worker.spawned_at > cfg.startup_timeout:
                    pool.kill(worker, f"was not ready {cfg.startup_timeout:g} s after it started")
                    changed = True
                continue
            if self._overran_stop(worker, now):
                changed = True
                continue
            # spawned_at: an external worker that never took a job (an unknown id that
            # made one request) would otherwise count toward max_workers forever.
            silent = now - (worker.last_seen_at or worker.ready_at or worker.spawned_at)
            # A held long-poll proves nothing about a frozen process: once a worker
            # pings, only pings and new requests count. One that never pings (not the
            # SDK) is alive while it holds a request open.
            held_open = worker.open_requests > 0 and worker.last_ping_at is None
            if not held_open and silent > cfg.ping_timeout:
                reason = f"went silent (no ping or request for {silent:.1f} s)"
                pool.kill(worker, reason)
                # Its jobs move on now, not when (if ever) the process is reaped.
                self._worker_gone(worker, reason)
                changed = True

        if self.store.expire_timeouts(now):
            changed = True
        self.store.drop_expired(cfg.retention, cfg.runsync_retention, now)
        if self._scale(now):
            changed = True
        if changed:
            self.changed.notify()

    def drain_grace(self) -> float:
        """How long a worker may go on running a job after it was told to stop it."""
        return self.config.stop_grace + 2 * self.config.ping_interval_s

    def _overran_stop(self, worker: Worker, now: float) -> bool:
        """Replace a worker still running a cancelled or timed-out job after the grace.

        The SDK stops a job by cancelling its asyncio task, which cannot interrupt a
        sync handler: the worker would be held (counted busy) for as long as the
        handler runs. The platform replaces such a worker; so does this endpoint.
        """
        for job_id in list(worker.stopped_at):
            if job_id not in worker.draining:
                del worker.stopped_at[job_id]
        if not worker.stopped_at:
            return False
        overdue = now - min(worker.stopped_at.values())
        if overdue <= self.drain_grace():
            return False
        job_id = min(worker.stopped_at, key=worker.stopped_at.get)
        self.pool.request_stop(worker, f"still ran stopped job {job_id} {overdue:.1f} s "
                                       f"after it was told to stop it (a sync handler "
                                       f"cannot be interrupted)")
        return True

    def _worker_gone(self, worker: Worker, reason: str | None = None) -> None:
        reason = reason or worker.exit_reason or "exited"
        affected = self.store.release_worker(worker.id, reason)
        worker.jobs.clear()
        worker.draining.clear()
        worker.stopped_at.clear()
        worker.stop_requests.clear()
        for job in affected:
            log.warning("job %s: %s %s; now %s", job.id, worker.id, reason, job.status)
        if worker.ready_at is None and not worker.external and not self.closing \
                and worker.exited_at is not None:
            self._start_failed(f"{worker.id} {reason} before its first job-take",
                               self.pool.read_log(worker), worker.log_path)

    def _start_failed(self, what: str, log_text: str, log_path: str | None) -> None:
        self._start_failures += 1
        backoff = min(2 ** self._start_failures, MAX_SPAWN_BACKOFF_S)
        self._spawn_not_before = self.clock() + backoff
        log.error("%s (%d in a row); next start in %d s", what, self._start_failures, backoff)
        if self._start_failures >= self.config.max_start_failures:
            tail = "\n".join(log_text.splitlines()[-LOG_TAIL_LINES:])
            reason = (f"no worker could start: {what}, {self._start_failures} times in a "
                      f"row. Worker command: {list(self.config.worker_command)}. "
                      f"End of its log ({log_path}):\n{tail}")
            failed = self.store.fail_queued(reason)
            if failed:
                log.error("failed %d queued job(s): the worker command does not start",
                          len(failed))
            self._start_failures = 0
            self._spawn_not_before = 0.0

    def _scale(self, now: float) -> bool:
        if self.closing:
            return False
        cfg = self.config
        plan = plan_scaling(
            queued=self.store.in_queue(),
            workers=self.pool.live(),
            min_workers=cfg.min_workers,
            max_workers=cfg.max_workers,
            idle_timeout=cfg.idle_timeout,
            now=now,
            spawn_allowed=now >= self._spawn_not_before,
        )
        for worker_id in plan.stop:
            self.pool.request_stop(self.pool.get(worker_id),
                                   f"idle for {cfg.idle_timeout:g} s (scale down)")
        for _ in range(plan.spawn):
            try:
                self.pool.spawn()
            except OSError as error:
                self._start_failed(f"the worker command could not be started ({error})",
                                   "", None)
                break
        return bool(plan.spawn or plan.stop)

    # --------------------------------------------------------------- reports
    def health(self) -> dict:
        states = Counter(w.state for w in self.pool.live()) if self.pool else Counter()
        return {
            "jobs": self.store.counts(),
            "workers": {
                "idle": states[IDLE],
                "running": states[RUNNING],
                "initializing": states[INITIALIZING],
            },
        }

    def timeline(self) -> dict:
        """Measured times (``clock()`` seconds) of every job and worker, for plots."""
        jobs = []
        for job in self.history:
            jobs.append({
                "id": job.id,
                "status": job.status,
                "created": job.created_at,
                "taken": job.attempts[0].taken_at if job.attempts else None,
                "first_chunk": job.first_chunk_at,
                "finished": job.finished_at,
                "retries": job.retries,
                "attempts": [
                    {"worker": a.worker_id, "taken": a.taken_at, "ended": a.ended_at,
                     "outcome": a.outcome}
                    for a in job.attempts
                ],
            })
        workers = [
            {"id": w.id, "pid": w.pid, "external": w.external, "spawned": w.spawned_at,
             "ready": w.ready_at, "exited": w.exited_at, "returncode": w.returncode,
             "exit_reason": w.exit_reason}
            for w in (self.pool.workers.values() if self.pool else ())
        ]
        return {"started": self.started_at, "jobs": jobs, "workers": workers, "ignored": list(self.ignored)}

    def record_ignored(self, what: str, job_id: str, worker_id: str, reason: str) -> None:
        """Keep a worker's report that was not applied (late progress, a stale result)."""
        self.ignored.append({"at": self.clock(), "what": what, "job": job_id, "worker": worker_id,
                             "reason": reason})
