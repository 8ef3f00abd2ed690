"""Worker processes: spawn, watch, stop, and leave nothing behind.

Contract:
- ``WorkerPool.spawn()`` starts the worker command as a subprocess in a new session
  (its own process group), with the environment of ``worker_env`` and its stdout and
  stderr appended to one log file per worker. The SDK forks its heartbeat into a
  second process (runpod/serverless/modules/rp_ping.py), which survives a killed
  parent, so a worker is always stopped by its whole process group.
- ``request_stop(worker, reason)`` sends SIGTERM to the group; ``reap()`` notices
  exits, sends SIGKILL to the group once the grace period is over, and, when the
  main process has exited, SIGKILL to whatever is left of its group.
- On Linux a spawned worker gets SIGKILL when the endpoint's loop thread (the thread
  that spawns every worker, alive until the endpoint has stopped its workers) dies,
  so an endpoint killed uncleanly (SIGKILL) does not leave its workers running
  (``PR_SET_PDEATHSIG``). The SDK's heartbeat process, forked later by the worker,
  does not inherit it.
- Workers that were not spawned here (a handler started by hand with the webhook
  variables) are "external": tracked the same way, but have no process to stop.
- ``Worker.state`` is derived, never stored: INITIALIZING from spawn to the first
  job-take, then IDLE or RUNNING, STOPPING once asked to stop, EXITED at the end.
- Nothing here knows about jobs beyond the ids a worker holds; nothing here does HTTP.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from .worker_env import worker_environment

log = logging.getLogger("local_endpoint.workers")

INITIALIZING = "initializing"
IDLE = "idle"
RUNNING = "running"
STOPPING = "stopping"
EXITED = "exited"

MAX_EXITED_EXTERNAL = 1000  # exited external workers remembered (for timeline())


@dataclass
class Worker:
    """One worker as the endpoint sees it."""

    id: str
    spawned_at: float
    process: subprocess.Popen | None = None  # None: an external worker
    log_path: str | None = None
    ready_at: float | None = None  # first job-take
    last_seen_at: float | None = None  # last request of any kind (pings included)
    last_ping_at: float | None = None
    open_requests: int = 0
    open_takes: int = 0  # job-take requests it holds open now
    take_ended_at: float | None = None  # when its last job-take ended (None: it hung up)
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


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        if -returncode == signal.SIGKILL:
            return f"was killed by {name} (as the out-of-memory killer does)"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


def live_group_members(pgid: int) -> list[int]:
    """PIDs still running in a process group; zombies do not count.

    Orphans are re-parented to PID 1, which in a container may never reap them, so
    "a signal can be delivered" is not the same as "a process is still running".
    """
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: the best answer available
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: parse after the last ")".
        fields = stat[stat.rfind(")") + 2:].split()
        state, process_group = fields[0], int(fields[2])
        if process_group == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


PR_SET_PDEATHSIG = 1


def _die_with_parent_hook():
    """A ``preexec_fn`` giving the child SIGKILL when the spawning thread ends (Linux).

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child exits, so
    workers must be spawned only from the endpoint's long-lived loop thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return hook


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class WorkerPool:
    """Every worker of one endpoint, spawned or external, live or exited."""

    def __init__(
        self,
        *,
        command: Sequence[str],
        cwd: str,
        env_settings: Mapping,
        home: str,
        log_dir: str,
        stop_grace: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.env_settings = dict(env_settings)  # worker_environment() keywords
        self.home = home
        self.log_dir = log_dir
        self.stop_grace = stop_grace
        self.clock = clock
        self.workers: dict[str, Worker] = {}
        self._spawned = 0

    # ------------------------------------------------------------------ lookup
    def get(self, worker_id: str) -> Worker | None:
        return self.workers.get(worker_id)

    def live(self) -> list[Worker]:
        return [w for w in self.workers.values() if w.state != EXITED]

    # ----------------------------------------------------------------- control
    def spawn(self) -> Worker:
        self._spawned += 1
        worker_id = f"worker-{self._spawned}"
        while worker_id in self.workers:  # an external worker took the name
            self._spawned += 1
            worker_id = f"worker-{self._spawned}"
        log_path = os.path.join(self.log_dir, f"{worker_id}.log")
        env = worker_environment(parent=os.environ, home=self.home, worker_id=worker_id,
                                 **self.env_settings)
        with open(log_path, "ab") as log_file:
            log_file.write(f"# local_endpoint: {worker_id} runs {self.command} "
                           f"in {self.cwd}\n".encode())
            log_file.flush()
            process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, heartbeat included
                preexec_fn=_die_with_parent_hook(),
            )
        worker = Worker(id=worker_id, spawned_at=self.clock(), process=process,
                        log_path=log_path)
        self.workers[worker_id] = worker
        log.info("started %s (pid %s)", worker_id, process.pid)
        log.debug("%s runs: %s", worker_id, " ".join(self.command))
        return worker

    def register_external(self, worker_id: str) -> Worker:
        now = self.clock()
        worker = Worker(id=worker_id, spawned_at=now, last_seen_at=now)
        self.workers[worker_id] = worker
        gone = [w.id for w in self.workers.values() if w.external and w.state == EXITED]
        for old_id in gone[:max(0, len(gone) - MAX_EXITED_EXTERNAL)]:
            del self.workers[old_id]  # made-up ids must not grow memory without end
        log.info("external worker %s connected", worker_id)
        return worker

    def request_stop(self, worker: Worker, reason: str) -> None:
        if worker.state in (STOPPING, EXITED):
            return
        worker.stopping_since = self.clock()
        worker.stop_reason = reason
        log.info("stopping %s: %s", worker.id, reason)
        if worker.external:
            self.mark_exited(worker, reason)
        else:
            _signal_group(worker.pid, signal.SIGTERM)

    def kill(self, worker: Worker, reason: str) -> None:
        """Stop at once: for a worker that no longer answers."""
        self.request_stop(worker, reason)
        if not worker.external and not worker.killed:
            worker.killed = True
            _signal_group(worker.pid, signal.SIGKILL)

    def mark_exited(self, worker: Worker, reason: str, returncode: int | None = None) -> None:
        worker.exited_at = self.clock()
        worker.returncode = returncode
        worker.exit_reason = reason

    def reap(self) -> list[Worker]:
        """Notice workers whose main process ended; enforce the stop grace period."""
        now = self.clock()
        exited = []
        for worker in self.workers.values():
            if worker.external or worker.exited_at is not None:
                continue
            returncode = worker.process.poll()
            if returncode is not None:
                # Its heartbeat process would go on pinging for a dead worker.
                _signal_group(worker.pid, signal.SIGKILL)
                reason = worker.stop_reason or describe_exit(returncode)
                self.mark_exited(worker, reason, returncode)
                log.info("%s (pid %s) %s", worker.id, worker.pid, describe_exit(returncode))
                exited.append(worker)
            elif (worker.stopping_since is not None and not worker.killed
                  and now - worker.stopping_since >= self.stop_grace):
                worker.killed = True
                log.warning("%s did not stop within %.0f s of SIGTERM: SIGKILL",
                            worker.id, self.stop_grace)
                _signal_group(worker.pid, signal.SIGKILL)
        return exited

    def stop_all(self, reason: str) -> None:
        for worker in self.live():
            self.request_stop(worker, reason)

    def kill_all(self) -> None:
        """The last resort at shutdown: SIGKILL every group, then wait for the leaders."""
        for worker in self.workers.values():
            if worker.external:
                continue
            _signal_group(worker.pid, signal.SIGKILL)
            worker.killed = True
            try:
                worker.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.error("%s (pid %s) survived SIGKILL", worker.id, worker.pid)
        self.reap()

    def leftover_processes(self) -> list[int]:
        """PIDs still running in any process group this pool started."""
        pids = []
        for worker in list(self.workers.values()):  # may be called from another thread
            if not worker.external:
                pids.extend(live_group_members(worker.pid))
        return pids

    def read_log(self, worker: Worker) -> str:
        if worker.log_path is None:
            return ""
        try:
            return Path(worker.log_path).read_text(errors="replace")
        except OSError:
            return ""
