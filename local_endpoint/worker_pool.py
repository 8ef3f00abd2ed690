"""Worker processes of one endpoint: spawn, watch, stop, and leave nothing behind.

Contract:
- ``WorkerPool.spawn()`` starts the worker command as a subprocess in a new session
  (its own process group, see ``processes``), with the environment of
  ``worker_env`` and its stdout and stderr appended to one log file per worker.
- ``request_stop(worker, reason)`` sends SIGTERM to the group; ``reap()`` notices
  exits, sends SIGKILL to the group once the grace period is over, and, when the
  main process has exited, SIGKILL to whatever is left of its group.
- Workers are spawned only from the endpoint's loop thread, alive until the
  endpoint has stopped its workers (``processes.die_with_parent_hook``).
- Workers that were not spawned here (a handler started by hand with the webhook
  variables) are "external": tracked the same way, but have no process to stop.
- Worker records change only through their own methods (``workers``); nothing
  here knows about jobs, and nothing here does HTTP.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

from .processes import describe_exit, die_with_parent_hook, live_group_members, signal_group
from .worker_env import worker_environment
from .workers import EXITED, STOPPING, Worker

log = logging.getLogger("local_endpoint.workers")


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
                preexec_fn=die_with_parent_hook(),
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
        log.info("external worker %s connected", worker_id)
        return worker

    def request_stop(self, worker: Worker, reason: str) -> None:
        if worker.state in (STOPPING, EXITED):
            return
        worker.stopping(reason, self.clock())
        log.info("stopping %s: %s", worker.id, reason)
        if worker.external:
            self.mark_exited(worker, reason)
        else:
            signal_group(worker.pid, signal.SIGTERM)

    def kill(self, worker: Worker, reason: str) -> None:
        """Stop at once: for a worker that no longer answers."""
        self.request_stop(worker, reason)
        if not worker.external and not worker.killed:
            worker.mark_killed()
            signal_group(worker.pid, signal.SIGKILL)

    def mark_exited(self, worker: Worker, reason: str, returncode: int | None = None) -> None:
        worker.exited(reason, returncode, self.clock())

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
                signal_group(worker.pid, signal.SIGKILL)
                reason = worker.stop_reason or describe_exit(returncode)
                self.mark_exited(worker, reason, returncode)
                log.info("%s (pid %s) %s", worker.id, worker.pid, describe_exit(returncode))
                exited.append(worker)
            elif (worker.stopping_since is not None and not worker.killed
                  and now - worker.stopping_since >= self.stop_grace):
                worker.mark_killed()
                log.warning("%s did not stop within %.0f s of SIGTERM: SIGKILL",
                            worker.id, self.stop_grace)
                signal_group(worker.pid, signal.SIGKILL)
        return exited

    def stop_all(self, reason: str) -> None:
        for worker in self.live():
            self.request_stop(worker, reason)

    def kill_all(self) -> None:
        """The last resort at shutdown: SIGKILL every group, then wait for the leaders."""
        for worker in self.workers.values():
            if worker.external:
                continue
            signal_group(worker.pid, signal.SIGKILL)
            worker.mark_killed()
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
