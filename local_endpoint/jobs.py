"""A job as the local endpoint tracks it: its record, statuses and status body.

Contract:
- ``Job`` is a plain record; only ``job_store.JobStore`` changes it. Nothing here
  does I/O or knows about workers beyond their ids.
- Statuses: IN_QUEUE, IN_PROGRESS, then one of the final ones (COMPLETED, FAILED,
  CANCELLED, TIMED_OUT); ``job_store`` holds the moves between them.
- ``status_body()`` is what /status, /runsync, /cancel and /retry answer; the webhook
  body adds the job's ``input`` and ``webhook`` (``webhook_body()``).
- Times are ``clock()`` seconds; the bodies give milliseconds. ``delayTime`` runs from
  creation to the FIRST take (or to the end, for a job that never ran);
  ``executionTime`` from the take of the LAST attempt to the end (0 for a job that
  never ran: the JS SDK types it as always present on a cancel answer).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

IN_QUEUE = "IN_QUEUE"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
TIMED_OUT = "TIMED_OUT"
FINAL_STATUSES = frozenset({COMPLETED, FAILED, CANCELLED, TIMED_OUT})

NOTHING = object()  # "no output yet", distinct from an output of None


class Ignored(str, Enum):
    """Why a worker's report was not applied."""

    UNKNOWN_JOB = "the job does not exist (never created, or past retention)"
    FINAL = "the job is already final"
    NOT_STARTED = "the job is not in progress"
    OTHER_WORKER = "the job is assigned to another worker"


@dataclass
class Attempt:
    """One run of a job on one worker."""

    worker_id: str
    taken_at: float
    ended_at: float | None = None
    outcome: str | None = None  # a final status, or why the attempt was abandoned


@dataclass
class Job:
    """One request, as the endpoint tracks it."""

    id: str
    input: Any
    created_at: float
    sync: bool = False  # came through /runsync (shorter retention)
    webhook: str | None = None
    execution_timeout: float | None = None  # seconds per attempt; None: no limit
    ttl: float | None = None  # seconds from creation until the job is deleted; None: never
    extra: dict = field(default_factory=dict)  # other request keys passed to the worker
    status: str = IN_QUEUE
    worker_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    retries: int = 0
    output: Any = NOTHING  # the final output, or the latest progress while running (none if cancelled/timed out)
    error: Any = None
    chunks: list = field(default_factory=list)
    chunks_sent: int = 0  # chunks already handed to a /stream caller
    first_chunk_at: float | None = None
    finished_at: float | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def taken_at(self) -> float | None:
        """When the latest attempt was taken."""
        return self.attempts[-1].taken_at if self.attempts else None

    @property
    def first_taken_at(self) -> float | None:
        return self.attempts[0].taken_at if self.attempts else None

    def for_worker(self) -> dict:
        """The job as the SDK worker receives it from job-take."""
        return {"id": self.id, "input": self.input, **self.extra}

    def status_body(self) -> dict:
        """The body of /status, /status-sync, /runsync, /cancel and /retry."""
        body: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.first_taken_at is not None:
            body["delayTime"] = ms(self.first_taken_at - self.created_at)
        elif self.finished_at is not None:  # left the queue without running
            body["delayTime"] = ms(self.finished_at - self.created_at)
        if self.finished_at is not None:
            body["executionTime"] = (ms(self.finished_at - self.taken_at)
                                     if self.taken_at is not None else 0)
        if self.output is not NOTHING:
            body["output"] = self.output
        if self.error is not None:
            body["error"] = self.error
        if self.worker_id is not None:
            body["workerId"] = self.worker_id
        return body

    def webhook_body(self) -> dict:
        """What the webhook receives: the status body plus the request's ``input`` and
        ``webhook``, as the platform sends them (runpod/runpod-python issue 409)."""
        return {**self.status_body(), "input": self.input, "webhook": self.webhook}


def ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def new_job_id() -> str:
    return str(uuid.uuid4())


