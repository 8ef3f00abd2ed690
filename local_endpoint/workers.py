"""A worker as the endpoint sees it, and every change to what the endpoint knows of it.

Contract:
- ``Worker`` is a record whose fields are changed only by its own methods, here:
  the routes, the dispatcher, the supervisor and the process pool call them and
  never assign a field. Each method is named for the event it records.
- ``Worker.state`` is derived, never stored: INITIALIZING from spawn (or first
  request) to the first job-take, then IDLE or RUNNING, STOPPING once asked to
  stop, EXITED at the end. A worker is RUNNING while it holds a job or may still be
  running a stopped (cancelled, timed out, deleted) one: ``draining``.
- Nothing here does I/O or knows more of jobs than their ids.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

INITIALIZING = "initializing"
IDLE = "idle"
RUNNING = "running"
STOPPING = "stopping"
EXITED = "exited"


@dataclass
class Worker:
    """One worker: spawned here (``process`` set) or external (started by hand)."""

    id: str
    spawned_at: float
    process: subprocess.Popen | None = None  # None: an external worker
    log_path: str | None = None
    ready_at: float | None = None  # first job-take
    last_seen_at: float | None = None  # last request of any kind (pings included)
    last_ping_at: float | None = None
    open_requests: int = 0
    jobs: set[str] = field(default_factory=set)  # jobs assigned and running
    draining: set[str] = field(default_factory=set)  # stopped jobs it may still run
    stop_requests: list[str] = field(default_factory=list)  # for its job-stop poll
    missed_pings: dict[str, int] = field(default_factory=dict)  # job id -> pings in a row without it
    stopped_at: dict[str, float] = field(default_factory=dict)  # draining job id -> when stopped
    idle_since: float | None = None
    stopping_since: float | None = None
    stop_reason: str | None = None
    killed: bool = False  # SIGKILL already sent
    exited_at: float | None = None
    returncode: int | None = None
    exit_reason: str | None = None

    @property
    def external(self) -> bool:
        return self.process is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def state(self) -> str:
        if self.exited_at is not None:
            return EXITED
        if self.stopping_since is not None:
            return STOPPING
        if self.ready_at is None:
            return INITIALIZING
        if self.jobs or self.draining:
            return RUNNING
        return IDLE

    # ------------------------------------------------------------ requests
    def request_began(self, now: float) -> None:
        """Any request shows the worker alive; its end does not (a held request ends
        by the server's clock, whatever became of the worker meanwhile)."""
        self.last_seen_at = now
        self.open_requests += 1

    def request_ended(self) -> None:
        self.open_requests -= 1

    def pinged(self, now: float) -> None:
        self.last_ping_at = now

    def took_first_job(self, now: float) -> bool:
        """Its first job-take: True if this made it ready."""
        if self.ready_at is not None or self.state != INITIALIZING:
            return False
        self.ready_at = now
        self._idle_check(now)
        return True

    # ---------------------------------------------------------------- jobs
    def assigned(self, job_ids: list[str], now: float) -> None:
        self.jobs.update(job_ids)
        self._idle_check(now)

    def job_ended(self, job_id: str, *, stopped: bool, now: float) -> None:
        """A job of this worker became final (or was deleted). A stopped one (not by
        its own result) may still run there: it is told to stop, and counts as busy
        until the worker reports it gone."""
        if job_id not in self.jobs:
            return
        self.jobs.discard(job_id)
        if stopped:
            self.draining.add(job_id)
            self.stopped_at[job_id] = now
            self.stop_requests.append(job_id)
        self._idle_check(now)

    def take_stop_requests(self) -> list[str]:
        ids, self.stop_requests = self.stop_requests, []
        return ids

    def runs_nothing(self, now: float) -> None:
        """It says so (job_in_progress=0): stopped jobs are gone."""
        if self.draining:
            self.draining.clear()
            self._idle_check(now)

    def finished_stopped_job(self, job_id: str, now: float) -> None:
        """It sent a result for a job that was stopped: that one has ended there."""
        if job_id in self.draining:
            self.draining.discard(job_id)
            self._idle_check(now)

    def still_runs(self, running: set[str], now: float) -> bool:
        """A ping listed ``running``: stopped jobs it left out have ended. True if
        that freed something."""
        if not self.draining - running:
            return False
        self.draining &= running
        self._idle_check(now)
        return True

    def missed_by_ping(self, absent: set[str], threshold: int) -> list[str]:
        """Count a ping that left out the jobs ``absent`` (those old enough to count);
        returns those now missing from ``threshold`` pings in a row."""
        lost = []
        for job_id in list(self.jobs):
            if job_id not in absent:
                self.missed_pings.pop(job_id, None)
                continue
            self.missed_pings[job_id] = self.missed_pings.get(job_id, 0) + 1
            if self.missed_pings[job_id] >= threshold:
                lost.append(job_id)
        for job_id in list(self.missed_pings):
            if job_id not in self.jobs:
                del self.missed_pings[job_id]
        return lost

    def oldest_overdue_stop(self, grace: float, now: float) -> tuple[str, float] | None:
        """The stopped job it has run longest past ``grace`` s after the stop, with
        how long since the stop; None if none is overdue."""
        for job_id in list(self.stopped_at):
            if job_id not in self.draining:
                del self.stopped_at[job_id]
        if not self.stopped_at:
            return None
        job_id = min(self.stopped_at, key=self.stopped_at.get)
        overdue = now - self.stopped_at[job_id]
        return (job_id, overdue) if overdue > grace else None

    def forget_jobs(self) -> None:
        """It is gone: its jobs were released elsewhere."""
        self.jobs.clear()
        self.draining.clear()
        self.stopped_at.clear()
        self.stop_requests.clear()
        self.missed_pings.clear()

    # ------------------------------------------------------------- process
    def stopping(self, reason: str, now: float) -> None:
        self.stopping_since = now
        self.stop_reason = reason

    def mark_killed(self) -> None:
        self.killed = True

    def exited(self, reason: str, returncode: int | None, now: float) -> None:
        self.exited_at = now
        self.returncode = returncode
        self.exit_reason = reason

    # -------------------------------------------------------------- report
    def describe(self) -> dict:
        return {
            "id": self.id,
            "pid": self.pid,
            "state": self.state,
            "external": self.external,
            "spawned_at": self.spawned_at,
            "ready_at": self.ready_at,
            "exited_at": self.exited_at,
            "returncode": self.returncode,
            "exit_reason": self.exit_reason,
            "jobs": sorted(self.jobs),
            "log_path": self.log_path,
        }

    def _idle_check(self, now: float) -> None:
        if self.state == IDLE:
            if self.idle_since is None:
                self.idle_since = now
        else:
            self.idle_since = None
