"""Settings of one local endpoint: the one place their defaults live.

Contract:
- ``EndpointConfig`` is a frozen dataclass; ``EndpointConfig(...)`` checks every value
  and raises ``ValueError`` naming the field, so a bad setting fails at start-up.
- ``replace(**changes)`` returns a checked copy.
- Nothing here starts a process, opens a socket or imports ``runpod``.

Durations are seconds (floats) unless the name says otherwise; sizes are bytes.
Where the platform documents a default (idle timeout 5 s, 3 workers at most, payload
limits, retention), the same value is used here so the local endpoint behaves alike.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import sys
from dataclasses import dataclass, field
from typing import Mapping, Sequence

MIB = 1024 * 1024
MINUTES = 60  # seconds

# The SDK integer-divides RUNPOD_PING_INTERVAL (ms) by 1000 and sleeps that many
# seconds between pings: anything under 1000 ms becomes a busy loop.
MIN_PING_INTERVAL_MS = 1000

# The SDK client gives up on a plain call after 10 s and the worker on a long-poll
# after 90 s (asyncio.wait_for): hold requests well inside both.
CLIENT_TIMEOUT_S = 10
WORKER_POLL_TIMEOUT_S = 90


def default_worker_command() -> tuple[str, ...]:
    """Our worker package, run by the interpreter that runs the endpoint."""
    return (sys.executable, "-m", "worker")


def _random_key(prefix: str) -> str:
    return f"{prefix}-{secrets.token_urlsafe(18)}"


@dataclass(frozen=True)
class EndpointConfig:
    """Everything that shapes one local endpoint; see the field comments."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: the operating system picks a free port
    endpoint_id: str = "local"
    # Client key (sent by runpod.Endpoint as "Bearer <key>") and worker key (sent by
    # the SDK worker raw); random per endpoint unless given.
    api_key: str = field(default_factory=lambda: _random_key("local-api"))
    worker_key: str = field(default_factory=lambda: _random_key("local-worker"))

    worker_command: Sequence[str] = field(default_factory=default_worker_command)
    worker_cwd: str | None = None  # None: the directory the endpoint starts in
    worker_env: Mapping[str, str] = field(default_factory=dict)  # extra variables
    # A folder the workers see as their network volume (the worker's VOLUME_DIR, which
    # on RunPod is /runpod-volume); it wins over a VOLUME_DIR in worker_env.
    volume: str | None = None
    log_dir: str | None = None  # None: a temporary folder, read back into memory at exit

    min_workers: int = 0
    max_workers: int = 3
    idle_timeout: float = 5.0  # an idle worker above min_workers stops after this
    startup_timeout: float = 5 * MINUTES  # spawn to first job-take, model load included
    stop_grace: float = 5.0  # SIGTERM to SIGKILL
    ping_interval_ms: int = 1000
    ping_timeout: float = 10.0  # silence (no ping, no request) that counts as death
    max_start_failures: int = 3  # start-up crashes in a row before queued jobs fail

    max_retries: int = 2  # requeues of a job whose worker died, then FAILED
    execution_timeout: float = 10 * MINUTES  # per attempt; 0: none; policy overrides
    # A policy.executionTimeout or policy.ttl below these is refused with a 400. RunPod
    # documents 5 s and 10 s as the minimums (endpoint configurations:
    # https://docs.runpod.io/serverless/endpoints/endpoint-configurations); tests
    # and lessons that need shorter ones lower these explicitly.
    min_execution_timeout: float = 5.0
    min_ttl: float = 10.0
    job_ttl: float = 24 * 60 * MINUTES  # a job's lifetime without policy.ttl (24 h, as documented); 0: none
    retention: float = 30 * MINUTES  # results of /run, kept after the job ends
    runsync_retention: float = 1 * MINUTES  # results of /runsync
    max_run_bytes: int = 10 * MIB
    max_runsync_bytes: int = 20 * MIB
    max_worker_post_bytes: int = 64 * MIB  # a result or chunk from a worker
    # The platform's limits on what a worker sends back: a job's result about 20 MB, a
    # stream chunk 1 MB (handler functions, payload limits:
    # https://docs.runpod.io/serverless/workers/handler-functions; request limits:
    # https://docs.runpod.io/serverless/endpoints/operation-reference). Measured on the
    # body the worker posts (the SDK's JSON). Tests and lessons lower them to stay fast.
    max_result_bytes: int = 20 * MIB
    max_stream_chunk_bytes: int = 1 * MIB

    take_hold: float = 20.0  # job-take and job-stop long-polls
    stream_hold: float = 4.0  # /stream when nothing new; under the client's 10 s
    # /runsync and /status-sync without ?wait= hold this long, then answer
    # IN_QUEUE/IN_PROGRESS: RunPod's documented default, 90 s (send requests:
    # https://docs.runpod.io/serverless/endpoints/send-requests).
    runsync_wait: float = 90.0
    webhook_attempts: int = 3  # one try and two retries, as documented by the platform
    webhook_retry_interval: float = 10.0  # seconds between tries, as documented

    def __post_init__(self) -> None:
        object.__setattr__(self, "worker_command", tuple(self.worker_command))
        object.__setattr__(self, "worker_env", dict(self.worker_env))
        if self.volume is not None:
            object.__setattr__(self, "volume", os.path.abspath(os.fspath(self.volume)))
        self._check()

    def replace(self, **changes) -> "EndpointConfig":
        return dataclasses.replace(self, **changes)

    @property
    def worker_variables(self) -> dict[str, str]:
        """``worker_env`` plus ``VOLUME_DIR`` when a volume is given."""
        return {**self.worker_env, **({"VOLUME_DIR": self.volume} if self.volume else {})}

    @property
    def ping_interval_s(self) -> int:
        """The seconds the SDK's heartbeat really waits between pings: it rounds
        ``RUNPOD_PING_INTERVAL`` (ms) down to whole seconds."""
        return max(1, self.ping_interval_ms // 1000)

    def _check(self) -> None:
        def fail(name: str, why: str) -> None:
            raise ValueError(f"EndpointConfig.{name}: {why} (got {getattr(self, name)!r})")

        if self.volume is not None and not os.path.isdir(self.volume):
            fail("volume", "must be an existing folder")
        if not self.worker_command:
            fail("worker_command", "needs at least the program to run")
        if not self.endpoint_id or "/" in self.endpoint_id:
            fail("endpoint_id", "must be a non-empty name without '/'")
        if not self.api_key:
            fail("api_key", "must not be empty")
        if not self.worker_key or self.worker_key == self.api_key:
            fail("worker_key", "must be non-empty and differ from api_key")
        if not 0 <= self.port <= 65535:
            fail("port", "must be 0..65535")
        if self.min_workers < 0:
            fail("min_workers", "must be >= 0")
        if self.max_workers < self.min_workers:
            fail("max_workers", "must be >= min_workers")
        if self.ping_interval_ms < MIN_PING_INTERVAL_MS:
            fail("ping_interval_ms", f"must be >= {MIN_PING_INTERVAL_MS} (the SDK busy-loops below)")
        if self.ping_timeout <= self.ping_interval_ms / 1000:
            fail("ping_timeout", "must be longer than the ping interval")
        if self.max_retries < 0:
            fail("max_retries", "must be >= 0")
        if self.max_start_failures < 1:
            fail("max_start_failures", "must be >= 1")
        if not 0 < self.take_hold < WORKER_POLL_TIMEOUT_S:
            fail("take_hold", f"must be between 0 and the SDK's {WORKER_POLL_TIMEOUT_S} s")
        if not 0 < self.stream_hold < CLIENT_TIMEOUT_S:
            fail("stream_hold", f"must be between 0 and the client's {CLIENT_TIMEOUT_S} s")
        if not 1 <= self.runsync_wait <= 300:
            fail("runsync_wait", "must be 1..300 s, the range RunPod allows for ?wait=")
        for name in ("idle_timeout", "startup_timeout", "stop_grace", "execution_timeout",
                     "retention", "runsync_retention", "runsync_wait",
                     "webhook_retry_interval", "min_execution_timeout", "min_ttl", "job_ttl"):
            if getattr(self, name) < 0:
                fail(name, "must be >= 0")
        for name in ("max_run_bytes", "max_runsync_bytes", "max_worker_post_bytes",
                     "max_result_bytes", "max_stream_chunk_bytes", "webhook_attempts"):
            if getattr(self, name) < 1:
                fail(name, "must be >= 1")
