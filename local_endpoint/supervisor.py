"""The supervisor: what the endpoint does by the clock rather than on a request.

Contract:
- ``Supervisor.run()`` calls ``tick()`` every ``TICK_S`` seconds, and at once when
  the dispatcher is poked, until cancelled; a failing tick is logged, never fatal.
- A tick notices exited workers and releases their jobs (requeued, or FAILED out of
  retries), kills workers silent for ``ping_timeout`` (external ones too, ready or
  not) and spawned workers not ready after ``startup_timeout``, replaces workers
  still running a stopped job ``drain_grace()`` s after the stop, ends jobs past
  their execution timeout, deletes jobs past their ttl, forgets jobs past retention,
  and applies ``scaling.plan_scaling``.
- A worker command that exits before its first job-take ``max_start_failures`` times
  in a row fails the queued jobs with the end of its log; spawns back off
  exponentially (up to ``MAX_SPAWN_BACKOFF_S``) meanwhile, and a worker that becomes
  ready resets the count.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from .config import EndpointConfig
from .dispatch import Dispatch
from .scaling import plan_scaling
from .worker_pool import WorkerPool
from .workers import INITIALIZING, STOPPING, Worker

log = logging.getLogger("local_endpoint")

TICK_S = 0.2
LOG_TAIL_LINES = 20
MAX_SPAWN_BACKOFF_S = 30


class Supervisor:
    def __init__(self, config: EndpointConfig, dispatch: Dispatch, pool: WorkerPool, *,
                 clock: Callable[[], float]) -> None:
        self.config = config
        self.dispatch = dispatch
        self.pool = pool
        self.clock = clock
        self._start_failures = 0
        self._spawn_not_before = 0.0

    async def run(self) -> None:
        wake = self.dispatch.wake
        while not self.dispatch.closing:
            try:
                self.tick()
            except Exception:  # a bug here must not silently stop supervision
                log.exception("supervisor tick failed")
            try:
                await asyncio.wait_for(wake.wait(), TICK_S)
            except asyncio.TimeoutError:
                pass
            wake.clear()

    def worker_ready(self, worker: Worker) -> None:
        """A worker took its first job: the command works, start-ups may go on."""
        self._start_failures = 0
        self._spawn_not_before = 0.0

    def drain_grace(self) -> float:
        """How long a worker may go on running a job after it was told to stop it."""
        return self.config.stop_grace + 2 * self.config.ping_interval_s

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

        if self.dispatch.expire(now):
            changed = True
        if self._scale(now):
            changed = True
        if changed:
            self.dispatch.changed.notify()

    def _overran_stop(self, worker: Worker, now: float) -> bool:
        """Replace a worker still running a stopped job after the grace.

        The SDK stops a job by cancelling its asyncio task, which cannot interrupt a
        sync handler: the worker would be held (counted busy) for as long as the
        handler runs. The platform replaces such a worker; so does this endpoint.
        """
        overdue = worker.oldest_overdue_stop(self.drain_grace(), now)
        if overdue is None:
            return False
        job_id, seconds = overdue
        self.pool.request_stop(worker, f"still ran stopped job {job_id} {seconds:.1f} s "
                                       f"after it was told to stop it (a sync handler "
                                       f"cannot be interrupted)")
        return True

    def _worker_gone(self, worker: Worker, reason: str | None = None) -> None:
        reason = reason or worker.exit_reason or "exited"
        self.dispatch.release(worker, reason)
        if worker.ready_at is None and not worker.external and not self.dispatch.closing \
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
            failed = self.dispatch.fail_queued(reason)
            if failed:
                log.error("failed %d queued job(s): the worker command does not start",
                          failed)
            self._start_failures = 0
            self._spawn_not_before = 0.0

    def _scale(self, now: float) -> bool:
        if self.dispatch.closing:
            return False
        cfg = self.config
        plan = plan_scaling(
            queued=self.dispatch.queued(),
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
