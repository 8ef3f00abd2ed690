"""What the endpoint reports about itself: the /health body and the timeline.

Contract: pure functions of the records they are given; they change nothing.

- ``health_body``: ``{"jobs": {completed, failed, inProgress, inQueue, retried},
  "workers": {idle, initializing, ready, running, throttled}}``, the fields the JS
  SDK types (npm ``runpod-sdk`` 1.1.2, src/index.ts, ``HealthCheck``). RunPod does
  not document ``ready`` and ``throttled``; on the local endpoint ``ready`` counts the
  workers past start-up (idle or running) and ``throttled`` is always 0 (nothing
  here withholds a machine).
- ``timeline_body``: measured times (``clock()`` seconds) of every job and worker,
  for plots; jobs past retention keep their times.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from .job_store import JobStore
from .jobs import Job
from .workers import IDLE, INITIALIZING, RUNNING, Worker


def health_body(store: JobStore, live_workers: Iterable[Worker]) -> dict:
    states = Counter(w.state for w in live_workers)
    return {
        "jobs": store.counts(),
        "workers": {
            "idle": states[IDLE],
            "initializing": states[INITIALIZING],
            "ready": states[IDLE] + states[RUNNING],
            "running": states[RUNNING],
            "throttled": 0,
        },
    }


def timeline_body(started: float | None, history: Iterable[Job],
                  workers: Iterable[Worker], ignored: Iterable[dict]) -> dict:
    jobs = [{
        "id": job.id,
        "status": job.status,
        "created": job.created_at,
        "taken": job.attempts[0].taken_at if job.attempts else None,
        "first_chunk": job.first_chunk_at,
        "finished": job.finished_at,
        "retries": job.retries,
        "attempts": [{"worker": a.worker_id, "taken": a.taken_at, "ended": a.ended_at,
                      "outcome": a.outcome} for a in job.attempts],
    } for job in history]
    worker_rows = [
        {"id": w.id, "pid": w.pid, "external": w.external, "spawned": w.spawned_at,
         "ready": w.ready_at, "exited": w.exited_at, "returncode": w.returncode,
         "exit_reason": w.exit_reason}
        for w in workers
    ]
    return {"started": started, "jobs": jobs, "workers": worker_rows,
            "ignored": list(ignored)}
