"""``LocalEndpoint``: a local endpoint for notebooks and tests, as a context manager.

Contract:
- ``LocalEndpoint(worker_command=None, *, config=None, install=True, **settings)``
  builds an ``EndpointConfig`` (``settings`` are its fields; ``worker_command`` may be
  a list or a shell-like string). Nothing starts until ``start()`` or ``with``.
- ``start()`` serves the endpoint from a background thread with its own event loop
  and returns once it accepts requests. With ``install=True`` it then sets
  ``runpod.endpoint_url_base`` and ``runpod.api_key`` to this endpoint's; ``close()``
  hands them to the latest installed endpoint still open, or puts back the values
  they had before any endpoint was installed (unless somebody changed them since).
- ``close()`` (and leaving ``with``, also on an exception, and interpreter exit)
  stops every worker process group and the server; it is safe to call twice.
  ``leftover_processes()`` is then empty unless a process survived SIGKILL.
- The reports (``health``, ``workers``, ``timeline``, ``worker_logs``) are computed
  on the endpoint's loop, so they are consistent snapshots; after ``close()`` they
  report the final state (for plotting after a ``with`` block).
- ``runpod.Endpoint`` reads ``runpod.endpoint_url_base`` when it is constructed;
  ``endpoint()`` builds one bound to this endpoint whatever the global says. An
  ``AsyncioEndpoint``'s jobs read the global when ``run()`` returns, so use it while
  this endpoint is the installed one (``install()``).
"""

from __future__ import annotations

import asyncio
import atexit
import shlex
import threading
import time
from typing import Any, Callable, Sequence

from .config import EndpointConfig
from .server import EndpointServer

START_TIMEOUT_S = 30
# runpod's module globals are shared by every endpoint in the process.
_GLOBALS_LOCK = threading.Lock()
_INSTALLED: list["LocalEndpoint"] = []  # installed and still open, latest last
_ORIGINAL: list = []  # the globals before the first of them was installed


class LocalEndpoint:
    """A RunPod-compatible endpoint on this machine, with its own worker processes."""

    def __init__(
        self,
        worker_command: Sequence[str] | str | None = None,
        *,
        config: EndpointConfig | None = None,
        install: bool = True,
        **settings: Any,
    ) -> None:
        if worker_command is not None:
            settings["worker_command"] = (shlex.split(worker_command)
                                          if isinstance(worker_command, str)
                                          else list(worker_command))
        base = config or EndpointConfig()
        self.config = base.replace(**settings) if settings else base
        self._install_on_start = install
        self._server = EndpointServer(self.config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    # ------------------------------------------------------------ properties
    @property
    def url(self) -> str:
        """What ``runpod.endpoint_url_base`` must be: ``http://127.0.0.1:PORT/v2``."""
        return self._server.url

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def port(self) -> int | None:
        return self._server.port

    @property
    def endpoint_id(self) -> str:
        return self.config.endpoint_id

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def worker_key(self) -> str:
        return self.config.worker_key

    @property
    def log_dir(self) -> str | None:
        return self._server.log_dir

    # ------------------------------------------------------------- lifecycle
    def start(self) -> "LocalEndpoint":
        if self._thread is not None:
            raise RuntimeError("this LocalEndpoint was already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._server.start())
            except BaseException as error:  # reported to start() below
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=serve, name=f"local-endpoint-{self.endpoint_id}",
                                        daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S):
            raise RuntimeError(f"the local endpoint did not start within {START_TIMEOUT_S} s")
        if failure:
            self._closed = True
            raise failure[0]
        atexit.register(self.close)
        if self._install_on_start:
            self.install()
        return self

    def close(self) -> None:
        if self._closed or self._thread is None:
            return
        self._closed = True
        atexit.unregister(self.close)
        self._restore_globals()
        timeout = self.config.stop_grace + 30
        try:
            asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> "LocalEndpoint":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------- the SDK
    def install(self) -> None:
        """Point ``runpod.endpoint_url_base`` and ``runpod.api_key`` here."""
        import runpod

        with _GLOBALS_LOCK:
            if not _INSTALLED:
                _ORIGINAL[:] = [runpod.endpoint_url_base, runpod.api_key]
            if self in _INSTALLED:
                _INSTALLED.remove(self)
            _INSTALLED.append(self)
            runpod.endpoint_url_base, runpod.api_key = self.url, self.api_key

    def _restore_globals(self) -> None:
        """Hand the globals to the last endpoint installed that is still open, or
        back to what they were before any was: endpoints may close in any order."""
        import runpod

        with _GLOBALS_LOCK:
            if self not in _INSTALLED:
                return
            _INSTALLED.remove(self)
            if runpod.endpoint_url_base != self.url:
                return  # somebody else set them since: leave them alone
            if _INSTALLED:
                runpod.endpoint_url_base = _INSTALLED[-1].url
                runpod.api_key = _INSTALLED[-1].api_key
            else:
                runpod.endpoint_url_base, runpod.api_key = _ORIGINAL

    def endpoint(self, api_key: str | None = None):
        """A ``runpod.Endpoint`` bound to this endpoint (key: this endpoint's)."""
        import runpod

        with _GLOBALS_LOCK:
            previous = runpod.endpoint_url_base
            runpod.endpoint_url_base = self.url
            try:
                return runpod.Endpoint(self.endpoint_id, api_key=api_key or self.api_key)
            finally:
                runpod.endpoint_url_base = previous

    def asyncio_endpoint(self, session, api_key: str | None = None):
        """A ``runpod.AsyncioEndpoint``; its jobs need this endpoint installed."""
        import runpod

        self.install()
        return runpod.AsyncioEndpoint(self.endpoint_id, session,
                                      api_key=api_key or self.api_key)

    # --------------------------------------------------------------- reports
    def _call(self, fn: Callable[[], Any]) -> Any:
        if self._loop is None:
            raise RuntimeError("the local endpoint was never started")
        if self._closed:
            return fn()  # nothing changes any more: no loop needed

        async def on_loop():
            return fn()

        return asyncio.run_coroutine_threadsafe(on_loop(), self._loop).result(10)

    def health(self) -> dict:
        """What ``/health`` answers, without HTTP."""
        return self._call(self._server.health)

    def workers(self) -> list[dict]:
        """Every worker this endpoint has seen, live or exited."""
        return self._call(self._server.workers)

    def timeline(self) -> dict:
        """Measured times of every job and worker (``time.time()`` seconds), for plots."""
        return self._call(self._server.timeline)

    def worker_logs(self) -> dict[str, str]:
        """Each worker's stdout and stderr so far, by worker id."""
        if self._closed:
            return dict(self._server.saved_logs)
        return self._call(self._server.worker_logs)

    def print_worker_logs(self, last_lines: int | None = 40) -> None:
        for worker_id, text in self.worker_logs().items():
            lines = text.splitlines()
            if last_lines is not None:
                lines = lines[-last_lines:]
            print(f"----- {worker_id} -----")
            print("\n".join(lines))

    def wait_for(self, condition: Callable[[dict], bool], timeout: float = 60,
                 interval: float = 0.1) -> dict:
        """Wait until ``condition(health())`` holds; returns that health."""
        deadline = time.monotonic() + timeout
        while True:
            health = self.health()
            if condition(health):
                return health
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s; health: {health}")
            time.sleep(interval)

    def leftover_processes(self) -> list[int]:
        """PIDs still running from the worker process groups this endpoint started."""
        return self._server.leftover_processes()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("running" if self._thread else "not started")
        return f"<LocalEndpoint {self.endpoint_id!r} {self.url if self.port else ''} {state}>"
