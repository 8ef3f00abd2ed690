"""One local endpoint's life: start it, serve it, stop it, and report on it.

Contract:
- ``EndpointServer(config)`` does nothing until ``await start()``, which binds the
  socket (port 0: a free one), makes a private ``HOME`` and a log folder, puts the
  pieces together (``WorkerPool``, ``Dispatch``, ``Supervisor``, the app of
  ``app.build_app``) and starts the supervisor, which starts ``min_workers``.
- ``await stop()`` ends every held request, stops every worker (SIGTERM to its
  process group, SIGKILL after the grace period), cancels webhook deliveries,
  closes the socket and removes the temporary folders (worker logs are read back
  into ``saved_logs`` first). Both must run on the loop that serves requests.
- The reports (``health``, ``timeline``, ``workers``, ``worker_logs``) read the
  pieces and change nothing; after ``stop()`` they give the final state.
- Webhooks are delivered from tasks owned here (``webhooks.deliver``), with the
  retries of ``webhook_attempts`` and ``webhook_retry_interval``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import tempfile
import time
from typing import Callable

import aiohttp
from aiohttp import web

from .app import build_app
from .config import EndpointConfig
from .dispatch import Dispatch
from .jobs import Job
from .reports import timeline_body
from .supervisor import Supervisor
from .webhooks import deliver
from .worker_pool import WorkerPool

log = logging.getLogger("local_endpoint")


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening socket (OSError if the address is taken or unknown)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class EndpointServer:
    """One local endpoint: serve it with ``await start()``, end it with ``await stop()``."""

    def __init__(self, config: EndpointConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.pool: WorkerPool | None = None
        self.dispatch: Dispatch | None = None
        self.started_at: float | None = None
        self.port: int | None = None
        self.log_dir: str | None = None
        self.saved_logs: dict[str, str] = {}
        self._tmp: str | None = None
        self._runner: web.AppRunner | None = None
        self._supervisor: asyncio.Task | None = None
        self._session: aiohttp.ClientSession | None = None
        self._deliveries: set[asyncio.Task] = set()
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
        cfg = self.config
        try:
            # Bound first: the workers' environment needs the port.
            sock = listening_socket(cfg.host, cfg.port)
            self.port = sock.getsockname()[1]
            self._tmp = tempfile.mkdtemp(prefix="local-endpoint-")
            home = os.path.join(self._tmp, "home")
            os.mkdir(home, 0o700)
            self.log_dir = cfg.log_dir or os.path.join(self._tmp, "logs")
            os.makedirs(self.log_dir, exist_ok=True)
            self.pool = WorkerPool(
                command=cfg.worker_command,
                cwd=cfg.worker_cwd or os.getcwd(),
                env_settings=dict(base_url=self.base_url, endpoint_id=cfg.endpoint_id,
                                  worker_key=cfg.worker_key,
                                  ping_interval_ms=cfg.ping_interval_ms,
                                  extra=cfg.worker_env),
                home=home,
                log_dir=self.log_dir,
                stop_grace=cfg.stop_grace,
                clock=self.clock,
            )
            self.dispatch = Dispatch(cfg, self.pool, clock=self.clock,
                                     send_webhook=self._send_webhook)
            supervisor = Supervisor(cfg, self.dispatch, self.pool, clock=self.clock)
            self.dispatch.on_worker_ready = supervisor.worker_ready
            # Held requests end quickly once the dispatcher closes: no need to wait long.
            self._runner = web.AppRunner(build_app(self.dispatch), access_log=None,
                                         shutdown_timeout=2.0)
            await self._runner.setup()
            await web.SockSite(self._runner, sock).start()
            self._session = aiohttp.ClientSession()
            self.started_at = self.clock()
            self._supervisor = asyncio.create_task(supervisor.run())
            log.info("endpoint %r serving at %s", cfg.endpoint_id, self.url)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.dispatch is not None:
            self.dispatch.close()  # held requests answer now
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
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.pool is not None:
            self.saved_logs = self.worker_logs()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        log.info("endpoint %r stopped", self.config.endpoint_id)

    def _send_webhook(self, job: Job) -> None:
        if self._session is None:
            return
        task = asyncio.ensure_future(deliver(
            self._session, job.webhook, job.webhook_body(),
            attempts=self.config.webhook_attempts,
            interval=self.config.webhook_retry_interval))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    # --------------------------------------------------------------- reports
    def health(self) -> dict:
        return self.dispatch.health()

    def timeline(self) -> dict:
        """Measured times (``clock()`` seconds) of every job and worker, for plots."""
        if self.dispatch is None:
            return timeline_body(self.started_at, [], [], [])
        return timeline_body(self.started_at, self.dispatch.history,
                             self.pool.workers.values(), self.dispatch.ignored)

    def workers(self) -> list[dict]:
        return [w.describe() for w in self.pool.workers.values()] if self.pool else []

    def worker_logs(self) -> dict[str, str]:
        if self.pool is None:
            return {}
        return {w.id: self.pool.read_log(w) for w in self.pool.workers.values() if w.log_path}

    def leftover_processes(self) -> list[int]:
        return self.pool.leftover_processes() if self.pool is not None else []
