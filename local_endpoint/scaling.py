"""When to start and stop workers: a pure function of the queue and the workers.

Contract: ``plan_scaling(...)`` reads, changes nothing, and returns how many workers
to start and which idle ones to stop. The rule, close to the platform's
request-count scaler but not its exact algorithm:

- Live workers are those initializing, idle or running (stopping ones are leaving).
- A worker is free if it is initializing (it will take a job once ready) or idle.
  Each queued job beyond the free workers starts one more worker, up to
  ``max_workers``; there are always at least ``min_workers``.
- With nothing queued, a spawned worker idle for ``idle_timeout`` seconds stops,
  longest-idle first, down to ``min_workers`` (scale to zero when that is 0).
  External workers (started by hand) are never stopped.
- External workers (started by hand, registered by their first job-take) are not
  spawned here and do not count toward ``max_workers``. Nothing proves one alive but
  its asking: it is free capacity only while it holds a job-take open, or for
  ``EXTERNAL_TAKE_GAP_S`` after one ended (the SDK polls again at once, or after a
  1 s sleep when full: runpod/serverless/modules/rp_scale.py, ``get_jobs``). One
  that crashed or hung up is not waited for until its ping timeout.
- Worker concurrency is not counted: a worker that could take more jobs at once
  still makes queued jobs start new workers, as on the platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .workers import IDLE, INITIALIZING, RUNNING, Worker

LIVE_STATES = (INITIALIZING, IDLE, RUNNING)
EXTERNAL_TAKE_GAP_S = 2.0


def _is_free(worker: Worker, now: float) -> bool:
    if not worker.external:
        return worker.state in (INITIALIZING, IDLE)
    if worker.state != IDLE:
        return False
    return worker.open_takes > 0 or (worker.take_ended_at is not None
                                     and now - worker.take_ended_at <= EXTERNAL_TAKE_GAP_S)


@dataclass(frozen=True)
class ScalePlan:
    spawn: int
    stop: tuple[str, ...]


def plan_scaling(
    *,
    queued: int,
    workers: Sequence[Worker],
    min_workers: int,
    max_workers: int,
    idle_timeout: float,
    now: float,
    spawn_allowed: bool = True,
) -> ScalePlan:
    live = [w for w in workers if w.state in LIVE_STATES]
    spawned = [w for w in live if not w.external]
    free = sum(1 for w in live if _is_free(w, now))

    spawn = min(queued - free, max_workers - len(spawned))
    spawn = max(spawn, min_workers - len(spawned), 0)
    if not spawn_allowed:
        spawn = 0

    stop: list[str] = []
    if queued == 0:
        idle = sorted(
            (w for w in live
             if w.state == IDLE and not w.external and w.idle_since is not None
             and now - w.idle_since >= idle_timeout),
            key=lambda w: w.idle_since,
        )
        stop = [w.id for w in idle[:max(0, len(spawned) - min_workers)]]
    return ScalePlan(spawn=spawn, stop=tuple(stop))
